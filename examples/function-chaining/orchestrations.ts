/**
 * Function chaining: call activities one after another, each getting the previous result.
 * If the worker dies between two steps, the next worker replays the history and continues
 * after the last completed step; no step that finished runs again.
 */
import type { ActivityContext, OrchestrationContext, Task } from '../../worker/src/orchestration/index.ts';

/** Activity: an ordinary async function. */
export async function sayHello(_ctx: ActivityContext, city: string): Promise<string> {
  return `Hello, ${city}!`;
}

/** Orchestration: a generator replayed from history; `yield*` types each result. */
export function* greetCities(ctx: OrchestrationContext, cities: string[]): Generator<Task<unknown>, string[], unknown> {
  const greetings: string[] = [];
  for (const city of cities) {
    const greeting = yield* ctx.callActivity(sayHello, city);
    greetings.push(greeting);
    ctx.setCustomStatus({ done: greetings.length, of: cities.length });
  }
  return greetings;
}

export const orchestrations = { greetCities };
export const activities = { sayHello };
