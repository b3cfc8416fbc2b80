/** Activity task queries: claim, complete (deliver results), abandon, renew. */
import type { Queryable } from '../db.ts';
import type { HistoryEvent } from '../../orchestration/history.ts';
import type { ActivityResult, ActivityWorkItem } from '../types.ts';
import type { Channels } from './notify.ts';

type Q = Queryable;

/**
 * Locking: SKIP LOCKED row locks for the length of the statement; the claim moves `visible_at`
 * to the lease's end, so the task is invisible while held and visible again once the lease
 * lapses. `delivery_count` counts claims.
 */
export async function claimActivities(db: Q, S: string, version: string, max: number, leaseMs: number, workerId: string, token: string): Promise<ActivityWorkItem[]> {
  const r = await db.query<{ id: string; instance_id: string; execution_id: string; task_id: number; name: string; version: string; input: string | null; delivery_count: number }>(
    `WITH ready AS (
       SELECT id FROM ${S}.activity_tasks
        WHERE version = $1 AND visible_at <= now()
        ORDER BY visible_at, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
     UPDATE ${S}.activity_tasks t
        SET visible_at = now() + make_interval(secs => $3::float8 / 1000), lock_token = $4, locked_by = $5, delivery_count = t.delivery_count + 1
       FROM ready WHERE t.id = ready.id
     RETURNING t.id::text AS id, t.instance_id, t.execution_id, t.task_id, t.name, t.version, t.input, t.delivery_count`,
    [version, max, leaseMs, token, workerId],
  );
  return r.rows.map((row) => ({
    id: row.id,
    instanceId: row.instance_id,
    executionId: row.execution_id,
    taskId: row.task_id,
    name: row.name,
    version: row.version,
    input: row.input ?? undefined,
    deliveryCount: row.delivery_count,
    lockToken: token,
  }));
}

/**
 * Deletes the tasks still held with the given tokens, turns each into a result message in the
 * orchestration's inbox, lowers the receiving instances' `next_visible_at` and wakes their workers,
 * in one statement (one round trip, one durable commit). A result for an execution that has ended
 * (the instance continued as new, or was purged and re-created) is dropped instead of delivered.
 * Returns the ids whose lease was lost.
 *
 * Locking: every receiving instance row is locked, in id order, even one that looks due already: a
 * turn of that instance may be committing right now and clear `next_visible_at` without seeing this
 * uncommitted message. Whichever of the two takes the row first, the other sees its result: the turn
 * recomputes from an inbox that holds the message, or this statement decides on the row as the lock
 * returns it (the latest version) and lowers it. MATERIALIZED keeps the planner from pushing that
 * test below the lock, where it would read the stale version and skip the row without waiting.
 */
export async function completeActivities(db: Q, S: string, channels: Channels, results: ActivityResult[]): Promise<string[]> {
  const now = new Date().toISOString();
  const events = results.map((r): HistoryEvent =>
    r.failure
      ? { kind: 'TaskFailed', timestamp: now, taskScheduledId: r.taskId, failure: r.failure }
      : { kind: 'TaskCompleted', timestamp: now, taskScheduledId: r.taskId, result: r.result },
  );
  const done = await db.query<{ id: string }>(
    `WITH done AS (
       DELETE FROM ${S}.activity_tasks t
        USING unnest($1::bigint[], $2::uuid[], $3::text[]) AS k(id, token, event)
        WHERE t.id = k.id AND t.lock_token = k.token
        RETURNING t.id, t.instance_id, t.execution_id, k.event),
     delivered AS (
       INSERT INTO ${S}.inbox (instance_id, execution_id, event)
       SELECT d.instance_id, d.execution_id, d.event FROM done d
         JOIN ${S}.instances i ON i.instance_id = d.instance_id AND i.execution_id = d.execution_id
        ORDER BY d.id
       RETURNING instance_id),
     receivers AS MATERIALIZED (
       SELECT x.instance_id, x.version, x.next_visible_at FROM ${S}.instances x
        WHERE x.instance_id IN (SELECT instance_id FROM delivered)
        ORDER BY x.instance_id FOR UPDATE),
     lowered AS (
       UPDATE ${S}.instances i SET next_visible_at = now()
         FROM receivers r WHERE i.instance_id = r.instance_id AND (r.next_visible_at IS NULL OR r.next_visible_at > now())
       RETURNING 1),
     notified AS (
       -- The workers of the orchestration's version, which need not be the activity's.
       SELECT pg_notify($4, 'o:' || v.version) FROM (SELECT DISTINCT version FROM receivers) v)
     SELECT d.id::text AS id FROM done d
      CROSS JOIN (SELECT count(*) FROM lowered) l CROSS JOIN (SELECT count(*) FROM notified) n`,
    [results.map((r) => r.id), results.map((r) => r.lockToken), events.map((e) => JSON.stringify(e)), channels.work],
  );
  const completed = new Set(done.rows.map((d) => d.id));
  return results.filter((r) => !completed.has(r.id)).map((r) => r.id);
}

/** Makes held tasks visible again at once (shutdown), without counting as a failure. */
export async function abandonActivities(db: Q, S: string, items: { id: string; lockToken: string }[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `UPDATE ${S}.activity_tasks t SET visible_at = now(), lock_token = NULL, locked_by = NULL
       FROM unnest($1::bigint[], $2::uuid[]) AS k(id, token)
      WHERE t.id = k.id AND t.lock_token = k.token`,
    [items.map((i) => i.id), items.map((i) => i.lockToken)],
  );
}

/** Extends leases still held; returns ids no longer held with these tokens. */
export async function renewActivities(db: Q, S: string, items: { id: string; lockToken: string }[], leaseMs: number): Promise<string[]> {
  if (items.length === 0) return [];
  const r = await db.query<{ id: string }>(
    `UPDATE ${S}.activity_tasks t SET visible_at = now() + make_interval(secs => $3::float8 / 1000)
       FROM unnest($1::bigint[], $2::uuid[]) AS k(id, token)
      WHERE t.id = k.id AND t.lock_token = k.token
     RETURNING t.id::text AS id`,
    [items.map((i) => i.id), items.map((i) => i.lockToken), leaseMs],
  );
  const kept = new Set(r.rows.map((row) => row.id));
  return items.filter((i) => !kept.has(i.id)).map((i) => i.id);
}
