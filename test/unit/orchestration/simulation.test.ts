/**
 * Whole lifecycles through the in-memory runtime stand-in: parents and children, continue-as-new
 * into a second execution, suspension and recursive termination. Each scenario runs twice, once
 * replaying the full history every turn and once with executors kept between turns
 * (continueWith), and both runs must record the same histories for every instance.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import { goldenRegistry } from '../../golden/orchestrations.ts';
import { SCENARIOS } from '../../golden/scenarios.ts';
import type { GoldenScenario } from '../../golden/scenarios.ts';
import { simulate } from '../fixtures/simulator.ts';
import type { SimInstance } from '../fixtures/simulator.ts';

function scenario(name: string): GoldenScenario {
  const found = SCENARIOS.find((s) => s.scenario === name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
}

function runBoth(s: GoldenScenario): Map<string, SimInstance> {
  const replayed = simulate({ ...s, registry: goldenRegistry() });
  const cached = simulate({ ...s, registry: goldenRegistry(), cacheExecutors: true });
  const histories = (m: Map<string, SimInstance>) => new Map([...m].map(([id, i]) => [id, i.executions]));
  assert.deepEqual(histories(cached.instances), histories(replayed.instances));
  return replayed.instances;
}

for (const s of SCENARIOS) {
  test(`simulated ${s.scenario}: full replays and cached executors record the same histories`, () => {
    runBoth(s);
  });
}

test('sub-orchestrations run as their own instances and report back to the parent', () => {
  const instances = runBoth(scenario('sub-orchestration'));
  const statuses = Object.fromEntries([...instances].map(([id, i]) => [id, i.status]));
  assert.deepEqual(statuses, {
    'golden-sub': 'Completed',
    'golden-sub:00000001:0': 'Completed',
    'golden-sub:00000001:1': 'Failed',
    'golden-sub:00000001:2': 'Completed',
  });
});

test('continue-as-new starts a second execution that receives the carried-over event first', () => {
  const root = runBoth(scenario('continue-as-new')).get('golden-counter');
  const second = root?.executions[1] ?? [];
  const firstDelivered = second.filter((e: HistoryEvent) => e.kind === 'ExecutionStarted' || e.kind === 'EventRaised');
  assert.deepEqual(
    firstDelivered.map((e) => [e.kind, 'input' in e ? e.input : undefined]),
    [
      ['ExecutionStarted', '{"total":5}'],
      ['EventRaised', '7'],
    ],
  );
  assert.equal(root?.executions.length, 3, 'the carried-over event led to a second continue-as-new, then it waits');
  const third = root?.executions[2]?.find((e) => e.kind === 'ExecutionStarted');
  assert.equal(third?.kind === 'ExecutionStarted' ? third.input : undefined, '{"total":12}');
});

test('recursive termination reaches the running child', () => {
  const instances = runBoth(scenario('monitor-terminated'));
  assert.equal(instances.get('golden-monitor')?.status, 'Terminated');
  assert.equal(instances.get('golden-monitor:00000001:0')?.status, 'Terminated');
});
