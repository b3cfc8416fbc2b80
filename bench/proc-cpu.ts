/**
 * CPU time from /proc, so the profile can say how much of each run was Postgres, the worker,
 * the driver, or idle. Linux only; elsewhere every reading is undefined and the table says n/a.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  ppid: number;
  /** utime + stime, in ticks. */
  own: number;
  /** cutime + cstime: children already reaped, in ticks. */
  reaped: number;
}

/** Parses /proc/<pid>/stat text; the command name may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the name start at field 3 (state); utime is field 14.
  const f = text.slice(close + 2).split(' ');
  const num = (field: number) => Number(f[field - 3]);
  const stat = { ppid: num(4), own: num(14) + num(15), reaped: num(16) + num(17) };
  return Number.isFinite(stat.own) && Number.isFinite(stat.reaped) ? stat : undefined;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by `pid` and every process below it: its own time, its reaped
 * children's, and the live children's. Backends that exit move from "live" to "reaped", so
 * differences between two readings stay right across connection churn.
 */
export function treeCpuSeconds(pid: number): number | undefined {
  const root = readStat(pid);
  if (!root) return undefined;
  let ticks = root.own + root.reaped;
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = byParent.get(stat.ppid) ?? [];
    list.push(Number(name));
    byParent.set(stat.ppid, list);
  }
  const stack = [...(byParent.get(pid) ?? [])];
  while (stack.length > 0) {
    const child = stack.pop() as number;
    const stat = readStat(child);
    if (!stat) continue;
    ticks += stat.own + stat.reaped;
    stack.push(...(byParent.get(child) ?? []));
  }
  return ticks / clockTicks();
}

/**
 * CPU seconds of this process's children that have exited and been reaped (pgbench runs this
 * way); undefined off Linux.
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  const stat = readStat(process.pid);
  return stat ? stat.reaped / clockTicks() : undefined;
}

/** Whole-machine CPU counters from /proc/stat, in seconds summed over all cores. */
export interface SystemCpu {
  busy: number;
  idle: number;
  iowait: number;
}

/** Reads the machine's CPU counters; undefined off Linux. */
export function readSystemCpu(): SystemCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    const t = clockTicks();
    return { busy: (user + nice + system + irq + softirq + steal) / t, idle: idle / t, iowait: iowait / t };
  } catch {
    return undefined;
  }
}

/** The difference of two system readings. */
export function systemCpuDelta(before: SystemCpu | undefined, after: SystemCpu | undefined): SystemCpu | undefined {
  if (!before || !after) return undefined;
  return { busy: after.busy - before.busy, idle: after.idle - before.idle, iowait: after.iowait - before.iowait };
}
