/**
 * What the bench prints: the machine, a table of figures against the issue's targets, a
 * profile of where the time went for each measured contender, and one JSON line last.
 */
import type { MachineInfo } from './machine.ts';
import type { ServerDelta } from './pg-stats.ts';
import { round } from './stats.ts';

/** The keys of the final JSON line (the issue fixes them). */
export const JSON_KEYS = [
  'hello_chain_per_s',
  'dbos_per_s',
  'ratio_vs_dbos',
  'activities_per_s',
  'fanout_1000_ms',
  'latency_p50_ms',
  'latency_p99_ms',
  'turn_ms_at_100',
  'turn_ms_at_10000',
  'pgbench_tps',
] as const;
export type JsonKey = (typeof JSON_KEYS)[number];

/** A target from the issue: the value must be at least / at most `value`. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

/** One line of the table. */
export interface Row {
  scenario: string;
  metric: string;
  /** NaN prints as n/a. */
  value: number;
  unit: string;
  target?: Target;
  /** Said after the value: run counts, spreads, caveats. */
  note?: string;
}

/** Where the time of one measured run went. */
export interface Profile {
  label: string;
  elapsedMs: number;
  /** Workflows (orchestrations) completed in the window. */
  workflows: number;
  /** What `workflows` counts when it is not workflows (pgbench: transactions). */
  unitName?: string;
  /** Orchestration turns + activities executed, when the contender counts them. */
  workItems?: number;
  server: ServerDelta;
  /** CPU seconds of the worker / DBOS process in the window. */
  contenderCpuSeconds?: number;
  /** CPU seconds of the bench (driver / client) process in the window. */
  driverCpuSeconds?: number;
}

/** What a scenario hands back. */
export interface ScenarioOutcome {
  rows: Row[];
  json: Partial<Record<JsonKey, number>>;
  profiles: Profile[];
  /** Lines printed under the table (skips, warnings). */
  notes: string[];
}

/** An outcome with nothing in it yet. */
export function emptyOutcome(): ScenarioOutcome {
  return { rows: [], json: {}, profiles: [], notes: [] };
}

/** 'met', 'MISSED' or '' for a row. */
export function verdict(row: Row): string {
  if (!row.target || !Number.isFinite(row.value)) return '';
  const ok = row.target.op === '>=' ? row.value >= row.target.value : row.value <= row.target.value;
  return ok ? 'met' : 'MISSED';
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** Renders rows as an aligned text table. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['scenario', 'metric', 'value', 'target', '', 'note'];
  const body = rows.map((r) => [
    r.scenario,
    r.metric,
    `${fmt(r.value)} ${r.unit}`.trim(),
    r.target ? `${r.target.op} ${fmt(r.target.value)}` : '',
    verdict(r),
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Renders the machine block. */
export function renderMachine(m: MachineInfo): string {
  const s = m.settings;
  return [
    `date ${m.date}  commit ${m.commit}`,
    `machine ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}`,
    `postgres ${m.postgres} (${m.server}): fsync=${s.fsync} synchronous_commit=${s.synchronous_commit} ` +
      `wal_sync_method=${s.wal_sync_method} full_page_writes=${s.full_page_writes} shared_buffers=${s.shared_buffers}`,
  ].join('\n');
}

/** `n / by` formatted, or n/a when either is missing. */
function per(n: number | undefined, by: number | undefined): string {
  return n === undefined || !by ? 'n/a' : fmt(n / by);
}

/** The commits line: all commits, the writing ones, and work items per writing commit. */
function commitsLine(p: Profile, secs: number, unit: string): string {
  const d = p.server;
  const all = `${fmt(d.commits)} (${fmt(d.commits / secs)}/s, ${per(d.commits, p.workflows)} per ${unit})`;
  const w = d.writeTransactions;
  const writing = `${fmt(w)} (${fmt(w / secs)}/s, ${per(w, p.workflows)} per ${unit})`;
  let line = `  commits ${all}, of which writing ${writing}`;
  if (p.workItems) line += `; ${per(p.workItems, d.writeTransactions)} work items per writing commit`;
  if (d.rollbacks) line += `; ${fmt(d.rollbacks)} rollbacks`;
  return line;
}

/** The statements line: round trips per workflow and per work item, server time split. */
function statementsLine(p: Profile, unit: string): string {
  const d = p.server;
  const calls = d.statementCalls;
  let line = `  statements ${calls === undefined ? 'n/a' : fmt(calls)} (${per(calls, p.workflows)} per ${unit}`;
  if (p.workItems) line += `, ${per(calls, p.workItems)} per work item`;
  line += ')';
  const t = d.statementTotals;
  if (t) line += `: executing ${fmt(t.execMs)} ms, planning ${fmt(t.planMs)} ms`;
  return line;
}

/** The WAL line: volume, full-page images, syncs and how much of the run they took. */
function walLine(p: Profile, unit: string): string {
  const d = p.server;
  const kib = d.walBytes === undefined ? undefined : d.walBytes / 1024;
  let line = `  WAL ${kib === undefined ? 'n/a' : `${fmt(kib / 1024)} MiB`} (${per(kib, p.workflows)} KiB per ${unit}`;
  if (d.walFpi !== undefined) line += `, ${fmt(d.walFpi)} full-page images`;
  line += `), ${d.walSyncs === undefined ? 'n/a' : fmt(d.walSyncs)} fsyncs`;
  if (d.walSyncs && d.walSyncMs === 0) {
    line += ' (sync time not tracked: track_wal_io_timing is off)';
  } else if (d.walSyncs && d.walSyncMs !== undefined) {
    const share = fmt((d.walSyncMs / p.elapsedMs) * 100);
    line += ` taking ${fmt(d.walSyncMs)} ms (${fmt(d.walSyncMs / d.walSyncs)} ms each, ${share}% of the time)`;
  }
  if (d.walSyncs) line += `, ${per(d.writeTransactions, d.walSyncs)} writing commits per fsync`;
  return line;
}

/** The CPU line: Postgres, contender, driver, and the machine as a whole. */
function cpuLine(p: Profile, secs: number): string {
  const d = p.server;
  const cpu = (s: number | undefined) =>
    s === undefined ? 'n/a' : `${fmt(s)} s (${fmt((s / secs) * 100)}% of a core)`;
  let line = `  CPU: postgres ${cpu(d.pgCpuSeconds)}, contender ${cpu(p.contenderCpuSeconds)}`;
  line += `, driver ${cpu(p.driverCpuSeconds)}`;
  if (d.system) {
    const total = d.system.busy + d.system.idle + d.system.iowait;
    line += `; machine busy ${fmt((d.system.busy / total) * 100)}%`;
    // Whatever else ran on the box meanwhile (other jobs, the kernel's own threads): a noisy-neighbour gauge.
    const other = otherCpuSeconds(p);
    if (other !== undefined) line += `, other processes ${cpu(other)}`;
    line += `, iowait ${fmt(d.system.iowait)} s`;
  }
  return line;
}

/** Renders one profile as a few indented lines, then its costliest statements. */
export function renderProfile(p: Profile): string {
  const secs = p.elapsedMs / 1000;
  const unit = p.unitName ?? 'workflow';
  const items = p.workItems ? `, ${fmt(p.workItems)} work items` : '';
  const lines = [
    `${p.label}: ${fmt(p.workflows)} ${unit}s in ${fmt(secs)} s${items}`,
    commitsLine(p, secs, unit),
    statementsLine(p, unit),
    walLine(p, unit),
    cpuLine(p, secs),
  ];
  const top = p.server.topStatements ?? [];
  if (top.length > 0) lines.push('    exec ms  plan ms     calls  WAL KiB  statement');
  for (const st of top) {
    const text = st.query.replace(/\s+/g, ' ').trim();
    const cols = [
      fmt(st.totalMs).padStart(7),
      fmt(st.planMs).padStart(7),
      fmt(st.calls).padStart(8),
      fmt(st.walBytes / 1024).padStart(7),
    ];
    lines.push(`    ${cols.join('  ')}  ${text.length > 90 ? `${text.slice(0, 89)}…` : text}`);
  }
  return lines.join('\n');
}

/** CPU seconds other processes took during a profiled run, when the readings allow saying so. */
export function otherCpuSeconds(p: Profile): number | undefined {
  const d = p.server;
  if (!d.system || d.pgCpuSeconds === undefined) return undefined;
  return Math.max(0, d.system.busy - d.pgCpuSeconds - (p.contenderCpuSeconds ?? 0) - (p.driverCpuSeconds ?? 0));
}

/**
 * A note for each profiled run during which other processes took more than `threshold` of a
 * core: on a shared machine, those figures understate what the contender can do.
 */
export function neighbourNotes(profiles: readonly Profile[], threshold = 0.25): string[] {
  const notes: string[] = [];
  for (const p of profiles) {
    const other = otherCpuSeconds(p);
    if (other === undefined) continue;
    const share = other / (p.elapsedMs / 1000);
    if (share > threshold) {
      const took = `other processes took ${fmt(share * 100)}% of a core`;
      notes.push(`${took} during "${p.label}": its figures are pessimistic`);
    }
  }
  return notes;
}

/** The last line: every issue key (null when not measured) plus a few facts to tell runs apart. */
export function finalJson(json: Partial<Record<JsonKey, number>>, extras: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const key of JSON_KEYS) {
    const v = json[key];
    out[key] = v === undefined || !Number.isFinite(v) ? null : round(v, 2);
  }
  return JSON.stringify({ ...out, ...extras });
}
