/**
 * A controller: a work queue of `namespace/name` keys drained by a few workers, each calling the reconciler. The
 * queue serialises each key; results decide the requeue (`done`, `requeueAfter`); a 409 conflict requeues quietly
 * with back-off (someone else wrote first, the next pass re-reads); any other error is logged and backs off.
 */
import type { Logger } from 'pino';
import { toError } from '../../../worker/src/errors.ts';
import { isConflict } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import type { ReconcileResult } from './result.ts';

/** Reconciles the object named by `namespace/name`. */
export type Reconciler = (namespace: string, name: string) => Promise<ReconcileResult>;

/** Options of a {@link Controller}. */
export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  workers?: number;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Back-off bounds for failing keys. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Splits a `namespace/name` key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Runs one reconciler over a queue of keys. */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#o = options;
    this.#log = options.logger.child({ controller: options.name });
    this.queue = new WorkQueue({ baseDelayMs: options.baseDelayMs, maxDelayMs: options.maxDelayMs });
    options.metrics.queueDepth.set({ controller: options.name }, 0);
  }

  /** Queues an object for reconciling. */
  enqueue(namespace: string | undefined, name: string | undefined): void {
    if (!name) return;
    this.queue.add(`${namespace ?? ''}/${name}`);
    this.#o.metrics.queueDepth.set({ controller: this.name }, this.queue.length);
  }

  /** Starts the workers. */
  start(): void {
    const n = this.#o.workers ?? 2;
    for (let i = 0; i < n; i++) this.#workers.push(this.#work());
  }

  /** Stops taking keys and waits for passes in flight to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.#workers);
    this.#workers = [];
  }

  async #work(): Promise<void> {
    const { metrics } = this.#o;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      metrics.queueDepth.set({ controller: this.name }, this.queue.length);
      const { namespace, name } = splitKey(key);
      const started = performance.now();
      let result = 'done';
      try {
        const outcome = await this.#o.reconcile(namespace, name);
        this.queue.forget(key);
        if (outcome.requeueAfterMs !== undefined) {
          result = 'requeue';
          this.queue.addAfter(key, outcome.requeueAfterMs);
        }
      } catch (err) {
        if (isConflict(err)) {
          result = 'conflict';
          const delay = this.queue.addRateLimited(key);
          this.#log.debug({ key, retryInMs: delay }, 'conflict; requeued');
        } else {
          result = 'error';
          metrics.reconcileErrors.inc({ controller: this.name });
          const delay = this.queue.addRateLimited(key);
          const e = toError(err);
          this.#log.error({ key, err: e.message, failures: this.queue.failures(key), retryInMs: delay }, 'reconcile failed');
        }
      } finally {
        this.queue.done(key);
        metrics.reconciles.inc({ controller: this.name, result });
        metrics.reconcileDuration.observe({ controller: this.name }, (performance.now() - started) / 1000);
      }
    }
  }
}
