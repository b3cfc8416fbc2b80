/**
 * The orchestration side of a worker: claim instances with new messages, run one turn each
 * through the replay engine, and commit every turn of the batch together. A turn whose lease
 * was lost is simply dropped: its new owner redoes it from the same inbox.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { toError } from '../errors.ts';
import { OrchestrationExecutor, type ExecutionResult, type OrchestratorRegistry } from '../orchestration/executor.ts';
import { isTerminal, type ExecutionStartedEvent, type HistoryEvent } from '../orchestration/history.ts';
import type { HubStore, OrchestrationTurn, OrchestrationWorkItem } from '../store/types.ts';
import { ReplayCache, type CachedExecution } from './replay-cache.ts';
import { checkTurnPayloads } from './payload-limits.ts';
import { buildDiscardTurn, buildTurn } from './turn.ts';
import type { VersionRouting } from './version-routing.ts';
import { delay } from './delay.ts';
import { BuildFailures } from './build-failures.ts';

export interface OrchestrationLoopOptions {
  store: HubStore;
  registry: OrchestratorRegistry;
  version: string;
  workerId: string;
  /** Turns claimed per batch and loops run at once multiply to this. */
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  maxPayloadBytes: number;
  maxCustomStatusBytes: number;
  cacheSize: number;
  routing: VersionRouting;
  logger: Logger;
}

/** What one turn produced, kept until the batch's commit says whether it landed. */
interface PendingTurn {
  turn: OrchestrationTurn;
  executor: OrchestrationExecutor | undefined;
  started: ExecutionStartedEvent | undefined;
  finished: boolean;
}

/** Claims, replays and commits orchestration turns until stopped. */
export class OrchestrationLoop {
  readonly #o: OrchestrationLoopOptions;
  readonly #cache: ReplayCache;
  readonly #stop = new AbortController();
  readonly #buildFailures = new BuildFailures();
  #running: Promise<void>[] = [];
  /** Turns processed since start (committed or not), for tests and metrics. */
  turnsCommitted = 0;

  constructor(options: OrchestrationLoopOptions) {
    this.#o = options;
    this.#cache = new ReplayCache(options.cacheSize);
  }

  start(): void {
    // Two pipelines: while one waits on its commit, the other replays the next batch.
    const pipelines = this.#o.concurrency >= 2 ? 2 : 1;
    const batch = Math.max(1, Math.min(100, Math.floor(this.#o.concurrency / pipelines)));
    for (let i = 0; i < pipelines; i++) this.#running.push(this.#run(batch));
  }

  /** Stops claiming and waits for the batch in hand to commit (turns are short; no grace needed). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#running);
    this.#running = [];
  }

  async #run(batchSize: number): Promise<void> {
    const { store, version, leaseMs, workerId, logger, pollIntervalMs } = this.#o;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        const items = await store.claimOrchestrations(version, batchSize, leaseMs, workerId, this.#cache.knownLengths());
        if (items.length === 0) {
          await store.waitForWork('orchestration', version, pollIntervalMs, this.#stop.signal);
        } else {
          await this.#processBatch(items);
        }
        failures = 0;
      } catch (err) {
        failures++;
        const wait = Math.min(30000, 200 * 2 ** Math.min(failures, 8));
        logger.error({ err: toError(err), retryInMs: wait }, 'orchestration loop failed; retrying');
        await delay(wait, this.#stop.signal);
      }
    }
  }

  async #processBatch(items: OrchestrationWorkItem[]): Promise<void> {
    await this.#o.routing.refresh();
    const pending: PendingTurn[] = [];
    for (const item of items) {
      try {
        pending.push(await this.#turnFor(item));
        this.#buildFailures.succeeded(item.instanceId);
      } catch (err) {
        await this.#turnFailed(item, err);
      }
    }
    if (pending.length === 0) return;
    const results = await this.#o.store.commitTurns(
      pending.map((p) => p.turn),
      this.#o.leaseMs,
    );
    const committed = new Set(results.filter((r) => r.committed).map((r) => r.instanceId));
    for (const p of pending) {
      const { instanceId } = p.turn;
      if (!committed.has(instanceId)) {
        this.#o.logger.warn({ instanceId, executionId: p.turn.executionId }, 'turn not committed: lease lost; the new owner redoes it');
        continue;
      }
      this.turnsCommitted++;
      if (p.executor && !p.finished) {
        this.#cache.put(instanceId, {
          executor: p.executor,
          executionId: p.turn.executionId,
          historyLength: p.turn.historyStartSeq + p.turn.newHistory.length,
          started: p.started,
          lastTurnAt: p.turn.newHistory[0]?.timestamp ?? new Date(0).toISOString(),
        });
      }
    }
  }

  /**
   * A turn could not be built: a bug in the runtime or the store, or a transient store error, never
   * user code (the executor reports that as an orchestration failure). The first failure releases the
   * instance at once; a repeat keeps its lease for a growing wait instead, so a failure that recurs
   * every time costs a claim every few seconds at most, not a hot loop. Errors releasing or holding
   * are only logged: the lease runs out by itself.
   */
  async #turnFailed(item: OrchestrationWorkItem, err: unknown): Promise<void> {
    const { instanceId, version, lockToken } = item;
    const { failures, waitMs } = this.#buildFailures.failed(instanceId);
    const fields = { err: toError(err), instanceId, version, failures, retryInMs: waitMs };
    try {
      if (waitMs === 0) {
        this.#o.logger.error(fields, 'turn could not be built; releasing it');
        await this.#o.store.abandonOrchestrations([{ instanceId, lockToken }]);
      } else {
        this.#o.logger.error(fields, 'turn could not be built again; holding the instance before the next try');
        // Renewing sets the lease's end to now + waitMs: no claim (ours or another worker's) takes it before then.
        await this.#o.store.renewOrchestrationLeases([{ instanceId, lockToken }], waitMs);
      }
    } catch (releaseErr) {
      this.#o.logger.warn({ err: toError(releaseErr), instanceId, version }, 'could not release or hold the instance; its lease runs out');
    }
  }

  async #turnFor(item: OrchestrationWorkItem): Promise<PendingTurn> {
    const cached = this.#cache.take(item.instanceId);
    if (isTerminal(item.status)) {
      const length = item.historyOffset + item.history.length;
      return { turn: buildDiscardTurn(item, length), executor: undefined, started: undefined, finished: true };
    }
    if (item.unreadable !== undefined) return this.#unreadableTurn(item, cached);
    const usable =
      cached !== undefined &&
      cached.executionId === item.executionId &&
      item.historyOffset === cached.historyLength &&
      item.history.length === 0;
    let history = item.history;
    if (!usable && item.historyOffset > 0) {
      // The store skipped events we no longer hold in memory: read the whole execution.
      history = await this.#o.store.getHistory(item.instanceId);
    }
    const historyLength = usable ? cached.historyLength : history.length;

    const messageEvents = item.messages.map((m) => m.event);
    const started = (usable ? cached.started : findStarted(history)) ?? findStarted(messageEvents);
    const now = turnTime(usable ? cached.lastTurnAt : history[history.length - 1]?.timestamp, messageEvents);
    const newEvents: HistoryEvent[] = [{ kind: 'OrchestratorStarted', timestamp: now }, ...messageEvents];

    const executor = usable ? cached.executor : new OrchestrationExecutor(this.#o.registry, { log: this.#userLog(item) });
    let result: ExecutionResult = usable ? executor.continueWith(newEvents) : executor.execute(history, newEvents);

    const turnContext = {
      now,
      started,
      newEvents,
      historyLength,
      resolveVersion: (requested: string | undefined, own: string) => this.#o.routing.resolve(requested, own),
      newExecutionId: () => randomUUID(),
    };
    let turn = buildTurn(item, result, turnContext);
    const tooLarge = checkTurnPayloads(turn, this.#o.maxPayloadBytes, this.#o.maxCustomStatusBytes);
    if (tooLarge) {
      // Refuse the whole turn's output and fail the instance instead: nothing oversize is written.
      result = {
        actions: [{ kind: 'CompleteOrchestration', id: -1, status: 'Failed', failure: tooLarge }],
        customStatus: undefined,
        customStatusChanged: false,
        isSuspended: false,
        isComplete: true,
      };
      turn = buildTurn(item, result, turnContext);
    }
    return { turn, executor: result.isComplete ? undefined : executor, started, finished: result.isComplete };
  }

  /**
   * Some of the instance's stored data cannot be read (the store parked unreadable messages): replaying
   * would fail the same way every time, so the instance fails now, naming what could not be read. The
   * readable messages are recorded and consumed; a parent still hears of the failure when the start
   * event is readable.
   */
  #unreadableTurn(item: OrchestrationWorkItem, cached: CachedExecution | undefined): PendingTurn {
    const messageEvents = item.messages.map((m) => m.event);
    const sameExecution = cached?.executionId === item.executionId ? cached : undefined;
    const started = sameExecution?.started ?? findStarted(item.history) ?? findStarted(messageEvents);
    const now = turnTime(sameExecution?.lastTurnAt ?? item.history[item.history.length - 1]?.timestamp, messageEvents);
    this.#o.logger.error({ instanceId: item.instanceId, version: item.version, reason: item.unreadable }, 'instance data cannot be read; failing the instance');
    const result: ExecutionResult = {
      actions: [
        {
          kind: 'CompleteOrchestration',
          id: -1,
          status: 'Failed',
          failure: { errorType: 'UnreadableMessageError', message: item.unreadable ?? 'unreadable data', nonRetriable: true },
        },
      ],
      customStatus: undefined,
      customStatusChanged: false,
      isSuspended: false,
      isComplete: true,
    };
    const turn = buildTurn(item, result, {
      now,
      started,
      newEvents: [{ kind: 'OrchestratorStarted', timestamp: now }, ...messageEvents],
      historyLength: item.historyOffset + item.history.length,
      resolveVersion: (requested: string | undefined, own: string) => this.#o.routing.resolve(requested, own),
      newExecutionId: () => randomUUID(),
    });
    return { turn, executor: undefined, started, finished: true };
  }

  #userLog(item: OrchestrationWorkItem) {
    const log = this.#o.logger.child({ instanceId: item.instanceId, version: item.version, orchestration: item.name });
    return (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => log[level](fields, msg);
  }
}

function findStarted(events: readonly HistoryEvent[]): ExecutionStartedEvent | undefined {
  for (const e of events) if (e.kind === 'ExecutionStarted') return e;
  return undefined;
}

/**
 * The turn's time: the worker's clock, but never earlier than anything already recorded, so
 * `currentUtcDateTime` never runs backwards when workers' clocks disagree.
 */
function turnTime(last: string | undefined, messages: readonly HistoryEvent[]): string {
  let now = new Date().toISOString();
  if (last && last > now) now = last;
  for (const m of messages) if (m.kind === 'TimerFired' && m.fireAt > now) now = m.fireAt;
  return now;
}
