/**
 * Public surface of the replay engine (`dtk/orchestration`): the programming model, the history
 * and action contracts, the errors orchestration code sees, the registry and the executor the
 * runtime drives. Internal bookkeeping (state, task classes, serialisation) stays private.
 */
export type {
  ActivityContext,
  ActivityFunction,
  ActivityOptions,
  ContinueAsNewOptions,
  OrchestrationContext,
  OrchestratorFunction,
  ReplaySafeLogger,
  RetryPolicy,
  SubOrchestrationOptions,
  Task,
} from './api.ts';
export type * from './history.ts';
export { isTerminal, TERMINAL_STATUSES } from './history.ts';
export type * from './actions.ts';
export {
  EventTimeoutError,
  NonDeterminismError,
  NonRetriableError,
  OrchestratorNotRegisteredError,
  TaskFailedError,
  toFailureDetails,
} from './failure.ts';
export type { FailedTaskKind, NonDeterminismEvent } from './failure.ts';
export { OrchestrationExecutor } from './executor.ts';
export type { ExecutionResult, ExecutorOptions, OrchestratorRegistry } from './executor.ts';
export type { LogLevel, LogSink } from './state.ts';
export { Registry } from './registry.ts';
export { retryDelayMs, validateRetryPolicy } from './tasks.ts';
