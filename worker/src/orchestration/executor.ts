/**
 * The replay executor: applies history events to one execution, one handler per event kind, and
 * returns the actions the orchestration created in this turn. It is pure: given the same events
 * and the same code it returns the same actions, and it never does I/O.
 *
 * Old events are replayed with `isReplaying = true`. Every scheduling event in history
 * (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent) must match the action
 * the code created with the same sequence number, by kind and name; a mismatch fails the instance
 * with NonDeterminismError. Errors in orchestration code fail the instance; only misuse by the
 * runtime (continueWith before execute, execute twice) throws.
 */
import type { OrchestratorAction } from './actions.ts';
import type { OrchestratorFunction } from './api.ts';
import { RuntimeOrchestrationContext } from './context.ts';
import { ACTION_KIND_OF, describeAction, describeActions, describeExpected, nameOf } from './describe.ts';
import type { SchedulingEvent } from './describe.ts';
import { NonDeterminismError, OrchestratorNotRegisteredError } from './failure.ts';
import type { EventOf, HistoryEvent } from './history.ts';
import { deserialize } from './json.ts';
import { ExecutionState } from './state.ts';
import type { LogSink } from './state.ts';

/** Where the executor finds orchestration functions by name. `Registry` implements it. */
export interface OrchestratorRegistry {
  getOrchestrator(name: string): OrchestratorFunction | undefined;
  orchestratorNames(): string[];
}

/** What one call to execute / continueWith produced. */
export interface ExecutionResult {
  /** Only the actions created in this turn (not ones already recorded in history). */
  actions: OrchestratorAction[];
  /** Current custom status as JSON text (undefined if never set). */
  customStatus: string | undefined;
  customStatusChanged: boolean;
  /** True when, after this turn, the instance is suspended. */
  isSuspended: boolean;
  /** True when a CompleteOrchestration action was issued (now or earlier). */
  isComplete: boolean;
}

/** Options of an executor. */
export interface ExecutorOptions {
  /** Engine and replay-safe user log lines go here; default: dropped. */
  log?: LogSink;
}

/**
 * Events that would run orchestration code; held back while it is suspended and applied in order on
 * resume. Scheduling events are not held: they record actions the code created earlier in the same
 * turn (before the suspend arrived) and must still be matched, or those actions would be re-issued.
 */
const HELD_WHILE_SUSPENDED = new Set<HistoryEvent['kind']>([
  'ExecutionStarted',
  'TaskCompleted',
  'TaskFailed',
  'SubOrchestrationInstanceCompleted',
  'SubOrchestrationInstanceFailed',
  'TimerFired',
  'EventRaised',
]);

/** Events that still matter after the execution ended: records of its own actions and turn markers. */
const APPLIED_AFTER_COMPLETION = new Set<HistoryEvent['kind']>([
  'OrchestratorStarted',
  'OrchestratorCompleted',
  'TaskScheduled',
  'TimerCreated',
  'SubOrchestrationInstanceCreated',
  'EventSent',
  'ExecutionCompleted',
]);

/**
 * Replays one execution of an orchestration. Keep the instance between turns and call
 * `continueWith` to avoid replaying long histories from the start.
 */
export class OrchestrationExecutor {
  readonly #registry: OrchestratorRegistry;
  readonly #state: ExecutionState;
  readonly #ctx: RuntimeOrchestrationContext;
  #executed = false;
  #started = false;
  #suspended = false;
  /** Events that arrived while suspended, applied in order on resume. */
  #heldEvents: HistoryEvent[] = [];
  /** Set after a nondeterminism failure: the code diverged, so nothing more is applied. */
  #diverged = false;

  constructor(registry: OrchestratorRegistry, options: ExecutorOptions = {}) {
    this.#registry = registry;
    this.#state = new ExecutionState(options.log ?? (() => {}));
    this.#ctx = new RuntimeOrchestrationContext(this.#state);
  }

  /** Replays oldEvents (isReplaying = true), then applies newEvents; returns the turn's actions. */
  execute(oldEvents: readonly HistoryEvent[], newEvents: readonly HistoryEvent[]): ExecutionResult {
    if (this.#executed) {
      throw new Error('OrchestrationExecutor.execute was already called; use continueWith for later turns');
    }
    this.#executed = true;
    this.#state.isReplaying = true;
    for (const event of oldEvents) this.#apply(event);
    return this.#applyNew(newEvents);
  }

  /**
   * Applies further new events to an executor that already ran, without replaying from scratch
   * (the runtime keeps executors in memory between turns so long histories are not replayed on every
   * event). The events passed to previous calls count as old history now. Actions returned by earlier
   * calls are taken as committed: their scheduling events may be passed again (they are matched) or left out.
   */
  continueWith(newEvents: readonly HistoryEvent[]): ExecutionResult {
    if (!this.#executed) throw new Error('OrchestrationExecutor.continueWith called before execute');
    return this.#applyNew(newEvents);
  }

  #applyNew(newEvents: readonly HistoryEvent[]): ExecutionResult {
    const statusAtTurnStart = this.#state.customStatus;
    this.#state.isReplaying = false;
    for (const event of newEvents) this.#apply(event);
    const customStatus = this.#state.customStatus;
    return {
      actions: this.#state.takeNewActions(),
      customStatus,
      customStatusChanged: customStatus !== statusAtTurnStart,
      isSuspended: this.#suspended && !this.#state.isComplete,
      isComplete: this.#state.isComplete,
    };
  }

  /** Applies one event and lets the orchestrator run as far as it can; never throws for code errors. */
  #apply(event: HistoryEvent): void {
    if (this.#diverged) return;
    try {
      this.#dispatch(event);
      this.#state.resume();
    } catch (err) {
      if (err instanceof NonDeterminismError) this.#failNondeterministic(err);
      else if (!this.#state.isComplete) this.#state.fail(err);
      else this.#state.log('error', 'error applying an event after completion', this.#fields({ error: String(err) }));
    }
  }

  #dispatch(event: HistoryEvent): void {
    if (this.#state.isComplete && !APPLIED_AFTER_COMPLETION.has(event.kind)) {
      this.#onEventAfterCompletion(event);
      return;
    }
    if (this.#suspended && HELD_WHILE_SUSPENDED.has(event.kind)) {
      this.#heldEvents.push(event);
      return;
    }
    switch (event.kind) {
      case 'ExecutionStarted':
        return this.#onExecutionStarted(event);
      case 'OrchestratorStarted':
        return this.#onOrchestratorStarted(event);
      case 'OrchestratorCompleted':
        return;
      case 'TaskScheduled':
      case 'TimerCreated':
      case 'SubOrchestrationInstanceCreated':
      case 'EventSent':
        return this.#onScheduled(event);
      case 'TaskCompleted':
        return this.#onTaskCompleted(event);
      case 'TaskFailed':
        return this.#onTaskFailed(event);
      case 'SubOrchestrationInstanceCompleted':
        return this.#onSubOrchestrationCompleted(event);
      case 'SubOrchestrationInstanceFailed':
        return this.#onSubOrchestrationFailed(event);
      case 'TimerFired':
        return this.#onTimerFired(event);
      case 'EventRaised':
        return this.#onEventRaised(event);
      case 'ExecutionSuspended':
        return this.#onExecutionSuspended(event);
      case 'ExecutionResumed':
        return this.#onExecutionResumed(event);
      case 'ExecutionTerminated':
        return this.#onExecutionTerminated(event);
      case 'ExecutionCompleted':
        return this.#onExecutionCompleted(event);
      default: {
        // Events added to history.ts later (entities, rewind) reach old workers as unknown kinds.
        const unknown: { kind?: unknown } = event;
        this.#state.log('warn', `ignoring unknown history event kind '${String(unknown.kind)}'`, this.#fields());
      }
    }
  }

  #onExecutionStarted(event: EventOf<'ExecutionStarted'>): void {
    const state = this.#state;
    if (this.#started) {
      state.log('warn', 'ignoring a second ExecutionStarted event', this.#fields({ executionId: event.executionId }));
      return;
    }
    this.#started = true;
    state.instanceId = event.instanceId;
    state.executionId = event.executionId;
    state.name = event.name;
    state.version = event.version;
    state.parentInstanceId = event.parent?.instanceId;
    // A history without OrchestratorStarted (hand-built fixtures) still gets a sensible clock.
    if (state.currentTime.getTime() === 0) state.currentTime = new Date(event.timestamp);
    const fn = this.#registry.getOrchestrator(event.name);
    if (fn === undefined) {
      state.fail(new OrchestratorNotRegisteredError(event.name, this.#registry.orchestratorNames()));
      return;
    }
    let input: unknown;
    try {
      input = deserialize(event.input, 'orchestration input');
    } catch (err) {
      state.fail(err);
      return;
    }
    state.start(fn, this.#ctx, input);
  }

  #onOrchestratorStarted(event: EventOf<'OrchestratorStarted'>): void {
    const time = new Date(event.timestamp);
    if (!Number.isNaN(time.getTime())) this.#state.currentTime = time;
  }

  /** A record of an action: it must be the action the code created with that sequence number. */
  #onScheduled(event: SchedulingEvent): void {
    const state = this.#state;
    const action = state.pendingAction(event.eventId);
    const expected = describeExpected(event);
    if (action === undefined) {
      throw this.#nondeterminism(event, expected, this.#missingActionPhrase(event.eventId));
    }
    if (action.kind !== ACTION_KIND_OF[event.kind] || nameOf(action) !== nameOf(event)) {
      throw this.#nondeterminism(event, expected, `created ${describeAction(action)} instead`);
    }
    state.confirmAction(event.eventId);
  }

  #missingActionPhrase(id: number): string {
    const state = this.#state;
    if (state.completion !== undefined) {
      return `created no action with id ${id}: it had already ended with ${describeAction(state.completion.action)}`;
    }
    if (id < state.actionCount) return `created action ${id} earlier and history already recorded it`;
    return (
      `created no action with id ${id}: it created ${state.actionCount} action(s) so far and is waiting for ` +
      `other events (not yet recorded: ${describeActions(state.unreturnedActions())})`
    );
  }

  #onTaskCompleted(event: EventOf<'TaskCompleted'>): void {
    const open = this.#state.takeOpenTask(event.taskScheduledId, 'activity');
    if (open === undefined) return this.#ignoreUnknownResult(event, event.taskScheduledId);
    open.onCompleted(event.result);
  }

  #onTaskFailed(event: EventOf<'TaskFailed'>): void {
    const open = this.#state.takeOpenTask(event.taskScheduledId, 'activity');
    if (open === undefined) return this.#ignoreUnknownResult(event, event.taskScheduledId);
    open.onFailed(event.failure);
  }

  #onSubOrchestrationCompleted(event: EventOf<'SubOrchestrationInstanceCompleted'>): void {
    const open = this.#state.takeOpenTask(event.taskScheduledId, 'sub-orchestration');
    if (open === undefined) return this.#ignoreUnknownResult(event, event.taskScheduledId);
    open.onCompleted(event.result);
  }

  #onSubOrchestrationFailed(event: EventOf<'SubOrchestrationInstanceFailed'>): void {
    const open = this.#state.takeOpenTask(event.taskScheduledId, 'sub-orchestration');
    if (open === undefined) return this.#ignoreUnknownResult(event, event.taskScheduledId);
    open.onFailed(event.failure);
  }

  #onTimerFired(event: EventOf<'TimerFired'>): void {
    const open = this.#state.takeOpenTask(event.timerId, 'timer');
    if (open === undefined) return this.#ignoreUnknownResult(event, event.timerId);
    open.onFired();
  }

  /** At-least-once delivery can repeat a result; a second copy (or a stray one) is not an error. */
  #ignoreUnknownResult(event: HistoryEvent, id: number): void {
    this.#state.log('debug', `ignoring ${event.kind} for task ${id}: no task is waiting for it`, this.#fields());
  }

  #onEventRaised(event: EventOf<'EventRaised'>): void {
    this.#state.deliverEvent(event);
  }

  #onExecutionSuspended(event: EventOf<'ExecutionSuspended'>): void {
    if (this.#suspended) return;
    this.#suspended = true;
    this.#state.log('debug', 'suspended', this.#fields({ reason: event.reason }));
  }

  #onExecutionResumed(event: EventOf<'ExecutionResumed'>): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#state.log('debug', 'resumed', this.#fields({ reason: event.reason, heldEvents: this.#heldEvents.length }));
    const held = this.#heldEvents;
    this.#heldEvents = [];
    // Applied with the current replay flag: code they unblock runs now, for the first time or again.
    for (const e of held) this.#apply(e);
  }

  #onExecutionTerminated(event: EventOf<'ExecutionTerminated'>): void {
    const state = this.#state;
    this.#suspended = false;
    this.#heldEvents = [];
    // Work created in this turn but not yet handed out is dropped: a terminated instance starts nothing.
    state.discardUnreturnedActions();
    const terminateSubOrchestrations = event.recurse === true ? state.runningSubOrchestrations() : undefined;
    state.complete('Terminated', { result: event.reason, terminateSubOrchestrations });
  }

  /** The recorded end of the execution: the code must have ended the same way. */
  #onExecutionCompleted(event: EventOf<'ExecutionCompleted'>): void {
    const state = this.#state;
    const completion = state.completion;
    const expected = `CompleteOrchestration (status ${event.status})`;
    const ref = { kind: event.kind };
    if (completion === undefined) {
      const actual = `has not ended (actions not yet recorded: ${describeActions(state.unreturnedActions())})`;
      throw new NonDeterminismError(state.name, state.instanceId, ref, expected, actual);
    }
    if (completion.action.status !== event.status) {
      const actual = `ended with ${describeAction(completion.action)}`;
      throw new NonDeterminismError(state.name, state.instanceId, ref, expected, actual);
    }
    completion.recorded = true;
  }

  #onEventAfterCompletion(event: HistoryEvent): void {
    if (event.kind === 'EventRaised' && this.#state.carryOverLateEvent(event)) return;
    this.#state.log('debug', `ignoring ${event.kind}: the execution has ended`, this.#fields());
  }

  #nondeterminism(event: SchedulingEvent, expected: string, actual: string): NonDeterminismError {
    const name = nameOf(event);
    const ref = { kind: event.kind, id: event.eventId, ...(name === undefined ? {} : { name }) };
    return new NonDeterminismError(this.#state.name, this.#state.instanceId, ref, expected, actual);
  }

  #failNondeterministic(err: NonDeterminismError): void {
    this.#diverged = true;
    this.#state.log('error', err.message, this.#fields({ code: err.code }));
    if (!this.#state.failInstead(err)) {
      // The outcome was already handed to the runtime in an earlier turn; nothing left to change.
      this.#state.log('warn', 'nondeterminism found after the execution ended', this.#fields());
    }
  }

  #fields(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return this.#state.logFields(extra);
  }
}

