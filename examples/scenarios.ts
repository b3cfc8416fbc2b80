/**
 * The example runs the demo performs, with their expected results. The integration tests
 * run the same scenarios, so the demo and the suite cannot drift apart.
 */
import type { TaskHubClient } from '../worker/src/client/task-hub-client.ts';

export interface Scenario {
  name: string;
  /** Starts the instance(s) and drives them (events); returns the final output. */
  run(client: TaskHubClient, progress: (line: string) => void): Promise<unknown>;
  expected: unknown;
}

async function runToCompletion(
  client: TaskHubClient,
  name: string,
  input: unknown,
  progress: (line: string) => void,
  drive?: (instanceId: string) => Promise<void>,
): Promise<unknown> {
  const id = await client.scheduleNewOrchestration(name, input);
  progress(`started ${name} as ${id}`);
  await drive?.(id);
  const state = await client.waitForOrchestrationCompletion(id, { timeoutMs: 60000 });
  if (state.customStatus !== undefined) progress(`last custom status: ${JSON.stringify(state.customStatus)}`);
  if (state.status !== 'Completed') {
    throw new Error(`${name} ended ${state.status}: ${state.failure ? state.failure.message : JSON.stringify(state.output)}`);
  }
  return state.output;
}

export const scenarios: Scenario[] = [
  {
    name: 'function-chaining',
    run: (c, p) => runToCompletion(c, 'greetCities', ['Tokyo', 'Seattle', 'London'], p),
    expected: ['Hello, Tokyo!', 'Hello, Seattle!', 'Hello, London!'],
  },
  {
    name: 'fan-out-fan-in',
    run: (c, p) =>
      runToCompletion(c, 'wordCount', Array.from({ length: 50 }, (_, i) => `line ${i} has five words`).join('\n'), p),
    expected: { lines: 50, words: 250 },
  },
  {
    name: 'monitor',
    run: (c, p) => runToCompletion(c, 'monitorJob', { jobId: 'job-42', checks: 0, maxChecks: 10, intervalMs: 200 }, p),
    expected: 'job job-42 done after 3 checks',
  },
  {
    name: 'human-interaction (approved)',
    run: (c, p) =>
      runToCompletion(c, 'approvalWorkflow', { requestId: 'r-1', amount: 1200, timeoutMs: 30000 }, p, async (id) => {
        await c.waitForOrchestrationStart(id);
        await c.raiseEvent(id, 'approval', { approved: true, by: 'ana' });
        p('raised approval event');
      }),
    expected: 'approved by ana',
  },
  {
    name: 'human-interaction (timeout)',
    run: (c, p) => runToCompletion(c, 'approvalWorkflow', { requestId: 'r-2', amount: 50, timeoutMs: 500 }, p),
    expected: 'escalated r-2 to a manager',
  },
];
