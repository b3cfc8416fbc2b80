/**
 * Real Postgres for integration and e2e tests. `withHub(async (hub) => …)` gives a test a fresh,
 * migrated hub schema on the run's shared server and drops it afterwards.
 *
 * The server: `DTK_TEST_PG_URL` when set (any Postgres 14+ you run yourself, e.g.
 * `DTK_TEST_PG_URL=postgres://postgres:pw@localhost:5432/postgres npm run test:integration`);
 * otherwise the embedded one that test/harness/postgres-setup.ts starts for the whole run. A file
 * run on its own without global setup starts a private embedded server, stopped when it exits.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPostgresStore, type PostgresHubStore } from '../../worker/src/store/index.ts';
import { startTestPostgres } from './postgres-setup.ts';

/** A hub schema of a test's own. */
export interface TestHub {
  /** Connection URL of the server (the hub lives in `schema`). */
  url: string;
  schema: string;
  store: PostgresHubStore;
}

let privateServer: Promise<string> | undefined;

/** URL of the test server, starting a private one when the run has none. */
export async function testPostgresUrl(): Promise<string> {
  const shared = process.env.DTK_TEST_PG_URL;
  if (shared) return shared;
  privateServer ??= (async () => {
    const server = await startTestPostgres();
    process.once('exit', () => void server.stop());
    process.env.DTK_TEST_PG_URL = server.url;
    return server.url;
  })();
  return privateServer;
}

/** Runs a plain SQL statement as the test server's superuser. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: await testPostgresUrl() });
  await client.connect();
  try {
    return await client.query<R>(sql, values);
  } finally {
    await client.end();
  }
}

/** A fresh, unique, migrated hub schema for the duration of `body`. */
export async function withHub<T>(body: (hub: TestHub) => Promise<T>, options: { maxPayloadBytes?: number; pollIntervalMs?: number } = {}): Promise<T> {
  const url = await testPostgresUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const store = createPostgresStore({ url, schema, pollIntervalMs: options.pollIntervalMs ?? 200, maxPayloadBytes: options.maxPayloadBytes });
  await store.migrate();
  try {
    return await body({ url, schema, store });
  } finally {
    await store.close();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
}
