/** `dead_letters`: parking inbox messages a claim could not read. */
import type { Queryable } from '../db.ts';

/** An inbox row that could not be read, and why. */
export interface Unreadable {
  id: string;
  reason: string;
}

/**
 * Moves the rows from the inbox to `dead_letters` in one statement. Locking: the claimer holds the
 * instances' leases, so no other worker reads these rows; the DELETE's row locks make a concurrent
 * continue-as-new of the same instance either see them gone or wait.
 */
export async function parkMessages(db: Queryable, S: string, rows: Unreadable[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `WITH k AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS k(id, reason)),
     moved AS (DELETE FROM ${S}.inbox m USING k WHERE m.id = k.id RETURNING m.id, m.instance_id, m.execution_id, m.event, m.visible_at)
     INSERT INTO ${S}.dead_letters (id, instance_id, execution_id, event, visible_at, reason)
     SELECT moved.id, moved.instance_id, moved.execution_id, moved.event, moved.visible_at, k.reason FROM moved JOIN k ON k.id = moved.id
     ON CONFLICT (id) DO NOTHING`,
    [rows.map((r) => r.id), rows.map((r) => r.reason)],
  );
}
