/**
 * Keeps replayed orchestrations in memory between turns, so an instance with a long history
 * is not re-read and re-replayed on every event. Entries are only hints: the store tells on
 * each claim how much history exists, and a mismatch drops the entry.
 */
import type { OrchestrationExecutor } from '../orchestration/executor.ts';
import type { ExecutionStartedEvent } from '../orchestration/history.ts';

export interface CachedExecution {
  executor: OrchestrationExecutor;
  executionId: string;
  /** History events stored for this execution, as of the last committed turn. */
  historyLength: number;
  /** The execution's start event (parent link, tags), which later turns need without re-reading history. */
  started: ExecutionStartedEvent | undefined;
  /** Timestamp of the last turn, so turn times never run backwards. */
  lastTurnAt: string;
}

/** Least-recently-used map of instance id → replayed execution. */
export class ReplayCache {
  readonly #entries = new Map<string, CachedExecution>();
  /** Mirror of the entries' history lengths, handed to claims without copying. */
  readonly #lengths = new Map<string, number>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Known history lengths, passed to claims so the store skips events already in memory. */
  knownLengths(): ReadonlyMap<string, number> {
    return this.#lengths;
  }

  /** Takes the entry out; the caller puts it back after a committed turn. */
  take(instanceId: string): CachedExecution | undefined {
    const entry = this.#entries.get(instanceId);
    if (entry) {
      this.#entries.delete(instanceId);
      this.#lengths.delete(instanceId);
    }
    return entry;
  }

  put(instanceId: string, entry: CachedExecution): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(instanceId);
    this.#entries.set(instanceId, entry);
    this.#lengths.set(instanceId, entry.historyLength);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) {
        this.#entries.delete(oldest);
        this.#lengths.delete(oldest);
      }
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
