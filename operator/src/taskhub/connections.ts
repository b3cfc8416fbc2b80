/**
 * Connections to hubs as their own role, shared by both reconcilers: a hub store (migrations, routing, drain state)
 * and a small pool for the operator's own queries (instance counts). One entry per TaskHub, replaced when its URI or
 * schema changes (a rotated password) and closed when the hub goes away.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { createPostgresStore } from '../../../worker/src/store/index.ts';
import type { PostgresHubStore } from '../../../worker/src/store/index.ts';

interface Entry {
  uri: string;
  schema: string;
  store: PostgresHubStore;
  pool: pg.Pool;
}

/** Where a hub is, as its connection Secret says. */
export interface HubConnectionInfo {
  uri: string;
  schema: string;
}

/** Per-hub store and pool, keyed by `namespace/name`. */
export class HubConnections {
  readonly #entries = new Map<string, Entry>();
  readonly #log: Logger;

  constructor(logger: Logger) {
    this.#log = logger;
  }

  #entry(key: string, info: HubConnectionInfo): Entry {
    const existing = this.#entries.get(key);
    if (existing && existing.uri === info.uri && existing.schema === info.schema) return existing;
    if (existing) void this.close(key);
    const pool = new pg.Pool({ connectionString: info.uri, max: 2, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
    pool.on('error', (err) => this.#log.debug({ hub: key, err: err.message }, 'idle hub connection failed'));
    const store = createPostgresStore({ pool, url: info.uri, schema: info.schema, logger: this.#log });
    const entry = { ...info, store, pool };
    this.#entries.set(key, entry);
    return entry;
  }

  /** The hub's store, connected as the hub role. */
  store(key: string, info: HubConnectionInfo): PostgresHubStore {
    return this.#entry(key, info).store;
  }

  /** A pool connected as the hub role (search_path is the hub schema). */
  pool(key: string, info: HubConnectionInfo): pg.Pool {
    return this.#entry(key, info).pool;
  }

  /** Closes a hub's connections (before dropping its role, or when it is deleted). */
  async close(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    await entry.store.close().catch(() => undefined);
    await entry.pool.end().catch(() => undefined);
  }

  /** Closes everything (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((k) => this.close(k)));
  }
}
