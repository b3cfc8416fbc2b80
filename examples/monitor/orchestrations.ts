/**
 * Monitor: an eternal orchestration that checks something on a schedule, sleeping on a
 * durable timer between checks, and restarts itself with continueAsNew so its history
 * stays short. `version: 'current'` moves it to the hub's current version on each restart,
 * so a versioned rollout can drain the old workers while the monitor keeps running.
 */
import type { ActivityContext, OrchestrationContext, Task } from '../../worker/src/orchestration/index.ts';

export interface MonitorState {
  jobId: string;
  /** Checks made so far, across continue-as-new generations. */
  checks: number;
  /** Stop after this many checks even if the job is not done. */
  maxChecks: number;
  intervalMs: number;
}

/** Pretend job status: done on the third check (a real one would call an API). */
export async function checkJob(_ctx: ActivityContext, input: { jobId: string; check: number }): Promise<'running' | 'done'> {
  return input.check >= 3 ? 'done' : 'running';
}

export function* monitorJob(ctx: OrchestrationContext, state: MonitorState): Generator<Task<unknown>, string, unknown> {
  const check = state.checks + 1;
  const status = yield* ctx.callActivity(checkJob, { jobId: state.jobId, check });
  ctx.setCustomStatus({ jobId: state.jobId, check, status });
  if (status === 'done') return `job ${state.jobId} done after ${check} checks`;
  if (check >= state.maxChecks) return `gave up on job ${state.jobId} after ${check} checks`;
  yield ctx.createTimer(state.intervalMs);
  ctx.continueAsNew({ ...state, checks: check }, { version: 'current' });
  return '';
}

export const orchestrations = { monitorJob };
export const activities = { checkJob };
