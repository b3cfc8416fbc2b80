/**
 * The task hub's tables, one interface per table, with what each non-obvious column means.
 * The DDL is in migrations/; these shapes are what the queries in sql/ read.
 */

/** `instances`: one row per orchestration instance (its current execution). */
export interface InstanceRow {
  instance_id: string;
  /** Changes on continue-as-new; history and execution-addressed messages are keyed by it. */
  execution_id: string;
  name: string;
  /** Stamped at start; only workers of this version claim the instance. */
  version: string;
  status: string;
  /** Payloads are JSON text exactly as serialised by the client or the orchestration. */
  input: string | null;
  output: string | null;
  custom_status: string | null;
  failure: unknown;
  parent_instance_id: string | null;
  parent_execution_id: string | null;
  parent_task_id: number | null;
  tags: Record<string, string>;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  /**
   * Earliest `visible_at` of the instance's inbox, or null when the inbox is empty. Claims read
   * this through one partial index instead of scanning the inbox. Writers of inbox rows lower it
   * (LEAST); a committing turn recomputes it while holding the row lock, so it is never too high.
   * Exception: while the instance is Pending it stays at the (possibly scheduled) start, so an
   * event raised early waits for the start instead of waking the instance without one.
   */
  next_visible_at: Date | null;
  /** Fencing token of the current lease; a commit must present it. */
  lock_token: string | null;
  /** Database time the lease ends; after that another worker may claim. */
  locked_until: Date | null;
  locked_by: string | null;
}

/** `history`: append-only events of the current execution, `seq` from 0. */
export interface HistoryRow {
  instance_id: string;
  execution_id: string;
  seq: number;
  /** The event's kind, duplicated from the JSON for inspection with plain SQL. */
  kind: string;
  /** The HistoryEvent as JSON text. */
  event: string;
}

/**
 * `inbox`: messages an orchestration has not processed yet. A claim hands them out in the order
 * they became visible (`visible_at`, then `id`), with the execution's ExecutionStarted first.
 */
export interface InboxRow {
  /** Insertion order; continue-as-new re-inserts pending rows so they follow the carryover events. */
  id: string;
  instance_id: string;
  /** Set when the message belongs to one execution (timers, results); dropped if the instance moved on. */
  execution_id: string | null;
  event: string;
  /** Timers and delayed starts become visible later. */
  visible_at: Date;
}

/**
 * `event_keys`: idempotency keys of raised events, so a repeated raise is a no-op even after
 * delivery. (A unique key on `inbox` would forget the key as soon as the message is consumed,
 * which is exactly when a client that timed out retries.) Purged with the instance.
 */
export interface EventKeyRow {
  instance_id: string;
  key: string;
  created_at: Date;
}

/** `activity_tasks`: scheduled activities waiting for or held by a worker. */
export interface ActivityTaskRow {
  id: string;
  instance_id: string;
  execution_id: string;
  /** The TaskScheduled eventId the result is addressed to. */
  task_id: number;
  name: string;
  version: string;
  input: string | null;
  /** Incremented by every claim: 1 on first delivery. */
  delivery_count: number;
  /** Claimable when ≤ now(); a claim moves it to the lease's end, so an expired lease is claimable again. */
  visible_at: Date;
  lock_token: string | null;
  locked_by: string | null;
  created_at: Date;
}

/** `dead_letters`: inbox messages a claim could not read, moved here with the reason (the instance fails). */
export interface DeadLetterRow {
  /** The inbox row's id. */
  id: string;
  instance_id: string;
  execution_id: string | null;
  /** The message exactly as it was stored. */
  event: string;
  visible_at: Date;
  /** Why it could not be read, e.g. the JSON parser's message. */
  reason: string;
  parked_at: Date;
}

/** `versions`: routing of new starts and drain state, written by the operator (or `setRouting`). */
export interface VersionRow {
  version: string;
  state: 'Current' | 'Ramping' | 'Draining' | 'Drained';
  ramp_percent: number;
  created_at: Date;
  updated_at: Date;
  drained_since: Date | null;
}

/** `schema_migrations`: one row per applied migration, written in the migration's transaction. */
export interface SchemaMigrationRow {
  version: number;
  name: string;
  applied_at: Date;
}
