/**
 * Fan-out/fan-in: schedule many activities at once, wait for all of them, aggregate.
 * All scheduled activities go out in one turn (one transaction); their results come back
 * in whatever order workers finish them.
 */
import type { ActivityContext, OrchestrationContext, Task } from '../../worker/src/orchestration/index.ts';

/** Splits a text into lines: the work items. */
export async function splitLines(_ctx: ActivityContext, text: string): Promise<string[]> {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** Counts the words of one line. */
export async function countWords(_ctx: ActivityContext, line: string): Promise<number> {
  return line.trim().split(/\s+/).length;
}

export function* wordCount(ctx: OrchestrationContext, text: string): Generator<Task<unknown>, { lines: number; words: number }, unknown> {
  const lines = yield* ctx.callActivity(splitLines, text);
  const counts = yield* ctx.whenAll(lines.map((line) => ctx.callActivity(countWords, line)));
  return { lines: lines.length, words: counts.reduce((sum, n) => sum + n, 0) };
}

export const orchestrations = { wordCount };
export const activities = { splitLines, countWords };
