/**
 * Errors the replay engine raises or hands to orchestration code, and the one place where
 * anything thrown is turned into `FailureDetails` (what history records about a failure).
 *
 * Codes:
 * - `DTK_TASK_FAILED`: an awaited activity, sub-orchestration or external-event wait failed.
 *   `EventTimeoutError` keeps this code on purpose: the code says *what* happened to the awaited
 *   task (it failed), the class and `details.errorType` say *why* (`EventTimeoutError`), so a handler
 *   that catches task failures by code also sees timeouts.
 * - `DTK_NONDETERMINISM`: replay produced different actions than history recorded.
 * - `DTK_ORCHESTRATOR_NOT_REGISTERED`: no orchestration with the started name on this worker.
 * - `DTK_NON_RETRIABLE`: thrown by user code to stop retry policies at once.
 */
import { DtkError, toError } from '../errors.ts';
import type { FailureDetails } from './history.ts';

/** What kind of durable task failed; used only to phrase messages. */
export type FailedTaskKind = 'activity' | 'sub-orchestration' | 'external event' | 'task';

/**
 * An activity, sub-orchestration or external-event wait that the orchestration awaited failed.
 * `details` is the failure as recorded in history (for an activity: what it threw).
 */
export class TaskFailedError extends DtkError {
  readonly details: FailureDetails;
  readonly taskName: string;
  readonly taskKind: FailedTaskKind;
  /** Sequence number of the failed action, when there is one. */
  readonly taskId: number | undefined;
  constructor(taskName: string, details: FailureDetails, options: { taskKind?: FailedTaskKind; taskId?: number } = {}) {
    const kind = options.taskKind ?? 'task';
    const idPart = options.taskId === undefined ? '' : ` (task ${options.taskId})`;
    super('DTK_TASK_FAILED', `${kind} '${taskName}'${idPart} failed: ${details.message}`);
    this.details = details;
    this.taskName = taskName;
    this.taskKind = kind;
    this.taskId = options.taskId;
  }
}

/**
 * `waitForExternalEvent(name, timeoutMs)` gave up: no event with that name arrived in time.
 * A TaskFailedError (code `DTK_TASK_FAILED`), so `catch (e) { if (e instanceof TaskFailedError) … }`
 * handles it like any other failed wait; check `instanceof EventTimeoutError` to tell it apart.
 */
export class EventTimeoutError extends TaskFailedError {
  readonly eventName: string;
  readonly timeoutMs: number;
  constructor(eventName: string, timeoutMs: number, timerId?: number) {
    const details: FailureDetails = {
      errorType: 'EventTimeoutError',
      message: `no event arrived within ${timeoutMs} ms`,
    };
    const options = timerId === undefined ? {} : { taskId: timerId };
    super(eventName, details, { taskKind: 'external event', ...options });
    this.eventName = eventName;
    this.timeoutMs = timeoutMs;
  }
}

/** Identifies the history event that did not match what the orchestration code did on replay. */
export interface NonDeterminismEvent {
  kind: string;
  id?: number;
  name?: string;
}

/**
 * Replay diverged from history: the code now creates a different action than the one recorded
 * (renamed, removed, added or reordered calls). The instance fails with this error; the message
 * names the history event, what history expected, and what the code did instead.
 */
export class NonDeterminismError extends DtkError {
  readonly event: NonDeterminismEvent;
  readonly expected: string;
  readonly actual: string;
  constructor(orchestration: string, instanceId: string, event: NonDeterminismEvent, expected: string, actual: string) {
    super(
      'DTK_NONDETERMINISM',
      `nondeterministic orchestration '${orchestration}' (instance '${instanceId}'): ` +
        `history event ${describeEvent(event)} expects ${expected}, but the code ${actual}. ` +
        'Did the orchestration code change while instances were running? Replay must create the same actions ' +
        'in the same order; deploy changed code as a new version (so running instances finish on the old one) ' +
        'or branch on ctx.version.',
    );
    this.event = event;
    this.expected = expected;
    this.actual = actual;
  }
}

function describeEvent(event: NonDeterminismEvent): string {
  const parts: string[] = [];
  if (event.id !== undefined) parts.push(`id ${event.id}`);
  if (event.name !== undefined) parts.push(`name '${event.name}'`);
  return parts.length === 0 ? event.kind : `${event.kind} (${parts.join(', ')})`;
}

/** An instance was started with a name this worker has no orchestration for. */
export class OrchestratorNotRegisteredError extends DtkError {
  readonly orchestratorName: string;
  constructor(name: string, registered: readonly string[]) {
    const known = registered.length === 0 ? 'none' : registered.map((n) => `'${n}'`).join(', ');
    super(
      'DTK_ORCHESTRATOR_NOT_REGISTERED',
      `no orchestration named '${name}' is registered on this worker (registered: ${known}); ` +
        'check the name used to start the instance (names are case-sensitive) ' +
        'and that this worker version registers it',
    );
    this.orchestratorName = name;
  }
}

/**
 * Throw this from an activity (or an orchestration) when retrying cannot help, for example a
 * validation failure: retry policies stop at once. Any error with `nonRetriable === true` works too.
 */
export class NonRetriableError extends DtkError {
  readonly nonRetriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super('DTK_NON_RETRIABLE', message, options);
  }
}

/** How deep a cause chain is followed; deeper (or cyclic) chains are cut to keep history small. */
const MAX_CAUSE_DEPTH = 10;

/**
 * Turns anything thrown into the failure details that history records: errorType is the class
 * name, the cause chain is followed (a TaskFailedError's cause is the failure of its task), and
 * `nonRetriable` is set when the error says so.
 */
export function toFailureDetails(err: unknown): FailureDetails {
  return convert(err, 0, new Set());
}

function convert(thrown: unknown, depth: number, seen: Set<unknown>): FailureDetails {
  if (!(thrown instanceof Error)) {
    // A thrown string or object becomes one level with no cause; following toError's cause
    // (the raw value itself) would loop.
    const err = toError(thrown);
    return { errorType: 'Error', message: err.message };
  }
  seen.add(thrown);
  const details: FailureDetails = { errorType: className(thrown), message: thrown.message };
  if (thrown.stack !== undefined) details.stack = thrown.stack;
  if (thrown instanceof TaskFailedError) {
    details.cause = thrown.details;
  } else if (thrown.cause !== undefined && depth < MAX_CAUSE_DEPTH && !seen.has(thrown.cause)) {
    details.cause = convert(thrown.cause, depth + 1, seen);
  }
  if ((thrown as { nonRetriable?: unknown }).nonRetriable === true) details.nonRetriable = true;
  return details;
}

function className(err: Error): string {
  const ctorName: unknown = (err as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctorName === 'string' && ctorName !== '' ? ctorName : err.name;
}
