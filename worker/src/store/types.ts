/**
 * The task hub contract: what the worker runtime and the client need from storage. The
 * Postgres implementation lives beside this file; tests of the runtime may fake it.
 *
 * Every method that changes an instance under a lease is fenced by the lease token: a stale
 * worker's commit changes nothing and reports `leaseLost`.
 * Batch-shaped methods exist because batching is the largest lever on throughput.
 */
import type { FailureDetails, HistoryEvent, ParentInstanceInfo, RuntimeStatus } from '../orchestration/history.ts';

/** A message waiting in an instance's inbox (an event the orchestration has not yet processed). */
export interface InboxMessage {
  /** Opaque id (a bigint as text); echoed back in `consumedMessageIds`. */
  id: string;
  event: HistoryEvent;
}

/** An orchestration instance claimed by a worker, with everything one turn needs. */
export interface OrchestrationWorkItem {
  instanceId: string;
  executionId: string;
  name: string;
  version: string;
  status: RuntimeStatus;
  lockToken: string;
  /**
   * History of the current execution, oldest first. When the claim was made with
   * `knownHistoryLength` for this instance, only events after that many are returned
   * and `historyOffset` says how many were skipped.
   */
  history: HistoryEvent[];
  historyOffset: number;
  /** Visible inbox messages, oldest first. */
  messages: InboxMessage[];
  /**
   * Set when some of the instance's stored data could not be read (corrupt JSON, or JSON that is no
   * history event): says what and why. Unreadable inbox messages were moved to the hub's dead-letter
   * table and are not in `messages`. The runtime fails the instance with this reason instead of
   * replaying it. With an unreadable history row, `history` holds the readable events only and
   * `historyOffset + history.length` is still the stored length.
   */
  unreadable?: string;
}

export interface ScheduledActivity {
  taskId: number;
  name: string;
  version: string;
  input?: string;
}

export interface ScheduledTimer {
  timerId: number;
  /** ISO-8601 UTC; the TimerFired message becomes visible then. */
  fireAt: string;
}

export interface NewSubOrchestration {
  instanceId: string;
  name: string;
  version: string;
  input?: string;
  /** The parent's SubOrchestrationInstanceCreated eventId. */
  parentTaskId: number;
}

/** An event delivered to another instance's inbox (EventRaised, or a parent's sub-orchestration result). */
export interface OutgoingMessage {
  instanceId: string;
  event: HistoryEvent;
  /** Unset: visible at once. */
  visibleAt?: string;
}

/** One orchestration turn, committed atomically or not at all. */
export interface OrchestrationTurn {
  instanceId: string;
  executionId: string;
  lockToken: string;
  /** Events appended to the current execution's history, in order. */
  newHistory: HistoryEvent[];
  /** First sequence number of newHistory (= length of history before the turn). */
  historyStartSeq: number;
  consumedMessageIds: string[];
  status: RuntimeStatus;
  /** JSON text. */
  output?: string;
  failure?: FailureDetails;
  /** JSON text; undefined leaves it unchanged, null clears it. */
  customStatus?: string | null;
  activities: ScheduledActivity[];
  timers: ScheduledTimer[];
  subOrchestrations: NewSubOrchestration[];
  /** Events to other instances, including the result message to a parent when this instance finishes. */
  messages: OutgoingMessage[];
  /**
   * Continue-as-new: the old execution's history is dropped, the instance gets this execution id,
   * version and input, and `carryoverEvents` (plus a fresh ExecutionStarted first) land in its inbox.
   */
  continueAsNew?: {
    newExecutionId: string;
    /** The orchestration's name, parent link and tags, repeated in the new ExecutionStarted. */
    name: string;
    parent?: ParentInstanceInfo;
    tags?: Record<string, string>;
    version: string;
    input?: string;
    carryoverEvents: HistoryEvent[];
  };
  /** Instances to terminate as part of this turn (recursive terminate): an ExecutionTerminated message each. */
  terminateInstances?: { instanceId: string; reason?: string }[];
}

export interface TurnCommitResult {
  instanceId: string;
  /** False when the lease was lost: nothing of this turn was written. */
  committed: boolean;
}

/** An activity claimed by a worker. */
export interface ActivityWorkItem {
  /** Opaque id (bigint as text). */
  id: string;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  version: string;
  input?: string;
  /** 1 on first delivery; incremented on every claim. */
  deliveryCount: number;
  lockToken: string;
}

export interface ActivityResult {
  id: string;
  lockToken: string;
  instanceId: string;
  executionId: string;
  taskId: number;
  /** Exactly one of result / failure. result is JSON text (undefined for void). */
  result?: string;
  failure?: FailureDetails;
}

export interface CreateInstanceRequest {
  instanceId: string;
  name: string;
  /** Undefined: the store routes it (current / ramping version, else `defaultVersion`). */
  version?: string;
  defaultVersion: string;
  input?: string;
  /** ISO-8601; the first turn is not before then. */
  scheduledStartTime?: string;
  tags?: Record<string, string>;
  /**
   * What to do when the id exists. 'fail' (default) → InstanceAlreadyExistsError;
   * 'reuseIfFinished' replaces a Completed/Failed/Terminated instance.
   */
  ifExists?: 'fail' | 'reuseIfFinished';
}

export interface InstanceState {
  instanceId: string;
  executionId: string;
  name: string;
  version: string;
  status: RuntimeStatus;
  createdAt: Date;
  updatedAt: Date;
  completedAt?: Date;
  /** JSON text, only when fetched with payloads. */
  input?: string;
  output?: string;
  customStatus?: string;
  failure?: FailureDetails;
  parentInstanceId?: string;
  tags: Record<string, string>;
}

export interface InstanceFilter {
  statuses?: RuntimeStatus[];
  name?: string;
  version?: string;
  createdFrom?: Date;
  createdTo?: Date;
  instanceIdPrefix?: string;
}

export interface ListRequest extends InstanceFilter {
  /** Default 100, at most 1000. */
  pageSize?: number;
  /** Opaque cursor from a previous page. */
  continuationToken?: string;
  withPayloads?: boolean;
}

export interface ListPage {
  instances: InstanceState[];
  /** Absent on the last page. */
  continuationToken?: string;
}

export interface PurgeFilter extends InstanceFilter {
  /** Only instances that finished before this time (retention counts from completion, not creation). */
  completedTo?: Date;
  /** Also purge sub-orchestrations of the matched instances. */
  recursive?: boolean;
}

/** Routing and drain state of one version (DESIGN.md §4 `versions`). */
export interface VersionInfo {
  version: string;
  state: 'Current' | 'Ramping' | 'Draining' | 'Drained';
  /** For Ramping: percent of new starts routed to this version. */
  rampPercent: number;
  /** Instances of this version not in a terminal state. */
  runningInstances: number;
  drainedSince?: Date;
}

/** Control messages a client sends to an instance. */
export type ControlOperation =
  | { kind: 'raise'; name: string; input?: string; idempotencyKey?: string }
  | { kind: 'suspend'; reason?: string }
  | { kind: 'resume'; reason?: string }
  | { kind: 'terminate'; reason?: string; recurse?: boolean };

export interface HubStore {
  /** Creates the schema or brings it to the code's version; concurrent callers both succeed. */
  migrate(): Promise<{ from: number; to: number }>;
  /** Throws SchemaVersionError when the database is not migrated or is newer than the code. */
  checkSchema(): Promise<number>;
  close(): Promise<void>;

  // ── orchestration work (worker) ───────────────────────────────────────────
  /**
   * Claims up to `max` instances of `version` that have visible inbox messages and no live lease.
   * `knownHistoryLength` maps instanceId → events the caller already holds in memory.
   */
  claimOrchestrations(
    version: string,
    max: number,
    leaseMs: number,
    workerId: string,
    knownHistoryLength?: ReadonlyMap<string, number>,
  ): Promise<OrchestrationWorkItem[]>;
  commitTurns(turns: OrchestrationTurn[], leaseMs: number): Promise<TurnCommitResult[]>;
  /** Releases leases without changes (for example on shutdown), so another worker can claim at once. */
  abandonOrchestrations(items: { instanceId: string; lockToken: string }[]): Promise<void>;
  /** Extends leases still held; returns the ids whose lease was lost. */
  renewOrchestrationLeases(items: { instanceId: string; lockToken: string }[], leaseMs: number): Promise<string[]>;

  // ── activity work (worker) ────────────────────────────────────────────────
  claimActivities(version: string, max: number, leaseMs: number, workerId: string): Promise<ActivityWorkItem[]>;
  /** Deletes the tasks and delivers their results to the orchestrations' inboxes; returns ids whose lease was lost. */
  completeActivities(results: ActivityResult[]): Promise<string[]>;
  abandonActivities(items: { id: string; lockToken: string }[]): Promise<void>;
  renewActivityLeases(items: { id: string; lockToken: string }[], leaseMs: number): Promise<string[]>;

  // ── client ────────────────────────────────────────────────────────────────
  /** Returns the version the instance was given. */
  createInstance(req: CreateInstanceRequest): Promise<{ version: string }>;
  getInstance(instanceId: string, withPayloads: boolean): Promise<InstanceState | undefined>;
  listInstances(req: ListRequest): Promise<ListPage>;
  getHistory(instanceId: string): Promise<HistoryEvent[]>;
  /** Delivers a control message; throws InstanceNotFoundError. A raise with a seen idempotencyKey is a no-op returning false. */
  sendControl(instanceId: string, op: ControlOperation): Promise<boolean>;
  /** Deletes finished instances with their history, inbox and tasks; returns how many instances. */
  purgeInstance(instanceId: string, recursive: boolean): Promise<number>;
  purgeInstances(filter: PurgeFilter): Promise<number>;
  /**
   * Rewinds a Failed instance: undoes the turn that failed it (its history rows), puts the messages that
   * turn consumed back in the inbox except the failures, schedules the failed activities again and
   * rewinds Failed sub-orchestrations whose failure it undoes, and sets it Running; one transaction.
   * Returns the rewound instance ids, the given one first. Throws InstanceNotFoundError, or
   * InvalidInstanceStateError when the instance is not Failed. `reason` is logged (history has no event for it).
   */
  rewindInstance(instanceId: string, reason?: string): Promise<string[]>;

  /**
   * Resolves with the state once `predicate` holds, woken by notifications (polling as a fallback);
   * rejects with TimeoutError after `timeoutMs`. `worthReading`, when given, says which new statuses
   * can satisfy the predicate: a notification of any other status does not cost a read.
   */
  waitForInstance(
    instanceId: string,
    predicate: (s: InstanceState) => boolean,
    timeoutMs: number,
    withPayloads: boolean,
    worthReading?: (status: RuntimeStatus) => boolean,
  ): Promise<InstanceState>;

  /**
   * Resolves when new work of this version may be available (notification or poll interval);
   * the worker loop calls it when a claim came back empty.
   */
  waitForWork(kind: 'orchestration' | 'activity', version: string, maxWaitMs: number, signal?: AbortSignal): Promise<void>;

  // ── versions (client routing, operator) ───────────────────────────────────
  listVersions(): Promise<VersionInfo[]>;
  /** Sets routing: `current` gets new starts; `ramping` (if given) gets `rampPercent` of them. */
  setRouting(current: string, ramping?: { version: string; percent: number }): Promise<void>;
}
