/**
 * Rewinding a Failed instance: undo the turn that failed it and run the failed work again, in one
 * transaction.
 *
 * What a rewind does to one instance (and, recursively, to each Failed sub-orchestration whose failure
 * it undoes):
 * 1. The last turn of the current execution (from its last OrchestratorStarted: the turn that recorded
 *    ExecutionCompleted Failed) is deleted from history. A turn's newHistory is OrchestratorStarted,
 *    the messages it consumed, the events of the actions it took, OrchestratorCompleted (runtime/turn.ts).
 * 2. The consumed messages go back into the inbox, in their order, except the failures: TaskFailed, and
 *    SubOrchestrationInstanceFailed of a child that is Failed (that child is rewound instead).
 * 3. Every activity, timer and sub-orchestration the kept history is still waiting for gets its result
 *    again where it would otherwise never come: an activity with no result and no task row is scheduled
 *    afresh (this re-runs each dropped TaskFailed, and also an activity whose result arrived after the
 *    failure and was discarded), a timer gets its TimerFired back, a Completed child's result is sent
 *    again and a Failed child is rewound. Failures still waiting in the inbox for such work are deleted.
 *    Work the undone turn itself scheduled is cancelled (task rows, results): re-running the turn
 *    schedules it again under the same ids. A failing turn that also started sub-orchestrations or
 *    sent events is refused: those cannot be taken back.
 * 4. The instance is Running again: output, failure and completed_at cleared, the lease cleared (so a
 *    worker that claimed the Failed instance to discard late messages cannot commit over the rewind),
 *    `next_visible_at` recomputed from the inbox, workers and waiters notified.
 *
 * No history event records the rewind: the event set has no ExecutionRewound kind (history.ts is a
 * contract), so history stays exactly what a run without the failure would have written, and the store
 * logs the rewind instead.
 *
 * Workers' replay caches need nothing: orchestration-loop.ts caches an executor only after a committed
 * turn that did not finish the instance (`p.executor && !p.finished`), and takes the entry out when the
 * next turn starts, so no worker holds the failing turn. An entry from an earlier turn holds exactly
 * the kept history; claims compare its length with the stored one anyway.
 */
import { InstanceNotFoundError, InvalidInstanceStateError } from '../../errors.ts';
import type { EventOf, HistoryEvent } from '../../orchestration/history.ts';
import type { Queryable } from '../db.ts';
import { statusPayload, type Channels } from './notify.ts';

type C = Queryable;

/** Events a turn records for its own actions; everything between OrchestratorStarted and the first of these was consumed. */
const ACTION_KINDS = new Set<HistoryEvent['kind']>(['TaskScheduled', 'TimerCreated', 'SubOrchestrationInstanceCreated', 'EventSent', 'ExecutionCompleted', 'OrchestratorCompleted']);
/** Messages addressed to one execution; other messages (events, control) are not. */
const EXECUTION_ADDRESSED = new Set<HistoryEvent['kind']>([
  'ExecutionStarted',
  'TaskCompleted',
  'TaskFailed',
  'TimerFired',
  'SubOrchestrationInstanceCompleted',
  'SubOrchestrationInstanceFailed',
]);

interface InstanceRead {
  instance_id: string;
  execution_id: string;
  version: string;
  status: string;
}

interface ChildRead {
  instance_id: string;
  status: string;
  output: string | null;
  parent_task_id: number;
}

/** A message to insert; `visibleAt` null means now. */
interface NewMessage {
  instanceId: string;
  executionId: string | null;
  event: HistoryEvent;
  visibleAt: string | null;
}

interface NewTask {
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  version: string;
  input: string | null;
}

/** Every row change of one rewind, collected across the instance tree and written in a few statements. */
interface RewindPlan {
  /** Rewound instances, root first. */
  instances: InstanceRead[];
  /** History from this seq on is deleted, per instance. */
  cutAt: Map<string, number>;
  deleteMessageIds: string[];
  /** Activity tasks of the undone turns' own actions. */
  cancelTasks: { instanceId: string; executionId: string; taskId: number }[];
  messages: NewMessage[];
  tasks: NewTask[];
}

/** What a committed rewind did, for the log and the caller. */
export interface RewindOutcome {
  /** Instance ids rewound: the given one first, then the sub-orchestrations rewound with it. */
  rewound: string[];
  /** Activities scheduled to run again. */
  rescheduled: number;
}

/**
 * Rewinds a Failed instance and, recursively, its Failed sub-orchestrations whose failures it undoes.
 * Throws InstanceNotFoundError for an unknown id and InvalidInstanceStateError when it is not Failed.
 *
 * Locking: the tree is found with a first, unlocked read; then every instance row of it is locked FOR
 * UPDATE in one statement in instance-id order, like every multi-row writer of `instances`, and the
 * plan is made again from what the locks protect. Failed instances change only by a rewind or a purge,
 * so the second plan normally needs the same rows; if it needs more, those are locked too and it is
 * made once more (out of id order with the first set). While the rows are held, activity results and
 * messages to them wait (they lock the receiving row), so the inbox and task rows read here are the
 * ones the rewind decides on. Deadlocks remain possible — that extra round of locks, or an activity
 * completion that holds a task row this rewind cancels while it waits for the instance row — and are
 * resolved like any other: the transaction is retried (db.ts), so callers do not see them.
 */
export async function rewindInstance(client: C, S: string, channels: Channels, instanceId: string): Promise<RewindOutcome> {
  let locked = new Set<string>();
  let plan = await planTree(client, S, instanceId);
  for (let round = 0; ; round++) {
    const wanted = plan.instances.map((i) => i.instance_id).filter((id) => !locked.has(id));
    if (wanted.length === 0 && round > 0) break;
    await lockInstances(client, S, wanted);
    locked = new Set([...locked, ...wanted]);
    plan = await planTree(client, S, instanceId);
    if (round >= 3) throw new Error(`rewind of '${instanceId}': its sub-orchestrations kept changing while it was planned; try again`);
  }
  await deleteUndone(client, S, plan);
  await insertWork(client, S, plan);
  await reopen(client, S, channels, plan);
  return { rewound: plan.instances.map((i) => i.instance_id), rescheduled: plan.tasks.length };
}

/** Locks instance rows in id order (held to the end of the transaction). */
async function lockInstances(client: C, S: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query(`SELECT instance_id FROM ${S}.instances WHERE instance_id = ANY($1::text[]) ORDER BY instance_id FOR UPDATE`, [ids]);
}

/** Plans the rewind of `rootId` and of every Failed child whose failure it undoes. */
async function planTree(client: C, S: string, rootId: string): Promise<RewindPlan> {
  const plan: RewindPlan = { instances: [], cutAt: new Map(), deleteMessageIds: [], cancelTasks: [], messages: [], tasks: [] };
  const root = await readInstance(client, S, rootId);
  if (!root) throw new InstanceNotFoundError(rootId);
  if (root.status !== 'Failed') throw new InvalidInstanceStateError(rootId, root.status, 'rewind (only a Failed instance can be rewound)');
  const queue = [root];
  for (let next = queue.shift(); next; next = queue.shift()) {
    plan.instances.push(next);
    queue.push(...(await planOne(client, S, next, plan)));
  }
  return plan;
}

async function readInstance(client: C, S: string, instanceId: string): Promise<InstanceRead | undefined> {
  const r = await client.query<InstanceRead>(`SELECT instance_id, execution_id, version, status FROM ${S}.instances WHERE instance_id = $1`, [instanceId]);
  return r.rows[0];
}

/** Adds one instance's changes to the plan; returns the Failed children to rewind with it. */
async function planOne(client: C, S: string, inst: InstanceRead, plan: RewindPlan): Promise<InstanceRead[]> {
  const id = inst.instance_id;
  const exec = inst.execution_id;
  const history = (
    await client.query<{ event: string }>(`SELECT event FROM ${S}.history WHERE instance_id = $1 AND execution_id = $2 ORDER BY seq`, [id, exec])
  ).rows.map((r) => JSON.parse(r.event) as HistoryEvent);
  const inbox = (
    await client.query<{ id: string; event: string }>(`SELECT id::text AS id, event FROM ${S}.inbox WHERE instance_id = $1 ORDER BY visible_at, id`, [id])
  ).rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as HistoryEvent }));
  const taskRows = new Set(
    (await client.query<{ task_id: number }>(`SELECT task_id FROM ${S}.activity_tasks WHERE instance_id = $1 AND execution_id = $2`, [id, exec])).rows.map((r) => r.task_id),
  );
  const children = new Map(
    (
      await client.query<ChildRead>(
        `SELECT instance_id, status, output, parent_task_id FROM ${S}.instances WHERE parent_instance_id = $1 AND parent_execution_id = $2`,
        [id, exec],
      )
    ).rows.map((c) => [c.parent_task_id, c]),
  );

  const start = history.findLastIndex((e) => e.kind === 'OrchestratorStarted');
  const turn = start < 0 ? [] : history.slice(start);
  if (!turn.some((e) => e.kind === 'ExecutionCompleted' && e.status === 'Failed')) {
    throw new InvalidInstanceStateError(id, 'Failed but its history holds no turn that failed it', 'rewind');
  }
  const kept = history.slice(0, start);
  const firstAction = turn.findIndex((e, i) => i > 0 && ACTION_KINDS.has(e.kind));
  const consumed = turn.slice(1, firstAction);
  // What the failing turn sent into the world cannot be taken back: a child it started keeps running (and the
  // re-run turn would not start it again), an event it sent would be sent twice. Refuse rather than guess.
  const sentOut = turn.slice(firstAction).filter((e) => e.kind === 'SubOrchestrationInstanceCreated' || e.kind === 'EventSent');
  if (sentOut.length > 0) {
    throw new InvalidInstanceStateError(
      id,
      `Failed in a turn that also ${sentOut.some((e) => e.kind === 'EventSent') ? 'sent events' : 'started sub-orchestrations'}, which a rewind cannot take back; use restart to run it again from the start`,
      'rewind',
    );
  }
  const undone = new Set(turn.slice(firstAction).flatMap((e) => (e.kind === 'TaskScheduled' || e.kind === 'TimerCreated' ? [e.eventId] : [])));
  plan.cutAt.set(id, start);
  for (const taskId of undone) if (taskRows.has(taskId)) plan.cancelTasks.push({ instanceId: id, executionId: exec, taskId });

  const rewindable = (taskId: number) => children.get(taskId)?.status === 'Failed';
  /** A failure that ends with the rewind: the work behind it runs again. */
  const undoes = (e: HistoryEvent) => e.kind === 'TaskFailed' || (e.kind === 'SubOrchestrationInstanceFailed' && rewindable(e.taskScheduledId));

  // Results already recorded, re-queued, or waiting in the inbox; what is still open gets its result again below.
  const resolved = new Set<number>();
  const noteResult = (e: HistoryEvent) => {
    const target = resultTarget(e);
    if (target !== undefined) resolved.add(target);
  };
  kept.forEach(noteResult);
  // Re-queued messages become visible as of the undone turn, so they keep their place before later arrivals.
  const turnTime = turn[0]?.timestamp ?? new Date().toISOString();
  const requeueAt = turnTime < new Date().toISOString() ? turnTime : null;
  for (const e of consumed) {
    if (undoes(e)) continue;
    plan.messages.push({ instanceId: id, executionId: EXECUTION_ADDRESSED.has(e.kind) ? exec : null, event: e, visibleAt: requeueAt });
    noteResult(e);
  }
  for (const m of inbox) {
    const target = resultTarget(m.event);
    if (target !== undefined && (undone.has(target) || undoes(m.event))) plan.deleteMessageIds.push(m.id);
    else noteResult(m.event);
  }

  const now = new Date().toISOString();
  const failedChildren: InstanceRead[] = [];
  for (const e of kept) {
    if (!isScheduling(e) || resolved.has(e.eventId)) continue;
    if (e.kind === 'TaskScheduled') {
      if (!taskRows.has(e.eventId)) {
        plan.tasks.push({ instanceId: id, executionId: exec, taskId: e.eventId, name: e.name, version: e.version ?? inst.version, input: e.input ?? null });
      }
    } else if (e.kind === 'TimerCreated') {
      plan.messages.push({ instanceId: id, executionId: exec, visibleAt: e.fireAt, event: { kind: 'TimerFired', timestamp: e.fireAt, timerId: e.eventId, fireAt: e.fireAt } });
    } else {
      const child = children.get(e.eventId);
      if (child?.instance_id !== e.instanceId) continue; // never created, or purged: nothing can answer for it
      if (child.status === 'Failed') {
        const row = await readInstance(client, S, child.instance_id);
        if (row) failedChildren.push(row);
      } else if (child.status === 'Completed') {
        const event: HistoryEvent = { kind: 'SubOrchestrationInstanceCompleted', timestamp: now, taskScheduledId: e.eventId, result: child.output ?? undefined };
        plan.messages.push({ instanceId: id, executionId: exec, visibleAt: null, event });
      } else if (child.status === 'Terminated') {
        const failure = { errorType: 'OrchestrationTerminated', message: `sub-orchestration '${child.instance_id}' was terminated` };
        plan.messages.push({ instanceId: id, executionId: exec, visibleAt: null, event: { kind: 'SubOrchestrationInstanceFailed', timestamp: now, taskScheduledId: e.eventId, failure } });
      }
      // Still running: its result comes as usual.
    }
  }
  return failedChildren;
}

type Scheduling = EventOf<'TaskScheduled'> | EventOf<'TimerCreated'> | EventOf<'SubOrchestrationInstanceCreated'>;

function isScheduling(e: HistoryEvent): e is Scheduling {
  return e.kind === 'TaskScheduled' || e.kind === 'TimerCreated' || e.kind === 'SubOrchestrationInstanceCreated';
}

/** The scheduling event id a result answers, if `e` is a result. */
function resultTarget(e: HistoryEvent): number | undefined {
  switch (e.kind) {
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'SubOrchestrationInstanceCompleted':
    case 'SubOrchestrationInstanceFailed':
      return e.taskScheduledId;
    case 'TimerFired':
      return e.timerId;
    default:
      return undefined;
  }
}

/**
 * Deletes the undone turns' history rows, the messages the rewind replaces and the task rows of the
 * undone turns' own actions. Locking: only rows of instances whose rows this transaction holds; a
 * worker holding one of those task rows finds it gone when it completes, and its result is dropped.
 */
async function deleteUndone(client: C, S: string, plan: RewindPlan): Promise<void> {
  const ids = plan.instances.map((i) => i.instance_id);
  await client.query(
    `WITH cut AS (
       DELETE FROM ${S}.history h USING unnest($1::text[], $2::text[], $3::int[]) AS k(instance_id, execution_id, seq)
        WHERE h.instance_id = k.instance_id AND h.execution_id = k.execution_id AND h.seq >= k.seq),
     replaced AS (
       DELETE FROM ${S}.inbox WHERE id = ANY($4::bigint[])),
     cancelled AS (
       DELETE FROM ${S}.activity_tasks t USING unnest($5::text[], $6::text[], $7::int[]) AS k(instance_id, execution_id, task_id)
        WHERE t.instance_id = k.instance_id AND t.execution_id = k.execution_id AND t.task_id = k.task_id)
     SELECT 1`,
    [
      ids,
      plan.instances.map((i) => i.execution_id),
      ids.map((id) => plan.cutAt.get(id) ?? 0),
      plan.deleteMessageIds,
      plan.cancelTasks.map((t) => t.instanceId),
      plan.cancelTasks.map((t) => t.executionId),
      plan.cancelTasks.map((t) => t.taskId),
    ],
  );
}

/** Inserts the re-queued and recovered messages, in plan order, and the activities to run again. */
async function insertWork(client: C, S: string, plan: RewindPlan): Promise<void> {
  const m = plan.messages;
  const t = plan.tasks;
  if (m.length === 0 && t.length === 0) return;
  await client.query(
    `WITH queued AS (
       INSERT INTO ${S}.inbox (instance_id, execution_id, event, visible_at)
       SELECT instance_id, execution_id, event, coalesce(visible_at, now())
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS k(instance_id, execution_id, event, visible_at, n)
        ORDER BY n),
     scheduled AS (
       INSERT INTO ${S}.activity_tasks (instance_id, execution_id, task_id, name, version, input)
       SELECT * FROM unnest($5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[]))
     SELECT 1`,
    [
      m.map((x) => x.instanceId),
      m.map((x) => x.executionId),
      m.map((x) => JSON.stringify(x.event)),
      m.map((x) => x.visibleAt),
      t.map((x) => x.instanceId),
      t.map((x) => x.executionId),
      t.map((x) => x.taskId),
      t.map((x) => x.name),
      t.map((x) => x.version),
      t.map((x) => x.input),
    ],
  );
}

/**
 * Sets the rewound instances Running, clears their result and lease, recomputes `next_visible_at` from
 * the inbox (so re-queued messages are claimed at once; with none the instance waits for the re-run
 * work's result), and wakes workers and waiters when the transaction commits. Locking: the rows are
 * held since `lockInstances`.
 */
async function reopen(client: C, S: string, channels: Channels, plan: RewindPlan): Promise<void> {
  const notes: [string, string][] = [];
  for (const v of new Set(plan.instances.map((i) => i.version))) notes.push([channels.work, `o:${v}`]);
  for (const v of new Set(plan.tasks.map((t) => t.version))) notes.push([channels.work, `a:${v}`]);
  for (const i of plan.instances) notes.push([channels.status, statusPayload(i.instance_id, 'Running')]);
  await client.query(
    `WITH reopened AS (
       UPDATE ${S}.instances i SET
          status = 'Running', output = NULL, failure = NULL, completed_at = NULL, updated_at = now(),
          lock_token = NULL, locked_until = NULL, locked_by = NULL,
          next_visible_at = (SELECT min(m.visible_at) FROM ${S}.inbox m WHERE m.instance_id = i.instance_id)
        WHERE i.instance_id = ANY($1::text[])
       RETURNING 1),
     notified AS (
       SELECT pg_notify(n.c, n.p) FROM unnest($2::text[], $3::text[]) AS n(c, p))
     SELECT (SELECT count(*) FROM reopened) AS reopened, (SELECT count(*) FROM notified) AS notified`,
    [plan.instances.map((i) => i.instance_id), notes.map((n) => n[0]), notes.map((n) => n[1])],
  );
}
