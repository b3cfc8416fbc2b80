/**
 * Starts the run's shared test Postgres (embedded, tuned for speed: a test database is rebuilt
 * on every run, so fsync is off) unless `DTK_TEST_PG_URL` names one, and publishes its URL in
 * `DTK_TEST_PG_URL` for the test processes. The server lives in a child process
 * (postgres-process.ts) so the runner's exit code stays the tests' verdict.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../cli/src/embedded-postgres.ts';

let server: ChildProcess | undefined;

/** Settings for throwaway test servers: durability off, room for many connections. */
export const TEST_PG_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' };

export async function startTestPostgres(): Promise<EmbeddedPostgresHandle> {
  return startEmbeddedPostgres({ settings: TEST_PG_SETTINGS });
}

export async function globalSetup(): Promise<void> {
  if (process.env.DTK_TEST_PG_URL) return;
  const child = spawn(process.execPath, [fileURLToPath(new URL('./postgres-process.ts', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  server = child;
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the test Postgres process exited with code ${code} before it was ready`)));
  });
  process.env.DTK_TEST_PG_URL = (JSON.parse(firstLine) as { url: string }).url;
}

export async function globalTeardown(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  await exited;
}
