/**
 * One dtk contender for one run: a fresh database on the bench server, a worker child serving
 * it (which migrates the hub), and a TaskHubClient in the bench process driving it.
 */
import { join } from 'node:path';
import { TaskHubClient } from '../../worker/src/client/task-hub-client.ts';
import { ChildHandle } from '../child.ts';
import type { BenchServer } from '../server.ts';
import { dropDatabase, freshDatabase, withClient } from '../server.ts';
import type { WorkerChildRequest, WorkerChildStats } from './worker-child.ts';

/** The database every dtk run uses (recreated per run). */
export const DTK_DATABASE = 'dtk_bench';
const SCHEMA = 'dtk';

/** A running dtk hub: the worker process and the client that drives it. */
export interface DtkHub {
  url: string;
  database: string;
  client: TaskHubClient;
  worker: ChildHandle;
  /** The worker's counters and CPU so far. */
  stats(): Promise<WorkerChildStats>;
  /** The probe activity's timestamps by step (and clears them). */
  probes(): Promise<Map<number, number>>;
}

/** Options of one dtk run. */
export interface DtkHubOptions {
  /** Write a V8 CPU profile of the worker into this directory. */
  cpuProfDir?: string;
  /** Database-level settings for this run only (for the weak-durability rows). */
  databaseSettings?: Record<string, string>;
  /** A label for the profile file name. */
  label?: string;
}

/**
 * Creates a fresh hub, runs `fn` against it, then stops the worker (draining cleanly) and
 * drops the database. Returns what `fn` returned plus the worker's final stats.
 */
export async function withDtkHub<T>(
  server: BenchServer,
  options: DtkHubOptions,
  fn: (hub: DtkHub) => Promise<T>,
): Promise<T> {
  const url = await freshDatabase(server, DTK_DATABASE);
  for (const [k, v] of Object.entries(options.databaseSettings ?? {})) {
    if (!/^[a-z_]+$/.test(k) || !/^[a-z0-9_]+$/.test(v)) throw new Error(`bad setting ${k}=${v}`);
    await withClient(server.adminUrl, (c) => c.query(`ALTER DATABASE ${DTK_DATABASE} SET ${k} = ${v}`));
  }
  const request: WorkerChildRequest = { hubUrl: url, schema: SCHEMA };
  const execArgv = options.cpuProfDir
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        options.cpuProfDir,
        '--cpu-prof-name',
        `worker-${options.label ?? 'run'}-${Date.now()}.cpuprofile`,
      ]
    : [];
  const worker = new ChildHandle(join(import.meta.dirname, 'worker-child.ts'), [JSON.stringify(request)], { execArgv });
  let client: TaskHubClient | undefined;
  try {
    await worker.signal('ready', 120000);
    client = new TaskHubClient({ hubUrl: url, schema: SCHEMA });
    const hub: DtkHub = {
      url,
      database: DTK_DATABASE,
      client,
      worker,
      stats: () => worker.request<WorkerChildStats>('stats'),
      probes: async () => new Map((await worker.request<{ probes: [number, number][] }>('probes')).probes),
    };
    return await fn(hub);
  } finally {
    await client?.close().catch(() => undefined);
    await worker.request('stop', {}, 60000).catch(() => worker.process.kill('SIGKILL'));
    await worker.exited();
    await dropDatabase(server, DTK_DATABASE);
  }
}
