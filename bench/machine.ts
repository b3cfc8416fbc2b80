/**
 * What the figures were measured on: the machine, the server's durability settings (read from
 * the server, not assumed), and the commit of the code under test.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { BenchServer } from './server.ts';
import { withClient } from './server.ts';

/** The environment of one bench run. */
export interface MachineInfo {
  date: string;
  commit: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  server: string;
  postgres: string;
  /** Server settings that decide durability and cost, as the server reports them. */
  settings: Record<string, string>;
}

const SETTINGS = [
  'fsync',
  'synchronous_commit',
  'wal_sync_method',
  'full_page_writes',
  'shared_buffers',
  'max_wal_size',
  'max_connections',
  'shared_preload_libraries',
] as const;

/** Reads the machine and the server's settings. */
export async function readMachine(server: BenchServer, cwd: string): Promise<MachineInfo> {
  const [postgres, settings] = await withClient(server.adminUrl, async (c) => {
    const v = await c.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version']);
    const s = await c.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [SETTINGS],
    );
    const out: Record<string, string> = {};
    for (const name of SETTINGS) {
      const row = s.rows.find((r) => r.name === name);
      out[name] = row ? withUnit(row.setting, row.unit) : 'n/a';
    }
    return [v.rows[0]?.v ?? 'unknown', out] as const;
  });
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const status = ['status', '--porcelain', '--untracked-files=no'];
    const dirty = execFileSync('git', status, { cwd, encoding: 'utf8' }).trim();
    if (dirty) commit += '+dirty';
  } catch {
    // Not a git checkout (a tarball): the commit stays unknown.
  }
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    commit,
    cores: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    server: server.label,
    postgres,
    settings,
  };
}

/** pg_settings reports sizes in units of 8kB pages or MB; turn them into something readable. */
function withUnit(setting: string, unit: string | null): string {
  if (unit === '8kB') return `${Math.round((Number(setting) * 8) / 1024)}MB`;
  if (unit === 'MB' || unit === 'kB') return `${setting}${unit}`;
  return setting;
}
