/**
 * Consecutive failures to build a turn, per instance, so a worker backs off from an instance it
 * cannot process instead of claiming, failing and releasing it in a tight loop. Such a failure is a
 * bug in the runtime or the store, or a transient store error: the first is retried at once (a
 * transient error should cost nothing), repeats wait longer and longer, up to a cap.
 *
 * The memory is bounded: the oldest entries are dropped past `maxEntries`, and a failure long after
 * the previous one counts as a first failure again. Both only make a worker retry sooner.
 */

/** Tuning for BuildFailures; the defaults suit production. */
export interface BuildFailuresOptions {
  /** Wait after the second consecutive failure; each further failure doubles it. */
  baseMs?: number;
  /** The longest wait. */
  maxMs?: number;
  /** Instances remembered at most. */
  maxEntries?: number;
  /** Clock, for tests of this class alone. */
  now?: () => number;
}

interface Entry {
  failures: number;
  lastAt: number;
}

/** Counts consecutive turn-build failures per instance and says how long to wait before the next try. */
export class BuildFailures {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: BuildFailuresOptions = {}) {
    this.#baseMs = options.baseMs ?? 1000;
    this.#maxMs = options.maxMs ?? 60000;
    this.#maxEntries = options.maxEntries ?? 10000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Records a failure; returns how many in a row (1 for the first) and the wait before the instance
   * should be tried again: 0 the first time, then baseMs, 2 × baseMs, … up to maxMs.
   */
  failed(instanceId: string): { failures: number; waitMs: number } {
    const now = this.#now();
    const previous = this.#entries.get(instanceId);
    // Quiet for well past the longest wait: whatever failed before has had its chance to clear.
    const stale = previous !== undefined && now - previous.lastAt > 2 * this.#maxMs;
    const failures = previous === undefined || stale ? 1 : previous.failures + 1;
    // Re-inserting keeps the Map in least-recently-failed order, so eviction drops the quietest.
    this.#entries.delete(instanceId);
    this.#entries.set(instanceId, { failures, lastAt: now });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    const waitMs = failures === 1 ? 0 : Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures - 2, 30));
    return { failures, waitMs };
  }

  /** Forgets the instance's failures: its turn was built. */
  succeeded(instanceId: string): void {
    this.#entries.delete(instanceId);
  }

  /** Instances with failures remembered. */
  get size(): number {
    return this.#entries.size;
  }
}
