/**
 * The one Postgres server every scenario shares: an embedded one by default (no system
 * Postgres needed), or the server at DTK_BENCH_PG_URL. Each contender gets its own database on
 * it so per-database counters (pg_stat_database) separate their work.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../cli/src/embedded-postgres.ts';

/**
 * Settings the embedded server starts with. None of them weakens durability (fsync and
 * synchronous_commit keep their defaults, on): they add instrumentation and keep checkpoints
 * out of short runs.
 */
export const EMBEDDED_SETTINGS: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.max': '2000',
  'pg_stat_statements.track_planning': 'on',
  track_io_timing: 'on',
  track_wal_io_timing: 'on',
  max_connections: '200',
  shared_buffers: '256MB',
  max_wal_size: '4GB',
};

/** A running server the bench may create and drop databases on. */
export interface BenchServer {
  /** 'embedded' or the redacted URL of the external server. */
  label: string;
  embedded: boolean;
  /** Superuser URL of the maintenance database. */
  adminUrl: string;
  /** The same server and credentials, another database. */
  urlFor(database: string): string;
  /** The postmaster's pid when it runs on this machine and we know it (embedded), for CPU accounting. */
  postmasterPid?: number;
  /** Host and port, for pgbench. */
  host: string;
  port: number;
  user: string;
  password: string;
  stop(): Promise<void>;
}

/** Starts the embedded server, or connects to DTK_BENCH_PG_URL when set. */
export async function openServer(env: NodeJS.ProcessEnv = process.env): Promise<BenchServer> {
  const external = env.DTK_BENCH_PG_URL;
  if (external) {
    const u = new URL(external);
    return describe(external, false, undefined, async () => {}, u);
  }
  const handle = await startEmbeddedPostgres({ settings: EMBEDDED_SETTINGS });
  let postmasterPid: number | undefined;
  try {
    postmasterPid = Number(readFileSync(join(handle.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    postmasterPid = undefined;
  }
  return describe(handle.url, true, postmasterPid, () => handle.stop(), new URL(handle.url));
}

function describe(
  url: string,
  embedded: boolean,
  postmasterPid: number | undefined,
  stop: () => Promise<void>,
  u: URL,
): BenchServer {
  return {
    label: embedded ? 'embedded' : redactUrl(url),
    embedded,
    adminUrl: url,
    urlFor: (database) => withDatabase(url, database),
    postmasterPid,
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
    stop,
  };
}

/** The URL with its password replaced by ***. */
export function redactUrl(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** The URL pointing at another database of the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Runs `fn` with a short-lived client of `url`. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops (if present) and creates `database`, so a scenario starts from an empty one. */
export async function freshDatabase(server: BenchServer, database: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`not a plain database name: ${database}`);
  await withClient(server.adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${database}`);
  });
  return server.urlFor(database);
}

/**
 * Creates the pg_stat_statements view in the maintenance database, where the bench reads
 * counters; the view shows every database's statements. Returns false when the server does
 * not have the library loaded (then the profile has no per-statement figures).
 */
export async function enableStatementStats(server: BenchServer): Promise<boolean> {
  return withClient(server.adminUrl, async (c) => {
    try {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await c.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
      return true;
    } catch {
      return false;
    }
  });
}

/** Drops `database` (kicking out leftover sessions). */
export async function dropDatabase(server: BenchServer, database: string): Promise<void> {
  await withClient(server.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}
