/**
 * What every scenario receives, and the shape of one. Scenarios run one after another on the
 * same server; results one needs from another (the hello chain for the DBOS ratio and the
 * limit) travel in `shared`.
 */
import type { BenchArgs, ScenarioName } from '../args.ts';
import type { Profile, ScenarioOutcome } from '../report.ts';
import type { BenchServer } from '../server.ts';

/** The median hello chain run, kept for the ratio and the limit. */
export interface HelloSummary {
  perS: number;
  workItemsPerS: number;
  profile: Profile;
}

/** Everything a scenario may use. */
export interface BenchContext {
  server: BenchServer;
  args: BenchArgs;
  /** Progress lines (stderr), so stdout stays the report. */
  log(line: string): void;
  shared: { hello?: HelloSummary; dbosPerS?: number };
}

/** One scenario of the issue. */
export interface Scenario {
  name: ScenarioName;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}

/** How many unmeasured workflows warm a fresh process up (JIT, pools, caches). */
export function warmupCount(total: number): number {
  return Math.min(500, Math.max(50, Math.round(total / 10)));
}

/** Options of a dtk hub for one scenario: a CPU profile of its worker when --cpu-prof was given. */
export function hubOptions(ctx: BenchContext, label: string): { cpuProfDir?: string; label: string } {
  return { cpuProfDir: ctx.args.cpuProfDir, label };
}

/** Throws unless the orchestration completed with `expected` as its output: a wrong result voids a run. */
export function expectCompleted(
  state: { instanceId: string; status: string; output?: unknown; failure?: unknown },
  expected: unknown,
): void {
  if (state.status === 'Completed' && state.output === expected) return;
  const got = JSON.stringify(state.output ?? state.failure);
  const want = JSON.stringify(expected);
  throw new Error(`${state.instanceId} ended ${state.status} with ${got}, expected Completed with ${want}`);
}
