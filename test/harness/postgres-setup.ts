/**
 * Starts the run's shared test Postgres (embedded, tuned for speed: a test database is rebuilt
 * on every run, so fsync is off) unless `DTK_TEST_PG_URL` names one, and publishes its URL in
 * `DTK_TEST_PG_URL` for the test processes.
 */
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../cli/src/embedded-postgres.ts';

let server: EmbeddedPostgresHandle | undefined;

/** Settings for throwaway test servers: durability off, room for many connections. */
export const TEST_PG_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' };

export async function startTestPostgres(): Promise<EmbeddedPostgresHandle> {
  return startEmbeddedPostgres({ settings: TEST_PG_SETTINGS });
}

export async function globalSetup(): Promise<void> {
  if (process.env.DTK_TEST_PG_URL) return;
  server = await startTestPostgres();
  process.env.DTK_TEST_PG_URL = server.url;
}

export async function globalTeardown(): Promise<void> {
  await server?.stop();
  server = undefined;
}
