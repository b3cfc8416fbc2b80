/**
 * `PostgresHubStore`: the task hub on any Postgres 14+. Queries live in sql/, one module per
 * concern; this class owns the pool, the notification listener and the waiting logic.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { InstanceAlreadyExistsError, type PayloadTooLargeError, StoreUnavailableError, TimeoutError } from '../errors.ts';
import type { HistoryEvent, RuntimeStatus } from '../orchestration/history.ts';
import type { Database, Queryable } from './db.ts';
import { NotificationListener } from './listener.ts';
import { checkSchema, migrate } from './migrate.ts';
import * as activities from './sql/activities.ts';
import * as claims from './sql/claim-orchestrations.ts';
import { parkMessages } from './sql/dead-letters.ts';
import { commitTurnBatch } from './sql/commit-turns.ts';
import * as instances from './sql/instances.ts';
import { listInstances } from './sql/listing.ts';
import { CHANNELS, parseStatusPayload, type Channels } from './sql/notify.ts';
import { purgeBatch, purgeOne } from './sql/purge.ts';
import { rewindInstance } from './sql/rewind.ts';
import * as versions from './sql/versions.ts';
import type {
  ActivityResult,
  ActivityWorkItem,
  ControlOperation,
  CreateInstanceRequest,
  HubStore,
  InstanceState,
  ListPage,
  ListRequest,
  OrchestrationTurn,
  OrchestrationWorkItem,
  PurgeFilter,
  TurnCommitResult,
  VersionInfo,
} from './types.ts';
import { checkPayload, validateInstanceId } from './validate.ts';

export interface StoreSettings {
  schema: string;
  maxPayloadBytes: number;
  maxCustomStatusBytes: number;
  pollIntervalMs: number;
  logger: Logger | undefined;
}

export class PostgresHubStore implements HubStore {
  readonly #db: Database;
  readonly #s: StoreSettings;
  /** The quoted schema, interpolated into every query. */
  readonly #S: string;
  readonly #channels: Channels;
  readonly #listener: NotificationListener;
  readonly #ownsPool: boolean;

  constructor(db: Database, settings: StoreSettings, listener: NotificationListener, ownsPool: boolean) {
    this.#db = db;
    this.#s = settings;
    this.#S = `"${settings.schema}"`;
    this.#channels = CHANNELS(settings.schema);
    this.#listener = listener;
    this.#ownsPool = ownsPool;
  }

  /** The hub schema's name. */
  get schema(): string {
    return this.#s.schema;
  }

  migrate(): Promise<{ from: number; to: number }> {
    return migrate(this.#db, this.#s.schema);
  }

  checkSchema(): Promise<number> {
    return checkSchema(this.#db, this.#s.schema);
  }

  async close(): Promise<void> {
    await this.#listener.close();
    if (this.#ownsPool) await this.#db.end();
  }

  // ── orchestration work ──────────────────────────────────────────────────────

  async claimOrchestrations(
    version: string,
    max: number,
    leaseMs: number,
    workerId: string,
    knownHistoryLength?: ReadonlyMap<string, number>,
  ): Promise<OrchestrationWorkItem[]> {
    const token = randomUUID();
    const { claimed, inbox } = await claims.claimInstances(this.#db.leases, this.#S, version, max, leaseMs, workerId, token);
    if (claimed.length === 0) return [];
    const offsets = new Map<string, number>();
    for (const c of claimed) {
      const known = knownHistoryLength?.get(c.instance_id);
      if (known !== undefined) offsets.set(c.instance_id, known);
    }
    // Read history only where the store has more than the worker holds (a cold cache, another worker's turns).
    const behind = claimed.filter((c) => c.last_seq !== null && c.last_seq + 1 > (offsets.get(c.instance_id) ?? 0));
    const history =
      behind.length === 0
        ? []
        : await claims.readHistorySince(
            this.#db,
            this.#S,
            behind.map((c) => c.instance_id),
            behind.map((c) => c.execution_id),
            behind.map((c) => offsets.get(c.instance_id) ?? 0),
          );
    const { items, stale, unreadable } = claims.assembleWorkItems(claimed, inbox, history, offsets, token);
    await claims.dropStaleMessages(this.#db.leases, this.#S, stale);
    await parkMessages(this.#db, this.#S, unreadable);
    // An instance whose only message was unreadable still has work: the runtime fails it.
    const hasWork = (i: OrchestrationWorkItem) => i.messages.length > 0 || i.unreadable !== undefined;
    const idle = items.filter((i) => !hasWork(i)).map((i) => i.instanceId);
    await claims.releaseIdle(this.#db.leases, this.#S, idle, token);
    return items.filter(hasWork);
  }

  /**
   * Commits a batch of turns in one transaction; a turn whose lease was lost is skipped without
   * affecting the others. Every committed turn releases its lease, so `_leaseMs` is not needed.
   *
   * A turn whose custom status is over `maxCustomStatusBytes` is never written, but it must not
   * hold up the rest of the batch either: the other turns commit, then the PayloadTooLargeError is
   * thrown (the runtime should catch such a status before committing and fail the instance).
   */
  async commitTurns(turns: OrchestrationTurn[], _leaseMs?: number): Promise<TurnCommitResult[]> {
    if (turns.length === 0) return [];
    let refused: PayloadTooLargeError | undefined;
    const valid = turns.filter((t) => {
      try {
        checkPayload(`custom status of '${t.instanceId}'`, t.customStatus ?? undefined, this.#s.maxCustomStatusBytes);
        return true;
      } catch (err) {
        refused ??= err as PayloadTooLargeError;
        return false;
      }
    });
    const committed =
      valid.length === 0
        ? new Set<string>()
        : await this.#db.transaction((client) => commitTurnBatch(client, this.#S, this.#channels, valid, this.#s.logger));
    if (refused) throw refused;
    return turns.map((t) => ({ instanceId: t.instanceId, committed: committed.has(t.instanceId) }));
  }

  abandonOrchestrations(items: { instanceId: string; lockToken: string }[]): Promise<void> {
    return instances.abandonInstances(this.#db.leases, this.#S, items);
  }

  renewOrchestrationLeases(items: { instanceId: string; lockToken: string }[], leaseMs: number): Promise<string[]> {
    return instances.renewInstances(this.#db.leases, this.#S, items, leaseMs);
  }

  // ── activity work ───────────────────────────────────────────────────────────

  claimActivities(version: string, max: number, leaseMs: number, workerId: string): Promise<ActivityWorkItem[]> {
    return activities.claimActivities(this.#db.leases, this.#S, version, max, leaseMs, workerId, randomUUID());
  }

  completeActivities(results: ActivityResult[]): Promise<string[]> {
    if (results.length === 0) return Promise.resolve([]);
    return activities.completeActivities(this.#db, this.#S, this.#channels, results);
  }

  abandonActivities(items: { id: string; lockToken: string }[]): Promise<void> {
    return activities.abandonActivities(this.#db.leases, this.#S, items);
  }

  renewActivityLeases(items: { id: string; lockToken: string }[], leaseMs: number): Promise<string[]> {
    return activities.renewActivities(this.#db.leases, this.#S, items, leaseMs);
  }

  // ── client ──────────────────────────────────────────────────────────────────

  async createInstance(req: CreateInstanceRequest): Promise<{ version: string }> {
    validateInstanceId(req.instanceId);
    checkPayload('input', req.input, this.#s.maxPayloadBytes);
    const create = async (db: Queryable) => {
      const version = await instances.createInstance(db, this.#S, this.#channels, req, randomUUID());
      if (version === undefined) {
        const status = (await instances.existingStatus(db, this.#S, req.instanceId)) ?? 'unknown';
        throw new InstanceAlreadyExistsError(req.instanceId, status);
      }
      return { version };
    };
    // The common start is one autocommitted statement: one round trip instead of four.
    if (req.ifExists !== 'reuseIfFinished') return create(this.#db);
    return this.#db.transaction(async (client) => {
      await instances.removeFinishedForReuse(client, this.#S, req.instanceId);
      return create(client);
    });
  }

  getInstance(instanceId: string, withPayloads: boolean): Promise<InstanceState | undefined> {
    return instances.getInstance(this.#db, this.#S, instanceId, withPayloads);
  }

  listInstances(req: ListRequest): Promise<ListPage> {
    return listInstances(this.#db, this.#S, req);
  }

  getHistory(instanceId: string): Promise<HistoryEvent[]> {
    return instances.getHistory(this.#db, this.#S, instanceId);
  }

  // async, so a refused payload is a rejected promise like every other failure, never a synchronous throw.
  async sendControl(instanceId: string, op: ControlOperation): Promise<boolean> {
    if (op.kind === 'raise') checkPayload('event data', op.input, this.#s.maxPayloadBytes);
    if (op.kind === 'terminate') checkPayload('terminate reason', op.reason, this.#s.maxPayloadBytes);
    return this.#db.transaction((client) => instances.sendControl(client, this.#S, this.#channels, instanceId, op));
  }

  purgeInstance(instanceId: string, recursive: boolean): Promise<number> {
    return this.#db.transaction((client) => purgeOne(client, this.#S, instanceId, recursive));
  }

  async purgeInstances(filter: PurgeFilter): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#db.transaction((client) => purgeBatch(client, this.#S, filter));
      if (n === 0) return total;
      total += n;
    }
  }

  async rewindInstance(instanceId: string, reason?: string): Promise<string[]> {
    const done = await this.#db.transaction((client) => rewindInstance(client, this.#S, this.#channels, instanceId));
    // History has no event for a rewind (history.ts is a contract), so the log is where it is recorded.
    this.#s.logger?.info({ instanceId, reason, rewound: done.rewound, rescheduledActivities: done.rescheduled }, 'instance rewound');
    return done.rewound;
  }

  async waitForInstance(
    instanceId: string,
    predicate: (s: InstanceState) => boolean,
    timeoutMs: number,
    withPayloads: boolean,
    worthReading?: (status: RuntimeStatus) => boolean,
  ): Promise<InstanceState> {
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    // Subscribe before the first read, so a change between read and wait is not missed.
    const off = this.#listener.on(this.#channels.status, (payload) => {
      const note = parseStatusPayload(payload);
      if (note.instanceId !== instanceId) return;
      if (note.status !== undefined && worthReading && !worthReading(note.status as RuntimeStatus)) return;
      wake?.();
    });
    try {
      await this.#listener.ensureConnected();
      let reached = false;
      for (;;) {
        let state: InstanceState | undefined;
        let unreachable: StoreUnavailableError | undefined;
        try {
          state = await this.getInstance(instanceId, withPayloads);
          reached = true;
        } catch (err) {
          // Once the database has answered, a restart or a dropped connection is not the caller's problem
          // while there is time left: keep waiting and read again once it is back (the pool reconnects).
          // Never reached at all: most likely a wrong URL, so say so at once.
          if (!(err instanceof StoreUnavailableError) || !reached) throw err;
          unreachable = err;
        }
        if (state && predicate(state)) return state;
        const left = deadline - Date.now();
        if (left <= 0) {
          if (unreachable) throw unreachable;
          throw new TimeoutError(
            `instance '${instanceId}' did not reach the awaited state within ${timeoutMs} ms` +
              (state ? ` (it is ${state.status})` : ' (it does not exist)') +
              '; check that a worker serving its version is running',
          );
        }
        await new Promise<void>((resolve) => {
          // While the database is unreachable no notification can come: try again soon.
          const timer = setTimeout(resolve, Math.min(left, unreachable ? Math.min(500, this.#s.pollIntervalMs) : this.#s.pollIntervalMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      off();
    }
  }

  async waitForWork(kind: 'orchestration' | 'activity', version: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    const key = `${kind === 'orchestration' ? 'o' : 'a'}:${version}`;
    let wait = maxWaitMs;
    // Timers and expired leases become visible without any notification: sleep no longer than that.
    const next = await this.#nextDueCached(kind, version);
    if (next !== undefined) wait = Math.max(0, Math.min(wait, next));
    if (wait === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      const off = this.#listener.on(this.#channels.work, (payload) => {
        if (payload === key) done();
      });
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * #nextDue, read at most every 200 ms per kind and version: idle loops would otherwise spend a
   * round trip on it after every empty claim. A timer someone else set meanwhile fires at most
   * that much later; one already due is never served from the cache.
   */
  async #nextDueCached(kind: 'orchestration' | 'activity', version: string): Promise<number | undefined> {
    const key = `${kind}:${version}`;
    const now = Date.now();
    const hit = this.#dueCache.get(key);
    if (hit && now - hit.readAt < 200 && (hit.dueAt === undefined || hit.dueAt > now)) {
      return hit.dueAt === undefined ? undefined : hit.dueAt - now;
    }
    const ms = await this.#nextDue(kind, version);
    this.#dueCache.set(key, { readAt: now, dueAt: ms === undefined ? undefined : now + ms });
    return ms;
  }

  readonly #dueCache = new Map<string, { readAt: number; dueAt: number | undefined }>();

  /** Milliseconds until the next future work item of this kind becomes visible, if any. */
  async #nextDue(kind: 'orchestration' | 'activity', version: string): Promise<number | undefined> {
    const sql =
      kind === 'orchestration'
        ? `SELECT extract(epoch from (min(greatest(next_visible_at, coalesce(locked_until, next_visible_at))) - now())) * 1000 AS ms
             FROM ${this.#S}.instances WHERE version = $1 AND next_visible_at IS NOT NULL`
        : `SELECT extract(epoch from (min(visible_at) - now())) * 1000 AS ms FROM ${this.#S}.activity_tasks WHERE version = $1`;
    const r = await this.#db.query<{ ms: string | null }>(sql, [version]);
    const ms = r.rows[0]?.ms;
    return ms === null || ms === undefined ? undefined : Math.ceil(Number(ms));
  }

  // ── versions ────────────────────────────────────────────────────────────────

  listVersions(): Promise<VersionInfo[]> {
    return this.#db.transaction((client) => versions.listVersions(client, this.#S));
  }

  setRouting(current: string, ramping?: { version: string; percent: number }): Promise<void> {
    return this.#db.transaction((client) => versions.setRouting(client, this.#S, current, ramping));
  }
}
