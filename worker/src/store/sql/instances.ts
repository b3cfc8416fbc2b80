/** Instance queries: create (with routing), read, history, control messages, leases. */
import type { Queryable } from '../db.ts';
import { InstanceAlreadyExistsError, InstanceNotFoundError, InvalidInstanceStateError } from '../../errors.ts';
import type { FailureDetails, HistoryEvent, RuntimeStatus } from '../../orchestration/history.ts';
import type { ControlOperation, CreateInstanceRequest, InstanceState } from '../types.ts';
import type { InstanceRow } from '../schema.ts';
import { lowerNextVisible, notify } from './commit-turns.ts';
import { statusPayload, type Channels } from './notify.ts';

type Q = Queryable;
type C = Queryable;

const TERMINAL = `('Completed', 'Failed', 'Terminated')`;

/** Columns read for InstanceState; payload columns only when asked. */
export function stateColumns(withPayloads: boolean): string {
  const base = 'instance_id, execution_id, name, version, status, created_at, updated_at, completed_at, failure, parent_instance_id, tags';
  return withPayloads ? `${base}, input, output, custom_status` : base;
}

export function toState(row: Partial<InstanceRow>): InstanceState {
  return {
    instanceId: row.instance_id as string,
    executionId: row.execution_id as string,
    name: row.name as string,
    version: row.version as string,
    status: row.status as RuntimeStatus,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    completedAt: row.completed_at ?? undefined,
    input: row.input ?? undefined,
    output: row.output ?? undefined,
    customStatus: row.custom_status ?? undefined,
    failure: (row.failure as FailureDetails | null) ?? undefined,
    parentInstanceId: row.parent_instance_id ?? undefined,
    tags: row.tags ?? {},
  };
}

/**
 * Inserts the instance and its ExecutionStarted message and wakes workers and waiters, in one
 * statement, so a start is one round trip and one commit when run on its own. The version, when
 * not given, comes from the routing table in the same statement: the Current version, or the
 * Ramping one for `ramp_percent` of starts; with no routing, the default. ON CONFLICT leaves an
 * existing instance untouched, notifies no one and returns undefined.
 */
export async function createInstance(db: Q, S: string, channels: Channels, req: CreateInstanceRequest, executionId: string): Promise<string | undefined> {
  const started: HistoryEvent = {
    kind: 'ExecutionStarted',
    timestamp: new Date().toISOString(),
    name: req.name,
    version: '',
    instanceId: req.instanceId,
    executionId,
    input: req.input,
    scheduledStartTime: req.scheduledStartTime,
    tags: req.tags,
  };
  const r = await db.query<{ version: string }>(
    `WITH routed AS (
       SELECT coalesce($3::text,
                (SELECT CASE WHEN r.version IS NOT NULL AND random() * 100 < r.ramp_percent THEN r.version ELSE c.version END
                   FROM (SELECT 1) one
                   LEFT JOIN ${S}.versions c ON c.state = 'Current'
                   LEFT JOIN ${S}.versions r ON r.state = 'Ramping'
                  LIMIT 1),
                $4::text) AS version),
     created AS (
       INSERT INTO ${S}.instances (instance_id, execution_id, name, version, status, input, tags, next_visible_at)
       SELECT $1, $2, $5, routed.version, 'Pending', $6, coalesce($7::jsonb, '{}'::jsonb), coalesce($8::timestamptz, now()) FROM routed
       ON CONFLICT (instance_id) DO NOTHING
       RETURNING instance_id, version, next_visible_at),
     message AS (
       INSERT INTO ${S}.inbox (instance_id, execution_id, event, visible_at)
       SELECT instance_id, $2, jsonb_set($9::jsonb, '{version}', to_jsonb(version))::text, next_visible_at FROM created),
     notified AS (
       SELECT pg_notify($10, 'o:' || version), pg_notify($11, $12) FROM created)
     SELECT version FROM created, (SELECT count(*) FROM notified) n`,
    [
      req.instanceId,
      executionId,
      req.version ?? null,
      req.defaultVersion,
      req.name,
      req.input ?? null,
      req.tags ? JSON.stringify(req.tags) : null,
      req.scheduledStartTime ?? null,
      JSON.stringify(started),
      channels.work,
      channels.status,
      statusPayload(req.instanceId, 'Pending'),
    ],
  );
  return r.rows[0]?.version;
}

/** Removes a finished instance so its id can be reused; throws when it is not finished. */
export async function removeFinishedForReuse(client: C, S: string, instanceId: string): Promise<void> {
  const r = await client.query<{ status: string }>(`SELECT status FROM ${S}.instances WHERE instance_id = $1 FOR UPDATE`, [instanceId]);
  const status = r.rows[0]?.status;
  if (status === undefined) return;
  if (!['Completed', 'Failed', 'Terminated'].includes(status)) throw new InstanceAlreadyExistsError(instanceId, status);
  await deleteInstances(client, S, [instanceId]);
}

/** Deletes instances with everything that belongs to them. */
export async function deleteInstances(client: C, S: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  await client.query(`DELETE FROM ${S}.history WHERE instance_id = ANY($1::text[])`, [ids]);
  await client.query(`DELETE FROM ${S}.inbox WHERE instance_id = ANY($1::text[])`, [ids]);
  await client.query(`DELETE FROM ${S}.activity_tasks WHERE instance_id = ANY($1::text[])`, [ids]);
  await client.query(`DELETE FROM ${S}.event_keys WHERE instance_id = ANY($1::text[])`, [ids]);
  await client.query(`DELETE FROM ${S}.dead_letters WHERE instance_id = ANY($1::text[])`, [ids]);
  const r = await client.query(`DELETE FROM ${S}.instances WHERE instance_id = ANY($1::text[])`, [ids]);
  return r.rowCount ?? 0;
}

export async function existingStatus(db: Q, S: string, instanceId: string): Promise<string | undefined> {
  const r = await db.query<{ status: string }>(`SELECT status FROM ${S}.instances WHERE instance_id = $1`, [instanceId]);
  return r.rows[0]?.status;
}

export async function getInstance(db: Q, S: string, instanceId: string, withPayloads: boolean): Promise<InstanceState | undefined> {
  const r = await db.query<InstanceRow>(`SELECT ${stateColumns(withPayloads)} FROM ${S}.instances WHERE instance_id = $1`, [instanceId]);
  const row = r.rows[0];
  return row ? toState(row) : undefined;
}

/** The current execution's history in order. */
export async function getHistory(db: Q, S: string, instanceId: string): Promise<HistoryEvent[]> {
  const r = await db.query<{ event: string }>(
    `SELECT h.event FROM ${S}.history h JOIN ${S}.instances i ON i.instance_id = h.instance_id AND i.execution_id = h.execution_id
      WHERE h.instance_id = $1 ORDER BY h.seq`,
    [instanceId],
  );
  return r.rows.map((row) => JSON.parse(row.event) as HistoryEvent);
}

/**
 * Delivers a control message. The instance row is locked first so the check of its status and
 * the delivery are one decision. Returns false for a no-op (repeated idempotency key, terminate
 * of a finished instance).
 */
export async function sendControl(client: C, S: string, channels: Channels, instanceId: string, op: ControlOperation): Promise<boolean> {
  const r = await client.query<{ status: string; version: string }>(`SELECT status, version FROM ${S}.instances WHERE instance_id = $1 FOR UPDATE`, [instanceId]);
  const row = r.rows[0];
  if (!row) throw new InstanceNotFoundError(instanceId);
  const finished = ['Completed', 'Failed', 'Terminated'].includes(row.status);
  if (finished) {
    if (op.kind === 'terminate') return false;
    // A retry of a raise that was accepted before the instance finished is still the no-op its key promises.
    if (op.kind === 'raise' && op.idempotencyKey !== undefined) {
      const seen = await client.query(`SELECT 1 FROM ${S}.event_keys WHERE instance_id = $1 AND key = $2`, [instanceId, op.idempotencyKey]);
      if (seen.rows.length > 0) return false;
    }
    throw new InvalidInstanceStateError(instanceId, row.status, op.kind === 'raise' ? 'raise an event on' : op.kind);
  }
  if (op.kind === 'raise' && op.idempotencyKey !== undefined) {
    const key = await client.query(`INSERT INTO ${S}.event_keys (instance_id, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [instanceId, op.idempotencyKey]);
    if (key.rowCount === 0) return false;
  }
  const now = new Date().toISOString();
  const event: HistoryEvent =
    op.kind === 'raise'
      ? { kind: 'EventRaised', timestamp: now, name: op.name, input: op.input }
      : op.kind === 'suspend'
        ? { kind: 'ExecutionSuspended', timestamp: now, reason: op.reason }
        : op.kind === 'resume'
          ? { kind: 'ExecutionResumed', timestamp: now, reason: op.reason }
          : { kind: 'ExecutionTerminated', timestamp: now, reason: op.reason, recurse: op.recurse };
  const inserted = await client.query<{ visible_at: Date }>(`INSERT INTO ${S}.inbox (instance_id, event) VALUES ($1, $2) RETURNING visible_at`, [instanceId, JSON.stringify(event)]);
  // Terminate must not wait for a scheduled start; other messages wait for it (see lowerNextVisible).
  await lowerNextVisible(client, S, [{ instance_id: instanceId, visible_at: inserted.rows[0]?.visible_at ?? new Date() }], op.kind === 'terminate');
  await notify(client, [[channels.work, `o:${row.version}`]]);
  return true;
}

/**
 * Releases orchestration leases without changes. Locking: rows are locked in instance-id order
 * first (as every multi-row writer of `instances` does), so this cannot deadlock with a commit.
 */
export async function abandonInstances(db: Q, S: string, items: { instanceId: string; lockToken: string }[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `UPDATE ${S}.instances i SET lock_token = NULL, locked_until = NULL, locked_by = NULL
       FROM (SELECT x.instance_id FROM ${S}.instances x
               JOIN unnest($1::text[], $2::uuid[]) AS k(instance_id, token) ON x.instance_id = k.instance_id AND x.lock_token = k.token
              ORDER BY x.instance_id FOR UPDATE OF x) k
      WHERE i.instance_id = k.instance_id`,
    [items.map((i) => i.instanceId), items.map((i) => i.lockToken)],
  );
}

/**
 * Extends orchestration leases still held; returns ids whose lease was lost. Locking: rows locked
 * in instance-id order first, like every multi-row writer of `instances`.
 */
export async function renewInstances(db: Q, S: string, items: { instanceId: string; lockToken: string }[], leaseMs: number): Promise<string[]> {
  if (items.length === 0) return [];
  const r = await db.query<{ instance_id: string }>(
    `UPDATE ${S}.instances i SET locked_until = now() + make_interval(secs => $3::float8 / 1000)
       FROM (SELECT x.instance_id FROM ${S}.instances x
               JOIN unnest($1::text[], $2::uuid[]) AS k(instance_id, token) ON x.instance_id = k.instance_id AND x.lock_token = k.token
              ORDER BY x.instance_id FOR UPDATE OF x) k
      WHERE i.instance_id = k.instance_id
     RETURNING i.instance_id`,
    [items.map((i) => i.instanceId), items.map((i) => i.lockToken), leaseMs],
  );
  const kept = new Set(r.rows.map((row) => row.instance_id));
  return items.filter((i) => !kept.has(i.instanceId)).map((i) => i.instanceId);
}

export { TERMINAL };
