/**
 * The invariant checker: what must hold in a hub after any run, however many faults it survived.
 *
 * The hub's own tables show only the present (continue-as-new drops an execution's history, a
 * completed activity task is deleted), so `installAudit` adds test-only triggers that copy every
 * history row, every status change and every activity completion into audit tables as they happen,
 * together with the worker holding the lease at that moment. The checker reads those.
 *
 * Invariants (each violation names one):
 * - `terminal-once`: every started instance ends in exactly one terminal state: its status log enters a
 *   terminal status once and never leaves it, its history ends with one ExecutionCompleted of that status,
 *   and nothing of it is left behind (no lease, no activity task, no visible message).
 * - `history-contiguous`: each execution's history is seq 0..n-1, each seq written once, starting with a
 *   turn that holds its ExecutionStarted, and turns are well formed (OrchestratorStarted … OrchestratorCompleted).
 * - `one-result`: every scheduled activity, timer and sub-orchestration has at most one result event, no
 *   result is addressed to nothing, and — in an execution that completed normally — every activity and
 *   sub-orchestration has exactly one result, and every timer due before the end has fired.
 * - `version-affinity`: every turn was committed, and every activity completed, by a worker of the work's version.
 * - `events-once`: every external event the client raised and got `true` for is in its instance's history
 *   (for an instance that continued as new: its output must show it), and no execution holds it twice.
 * - `side-effects` (when effects are given): every completed activity ran at least once, each run under a
 *   delivery number of its own (the attempt count shows every re-run), never more runs than claims, and
 *   only on workers of the task's version.
 * - `outputs` (when expectations are given): each instance ended with the expected status and output.
 *
 * Rewinds (a Failed instance set Running again, its failing turn deleted from history and run anew) are
 * legal: `terminal-once` judges the status log from the last rewind on, and the current execution of a
 * rewound instance is judged by its stored history, since the audit also holds the turns the rewind undid.
 */
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { HistoryEvent } from '../../worker/src/orchestration/history.ts';
import type { EffectRecord } from './fixtures/fault-worker.ts';

/** Enough of a hub to inspect it. */
export interface AuditedHub {
  /** The quoted schema. */
  S: string;
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Creates the audit tables and triggers in the hub's schema (test only; the engine never sees them). */
export async function installAudit(hub: AuditedHub): Promise<void> {
  const S = hub.S;
  await hub.sql(`
    CREATE TABLE ${S}.audit_history (
      id bigserial PRIMARY KEY, instance_id text, execution_id text, seq integer, kind text, event text,
      locked_by text, version text, at timestamptz DEFAULT clock_timestamp());
    CREATE FUNCTION ${S}.audit_history() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${S}.audit_history (instance_id, execution_id, seq, kind, event, locked_by, version)
      SELECT NEW.instance_id, NEW.execution_id, NEW.seq, NEW.kind, NEW.event, i.locked_by, i.version
        FROM ${S}.instances i WHERE i.instance_id = NEW.instance_id;
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_history AFTER INSERT ON ${S}.history FOR EACH ROW EXECUTE FUNCTION ${S}.audit_history();

    CREATE TABLE ${S}.audit_status (
      id bigserial PRIMARY KEY, instance_id text, execution_id text, old_status text, new_status text,
      at timestamptz DEFAULT clock_timestamp());
    CREATE FUNCTION ${S}.audit_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO ${S}.audit_status (instance_id, execution_id, old_status, new_status) VALUES (OLD.instance_id, OLD.execution_id, OLD.status, '(deleted)');
      ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO ${S}.audit_status (instance_id, execution_id, old_status, new_status) VALUES (NEW.instance_id, NEW.execution_id, NULL, NEW.status);
      ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO ${S}.audit_status (instance_id, execution_id, old_status, new_status) VALUES (NEW.instance_id, NEW.execution_id, OLD.status, NEW.status);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_status AFTER INSERT OR UPDATE OR DELETE ON ${S}.instances FOR EACH ROW EXECUTE FUNCTION ${S}.audit_status();

    CREATE TABLE ${S}.audit_activities (
      id bigserial PRIMARY KEY, task_row bigint, instance_id text, execution_id text, task_id integer, name text,
      version text, locked_by text, delivery_count integer, at timestamptz DEFAULT clock_timestamp());
    CREATE FUNCTION ${S}.audit_activities() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${S}.audit_activities (task_row, instance_id, execution_id, task_id, name, version, locked_by, delivery_count)
      VALUES (OLD.id, OLD.instance_id, OLD.execution_id, OLD.task_id, OLD.name, OLD.version, OLD.locked_by, OLD.delivery_count);
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_activities AFTER DELETE ON ${S}.activity_tasks FOR EACH ROW EXECUTE FUNCTION ${S}.audit_activities();
  `);
}

/** One broken promise. */
export interface Violation {
  invariant:
    | 'terminal-once'
    | 'history-contiguous'
    | 'one-result'
    | 'version-affinity'
    | 'events-once'
    | 'side-effects'
    | 'outputs';
  instanceId: string;
  detail: string;
}

/** An external event the client raised and got `true` (acknowledged) for. */
export interface AckedEvent {
  instanceId: string;
  name: string;
  /** The event data exactly as serialised (JSON text). */
  input: string;
}

/** What an instance must have ended with. */
export interface Expectation {
  status: 'Completed' | 'Failed' | 'Terminated';
  /** Compared deeply with the parsed output, when given. */
  output?: unknown;
}

export interface CheckOptions {
  ackedEvents?: readonly AckedEvent[];
  expected?: ReadonlyMap<string, Expectation>;
  effects?: readonly EffectRecord[];
  /**
   * How late a timer may be left unfired before the end of its execution (the turn that ended it may
   * have read its inbox just before the timer came due). Default 5 s.
   */
  timerSlackMs?: number;
}

export interface InvariantReport {
  instances: number;
  executions: number;
  historyEvents: number;
  byStatus: Record<string, number>;
  violations: Violation[];
}

interface AuditRow {
  instance_id: string;
  execution_id: string;
  seq: number;
  kind: string;
  event: string;
  locked_by: string | null;
  version: string | null;
}

const TERMINAL = new Set(['Completed', 'Failed', 'Terminated']);

/** Checks every invariant; never throws for a violation, returns them all. */
export async function checkInvariants(hub: AuditedHub, options: CheckOptions = {}): Promise<InvariantReport> {
  const S = hub.S;
  const violations: Violation[] = [];
  const v = (invariant: Violation['invariant'], instanceId: string, detail: string) =>
    violations.push({ invariant, instanceId, detail });

  const instances = (
    await hub.sql<{
      instance_id: string;
      execution_id: string;
      status: string;
      version: string;
      output: string | null;
      locked_until: Date | null;
    }>(
      `SELECT instance_id, execution_id, status, version, output, locked_until FROM ${S}.instances ORDER BY instance_id`,
    )
  ).rows;
  const audit = (
    await hub.sql<AuditRow>(
      `SELECT instance_id, execution_id, seq, kind, event, locked_by, version FROM ${S}.audit_history ORDER BY id`,
    )
  ).rows;
  const statusLog = (
    await hub.sql<{ instance_id: string; execution_id: string; old_status: string | null; new_status: string }>(
      `SELECT instance_id, execution_id, old_status, new_status FROM ${S}.audit_status ORDER BY id`,
    )
  ).rows;
  const leftovers = (
    await hub.sql<{ instance_id: string; what: string }>(
      `SELECT instance_id, 'activity task ' || name AS what FROM ${S}.activity_tasks
       UNION ALL SELECT instance_id, 'visible inbox message ' || ((event::json)->>'kind') FROM ${S}.inbox WHERE visible_at <= now()`,
    )
  ).rows;
  const completions = (
    await hub.sql<{
      instance_id: string;
      task_id: number;
      name: string;
      version: string;
      locked_by: string | null;
      delivery_count: number;
    }>(`SELECT instance_id, task_id, name, version, locked_by, delivery_count FROM ${S}.audit_activities`)
  ).rows;

  // A rewind takes a Failed instance back to a non-terminal status; the audit keeps the undone turns.
  const rewoundAt = new Map<string, number>();
  statusLog.forEach((row, i) => {
    if (row.old_status === 'Failed' && !TERMINAL.has(row.new_status) && row.new_status !== '(deleted)') rewoundAt.set(row.instance_id, i);
  });
  const rewoundExecutions = new Set(
    instances.filter((i) => rewoundAt.has(i.instance_id)).map((i) => `${i.instance_id} ${i.execution_id}`),
  );
  const stored =
    rewoundExecutions.size === 0
      ? []
      : (
          await hub.sql<AuditRow>(
            `SELECT h.instance_id, h.execution_id, h.seq, h.kind, h.event, NULL AS locked_by, NULL AS version
               FROM ${S}.history h JOIN ${S}.instances i USING (instance_id, execution_id)
              WHERE h.instance_id = ANY($1::text[]) ORDER BY h.seq`,
            [[...rewoundAt.keys()]],
          )
        ).rows;
  const effective = [
    ...audit.filter((r) => !rewoundExecutions.has(`${r.instance_id} ${r.execution_id}`)),
    ...stored,
  ];
  const executions = groupExecutions(effective);
  const byStatus: Record<string, number> = {};
  for (const i of instances) byStatus[i.status] = (byStatus[i.status] ?? 0) + 1;

  // terminal-once
  const logs = new Map<string, string[]>();
  statusLog.forEach((row, i) => {
    if (row.new_status === '(deleted)' || row.old_status === null || rewoundAt.get(row.instance_id) === i)
      logs.set(row.instance_id, []);
    if (row.new_status !== '(deleted)') logs.get(row.instance_id)?.push(row.new_status);
  });
  for (const i of instances) {
    if (!TERMINAL.has(i.status))
      v('terminal-once', i.instance_id, `ended the run ${i.status}, not in a terminal state`);
    const log = logs.get(i.instance_id) ?? [];
    const terminalAt = log.findIndex((s) => TERMINAL.has(s));
    if (log.filter((s) => TERMINAL.has(s)).length > 1 || (terminalAt >= 0 && terminalAt !== log.length - 1)) {
      v(
        'terminal-once',
        i.instance_id,
        `status went ${log.join(' → ')}: a terminal state must be entered once and never left`,
      );
    }
    const current = executions.get(`${i.instance_id} ${i.execution_id}`) ?? [];
    const ends = current.filter((e) => e.event.kind === 'ExecutionCompleted');
    if (TERMINAL.has(i.status)) {
      const end = ends[0]?.event;
      if (ends.length !== 1 || end?.kind !== 'ExecutionCompleted' || end.status !== i.status) {
        v(
          'terminal-once',
          i.instance_id,
          `status ${i.status} but its history has ${ends.length} ExecutionCompleted (${ends.map((e) => (e.event.kind === 'ExecutionCompleted' ? e.event.status : '')).join(', ')})`,
        );
      }
      if (i.locked_until !== null) v('terminal-once', i.instance_id, 'finished but still leased');
    }
  }
  for (const l of leftovers) v('terminal-once', l.instance_id, `left behind: ${l.what}`);

  // history-contiguous and one-result, per execution
  const instanceById = new Map(instances.map((i) => [i.instance_id, i]));
  for (const [key, events] of executions) {
    const [instanceId = '', executionId = ''] = key.split(' ');
    checkContiguous(events, (d) => v('history-contiguous', instanceId, `execution ${executionId}: ${d}`));
    const instance = instanceById.get(instanceId);
    const isCurrent = instance?.execution_id === executionId;
    checkResults(events, isCurrent, options.timerSlackMs ?? 5000, (d) =>
      v('one-result', instanceId, `execution ${executionId}: ${d}`),
    );
  }

  // version-affinity
  for (const row of audit) {
    const workerVersion = versionOfWorker(row.locked_by);
    if (workerVersion !== undefined && row.version !== null && workerVersion !== row.version) {
      v(
        'version-affinity',
        row.instance_id,
        `${row.kind} (seq ${row.seq}) of a ${row.version} instance committed by worker ${row.locked_by}`,
      );
    }
  }
  for (const c of completions) {
    const workerVersion = versionOfWorker(c.locked_by);
    if (workerVersion !== undefined && workerVersion !== c.version) {
      v(
        'version-affinity',
        c.instance_id,
        `activity ${c.name} of version ${c.version} completed by worker ${c.locked_by}`,
      );
    }
  }

  // events-once. The last turn of an execution that continues as new is not kept in history, so an event
  // it consumed leaves no trace there: for such instances only duplicates are judged here, and delivery
  // by the outputs check.
  const firstExecution = new Map<string, string>();
  for (const row of statusLog) if (row.old_status === null) firstExecution.set(row.instance_id, row.execution_id);
  const continued = (id: string) => {
    const i = instanceById.get(id);
    return i !== undefined && firstExecution.get(id) !== i.execution_id;
  };
  for (const ack of options.ackedEvents ?? []) {
    const matching = effective
      .filter((r) => r.instance_id === ack.instanceId && r.kind === 'EventRaised')
      .map((r) => ({ r, e: JSON.parse(r.event) as HistoryEvent }));
    const hits = matching.filter(({ e }) => e.kind === 'EventRaised' && e.name === ack.name && e.input === ack.input);
    if (hits.length === 0 && !continued(ack.instanceId))
      v('events-once', ack.instanceId, `acknowledged event '${ack.name}' ${ack.input} never reached its history`);
    const perExecution = new Map<string, number>();
    for (const { r } of hits) perExecution.set(r.execution_id, (perExecution.get(r.execution_id) ?? 0) + 1);
    for (const [exec, n] of perExecution)
      if (n > 1)
        v('events-once', ack.instanceId, `event '${ack.name}' ${ack.input} recorded ${n} times in execution ${exec}`);
  }

  // side-effects
  if (options.effects) {
    const claims = new Map<string, number>();
    for (const c of completions)
      claims.set(
        `${c.instance_id} ${c.task_id}`,
        Math.max(claims.get(`${c.instance_id} ${c.task_id}`) ?? 0, c.delivery_count),
      );
    checkEffects(executions, options.effects, claims, (id, d) => v('side-effects', id, d));
  }

  // outputs
  for (const [id, want] of options.expected ?? []) {
    const i = instanceById.get(id);
    if (!i) {
      v('outputs', id, 'expected an instance with this id; there is none');
      continue;
    }
    const output = i.output === null ? undefined : (JSON.parse(i.output) as unknown);
    if (i.status !== want.status) v('outputs', id, `ended ${i.status}, expected ${want.status}`);
    else if ('output' in want && !isDeepStrictEqual(output, want.output)) {
      v('outputs', id, `output ${JSON.stringify(output)}, expected ${JSON.stringify(want.output)}`);
    }
  }

  return {
    instances: instances.length,
    executions: executions.size,
    historyEvents: audit.length,
    byStatus,
    violations,
  };
}

interface Recorded {
  seq: number;
  event: HistoryEvent;
}

function groupExecutions(audit: AuditRow[]): Map<string, Recorded[]> {
  const out = new Map<string, Recorded[]>();
  for (const row of audit) {
    const key = `${row.instance_id} ${row.execution_id}`;
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push({ seq: row.seq, event: JSON.parse(row.event) as HistoryEvent });
  }
  for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
  return out;
}

function checkContiguous(events: Recorded[], report: (detail: string) => void): void {
  events.forEach((e, i) => {
    if (e.seq !== i)
      report(`seq ${e.seq} where ${i} was expected (history written ${e.seq < i ? 'twice' : 'with a gap'})`);
  });
  const started = events.filter((e) => e.event.kind === 'ExecutionStarted').length;
  if (started !== 1) report(`${started} ExecutionStarted events`);
  let inTurn = false;
  for (const e of events) {
    if (e.event.kind === 'OrchestratorStarted') {
      if (inTurn) report(`turn at seq ${e.seq} starts inside another turn`);
      inTurn = true;
    } else if (e.event.kind === 'OrchestratorCompleted') {
      if (!inTurn) report(`OrchestratorCompleted at seq ${e.seq} outside a turn`);
      inTurn = false;
    } else if (!inTurn) {
      report(`${e.event.kind} at seq ${e.seq} outside a turn`);
    }
  }
  if (inTurn) report('the last turn is not closed');
}

function checkResults(
  events: Recorded[],
  isCurrent: boolean,
  timerSlackMs: number,
  report: (detail: string) => void,
): void {
  const scheduled = new Map<number, { kind: string; name: string; fireAt?: string }>();
  const results = new Map<number, number>();
  let end: Extract<HistoryEvent, { kind: 'ExecutionCompleted' }> | undefined;
  for (const { event: e } of events) {
    switch (e.kind) {
      case 'TaskScheduled':
        scheduled.set(e.eventId, { kind: 'activity', name: e.name });
        break;
      case 'SubOrchestrationInstanceCreated':
        scheduled.set(e.eventId, { kind: 'sub-orchestration', name: e.name });
        break;
      case 'TimerCreated':
        scheduled.set(e.eventId, { kind: 'timer', name: 'timer', fireAt: e.fireAt });
        break;
      case 'TaskCompleted':
      case 'TaskFailed':
      case 'SubOrchestrationInstanceCompleted':
      case 'SubOrchestrationInstanceFailed':
        results.set(e.taskScheduledId, (results.get(e.taskScheduledId) ?? 0) + 1);
        if (!scheduled.has(e.taskScheduledId))
          report(`${e.kind} for task ${e.taskScheduledId}, which was never scheduled`);
        break;
      case 'TimerFired':
        results.set(e.timerId, (results.get(e.timerId) ?? 0) + 1);
        if (!scheduled.has(e.timerId)) report(`TimerFired for timer ${e.timerId}, which was never created`);
        break;
      case 'ExecutionCompleted':
        end = e;
        break;
      default:
        break;
    }
  }
  for (const [id, n] of results) if (n > 1) report(`${n} results for ${scheduled.get(id)?.kind ?? 'task'} ${id}`);
  // Only a normally completed execution must have collected everything; the workloads await all they start.
  // (A continued-as-new execution's last turn is not kept in history, so it cannot be judged here.)
  if (!isCurrent || end?.status !== 'Completed') return;
  const endAt = Date.parse(end.timestamp);
  for (const [id, s] of scheduled) {
    const n = results.get(id) ?? 0;
    if (s.kind === 'timer') {
      if (n === 0 && s.fireAt !== undefined && Date.parse(s.fireAt) + timerSlackMs < endAt)
        report(`timer ${id} due ${s.fireAt} never fired before the end at ${end.timestamp}`);
    } else if (n === 0) {
      report(`${s.kind} ${s.name} (task ${id}) has no result in a completed execution`);
    }
  }
}

/**
 * At least once, and every run counted: two runs of one task never share a delivery number (each run
 * is its own claim), a completed activity ran at least once, a worker only ran tasks of its version,
 * and no task ran more often than it was claimed. (A claim can be lost before the function starts,
 * so delivery numbers may skip.)
 */
function checkEffects(
  executions: Map<string, Recorded[]>,
  effects: readonly EffectRecord[],
  claims: ReadonlyMap<string, number>,
  report: (instanceId: string, detail: string) => void,
): void {
  const runs = new Map<string, number[]>();
  for (const e of effects) {
    const key = `${e.instanceId} ${e.taskId} ${e.key}`;
    const list = runs.get(key) ?? [];
    list.push(e.delivery);
    runs.set(key, list);
    const workerVersion = versionOfWorker(e.worker);
    if (workerVersion !== undefined && workerVersion !== e.version)
      report(e.instanceId, `side effect ${e.key} of version ${e.version} ran on worker ${e.worker}`);
  }
  for (const [key, deliveries] of runs) {
    const [instanceId = '', taskId = ''] = key.split(' ');
    const effectKey = key.split(' ').slice(2).join(' ');
    const sorted = [...deliveries].sort((a, b) => a - b);
    if (new Set(sorted).size !== sorted.length)
      report(
        instanceId,
        `side effect ${effectKey} ran twice under one delivery number (${sorted.join(', ')}): two workers held the same claim`,
      );
    const claimed = claims.get(`${instanceId} ${taskId}`);
    if (claimed !== undefined && (sorted.at(-1) ?? 0) > claimed)
      report(
        instanceId,
        `side effect ${effectKey} ran as delivery ${sorted.at(-1)} but the task was claimed ${claimed} times`,
      );
  }
  for (const [execKey, events] of executions) {
    const [instanceId = ''] = execKey.split(' ');
    const inputs = new Map<number, string | undefined>();
    for (const { event: e } of events) if (e.kind === 'TaskScheduled') inputs.set(e.eventId, e.input);
    for (const { event: e } of events) {
      if (e.kind !== 'TaskCompleted') continue;
      const input = inputs.get(e.taskScheduledId);
      const effectKey = input ? (JSON.parse(input) as { key?: string }).key : undefined;
      if (effectKey === undefined) continue;
      if (!runs.has(`${instanceId} ${e.taskScheduledId} ${effectKey}`))
        report(instanceId, `activity ${effectKey} (task ${e.taskScheduledId}) completed but never ran`);
    }
  }
}

/** `<version>/<label>` → version; other worker ids say nothing about their version. */
function versionOfWorker(lockedBy: string | null): string | undefined {
  if (!lockedBy) return undefined;
  const slash = lockedBy.indexOf('/');
  return slash > 0 ? lockedBy.slice(0, slash) : undefined;
}

/** One line per violation, grouped by invariant, for assertion messages. */
export function describeViolations(report: InvariantReport, max = 20): string {
  if (report.violations.length === 0) return 'no invariant violations';
  const lines = report.violations.slice(0, max).map((x) => `  [${x.invariant}] ${x.instanceId}: ${x.detail}`);
  const more = report.violations.length > max ? `\n  … and ${report.violations.length - max} more` : '';
  return `${report.violations.length} invariant violation(s):\n${lines.join('\n')}${more}`;
}
