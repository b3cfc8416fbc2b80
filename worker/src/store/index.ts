/** The Postgres task hub: `createPostgresStore({ url, schema })`. */
import pg from 'pg';
import type { Logger } from 'pino';
import { ValidationError } from '../errors.ts';
import { Database, describeTarget, INDEX_DRIVEN_SESSION } from './db.ts';
import { NotificationListener } from './listener.ts';
import { PostgresHubStore } from './postgres-store.ts';
import { CHANNELS } from './sql/notify.ts';
import { validateSchemaName } from './validate.ts';

export { PostgresHubStore } from './postgres-store.ts';
export { LATEST_SCHEMA_VERSION } from './migrations/index.ts';
export type * from './types.ts';

export interface PostgresStoreOptions {
  /** postgres:// URL (any Postgres 14+), or an existing pg.Pool (then `url` is only used for LISTEN). */
  url?: string;
  pool?: pg.Pool;
  /** Hub schema; a plain identifier ([a-z_][a-z0-9_]{0,47}); default 'dtk'. */
  schema?: string;
  /** Largest payload (input, output, event data) in bytes; default 262144. */
  maxPayloadBytes?: number;
  /** Largest custom status in bytes; default 16384. */
  maxCustomStatusBytes?: number;
  /** Fallback poll interval when notifications are missed; default 1000 ms. */
  pollIntervalMs?: number;
  /** Pool size when the store creates the pool; default 10. */
  poolSize?: number;
  logger?: Logger;
}

/** Connections for claims and lease upkeep: two orchestration pipelines, the activity loop, renewals. */
const LEASE_POOL_SIZE = 4;

/**
 * The store's connections to `url`: a pool of `poolSize`, and a small lease pool whose claims and
 * lease upkeep commit asynchronously (see Database.leases). Both plan index-driven (see db.ts), so
 * every statement is prepared once per connection.
 */
export function openDatabase(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: withSessionOptions(url, INDEX_DRIVEN_SESSION), max: poolSize, connectionTimeoutMillis: 10000 });
  const leasePool = new pg.Pool({
    connectionString: withSessionOptions(url, `-c synchronous_commit=off ${INDEX_DRIVEN_SESSION}`),
    max: LEASE_POOL_SIZE,
    connectionTimeoutMillis: 10000,
  });
  return new Database(pool, describeTarget(url), leasePool, true);
}

/**
 * `url` with `extra` appended to its `options` parameter. node-pg lets a URL's own `options` (often
 * used for a search_path or a provider's routing) replace an `options` setting passed beside it,
 * which would silently drop settings the store relies on; appended, both apply, ours last.
 */
export function withSessionOptions(url: string, extra: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const own = parsed.searchParams.get('options');
  parsed.searchParams.set('options', own ? `${own} ${extra}` : extra);
  return parsed.toString();
}

/** Creates a store; nothing connects until the first call. */
export function createPostgresStore(options: PostgresStoreOptions): PostgresHubStore {
  const schema = validateSchemaName(options.schema ?? 'dtk');
  if (!options.url && !options.pool) throw new ValidationError('url', 'pass a postgres:// URL or a pg.Pool');
  const db = options.pool ? new Database(options.pool, describeTarget(options.url)) : openDatabase(options.url as string, options.poolSize ?? 10);
  const pool = db.pool;
  const listenConfig: pg.ClientConfig = options.url ? { connectionString: options.url } : { ...(pool.options as pg.ClientConfig) };
  const channels = CHANNELS(schema);
  return new PostgresHubStore(
    db,
    {
      schema,
      maxPayloadBytes: options.maxPayloadBytes ?? 262144,
      maxCustomStatusBytes: options.maxCustomStatusBytes ?? 16384,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      logger: options.logger,
    },
    new NotificationListener(listenConfig, [channels.work, channels.status], options.logger),
    options.pool === undefined,
  );
}
