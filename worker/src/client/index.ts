/** The client entry point: `import { TaskHubClient } from 'dtk/client'`. */
export { TaskHubClient } from './task-hub-client.ts';
export type { TaskHubClientOptions, StartOptions, RestartOptions, RewindOptions, OrchestrationState, WaitOptions, ListOptions } from './task-hub-client.ts';
export type { InstanceFilter, PurgeFilter, VersionInfo } from '../store/types.ts';
export type { FailureDetails, HistoryEvent, RuntimeStatus } from '../orchestration/history.ts';
export * from '../errors.ts';
