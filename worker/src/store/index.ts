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

/** Creates a store; nothing connects until the first call. */
export function createPostgresStore(options: PostgresStoreOptions): PostgresHubStore {
  const schema = validateSchemaName(options.schema ?? 'dtk');
  if (!options.url && !options.pool) throw new ValidationError('url', 'pass a postgres:// URL or a pg.Pool');
  const pool = options.pool ?? new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, connectionTimeoutMillis: 10000 });
  // Claims and lease upkeep commit asynchronously (see Database.leases); a pool passed in is used as it is.
  const leasePool = options.pool
    ? undefined
    : new pg.Pool({ connectionString: options.url, max: LEASE_POOL_SIZE, connectionTimeoutMillis: 10000, options: `-c synchronous_commit=off ${INDEX_DRIVEN_SESSION}` });
  const listenConfig: pg.ClientConfig = options.url ? { connectionString: options.url } : { ...(pool.options as pg.ClientConfig) };
  const channels = CHANNELS(schema);
  return new PostgresHubStore(
    new Database(pool, describeTarget(options.url), leasePool),
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
