/**
 * pgbench on the bench's server: the ceiling of committed write transactions this machine
 * reaches with the same fsync and synchronous_commit settings, to set dtk's figures against.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { BenchServer } from './server.ts';

const run = promisify(execFile);

/** Where pgbench was found, or why it was not. */
export type PgbenchLocation = { found: true; path: string } | { found: false; reason: string };

/** What one pgbench run reported. */
export interface PgbenchResult {
  tps: number;
  latencyAvgMs?: number;
  transactions?: number;
  failed?: number;
  command: string;
}

/** Finds pgbench: $DTK_BENCH_PGBENCH, /usr/bin/pgbench, the PATH, then Debian's versioned directories. */
export function findPgbench(env: NodeJS.ProcessEnv = process.env): PgbenchLocation {
  const candidates: string[] = [];
  if (env.DTK_BENCH_PGBENCH) candidates.push(env.DTK_BENCH_PGBENCH);
  candidates.push('/usr/bin/pgbench');
  for (const dir of (env.PATH ?? '').split(':')) if (dir) candidates.push(`${dir}/pgbench`);
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin/pgbench`);
  } catch {
    // No Debian Postgres packages: only the PATH counts.
  }
  const path = candidates.find((p) => existsSync(p));
  if (path) return { found: true, path };
  return {
    found: false,
    reason:
      'pgbench is not installed, so the pgbench rows are skipped. On Debian 12 it ships with the server package: ' +
      '`apt-get install postgresql-contrib` (or `postgresql-15`) installs /usr/lib/postgresql/15/bin/pgbench, and ' +
      'postgresql-client-common (pulled in by `postgresql-client`) the /usr/bin/pgbench wrapper; ' +
      'postgresql-client alone does not include pgbench. Or point DTK_BENCH_PGBENCH at a pgbench binary.',
  };
}

/** Reads tps, average latency and transaction counts from pgbench's report. */
export function parsePgbenchOutput(text: string): Omit<PgbenchResult, 'command'> | undefined {
  // Newer pgbench prints one tps line "(without initial connection time)"; older ones print
  // "including connections establishing" and "excluding …": prefer the one without connections.
  const tpsLines = [...text.matchAll(/^tps = ([\d.]+)\s*(?:\((.*)\))?/gm)];
  const best = tpsLines.find((m) => /without|excluding/.test(m[2] ?? '')) ?? tpsLines[0];
  if (!best) return undefined;
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    tps: Number(best[1]),
    latencyAvgMs: num(/^latency average = ([\d.]+) ms/m),
    transactions: num(/^number of transactions actually processed: (\d+)/m),
    failed: num(/^number of failed transactions: (\d+)/m),
  };
}

/** Built-in pgbench scripts the bench uses. */
export type PgbenchScript = 'tpcb-like' | 'simple-update';

function connection(server: BenchServer): { env: NodeJS.ProcessEnv; args: string[] } {
  return {
    env: { ...process.env, PGPASSWORD: server.password },
    args: ['-h', server.host, '-p', String(server.port), '-U', server.user],
  };
}

/** Initialises a scale-1 pgbench database in `database` (which the caller made fresh). */
export async function initPgbench(path: string, server: BenchServer, database: string): Promise<void> {
  const conn = connection(server);
  await run(path, ['-i', '-s', '1', '-q', ...conn.args, database], { env: conn.env, maxBuffer: 16 << 20 });
}

/**
 * Runs a built-in script for `durationS`: `tpcb-like` (the TPC-B-like default, whose one
 * branch row at scale 1 every client updates) or `simple-update` (no hot rows: closer to the
 * bare cost of a durable commit).
 */
export async function runPgbench(
  path: string,
  server: BenchServer,
  database: string,
  opts: { clients: number; threads: number; durationS: number; script?: PgbenchScript },
): Promise<PgbenchResult> {
  const conn = connection(server);
  const script = opts.script ?? 'tpcb-like';
  const shown = ['-b', script, '-c', String(opts.clients), '-j', String(opts.threads), '-T', String(opts.durationS)];
  const { stdout } = await run(path, [...shown, ...conn.args, database], { env: conn.env, maxBuffer: 16 << 20 });
  const parsed = parsePgbenchOutput(stdout);
  if (!parsed) throw new Error(`pgbench printed no tps line:\n${stdout}`);
  return { ...parsed, command: `pgbench ${shown.join(' ')}` };
}
