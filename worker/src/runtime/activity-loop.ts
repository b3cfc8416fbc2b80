/**
 * The activity side of a worker: claim scheduled activities of this worker's version, run
 * them with bounded concurrency, renew leases of long ones, and report results in batches.
 * Activities run at least once: a result whose lease was lost is dropped, because the task
 * was handed to another worker that will report it.
 */
import type { Logger } from 'pino';
import { toError } from '../errors.ts';
import type { ActivityContext, ActivityFunction } from '../orchestration/api.ts';
import type { FailureDetails } from '../orchestration/history.ts';
import { toFailureDetails } from '../orchestration/failure.ts';
import type { ActivityResult, ActivityWorkItem, HubStore } from '../store/types.ts';
import { payloadBytes } from './payload-limits.ts';
import { delay } from './delay.ts';

export interface ActivityLookup {
  getActivity(name: string): ActivityFunction | undefined;
  activityNames(): string[];
}

export interface ActivityLoopOptions {
  store: HubStore;
  registry: ActivityLookup;
  version: string;
  workerId: string;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  maxPayloadBytes: number;
  logger: Logger;
}

interface InFlight {
  item: ActivityWorkItem;
  abort: AbortController;
  done: Promise<void>;
}

/** Claims and runs activities until stopped. */
export class ActivityLoop {
  readonly #o: ActivityLoopOptions;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #slotFreed: (() => void) | undefined;
  /** Results waiting for the next batch write; flushed as soon as no write is in progress. */
  #outbox: ActivityResult[] = [];
  #flushing: Promise<void> | undefined;
  /** Activities finished since start, for tests and metrics. */
  completed = 0;

  constructor(options: ActivityLoopOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop = this.#run();
    this.#renewTimer = setInterval(() => void this.#renewLeases(), Math.max(250, Math.floor(this.#o.leaseMs / 3)));
    this.#renewTimer.unref();
  }

  /**
   * Stops claiming; waits up to `graceMs` for running activities, then aborts the rest and
   * hands their tasks back so another worker can run them at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stop.abort();
    this.#slotFreed?.();
    await this.#loop;
    const running = [...this.#inFlight.values()];
    const finished = Promise.all(running.map((r) => r.done));
    // The grace timer is cancelled once the work is done, so a stopped worker does not keep its process alive.
    const graceOver = new AbortController();
    const timedOut = await Promise.race([finished.then(() => false), delay(graceMs, graceOver.signal).then(() => !graceOver.signal.aborted)]);
    graceOver.abort();
    if (timedOut) {
      const left = [...this.#inFlight.values()];
      for (const r of left) r.abort.abort(new Error('worker shutting down'));
      this.#o.logger.warn({ count: left.length }, 'grace period over; releasing running activities to other workers');
      await this.#o.store.abandonActivities(left.map((r) => ({ id: r.item.id, lockToken: r.item.lockToken })));
      for (const r of left) this.#inFlight.delete(r.item.id);
    }
    clearInterval(this.#renewTimer);
    await this.#flush();
  }

  async #run(): Promise<void> {
    const { store, version, leaseMs, workerId, logger, pollIntervalMs, concurrency } = this.#o;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        const free = concurrency - this.#inFlight.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => (this.#slotFreed = resolve));
          continue;
        }
        const items = await store.claimActivities(version, Math.min(free, 200), leaseMs, workerId);
        if (items.length === 0) {
          await store.waitForWork('activity', version, pollIntervalMs, this.#stop.signal);
        } else {
          for (const item of items) this.#launch(item);
        }
        failures = 0;
      } catch (err) {
        failures++;
        const wait = Math.min(30000, 200 * 2 ** Math.min(failures, 8));
        logger.error({ err: toError(err), retryInMs: wait }, 'activity loop failed; retrying');
        await delay(wait, this.#stop.signal);
      }
    }
  }

  #launch(item: ActivityWorkItem): void {
    const abort = new AbortController();
    const entry: InFlight = { item, abort, done: Promise.resolve() };
    entry.done = this.#execute(item, abort.signal).then((result) => {
      if (!this.#inFlight.has(item.id)) return; // handed back on shutdown or lease lost
      this.#inFlight.delete(item.id);
      this.completed++;
      this.#outbox.push(result);
      void this.#flush();
      const wake = this.#slotFreed;
      this.#slotFreed = undefined;
      wake?.();
    });
    this.#inFlight.set(item.id, entry);
  }

  async #execute(item: ActivityWorkItem, signal: AbortSignal): Promise<ActivityResult> {
    const base = {
      id: item.id,
      lockToken: item.lockToken,
      instanceId: item.instanceId,
      executionId: item.executionId,
      taskId: item.taskId,
    };
    const log = this.#o.logger.child({ instanceId: item.instanceId, version: item.version, activity: item.name, taskId: item.taskId });
    const fn = this.#o.registry.getActivity(item.name);
    if (!fn) {
      const failure: FailureDetails = {
        errorType: 'ActivityNotRegisteredError',
        message:
          `activity '${item.name}' is not registered on workers of version '${item.version}'; ` +
          `registered: ${this.#o.registry.activityNames().join(', ') || '(none)'}`,
        nonRetriable: true,
      };
      log.error({ failure }, 'activity not registered');
      return { ...base, failure };
    }
    const ctx: ActivityContext = {
      instanceId: item.instanceId,
      name: item.name,
      version: item.version,
      taskId: item.taskId,
      deliveryCount: item.deliveryCount,
      signal,
    };
    try {
      const input: unknown = item.input === undefined ? undefined : JSON.parse(item.input);
      const output = await fn(ctx, input);
      const result = output === undefined ? undefined : JSON.stringify(output);
      const size = payloadBytes(result);
      if (size > this.#o.maxPayloadBytes) {
        return {
          ...base,
          failure: {
            errorType: 'PayloadTooLargeError',
            message:
              `output of activity '${item.name}' is ${size} bytes, over the limit of ${this.#o.maxPayloadBytes} bytes; ` +
              'return a reference to the data instead, or raise maxPayloadBytes (DTK_MAX_PAYLOAD_BYTES)',
            nonRetriable: true,
          },
        };
      }
      return { ...base, result };
    } catch (err) {
      const failure = toFailureDetails(err);
      log.warn({ failure: { errorType: failure.errorType, message: failure.message }, deliveryCount: item.deliveryCount }, 'activity failed');
      return { ...base, failure };
    }
  }

  /** Writes every queued result in one batch; results queued meanwhile go in the next one. */
  #flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#outbox.length === 0) return Promise.resolve();
    this.#flushing = (async () => {
      while (this.#outbox.length > 0) {
        const batch = this.#outbox;
        this.#outbox = [];
        try {
          const lost = await this.#o.store.completeActivities(batch);
          if (lost.length > 0) this.#o.logger.warn({ ids: lost }, 'activity results dropped: lease lost; another worker re-runs them');
        } catch (err) {
          // The tasks stay leased in the store; once the lease expires another worker re-runs them.
          this.#o.logger.error({ err: toError(err), count: batch.length }, 'could not record activity results; they will be re-run');
        }
      }
    })().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #renewLeases(): Promise<void> {
    if (this.#inFlight.size === 0) return;
    const held = [...this.#inFlight.values()].map((r) => ({ id: r.item.id, lockToken: r.item.lockToken }));
    try {
      const lost = await this.#o.store.renewActivityLeases(held, this.#o.leaseMs);
      for (const id of lost) {
        const r = this.#inFlight.get(id);
        if (!r) continue;
        this.#inFlight.delete(id);
        r.abort.abort(new Error('activity lease lost'));
        this.#o.logger.warn({ instanceId: r.item.instanceId, activity: r.item.name }, 'activity lease lost; another worker runs it');
      }
    } catch (err) {
      this.#o.logger.warn({ err: toError(err) }, 'could not renew activity leases');
    }
  }
}
