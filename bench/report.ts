/**
 * What the bench prints: the machine, a table of figures against the targets, a
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

/** Renders one profile as a few indented lines. */
export function renderProfile(p: Profile): string {
  const secs = p.elapsedMs / 1000;
  const d = p.server;
  const per = (n: number | undefined, by: number | undefined) => (n === undefined || !by ? 'n/a' : fmt(n / by));
  const cpu = (s: number | undefined) => (s === undefined ? 'n/a' : `${fmt(s)} s (${fmt((s / secs) * 100)}% of a core)`);
  const unit = p.unitName ?? 'workflow';
  const mib = (b: number | undefined) => (b === undefined ? 'n/a' : `${fmt(b / 2 ** 20)} MiB`);
  const lines = [
    `${p.label}: ${fmt(p.workflows)} ${unit}s in ${fmt(secs)} s` + (p.workItems ? `, ${fmt(p.workItems)} work items` : ''),
    `  commits ${fmt(d.commits)} (${fmt(d.commits / secs)}/s, ${per(d.commits, p.workflows)} per ${unit}), of which writing ` +
      `${fmt(d.writeTransactions)} (${fmt(d.writeTransactions / secs)}/s, ${per(d.writeTransactions, p.workflows)} per ${unit})` +
      (p.workItems ? `; ${per(p.workItems, d.writeTransactions)} work items per writing commit` : '') +
      (d.rollbacks ? `; ${fmt(d.rollbacks)} rollbacks` : ''),
    `  statements ${d.statementCalls === undefined ? 'n/a' : fmt(d.statementCalls)} (${per(d.statementCalls, p.workflows)} per ${unit}` +
      (p.workItems ? `, ${per(d.statementCalls, p.workItems)} per work item` : '') +
      ')' +
      (d.statementTotals ? `: executing ${fmt(d.statementTotals.execMs)} ms, planning ${fmt(d.statementTotals.planMs)} ms` : ''),
    `  WAL ${mib(d.walBytes)} (${per(d.walBytes === undefined ? undefined : d.walBytes / 1024, p.workflows)} KiB per ${unit}` +
      (d.walFpi !== undefined ? `, ${fmt(d.walFpi)} full-page images` : '') +
      `), ${d.walSyncs === undefined ? 'n/a' : fmt(d.walSyncs)} fsyncs` +
      (d.walSyncs && d.walSyncMs !== undefined ? ` taking ${fmt(d.walSyncMs)} ms (${fmt(d.walSyncMs / d.walSyncs)} ms each, ${fmt((d.walSyncMs / p.elapsedMs) * 100)}% of the time)` : '') +
      (d.walSyncs ? `, ${per(d.writeTransactions, d.walSyncs)} writing commits per fsync` : ''),
  ];
  let cpuLine = `  CPU: postgres ${cpu(d.pgCpuSeconds)}, contender ${cpu(p.contenderCpuSeconds)}, driver ${cpu(p.driverCpuSeconds)}`;
  if (d.system) {
    const total = d.system.busy + d.system.idle + d.system.iowait;
    cpuLine += `; machine busy ${fmt((d.system.busy / total) * 100)}%`;
    // Whatever else ran on the box meanwhile (other jobs, the kernel's own threads): a noisy-neighbour gauge.
    const other = otherCpuSeconds(p);
    if (other !== undefined) cpuLine += `, other processes ${cpu(other)}`;
    cpuLine += `, iowait ${fmt(d.system.iowait)} s`;
  }
  lines.push(cpuLine);
  if (d.topStatements?.length) lines.push('    exec ms  plan ms     calls  WAL KiB  statement');
  for (const st of d.topStatements ?? []) {
    const text = st.query.replace(/\s+/g, ' ').trim();
    lines.push(
      `    ${fmt(st.totalMs).padStart(7)}  ${fmt(st.planMs).padStart(7)}  ${fmt(st.calls).padStart(8)}  ${fmt(st.walBytes / 1024).padStart(7)}  ` +
        (text.length > 90 ? `${text.slice(0, 89)}…` : text),
    );
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
    if (share > threshold) notes.push(`other processes took ${fmt(share * 100)}% of a core during "${p.label}": its figures are pessimistic`);
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
