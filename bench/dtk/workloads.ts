/**
 * The orchestrations and activities the dtk scenarios run. Activities do nothing but hand a
 * value back, so what is measured is the engine: claims, replay, commits, notifications.
 */
import type { ActivityContext, OrchestrationContext, Task } from '../../worker/src/orchestration/index.ts';
import type { Worker } from '../../worker/src/worker.ts';

/** A no-op activity: returns its input. */
export async function noop(_ctx: ActivityContext, value: number): Promise<number> {
  return value;
}

/**
 * When each probe step ran, by step number (performance.now() of this process). Only the
 * worker process that runs `probe` fills it; the bench asks for it over IPC.
 */
export const probeTimes = new Map<number, number>();

/** A no-op activity that notes when it ran, so step periods can be read afterwards. */
export async function probe(_ctx: ActivityContext, step: number): Promise<number> {
  probeTimes.set(step, performance.now());
  return step;
}

/** Three no-op activities in sequence: the hello chain of the issue. */
export function* helloChain(ctx: OrchestrationContext, value: number): Generator<Task<unknown>, number, unknown> {
  const a = yield* ctx.callActivity(noop, value);
  const b = yield* ctx.callActivity(noop, a);
  return yield* ctx.callActivity(noop, b);
}

/** One no-op activity: the unit of the latency scenario. */
export function* single(ctx: OrchestrationContext, value: number): Generator<Task<unknown>, number, unknown> {
  return yield* ctx.callActivity(noop, value);
}

/** Schedules `width` no-op activities in one turn and waits for all of them. */
export function* fanOut(ctx: OrchestrationContext, width: number): Generator<Task<unknown>, number, unknown> {
  const results = yield* ctx.whenAll(Array.from({ length: width }, (_, i) => ctx.callActivity(noop, i)));
  return results.length;
}

/** `steps` probe activities in sequence: a history that grows to about 3 × steps events. */
export function* longChain(ctx: OrchestrationContext, steps: number): Generator<Task<unknown>, number, unknown> {
  for (let step = 1; step <= steps; step++) yield* ctx.callActivity(probe, step);
  return steps;
}

/** Registers every bench workload on a worker. */
export function register(worker: Worker): void {
  worker
    .addOrchestrator('helloChain', helloChain)
    .addOrchestrator('single', single)
    .addOrchestrator('fanOut', fanOut)
    .addOrchestrator('longChain', longChain)
    .addActivity('noop', noop)
    .addActivity('probe', probe);
}
