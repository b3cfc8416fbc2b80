/**
 * Records golden histories: runs each scenario through the simulator and writes
 * test/golden/<scenario>.json with the root instance's first execution and its final
 * CompleteOrchestration action. Existing files are kept unless --force is given: a golden is
 * re-recorded only on purpose, never to make a failing test pass.
 *
 *   ./node_modules/.bin/node test/golden/record.ts [--force] [scenario ...]
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompleteOrchestrationAction, OrchestratorAction } from '../../worker/src/orchestration/actions.ts';
import { withoutStacks } from '../unit/fixtures/history.ts';
import { simulate } from '../unit/fixtures/simulator.ts';
import { goldenRegistry } from './orchestrations.ts';
import { SCENARIOS } from './scenarios.ts';

const args = process.argv.slice(2);
const force = args.includes('--force');
const only = args.filter((a) => !a.startsWith('--'));

for (const { scenario, description, ...options } of SCENARIOS) {
  if (only.length > 0 && !only.includes(scenario)) continue;
  const file = join(import.meta.dirname, `${scenario}.json`);
  if (existsSync(file) && !force) {
    console.log(`keep    ${scenario}.json (use --force to re-record)`);
    continue;
  }
  const replayed = simulate({ ...options, registry: goldenRegistry() });
  const cached = simulate({ ...options, registry: goldenRegistry(), cacheExecutors: true });
  const disagree = `${scenario}: cached executors and full replays disagree`;
  assert.deepEqual(cached.root.executions, replayed.root.executions, disagree);

  const history = replayed.root.executions[0] ?? [];
  const isCompletion = (a: OrchestratorAction): a is CompleteOrchestrationAction => a.kind === 'CompleteOrchestration';
  const expected = replayed.root.turns.flat().find(isCompletion);
  if (expected === undefined) throw new Error(`${scenario}: the first execution never completed`);
  const { instanceId } = replayed.root;
  const golden = { scenario, description, orchestration: options.name, instanceId, history, expected };
  writeFileSync(file, `${JSON.stringify(withoutStacks(golden), null, 2)}\n`);
  console.log(`record  ${scenario}.json (${history.length} events, ${expected.status})`);
}
