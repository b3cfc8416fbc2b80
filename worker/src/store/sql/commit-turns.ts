/**
 * Committing a batch of orchestration turns in one transaction, with a fixed number of
 * statements however many turns the batch holds.
 *
 * Order matters:
 * 1. `fence`: lock the instance rows (in instance-id order, so concurrent batches cannot
 *    deadlock on each other) and keep only turns whose lease token still matches. A worker
 *    whose lease was taken over writes nothing.
 * 2. write history, delete consumed messages, insert activities, sub-orchestrations and messages.
 * 3. `finish`: update the instance rows, recomputing `next_visible_at` from the inbox. Because
 *    this runs after step 1 took the row locks and in a new statement snapshot, a message
 *    committed concurrently is either seen here, or its writer waits for our lock and then
 *    lowers `next_visible_at` itself: a message can never be stranded.
 * 4. lower `next_visible_at` of other instances that received messages, then notify.
 */
import type { Queryable } from '../db.ts';
import type { HistoryEvent } from '../../orchestration/history.ts';
import type { OrchestrationTurn } from '../types.ts';
import { CHANNELS, type Channels } from './notify.ts';

type C = Queryable;

/** A message row to insert, flattened for `unnest`. */
interface NewMessage {
  instanceId: string;
  executionId: string | null;
  event: HistoryEvent;
  visibleAt: string | null;
}

/** Fences the batch; returns the instance ids whose turns may commit. */
async function fence(client: C, S: string, turns: OrchestrationTurn[]): Promise<Set<string>> {
  const r = await client.query<{ instance_id: string }>(
    `SELECT i.instance_id FROM ${S}.instances i
       JOIN unnest($1::text[], $2::uuid[]) AS k(instance_id, token) ON i.instance_id = k.instance_id AND i.lock_token = k.token
      ORDER BY i.instance_id
      FOR UPDATE OF i`,
    [turns.map((t) => t.instanceId), turns.map((t) => t.lockToken)],
  );
  return new Set(r.rows.map((row) => row.instance_id));
}

async function insertHistory(client: C, S: string, turns: OrchestrationTurn[]): Promise<void> {
  const ids: string[] = [];
  const execs: string[] = [];
  const seqs: number[] = [];
  const kinds: string[] = [];
  const events: string[] = [];
  for (const t of turns) {
    if (t.continueAsNew) continue; // the old execution's history is dropped below
    t.newHistory.forEach((e, i) => {
      ids.push(t.instanceId);
      execs.push(t.executionId);
      seqs.push(t.historyStartSeq + i);
      kinds.push(e.kind);
      events.push(JSON.stringify(e));
    });
  }
  if (ids.length === 0) return;
  await client.query(
    `INSERT INTO ${S}.history (instance_id, execution_id, seq, kind, event)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[])`,
    [ids, execs, seqs, kinds, events],
  );
}

async function deleteConsumed(client: C, S: string, turns: OrchestrationTurn[]): Promise<void> {
  const ids = turns.flatMap((t) => t.consumedMessageIds);
  if (ids.length > 0) await client.query(`DELETE FROM ${S}.inbox WHERE id = ANY($1::bigint[])`, [ids]);
}

async function dropOldExecutions(client: C, S: string, turns: OrchestrationTurn[]): Promise<void> {
  const can = turns.filter((t) => t.continueAsNew);
  if (can.length === 0) return;
  await client.query(
    `DELETE FROM ${S}.history h USING unnest($1::text[], $2::text[]) AS k(instance_id, execution_id)
      WHERE h.instance_id = k.instance_id AND h.execution_id = k.execution_id`,
    [can.map((t) => t.instanceId), can.map((t) => t.executionId)],
  );
}

async function insertActivities(client: C, S: string, turns: OrchestrationTurn[]): Promise<Set<string>> {
  const cols: [string[], string[], number[], string[], string[], (string | null)[]] = [[], [], [], [], [], []];
  for (const t of turns) {
    for (const a of t.activities) {
      cols[0].push(t.instanceId);
      cols[1].push(t.executionId);
      cols[2].push(a.taskId);
      cols[3].push(a.name);
      cols[4].push(a.version);
      cols[5].push(a.input ?? null);
    }
  }
  if (cols[0].length === 0) return new Set();
  await client.query(
    `INSERT INTO ${S}.activity_tasks (instance_id, execution_id, task_id, name, version, input)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[])`,
    cols,
  );
  return new Set(cols[4]);
}

/** New sub-orchestration instances; an id that exists already is left alone (its result still comes back). */
async function insertSubOrchestrations(client: C, S: string, turns: OrchestrationTurn[], now: string): Promise<Set<string>> {
  const rows: { id: string; exec: string; name: string; version: string; input: string | null; pid: string; pexec: string; ptask: number; start: string }[] = [];
  for (const t of turns) {
    for (const s of t.subOrchestrations) {
      const exec = crypto.randomUUID();
      const start: HistoryEvent = {
        kind: 'ExecutionStarted',
        timestamp: now,
        name: s.name,
        version: s.version,
        instanceId: s.instanceId,
        executionId: exec,
        input: s.input,
        parent: { instanceId: t.instanceId, executionId: t.executionId, taskScheduledId: s.parentTaskId, name: '' },
      };
      rows.push({ id: s.instanceId, exec, name: s.name, version: s.version, input: s.input ?? null, pid: t.instanceId, pexec: t.executionId, ptask: s.parentTaskId, start: JSON.stringify(start) });
    }
  }
  if (rows.length === 0) return new Set();
  const r = await client.query<{ version: string }>(
    `WITH created AS (
       INSERT INTO ${S}.instances (instance_id, execution_id, name, version, status, input, parent_instance_id, parent_execution_id, parent_task_id, next_visible_at)
       SELECT id, exec, name, version, 'Pending', input, pid, pexec, ptask, now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[])
              AS k(id, exec, name, version, input, pid, pexec, ptask, start)
       ON CONFLICT (instance_id) DO NOTHING
       RETURNING instance_id, execution_id, version),
     started AS (
       INSERT INTO ${S}.inbox (instance_id, execution_id, event)
       SELECT c.instance_id, c.execution_id, k.start FROM created c
         JOIN unnest($1::text[], $9::text[]) AS k(id, start) ON k.id = c.instance_id)
     SELECT DISTINCT version FROM created`,
    [rows.map((r) => r.id), rows.map((r) => r.exec), rows.map((r) => r.name), rows.map((r) => r.version), rows.map((r) => r.input), rows.map((r) => r.pid), rows.map((r) => r.pexec), rows.map((r) => r.ptask), rows.map((r) => r.start)],
  );
  return new Set(r.rows.map((row) => row.version));
}

/** Messages: timers and continue-as-new starts to the turn's own instance, events and results to others. */
function collectMessages(turns: OrchestrationTurn[], now: string): NewMessage[] {
  const out: NewMessage[] = [];
  for (const t of turns) {
    if (t.continueAsNew) {
      const c = t.continueAsNew;
      // The first turn of the new execution reads its ExecutionStarted from the inbox.
      out.push({
        instanceId: t.instanceId,
        executionId: c.newExecutionId,
        visibleAt: null,
        event: {
          kind: 'ExecutionStarted',
          timestamp: now,
          name: c.name,
          version: c.version,
          instanceId: t.instanceId,
          executionId: c.newExecutionId,
          input: c.input,
          parent: c.parent,
          tags: c.tags,
        },
      });
      for (const e of c.carryoverEvents) out.push({ instanceId: t.instanceId, executionId: null, visibleAt: null, event: e });
    } else {
      for (const timer of t.timers) {
        out.push({ instanceId: t.instanceId, executionId: t.executionId, visibleAt: timer.fireAt, event: { kind: 'TimerFired', timestamp: timer.fireAt, timerId: timer.timerId, fireAt: timer.fireAt } });
      }
    }
    for (const m of t.messages) out.push({ instanceId: m.instanceId, executionId: null, visibleAt: m.visibleAt ?? null, event: m.event });
    for (const x of t.terminateInstances ?? []) {
      out.push({ instanceId: x.instanceId, executionId: null, visibleAt: null, event: { kind: 'ExecutionTerminated', timestamp: now, reason: x.reason, recurse: true } });
    }
  }
  return out;
}

/** Inserts messages to existing instances only (a message to an unknown id is dropped). */
async function insertMessages(client: C, S: string, messages: NewMessage[]): Promise<{ instance_id: string; version: string; visible_at: Date }[]> {
  if (messages.length === 0) return [];
  const r = await client.query<{ instance_id: string; version: string; visible_at: Date }>(
    `INSERT INTO ${S}.inbox (instance_id, execution_id, event, visible_at)
     SELECT k.instance_id, k.execution_id, k.event, coalesce(k.visible_at, now())
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS k(instance_id, execution_id, event, visible_at, n)
      WHERE EXISTS (SELECT 1 FROM ${S}.instances i WHERE i.instance_id = k.instance_id)
      ORDER BY k.n
     RETURNING instance_id, visible_at, (SELECT version FROM ${S}.instances i WHERE i.instance_id = inbox.instance_id) AS version`,
    [messages.map((m) => m.instanceId), messages.map((m) => m.executionId), messages.map((m) => m.event).map((e) => JSON.stringify(e)), messages.map((m) => m.visibleAt)],
  );
  return r.rows;
}

/** Writes each turn's instance row and releases its lease. */
async function finish(client: C, S: string, turns: OrchestrationTurn[]): Promise<{ instance_id: string; status: string; terminal: boolean }[]> {
  const r = await client.query<{ instance_id: string; status: string; terminal: boolean }>(
    `UPDATE ${S}.instances i SET
        status = k.status,
        output = CASE WHEN k.has_output THEN k.output ELSE i.output END,
        failure = CASE WHEN k.has_output THEN k.failure::jsonb ELSE i.failure END,
        custom_status = CASE WHEN k.set_custom THEN k.custom_status ELSE i.custom_status END,
        execution_id = coalesce(k.new_execution, i.execution_id),
        version = coalesce(k.new_version, i.version),
        input = CASE WHEN k.new_execution IS NOT NULL THEN k.new_input ELSE i.input END,
        updated_at = now(),
        completed_at = CASE WHEN k.status IN ('Completed', 'Failed', 'Terminated') THEN now() ELSE NULL END,
        lock_token = NULL, locked_until = NULL, locked_by = NULL,
        next_visible_at = (SELECT min(m.visible_at) FROM ${S}.inbox m WHERE m.instance_id = i.instance_id)
       FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::text[], $10::text[])
            AS k(instance_id, status, has_output, output, failure, set_custom, custom_status, new_execution, new_version, new_input)
      WHERE i.instance_id = k.instance_id
     RETURNING i.instance_id, i.status, i.status IN ('Completed', 'Failed', 'Terminated') AS terminal`,
    [
      turns.map((t) => t.instanceId),
      turns.map((t) => (t.continueAsNew ? 'Running' : t.status)),
      turns.map((t) => t.status === 'Completed' || t.status === 'Failed' || t.status === 'Terminated'),
      turns.map((t) => t.output ?? null),
      turns.map((t) => (t.failure ? JSON.stringify(t.failure) : null)),
      turns.map((t) => t.customStatus !== undefined),
      turns.map((t) => t.customStatus ?? null),
      turns.map((t) => t.continueAsNew?.newExecutionId ?? null),
      turns.map((t) => t.continueAsNew?.version ?? null),
      turns.map((t) => t.continueAsNew?.input ?? null),
    ],
  );
  return r.rows;
}

/**
 * Lowers `next_visible_at` of other instances that just received messages. Rows are locked in
 * id order; an instance already due is skipped, which keeps hot rows from being rewritten.
 */
export async function lowerNextVisible(client: C, S: string, targets: { instance_id: string; visible_at: Date }[]): Promise<void> {
  if (targets.length === 0) return;
  const earliest = new Map<string, Date>();
  for (const t of targets) {
    const prev = earliest.get(t.instance_id);
    if (!prev || t.visible_at < prev) earliest.set(t.instance_id, t.visible_at);
  }
  const ids = [...earliest.keys()].sort();
  await client.query(
    `UPDATE ${S}.instances i SET next_visible_at = LEAST(coalesce(i.next_visible_at, 'infinity'), k.visible_at)
       FROM (SELECT k.instance_id, k.visible_at FROM unnest($1::text[], $2::timestamptz[]) AS k(instance_id, visible_at)
               JOIN ${S}.instances x ON x.instance_id = k.instance_id
              ORDER BY k.instance_id FOR UPDATE OF x) k
      WHERE i.instance_id = k.instance_id AND (i.next_visible_at IS NULL OR i.next_visible_at > k.visible_at)`,
    [ids, ids.map((id) => earliest.get(id))],
  );
}

/** Commits the turns that still hold their lease; returns the ids that committed. */
export async function commitTurnBatch(client: C, S: string, channels: Channels, turns: OrchestrationTurn[]): Promise<Set<string>> {
  const now = new Date().toISOString();
  const valid = await fence(client, S, turns);
  const ok = turns.filter((t) => valid.has(t.instanceId));
  if (ok.length === 0) return valid;
  await insertHistory(client, S, ok);
  await dropOldExecutions(client, S, ok);
  await deleteConsumed(client, S, ok);
  const activityVersions = await insertActivities(client, S, ok);
  const subVersions = await insertSubOrchestrations(client, S, ok, now);
  const delivered = await insertMessages(client, S, collectMessages(ok, now));
  const finished = await finish(client, S, ok);
  await lowerNextVisible(
    client,
    S,
    delivered.filter((d) => !valid.has(d.instance_id)),
  );
  const notes: [string, string][] = [];
  for (const v of activityVersions) notes.push([channels.work, `a:${v}`]);
  const orchestrationVersions = new Set([...subVersions, ...delivered.filter((d) => d.visible_at.getTime() <= Date.now() + 5).map((d) => d.version)]);
  for (const v of orchestrationVersions) notes.push([channels.work, `o:${v}`]);
  for (const f of finished) notes.push([channels.status, f.instance_id]);
  await notify(client, notes);
  return valid;
}

/** Sends notifications; they are delivered when the transaction commits. */
export async function notify(client: C, notes: [string, string][]): Promise<void> {
  if (notes.length === 0) return;
  await client.query(`SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS k(c, p)`, [notes.map((n) => n[0]), notes.map((n) => n[1])]);
}

export { CHANNELS };
