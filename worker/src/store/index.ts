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
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10000, options: INDEX_DRIVEN_SESSION });
  const leasePool = new pg.Pool({
    connectionString: url,
    max: LEASE_POOL_SIZE,
    connectionTimeoutMillis: 10000,
    options: `-c synchronous_commit=off ${INDEX_DRIVEN_SESSION}`,
  });
  return new Database(pool, describeTarget(url), leasePool, true);
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
