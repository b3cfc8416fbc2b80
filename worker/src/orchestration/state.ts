/**
 * The mutable state of one execution while it is replayed: actions the code created and history
 * has not yet confirmed, tasks waiting for result events, buffered external events, the custom
 * status, and the generator being driven. The executor changes it by applying history events; the
 * context (what user code sees) changes it by creating actions. Neither user code nor the
 * runtime reaches it directly.
 */
import { ValidationError } from '../errors.ts';
import type { CompleteOrchestrationAction, OrchestratorAction } from './actions.ts';
import type { OrchestrationContext, OrchestratorFunction } from './api.ts';
import { toFailureDetails } from './failure.ts';
import type { EventRaisedEvent, FailureDetails } from './history.ts';
import { deserialize, serialize } from './json.ts';
import { CompletableTask } from './tasks.ts';

/** Log levels of the executor's log sink. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the executor and the replay-safe logger write; the runtime plugs its logger in here. */
export type LogSink = (level: LogLevel, msg: string, fields: Record<string, unknown>) => void;

/** An activity waiting for TaskCompleted / TaskFailed. */
export interface OpenActivity {
  kind: 'activity';
  name: string;
  onCompleted(result: string | undefined): void;
  onFailed(failure: FailureDetails): void;
}

/** A sub-orchestration waiting for SubOrchestrationInstanceCompleted / Failed. */
export interface OpenSubOrchestration {
  kind: 'sub-orchestration';
  name: string;
  instanceId: string;
  onCompleted(result: string | undefined): void;
  onFailed(failure: FailureDetails): void;
}

/** A durable timer waiting for TimerFired. */
export interface OpenTimer {
  kind: 'timer';
  onFired(): void;
}

/** Something waiting for a result event, keyed by its action's sequence number. */
export type OpenTask = OpenActivity | OpenSubOrchestration | OpenTimer;

/** An action the code created that no history event has confirmed yet. */
interface PendingAction {
  action: OrchestratorAction;
  /** Handed to the runtime by an earlier execute/continueWith (so assumed committed). */
  returned: boolean;
}

/** The CompleteOrchestration action, once the code (or an event) ended the execution. */
interface Completion {
  action: CompleteOrchestrationAction;
  /** Confirmed by an ExecutionCompleted event in history. */
  recorded: boolean;
  returned: boolean;
  /** ContinuedAsNew keeping unprocessed events: events arriving later in the same turn are carried over too. */
  preserveEvents: boolean;
}

type Advance = () => IteratorResult<unknown, unknown>;

/** One execution's replay state. See the file comment. */
export class ExecutionState {
  instanceId = '';
  executionId = '';
  name = '';
  version = '';
  parentInstanceId: string | undefined;
  /** Start time of the current turn (latest OrchestratorStarted). */
  currentTime = new Date(0);
  isReplaying = false;
  /** JSON text of the custom status, undefined when never set (or cleared). */
  customStatus: string | undefined;
  guidCounter = 0;
  completion: Completion | undefined;
  readonly openTasks = new Map<number, OpenTask>();
  readonly log: LogSink;

  #nextId = 0;
  readonly #pending = new Map<number, PendingAction>();
  /** EventRaised events nobody waited for yet, in arrival order (consumed FIFO per name). */
  readonly #bufferedEvents: EventRaisedEvent[] = [];
  readonly #waiters = new Map<string, CompletableTask<unknown>[]>();
  #generator: Generator<unknown, unknown, unknown> | undefined;
  #waitingOn: CompletableTask<unknown> | undefined;

  constructor(log: LogSink) {
    this.log = (level, msg, fields) => {
      try {
        log(level, msg, fields);
      } catch {
        // A broken log sink must not change what the orchestration does, or replay would diverge.
      }
    };
  }

  get isComplete(): boolean {
    return this.completion !== undefined;
  }

  /** How many sequence numbers were handed out in this execution. */
  get actionCount(): number {
    return this.#nextId;
  }

  /** Fields every engine log line carries. */
  logFields(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { instanceId: this.instanceId, orchestration: this.name, ...extra };
  }

  // ---- actions ------------------------------------------------------------------------------

  /** Hands out the next sequence number (0, 1, 2, … per execution). */
  nextId(): number {
    return this.#nextId++;
  }

  addAction(action: OrchestratorAction): void {
    this.#pending.set(action.id, { action, returned: false });
  }

  /** The unconfirmed action with this id, if any. */
  pendingAction(id: number): OrchestratorAction | undefined {
    return this.#pending.get(id)?.action;
  }

  /** History confirmed the action: it is no longer new. */
  confirmAction(id: number): void {
    this.#pending.delete(id);
  }

  /** Actions created but neither confirmed by history nor handed out yet. */
  unreturnedActions(): OrchestratorAction[] {
    return [...this.#pending.values()].filter((p) => !p.returned).map((p) => p.action);
  }

  /** The actions to hand to the runtime now; each is handed out once. */
  takeNewActions(): OrchestratorAction[] {
    const out: OrchestratorAction[] = [];
    for (const p of this.#pending.values()) {
      if (p.returned) continue;
      p.returned = true;
      out.push(p.action);
    }
    const completion = this.completion;
    if (completion !== undefined && !completion.recorded && !completion.returned) {
      completion.returned = true;
      out.push(completion.action);
    }
    return out;
  }

  /** Drops actions not yet handed out (terminate, nondeterminism): they must never be executed. */
  discardUnreturnedActions(): void {
    for (const [id, p] of this.#pending) {
      if (p.returned) continue;
      this.#pending.delete(id);
      this.openTasks.delete(id);
    }
  }

  // ---- completion ---------------------------------------------------------------------------

  /** Ends the execution with a CompleteOrchestration action; the generator is not resumed again. */
  complete(
    status: CompleteOrchestrationAction['status'],
    fields: Omit<CompleteOrchestrationAction, 'kind' | 'id' | 'status'> = {},
    preserveEvents = false,
  ): void {
    if (this.completion !== undefined) return;
    const action: CompleteOrchestrationAction = { kind: 'CompleteOrchestration', id: this.nextId(), status };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) (action as unknown as Record<string, unknown>)[key] = value;
    }
    this.completion = { action, recorded: false, returned: false, preserveEvents };
    this.#generator = undefined;
    this.#waitingOn = undefined;
  }

  /** Fails the execution with whatever was thrown. */
  fail(err: unknown): void {
    this.complete('Failed', { failure: toFailureDetails(err) });
  }

  /**
   * Replaces any outcome not yet handed out with a failure: used for nondeterminism, where actions
   * computed by diverged code must not run. Returns false when the outcome was already handed out.
   */
  failInstead(err: unknown): boolean {
    const completion = this.completion;
    if (completion !== undefined && (completion.returned || completion.recorded)) return false;
    this.completion = undefined;
    this.discardUnreturnedActions();
    this.fail(err);
    return true;
  }

  /**
   * An EventRaised after the execution ended. After continue-as-new that keeps unprocessed
   * events, events later in the same turn must reach the next execution too, or they would be lost.
   */
  carryOverLateEvent(event: EventRaisedEvent): boolean {
    const completion = this.completion;
    if (completion === undefined || !completion.preserveEvents) return false;
    if (completion.returned || completion.recorded) return false;
    completion.action.carryoverEvents = [...(completion.action.carryoverEvents ?? []), event];
    return true;
  }

  // ---- open tasks ---------------------------------------------------------------------------

  /** Removes and returns the task waiting for a result with this id, if it has the given kind. */
  takeOpenTask<K extends OpenTask['kind']>(id: number, kind: K): Extract<OpenTask, { kind: K }> | undefined {
    const open = this.openTasks.get(id);
    if (open === undefined) return undefined;
    if (open.kind !== kind) {
      this.log('warn', `ignoring a result event for task ${id}: it is a ${open.kind}, not a ${kind}`, this.logFields());
      return undefined;
    }
    this.openTasks.delete(id);
    return open as Extract<OpenTask, { kind: K }>;
  }

  /** Instance ids of sub-orchestrations created and still without a result. */
  runningSubOrchestrations(): string[] {
    const ids: string[] = [];
    for (const open of this.openTasks.values()) if (open.kind === 'sub-orchestration') ids.push(open.instanceId);
    return ids;
  }

  // ---- external events ----------------------------------------------------------------------

  /** Delivers an EventRaised: to the oldest waiter for that name, or into the buffer. */
  deliverEvent(event: EventRaisedEvent): void {
    const waiter = this.#waiters.get(event.name.toLowerCase())?.shift();
    if (waiter === undefined) {
      this.#bufferedEvents.push(event);
      return;
    }
    settleWithPayload(waiter, event.input, `event '${event.name}'`);
  }

  /** The oldest buffered event with this (case-insensitive) name, removed from the buffer. */
  takeBufferedEvent(name: string): EventRaisedEvent | undefined {
    const key = name.toLowerCase();
    const index = this.#bufferedEvents.findIndex((e) => e.name.toLowerCase() === key);
    if (index < 0) return undefined;
    return this.#bufferedEvents.splice(index, 1)[0];
  }

  /** Events received but never consumed, oldest first (continue-as-new carries them over). */
  bufferedEvents(): EventRaisedEvent[] {
    return [...this.#bufferedEvents];
  }

  addWaiter(name: string, task: CompletableTask<unknown>): void {
    const key = name.toLowerCase();
    const list = this.#waiters.get(key);
    if (list === undefined) this.#waiters.set(key, [task]);
    else list.push(task);
  }

  removeWaiter(name: string, task: CompletableTask<unknown>): void {
    const list = this.#waiters.get(name.toLowerCase());
    const index = list?.indexOf(task) ?? -1;
    if (list !== undefined && index >= 0) list.splice(index, 1);
  }

  // ---- driving the orchestrator -------------------------------------------------------------

  /** Calls the orchestrator function and runs it until it waits on an incomplete task or ends. */
  start(fn: OrchestratorFunction, ctx: OrchestrationContext, input: unknown): void {
    let out: unknown;
    try {
      out = fn(ctx, input);
    } catch (err) {
      this.#onCodeThrew(err);
      return;
    }
    if (isAsyncIterator(out) || isThenable(out)) {
      this.fail(
        new ValidationError(
          'orchestrator',
          `'${this.name}' is async; orchestrations must be generator functions (function*) that yield tasks, ` +
            'because awaiting real promises cannot be replayed',
        ),
      );
      return;
    }
    if (!isGenerator(out)) {
      this.#completeWithOutput(out);
      return;
    }
    const generator = out;
    this.#generator = generator;
    this.#drive(() => generator.next());
  }

  /** Resumes the orchestrator if the task it waits on has settled (called after every applied event). */
  resume(): void {
    const task = this.#waitingOn;
    const generator = this.#generator;
    if (task === undefined || generator === undefined || !task.isComplete || this.isComplete) return;
    this.#waitingOn = undefined;
    this.#drive(nextStep(generator, task));
  }

  #drive(first: Advance): void {
    const generator = this.#generator;
    if (generator === undefined) return;
    let advance = first;
    for (;;) {
      let step: IteratorResult<unknown, unknown>;
      try {
        step = advance();
      } catch (err) {
        this.#onCodeThrew(err);
        return;
      }
      // continueAsNew (or a failure) inside the step ends the turn: ignore what the code did after.
      if (this.isComplete) return;
      if (step.done === true) {
        this.#completeWithOutput(step.value);
        return;
      }
      const yielded = step.value;
      if (!(yielded instanceof CompletableTask)) {
        const err = new ValidationError(
          'yield',
          'orchestrations may only yield tasks from the context (callActivity, createTimer, whenAll, …), ' +
            `got ${describeValue(yielded)}`,
        );
        advance = () => generator.throw(err);
        continue;
      }
      if (!yielded.isComplete) {
        this.#waitingOn = yielded;
        return;
      }
      advance = nextStep(generator, yielded);
    }
  }

  #onCodeThrew(err: unknown): void {
    if (!this.isComplete) this.fail(err);
  }

  #completeWithOutput(value: unknown): void {
    let result: string | undefined;
    try {
      result = serialize(value, 'orchestration output');
    } catch (err) {
      this.fail(err);
      return;
    }
    this.complete('Completed', { result });
  }
}

/** Settles a task with a recorded JSON payload; a payload that does not parse fails the task. */
export function settleWithPayload(task: CompletableTask<unknown>, payload: string | undefined, field: string): void {
  let value: unknown;
  try {
    value = deserialize(payload, field);
  } catch (err) {
    task.fail(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  task.complete(value);
}

function nextStep(generator: Generator<unknown, unknown, unknown>, task: CompletableTask<unknown>): Advance {
  if (task.isFailed) {
    const error = task.error ?? new Error('task failed');
    return () => generator.throw(error);
  }
  const value = task.result;
  return () => generator.next(value);
}

function isGenerator(value: unknown): value is Generator<unknown, unknown, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const g = value as Record<PropertyKey, unknown>;
  return typeof g.next === 'function' && typeof g.throw === 'function' && typeof g[Symbol.iterator] === 'function';
}

function isAsyncIterator(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (isThenable(value)) return 'a Promise (orchestrations cannot await promises; call an activity instead)';
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}
