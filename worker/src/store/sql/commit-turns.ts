/**
 * Committing a batch of orchestration turns in one transaction, with a fixed number of
 * statements however many turns the batch holds.
 *
 * Order matters:
 * 1. `fence`: lock the batch's instance rows and the rows of every instance it sends messages
 *    to, in one statement in instance-id order (so concurrent batches cannot deadlock on each
 *    other), and keep only turns whose lease is still theirs. A worker whose lease lapsed or was
 *    taken over writes nothing.
 * 2. write history, delete consumed messages, insert activities, sub-orchestrations and messages.
 * 3. `finish`: update the instance rows, recomputing `next_visible_at` from the inbox. Because
 *    this runs after step 1 took the row locks and in a new statement snapshot, a message
 *    committed concurrently is either seen here, or its writer waits for our lock and then
 *    lowers `next_visible_at` itself: a message can never be stranded.
 * 4. lower `next_visible_at` of other instances that received messages, then notify.
 */
import type { Logger } from 'pino';
import type { Queryable } from '../db.ts';
import type { HistoryEvent } from '../../orchestration/history.ts';
import type { OrchestrationTurn } from '../types.ts';
import { CHANNELS, statusPayload, type Channels } from './notify.ts';

type C = Queryable;

/** A message row to insert, flattened for `unnest`. */
interface NewMessage {
  instanceId: string;
  executionId: string | null;
  event: HistoryEvent;
  visibleAt: string | null;
}

/** What later steps need to know about a fenced instance. */
export interface FencedInstance {
  name: string;
  parentInstanceId: string | null;
  parentExecutionId: string | null;
  /** Status before this turn: waiters are notified only when a turn changes it. */
  status: string;
}

/**
 * Fences the batch; returns the instances whose turns may commit. A turn commits only while its
 * token matches and its lease has not run out in database time: a worker whose lease lapsed writes
 * nothing, even if no one else claimed the instance yet (it cannot know that; the next claimer
 * redoes the turn).
 *
 * Locking: FOR UPDATE, held to the end of the transaction, on the batch's own instance rows *and*
 * on every instance its messages go to, all in one statement in instance-id order. Taking every
 * row lock the commit will need up front, in one global order, is what keeps batches that message
 * each other from deadlocking: a batch never holds one row while waiting for another.
 */
async function fence(client: C, S: string, turns: OrchestrationTurn[]): Promise<Map<string, FencedInstance>> {
  const targets = new Set<string>();
  for (const t of turns) {
    for (const m of t.messages) targets.add(m.instanceId);
    for (const x of t.terminateInstances ?? []) targets.add(x.instanceId);
  }
  for (const t of turns) targets.delete(t.instanceId);
  const r = await client.query<{ instance_id: string; name: string; status: string; parent_instance_id: string | null; parent_execution_id: string | null; ours: boolean }>(
    `SELECT i.instance_id, i.name, i.status, i.parent_instance_id, i.parent_execution_id,
            coalesce(i.execution_id = k.execution_id AND i.lock_token = k.token AND i.locked_until >= now(), false) AS ours
       FROM ${S}.instances i
       LEFT JOIN unnest($1::text[], $2::text[], $3::uuid[]) AS k(instance_id, execution_id, token) ON k.instance_id = i.instance_id
      WHERE i.instance_id = ANY($1::text[]) OR i.instance_id = ANY($4::text[])
      ORDER BY i.instance_id
      FOR UPDATE OF i`,
    [turns.map((t) => t.instanceId), turns.map((t) => t.executionId), turns.map((t) => t.lockToken), [...targets]],
  );
  return new Map(
    r.rows
      .filter((row) => row.ours)
      .map((row) => [
        row.instance_id,
        { name: row.name, parentInstanceId: row.parent_instance_id, parentExecutionId: row.parent_execution_id, status: row.status },
      ]),
  );
}

/**
 * Appends history, deletes consumed messages and inserts scheduled activities in one statement:
 * the three touch different tables and depend on nothing written in this transaction, so they
 * share a round trip. Returns the versions that got activity work (for notifications).
 */
async function writeTurnRows(client: C, S: string, turns: OrchestrationTurn[]): Promise<Set<string>> {
  const h: [string[], string[], number[], string[], string[]] = [[], [], [], [], []];
  const a: [string[], string[], number[], string[], string[], (string | null)[]] = [[], [], [], [], [], []];
  const consumed: string[] = [];
  for (const t of turns) {
    consumed.push(...t.consumedMessageIds);
    // A continue-as-new turn's history is dropped with its execution, so it is not written.
    if (!t.continueAsNew) {
      t.newHistory.forEach((e, i) => {
        h[0].push(t.instanceId);
        h[1].push(t.executionId);
        h[2].push(t.historyStartSeq + i);
        h[3].push(e.kind);
        h[4].push(JSON.stringify(e));
      });
    }
    for (const act of t.activities) {
      a[0].push(t.instanceId);
      a[1].push(t.executionId);
      a[2].push(act.taskId);
      a[3].push(act.name);
      a[4].push(act.version);
      a[5].push(act.input ?? null);
    }
  }
  if (h[0].length === 0 && consumed.length === 0 && a[0].length === 0) return new Set();
  await client.query(
    `WITH appended AS (
       INSERT INTO ${S}.history (instance_id, execution_id, seq, kind, event)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[])),
     consumed AS (
       DELETE FROM ${S}.inbox WHERE id = ANY($6::bigint[])),
     scheduled AS (
       INSERT INTO ${S}.activity_tasks (instance_id, execution_id, task_id, name, version, input)
       SELECT * FROM unnest($7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[]))
     SELECT 1`,
    [...h, consumed, ...a],
  );
  return new Set(a[4]);
}

/**
 * Continue-as-new: drops the old execution's history and takes every remaining inbox row of the
 * instance out. Rows addressed to the old execution (timers, results) are dead; execution-agnostic
 * ones (raised events that arrived during the turn) are returned so they can be queued again behind
 * the new ExecutionStarted and the carryover events, which are older than they are.
 */
async function dropOldExecutions(client: C, S: string, turns: OrchestrationTurn[]): Promise<Map<string, NewMessage[]>> {
  const requeue = new Map<string, NewMessage[]>();
  const can = turns.filter((t) => t.continueAsNew);
  if (can.length === 0) return requeue;
  const ids = can.map((t) => t.instanceId);
  await client.query(
    `DELETE FROM ${S}.history h USING unnest($1::text[], $2::text[]) AS k(instance_id, execution_id)
      WHERE h.instance_id = k.instance_id AND h.execution_id = k.execution_id`,
    [ids, can.map((t) => t.executionId)],
  );
  const r = await client.query<{ id: string; instance_id: string; execution_id: string | null; event: string; visible_at: Date }>(
    `DELETE FROM ${S}.inbox WHERE instance_id = ANY($1::text[])
     RETURNING id::text AS id, instance_id, execution_id, event, visible_at`,
    [ids],
  );
  const kept = r.rows
    .filter((m) => m.execution_id === null)
    .sort((a, b) => a.visible_at.getTime() - b.visible_at.getTime() || Number(BigInt(a.id) - BigInt(b.id)));
  for (const m of kept) {
    const list = requeue.get(m.instance_id) ?? [];
    // Already-visible rows keep their order by becoming visible "now", after the carryover.
    const later = m.visible_at.getTime() > Date.now() ? m.visible_at.toISOString() : null;
    list.push({ instanceId: m.instance_id, executionId: null, visibleAt: later, event: JSON.parse(m.event) as HistoryEvent });
    requeue.set(m.instance_id, list);
  }
  return requeue;
}

/** Outcome of creating a batch's sub-orchestrations. */
interface SubOrchestrationOutcome {
  /** Versions that got new work (to notify). */
  versions: Set<string>;
  /** Failure messages to parents whose chosen child id belongs to another instance. */
  refusals: NewMessage[];
}

/**
 * New sub-orchestration instances with their ExecutionStarted. An id that is already taken by an
 * unrelated instance is not touched; the parent gets SubOrchestrationInstanceFailed instead, so it
 * does not wait forever for a result that will never come. (The same parent task re-creating its own
 * child cannot happen: the turn that created it committed SubOrchestrationInstanceCreated atomically.)
 */
async function insertSubOrchestrations(
  client: C,
  S: string,
  turns: OrchestrationTurn[],
  fenced: Map<string, FencedInstance>,
  now: string,
): Promise<SubOrchestrationOutcome> {
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
        parent: { instanceId: t.instanceId, executionId: t.executionId, taskScheduledId: s.parentTaskId, name: fenced.get(t.instanceId)?.name ?? '' },
      };
      rows.push({ id: s.instanceId, exec, name: s.name, version: s.version, input: s.input ?? null, pid: t.instanceId, pexec: t.executionId, ptask: s.parentTaskId, start: JSON.stringify(start) });
    }
  }
  if (rows.length === 0) return { versions: new Set(), refusals: [] };
  const r = await client.query<{ created: boolean; version: string | null; instance_id: string; pid: string; pexec: string; ptask: number }>(
    `WITH k AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[])
              AS k(id, exec, name, version, input, pid, pexec, ptask, start)),
     created AS (
       INSERT INTO ${S}.instances (instance_id, execution_id, name, version, status, input, parent_instance_id, parent_execution_id, parent_task_id, next_visible_at)
       SELECT id, exec, name, version, 'Pending', input, pid, pexec, ptask, now() FROM k
       ON CONFLICT (instance_id) DO NOTHING
       RETURNING instance_id, execution_id, version),
     started AS (
       INSERT INTO ${S}.inbox (instance_id, execution_id, event)
       SELECT c.instance_id, c.execution_id, k.start FROM created c JOIN k ON k.id = c.instance_id AND k.exec = c.execution_id)
     SELECT true AS created, c.version, c.instance_id, NULL AS pid, NULL AS pexec, NULL::int AS ptask FROM created c
     UNION ALL
     SELECT false, NULL, k.id, k.pid, k.pexec, k.ptask FROM k
      WHERE NOT EXISTS (SELECT 1 FROM created c WHERE c.instance_id = k.id AND c.execution_id = k.exec)
        AND NOT EXISTS (SELECT 1 FROM ${S}.instances x WHERE x.instance_id = k.id AND x.parent_instance_id = k.pid AND x.parent_task_id = k.ptask)`,
    [rows.map((r) => r.id), rows.map((r) => r.exec), rows.map((r) => r.name), rows.map((r) => r.version), rows.map((r) => r.input), rows.map((r) => r.pid), rows.map((r) => r.pexec), rows.map((r) => r.ptask), rows.map((r) => r.start)],
  );
  const versions = new Set<string>();
  const refusals: NewMessage[] = [];
  for (const row of r.rows) {
    if (row.created) {
      if (row.version) versions.add(row.version);
      continue;
    }
    refusals.push({
      instanceId: row.pid,
      executionId: row.pexec,
      visibleAt: null,
      event: {
        kind: 'SubOrchestrationInstanceFailed',
        timestamp: now,
        taskScheduledId: row.ptask,
        failure: {
          errorType: 'InstanceAlreadyExistsError',
          message: `cannot start sub-orchestration '${row.instance_id}': an unrelated instance with that id already exists; choose another instance id`,
          nonRetriable: true,
        },
      },
    });
  }
  return { versions, refusals };
}

function isParentResult(event: HistoryEvent): boolean {
  return event.kind === 'SubOrchestrationInstanceCompleted' || event.kind === 'SubOrchestrationInstanceFailed';
}

/**
 * Messages: timers and continue-as-new starts to the turn's own instance, events and results to
 * others. A result to the turn's parent is addressed to the parent's execution that started this
 * child, so a parent that has continued as new never receives it.
 */
function collectMessages(
  turns: OrchestrationTurn[],
  fenced: Map<string, FencedInstance>,
  requeued: Map<string, NewMessage[]>,
  now: string,
): NewMessage[] {
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
      out.push(...(requeued.get(t.instanceId) ?? []));
    } else {
      for (const timer of t.timers) {
        out.push({ instanceId: t.instanceId, executionId: t.executionId, visibleAt: timer.fireAt, event: { kind: 'TimerFired', timestamp: timer.fireAt, timerId: timer.timerId, fireAt: timer.fireAt } });
      }
    }
    const self = fenced.get(t.instanceId);
    for (const m of t.messages) {
      const toParent = self?.parentInstanceId === m.instanceId && isParentResult(m.event);
      out.push({ instanceId: m.instanceId, executionId: toParent ? self.parentExecutionId : null, visibleAt: m.visibleAt ?? null, event: m.event });
    }
    for (const x of t.terminateInstances ?? []) {
      out.push({ instanceId: x.instanceId, executionId: null, visibleAt: null, event: { kind: 'ExecutionTerminated', timestamp: now, reason: x.reason, recurse: true } });
    }
  }
  return out;
}

/** A delivered message: where it went and when it becomes visible. */
interface Delivered {
  instance_id: string;
  version: string;
  status: string;
  visible_at: Date;
  kind: string;
}

/**
 * Inserts messages, in the given order, to instances that exist and, for execution-addressed
 * messages, still run that execution (a continue-as-new start is addressed to the execution the
 * same batch is switching to). Anything else is dropped: its addressee is gone or has moved on.
 */
async function insertMessages(client: C, S: string, messages: NewMessage[], switching: Map<string, string>): Promise<Delivered[]> {
  if (messages.length === 0) return [];
  const r = await client.query<Delivered>(
    `WITH k AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) WITH ORDINALITY AS k(instance_id, execution_id, event, visible_at, switching_to, n)),
     ins AS (
       INSERT INTO ${S}.inbox (instance_id, execution_id, event, visible_at)
       SELECT k.instance_id, k.execution_id, k.event, coalesce(k.visible_at, now())
         FROM k JOIN ${S}.instances i ON i.instance_id = k.instance_id
        WHERE k.execution_id IS NULL OR k.execution_id = coalesce(k.switching_to, i.execution_id)
        ORDER BY k.n
       RETURNING instance_id, visible_at, event)
     SELECT ins.instance_id, i.version, i.status, ins.visible_at, (ins.event::json)->>'kind' AS kind
       FROM ins JOIN ${S}.instances i ON i.instance_id = ins.instance_id`,
    [
      messages.map((m) => m.instanceId),
      messages.map((m) => m.executionId),
      messages.map((m) => JSON.stringify(m.event)),
      messages.map((m) => m.visibleAt),
      messages.map((m) => switching.get(m.instanceId) ?? null),
    ],
  );
  return r.rows;
}

/** The status a turn leaves its instance in. */
function statusAfter(t: OrchestrationTurn): string {
  return t.continueAsNew ? 'Running' : t.status;
}

/**
 * Writes each turn's instance row, releases its lease and sends the batch's notifications (they are
 * delivered when the transaction commits), in one statement.
 */
async function finish(client: C, S: string, turns: OrchestrationTurn[], notes: [string, string][]): Promise<void> {
  await client.query(
    `WITH finished AS (
     UPDATE ${S}.instances i SET
        status = k.status,
        output = CASE WHEN k.has_output THEN k.output ELSE i.output END,
        failure = CASE WHEN k.has_output THEN k.failure::jsonb ELSE i.failure END,
        custom_status = CASE WHEN k.set_custom THEN k.custom_status ELSE i.custom_status END,
        execution_id = coalesce(k.new_execution, i.execution_id),
        version = coalesce(k.new_version, i.version),
        input = CASE WHEN k.new_execution IS NOT NULL THEN k.new_input ELSE i.input END,
        updated_at = now(),
        completed_at = CASE WHEN k.has_output THEN now() WHEN k.status IN ('Completed', 'Failed', 'Terminated') THEN i.completed_at ELSE NULL END,
        lock_token = NULL, locked_until = NULL, locked_by = NULL,
        next_visible_at = (SELECT min(m.visible_at) FROM ${S}.inbox m WHERE m.instance_id = i.instance_id)
       FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::text[], $10::text[])
            AS k(instance_id, status, has_output, output, failure, set_custom, custom_status, new_execution, new_version, new_input)
      WHERE i.instance_id = k.instance_id
     RETURNING 1),
     notified AS (
       SELECT pg_notify(n.c, n.p) FROM unnest($11::text[], $12::text[]) AS n(c, p))
     SELECT (SELECT count(*) FROM finished) AS finished, (SELECT count(*) FROM notified) AS notified`,
    [
      turns.map((t) => t.instanceId),
      turns.map(statusAfter),
      // Only the turn that finishes the instance writes its result; a later turn that merely drops late
      // messages (a timer firing after completion) carries the terminal status but must not blank it.
      turns.map((t) => t.output !== undefined || t.failure !== undefined || t.newHistory.some((e) => e.kind === 'ExecutionCompleted')),
      turns.map((t) => t.output ?? null),
      turns.map((t) => (t.failure ? JSON.stringify(t.failure) : null)),
      turns.map((t) => t.customStatus !== undefined),
      turns.map((t) => t.customStatus ?? null),
      turns.map((t) => t.continueAsNew?.newExecutionId ?? null),
      turns.map((t) => t.continueAsNew?.version ?? null),
      turns.map((t) => t.continueAsNew?.input ?? null),
      notes.map((n) => n[0]),
      notes.map((n) => n[1]),
    ],
  );
}

/**
 * Lowers `next_visible_at` of instances that just received messages. Rows are locked in id order;
 * an instance already due is skipped, which keeps hot rows from being rewritten.
 *
 * A Pending instance is not lowered: its ExecutionStarted is in the inbox already, visible at its
 * (possibly scheduled) start, and an event raised before then must not start it early; it is
 * delivered with the start. `force` lowers it anyway (terminate, which also makes the start visible).
 */
export async function lowerNextVisible(
  client: C,
  S: string,
  targets: { instance_id: string; visible_at: Date }[],
  force = false,
): Promise<void> {
  if (targets.length === 0) return;
  const earliest = new Map<string, Date>();
  for (const t of targets) {
    const prev = earliest.get(t.instance_id);
    if (!prev || t.visible_at < prev) earliest.set(t.instance_id, t.visible_at);
  }
  const ids = [...earliest.keys()].sort();
  if (force) {
    // Only the ExecutionStarted of a Pending instance is addressed to its execution: make it visible too.
    await client.query(
      `UPDATE ${S}.inbox m SET visible_at = now() FROM ${S}.instances i
        WHERE i.instance_id = ANY($1::text[]) AND i.status = 'Pending'
          AND m.instance_id = i.instance_id AND m.execution_id = i.execution_id AND m.visible_at > now()`,
      [ids],
    );
  }
  await client.query(
    `UPDATE ${S}.instances i SET next_visible_at = LEAST(coalesce(i.next_visible_at, 'infinity'), k.visible_at)
       FROM (SELECT k.instance_id, k.visible_at FROM unnest($1::text[], $2::timestamptz[]) AS k(instance_id, visible_at)
               JOIN ${S}.instances x ON x.instance_id = k.instance_id
              ORDER BY k.instance_id FOR UPDATE OF x) k
      WHERE i.instance_id = k.instance_id AND (i.next_visible_at IS NULL OR i.next_visible_at > k.visible_at)
        AND ($3 OR i.status <> 'Pending')`,
    [ids, ids.map((id) => earliest.get(id)), force],
  );
}

/** Commits the turns that still hold their lease; returns the ids that committed. */
export async function commitTurnBatch(
  client: C,
  S: string,
  channels: Channels,
  turns: OrchestrationTurn[],
  log?: Logger,
): Promise<Set<string>> {
  const now = new Date().toISOString();
  const fenced = await fence(client, S, turns);
  const ok = turns.filter((t) => fenced.has(t.instanceId));
  if (ok.length === 0) return new Set();
  const activityVersions = await writeTurnRows(client, S, ok);
  const requeued = await dropOldExecutions(client, S, ok);
  const subs = await insertSubOrchestrations(client, S, ok, fenced, now);
  const messages = [...collectMessages(ok, fenced, requeued, now), ...subs.refusals];
  const switching = new Map(ok.filter((t) => t.continueAsNew).map((t) => [t.instanceId, t.continueAsNew!.newExecutionId]));
  const delivered = await insertMessages(client, S, messages, switching);
  if (delivered.length < messages.length) {
    log?.debug({ sent: messages.length, delivered: delivered.length }, 'messages to unknown instances or ended executions dropped');
  }
  const notes: [string, string][] = [];
  for (const v of activityVersions) notes.push([channels.work, `a:${v}`]);
  const orchestrationVersions = new Set([...subs.versions, ...delivered.filter((d) => d.visible_at.getTime() <= Date.now() + 5).map((d) => d.version)]);
  for (const v of orchestrationVersions) notes.push([channels.work, `o:${v}`]);
  // Only a changed status can satisfy a waiter's predicate; most turns leave it Running.
  for (const t of ok) {
    const status = statusAfter(t);
    if (fenced.get(t.instanceId)?.status !== status) notes.push([channels.status, statusPayload(t.instanceId, status)]);
  }
  await finish(client, S, ok, notes);
  const others = delivered.filter((d) => !fenced.has(d.instance_id));
  const terminating = others.filter((d) => d.kind === 'ExecutionTerminated');
  await lowerNextVisible(client, S, others.filter((d) => d.kind !== 'ExecutionTerminated'));
  await lowerNextVisible(client, S, terminating, true);
  return new Set(fenced.keys());
}

/** Sends notifications; they are delivered when the transaction commits. */
export async function notify(client: C, notes: [string, string][]): Promise<void> {
  if (notes.length === 0) return;
  await client.query(`SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS k(c, p)`, [notes.map((n) => n[0]), notes.map((n) => n[1])]);
}

export { CHANNELS };
