/**
 * `Worker`: the process that serves one version of a task hub. Register orchestrations and
 * activities, start it, and on SIGTERM it stops claiming, finishes or hands back what it is
 * running within the grace period, and exits 0.
 *
 * ```ts
 * const worker = new Worker({ hubUrl: process.env.DTK_HUB_URL, version: 'v2' })
 *   .addOrchestrator('greet', greet)
 *   .addActivity('sayHello', sayHello);
 * await worker.runUntilSignal();
 * ```
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { resolveWorkerSettings, type WorkerSettings } from './config.ts';
import { createLogger } from './logger.ts';
import type { ActivityFunction, OrchestratorFunction } from './orchestration/api.ts';
import { Registry } from './orchestration/registry.ts';
import { ActivityLoop } from './runtime/activity-loop.ts';
import { OrchestrationLoop } from './runtime/orchestration-loop.ts';
import { VersionRouting } from './runtime/version-routing.ts';
import { createPostgresStore } from './store/index.ts';
import type { HubStore } from './store/types.ts';

export type { WorkerSettings } from './config.ts';
export * from './orchestration/index.ts';

/** Options of a Worker; anything unset comes from the environment (DTK_*) or defaults. */
export interface WorkerOptions extends Partial<WorkerSettings> {
  /** Use this store instead of connecting to `hubUrl` (tests, embedding). */
  store?: HubStore;
  logger?: Logger;
  /** Apply migrations at start (default false: the operator or `dtk hub migrate` owns the schema). */
  migrate?: boolean;
}

/** Serves one version of a task hub: runs its orchestrations and activities. */
export class Worker {
  readonly registry = new Registry();
  readonly #options: WorkerOptions;
  #settings: WorkerSettings | undefined;
  #store: HubStore | undefined;
  #ownsStore = false;
  #orchestrations: OrchestrationLoop | undefined;
  #activities: ActivityLoop | undefined;
  #logger: Logger | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: WorkerOptions = {}) {
    this.#options = options;
  }

  /** Registers an orchestration under `name` (or the function's own name). */
  addOrchestrator<TIn, TOut>(name: string, fn: OrchestratorFunction<TIn, TOut>): this;
  addOrchestrator<TIn, TOut>(fn: OrchestratorFunction<TIn, TOut>): this;
  addOrchestrator<TIn, TOut>(a: string | OrchestratorFunction<TIn, TOut>, b?: OrchestratorFunction<TIn, TOut>): this {
    if (typeof a === 'string') this.registry.addOrchestrator(a, b as OrchestratorFunction<TIn, TOut>);
    else this.registry.addOrchestrator(a.name, a);
    return this;
  }

  /** Registers an activity under `name` (or the function's own name). */
  addActivity<TIn, TOut>(name: string, fn: ActivityFunction<TIn, TOut>): this;
  addActivity<TIn, TOut>(fn: ActivityFunction<TIn, TOut>): this;
  addActivity<TIn, TOut>(a: string | ActivityFunction<TIn, TOut>, b?: ActivityFunction<TIn, TOut>): this {
    if (typeof a === 'string') this.registry.addActivity(a, b as ActivityFunction<TIn, TOut>);
    else this.registry.addActivity(a.name, a);
    return this;
  }

  /** The resolved settings (after start). */
  get settings(): WorkerSettings | undefined {
    return this.#settings;
  }

  /** Turns committed and activities completed since start. */
  get stats(): { turns: number; activities: number } {
    return { turns: this.#orchestrations?.turnsCommitted ?? 0, activities: this.#activities?.completed ?? 0 };
  }

  /** Validates settings, connects, checks the schema and starts claiming work. */
  async start(): Promise<void> {
    if (this.#orchestrations) return;
    this.#stopping = undefined;
    const { store, logger, migrate, ...rest } = this.#options;
    const settings = resolveWorkerSettings(
      store ? { hubUrl: 'postgres://embedded', ...rest } : rest,
      process.env,
      `${hostname()}-${process.pid}`,
    );
    this.#settings = settings;
    const log = (logger ?? createLogger({ component: 'worker' })).child({ version: settings.version, workerId: settings.workerId });
    this.#logger = log;
    let hubStore: HubStore;
    if (store) {
      hubStore = store;
    } else {
      hubStore = createPostgresStore({
        url: settings.hubUrl,
        schema: settings.schema,
        maxPayloadBytes: settings.maxPayloadBytes,
        maxCustomStatusBytes: settings.maxCustomStatusBytes,
        pollIntervalMs: settings.pollIntervalMs,
        logger: log,
      });
      this.#ownsStore = true;
    }
    this.#store = hubStore;
    if (migrate) await hubStore.migrate();
    else await hubStore.checkSchema();

    const common = {
      store: hubStore,
      version: settings.version,
      workerId: settings.workerId,
      leaseMs: settings.leaseMs,
      pollIntervalMs: settings.pollIntervalMs,
      maxPayloadBytes: settings.maxPayloadBytes,
      logger: log,
    };
    this.#orchestrations = new OrchestrationLoop({
      ...common,
      registry: this.registry,
      concurrency: settings.orchestrationConcurrency,
      cacheSize: settings.cacheSize,
      routing: new VersionRouting(hubStore),
      maxCustomStatusBytes: settings.maxCustomStatusBytes,
    });
    this.#activities = new ActivityLoop({ ...common, registry: this.registry, concurrency: settings.activityConcurrency });
    this.#orchestrations.start();
    this.#activities.start();
    log.info(
      { orchestrations: this.registry.orchestratorNames(), activities: this.registry.activityNames() },
      'worker started',
    );
  }

  /** Stops claiming, lets running work finish within the grace period, releases the rest, disconnects. */
  stop(): Promise<void> {
    // Idempotent: a signal handler and the application's own shutdown may both call it, even at once.
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const grace = this.#settings?.shutdownGraceMs ?? 0;
    await Promise.all([this.#orchestrations?.stop(), this.#activities?.stop(grace)]);
    this.#orchestrations = undefined;
    this.#activities = undefined;
    const store = this.#store;
    this.#store = undefined;
    if (this.#ownsStore) await store?.close();
    this.#logger?.info('worker stopped');
  }

  /** Starts, then stops cleanly on SIGTERM or SIGINT; resolves after the stop (exit code 0 is the caller's). */
  async runUntilSignal(): Promise<void> {
    await this.start();
    await new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        this.#logger?.info({ signal }, 'shutting down');
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await this.stop();
  }
}
