/**
 * A work queue of object keys. A key is never processed by two workers at once: adding a key that is being
 * processed marks it dirty, and it runs again after the current pass. Keys queued several times before a worker
 * takes them run once. Delayed adds keep the earliest time. Failures back off per key, exponentially.
 */

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** First retry delay after a failure; default 500 ms. */
  baseDelayMs?: number;
  /** Longest retry delay; default 60 s. */
  maxDelayMs?: number;
  /** Injectable clock and timers, for tests. */
  now?: () => number;
}

/** Serialising, de-duplicating, rate-limited queue of string keys. */
export class WorkQueue {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  /** Keys ready to run, in order. */
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Keys added while being processed: run again when done. */
  readonly #dirty = new Set<string>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  #waiters: (() => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Keys waiting to run now (for the depth metric). */
  get length(): number {
    return this.#ready.length;
  }

  /** Queues a key to run as soon as a worker is free. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    const delayed = this.#delayed.get(key);
    if (delayed) {
      clearTimeout(delayed.timer);
      this.#delayed.delete(key);
    }
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#ready.push(key);
    this.#waiters.shift()?.();
  }

  /** Queues a key after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /** Queues a key after its back-off delay, which doubles with each consecutive failure; returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets a key's back-off after a success. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Consecutive failures of a key. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Waits for the next key and marks it processing; undefined once shut down. Call {@link done} after. */
  async get(): Promise<string | undefined> {
    for (;;) {
      if (this.#shuttingDown) return undefined;
      const key = this.#ready.shift();
      if (key !== undefined) {
        this.#queued.delete(key);
        this.#processing.add(key);
        return key;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Marks a key processed; a key added meanwhile is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys and drops pending timers; workers waiting in {@link get} get undefined. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
