/**
 * Purging finished instances. Filter purges work in batches of PURGE_BATCH instances per
 * transaction, so purging millions never holds one huge transaction or bloats one snapshot.
 */
import type { Queryable } from '../db.ts';
import { InstanceNotFoundError, InvalidInstanceStateError } from '../../errors.ts';
import type { PurgeFilter } from '../types.ts';
import { deleteInstances } from './instances.ts';
import { filterClauses } from './listing.ts';

type C = Queryable;

export const PURGE_BATCH = 1000;

/** Finished descendants of the given instances (sub-orchestrations, recursively). */
async function finishedDescendants(client: C, S: string, roots: string[]): Promise<string[]> {
  const r = await client.query<{ instance_id: string }>(
    `WITH RECURSIVE tree AS (
       SELECT instance_id FROM ${S}.instances WHERE parent_instance_id = ANY($1::text[])
       UNION
       SELECT c.instance_id FROM ${S}.instances c JOIN tree t ON c.parent_instance_id = t.instance_id)
     SELECT t.instance_id FROM tree t JOIN ${S}.instances i USING (instance_id)
      WHERE i.status IN ('Completed', 'Failed', 'Terminated')`,
    [roots],
  );
  return r.rows.map((row) => row.instance_id);
}

/** Purges one finished instance (and, recursively, its finished sub-orchestrations). */
export async function purgeOne(client: C, S: string, instanceId: string, recursive: boolean): Promise<number> {
  const r = await client.query<{ status: string }>(`SELECT status FROM ${S}.instances WHERE instance_id = $1 FOR UPDATE`, [instanceId]);
  const status = r.rows[0]?.status;
  if (status === undefined) throw new InstanceNotFoundError(instanceId);
  if (!['Completed', 'Failed', 'Terminated'].includes(status)) {
    throw new InvalidInstanceStateError(instanceId, status, 'purge (terminate it first, or wait for it to finish)');
  }
  const ids = recursive ? [instanceId, ...(await finishedDescendants(client, S, [instanceId]))] : [instanceId];
  return deleteInstances(client, S, ids);
}

/** One batch of a filter purge; returns how many instances it removed (0 = done). */
export async function purgeBatch(client: C, S: string, filter: PurgeFilter): Promise<number> {
  const values: unknown[] = [];
  const where = [`status IN ('Completed', 'Failed', 'Terminated')`, ...filterClauses(filter, values)];
  if (filter.completedTo) {
    values.push(filter.completedTo);
    where.push(`completed_at < $${values.length}`);
  }
  values.push(PURGE_BATCH);
  const r = await client.query<{ instance_id: string }>(
    `SELECT instance_id FROM ${S}.instances WHERE ${where.join(' AND ')} ORDER BY created_at LIMIT $${values.length} FOR UPDATE SKIP LOCKED`,
    values,
  );
  const ids = r.rows.map((row) => row.instance_id);
  if (ids.length === 0) return 0;
  const all = filter.recursive ? [...new Set([...ids, ...(await finishedDescendants(client, S, ids))])] : ids;
  return deleteInstances(client, S, all);
}
