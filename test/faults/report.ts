/**
 * Figures of the fault suite. Every test records what it ran, the faults it injected, the invariant
 * violations it found and how long recovery took; the records go to the file named by
 * DTK_FAULTS_REPORT (set by ./global-setup.ts), and the suite's last lines sum them up.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

/** What one test contributes to the summary. */
export interface FaultFigures {
  test: string;
  instances: number;
  /** Fault kind → how many were injected. */
  faults: Record<string, number>;
  violations: number;
  /** Milliseconds from a worker's SIGKILL until its work was taken over. */
  recoveriesMs?: number[];
  leaseMs?: number;
  seed?: number;
}

/** Records a test's figures, and prints them as a diagnostic line of that test. */
export function recordFigures(f: FaultFigures): void {
  const faults =
    Object.entries(f.faults)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  process.stdout.write(`# ${f.test}: ${f.instances} instances, faults: ${faults}, violations: ${f.violations}\n`);
  const file = process.env.DTK_FAULTS_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(f)}\n`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The summary lines printed at the end of `npm run test:faults`. */
export function summarise(file: string): string[] {
  if (!existsSync(file)) return ['fault suite: no figures recorded (did any fault test run?)'];
  const all = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FaultFigures);
  const faults: Record<string, number> = {};
  for (const f of all) for (const [k, n] of Object.entries(f.faults)) faults[k] = (faults[k] ?? 0) + n;
  const recoveries = all.flatMap((f) => f.recoveriesMs ?? []).sort((a, b) => a - b);
  const leases = [
    ...new Set(
      all
        .filter((f) => f.recoveriesMs?.length)
        .map((f) => f.leaseMs)
        .filter((l) => l !== undefined),
    ),
  ];
  const seeds = all.filter((f) => f.seed !== undefined).map((f) => `${f.test}: ${f.seed}`);
  const total = Object.values(faults).reduce((a, b) => a + b, 0);
  return [
    '── dtk fault suite ──────────────────────────────────────────────',
    `instances run: ${all.reduce((a, f) => a + f.instances, 0)} (in ${all.length} tests)`,
    `faults injected: ${total} — ${
      Object.entries(faults)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    `invariant violations: ${all.reduce((a, f) => a + f.violations, 0)}`,
    recoveries.length === 0
      ? 'recovery after a worker kill: not measured'
      : `recovery after a worker kill: median ${percentile(recoveries, 50)} ms, max ${recoveries.at(-1)} ms over ${recoveries.length} kills (lease ${leases.join('/') || '?'} ms)`,
    ...(seeds.length > 0 ? [`seed: ${seeds.join('; ')} (rerun with DTK_FAULTS_SEED=<seed>)`] : []),
  ];
}
