/**
 * The invariant checker itself: silent on a clean run, and naming the broken invariant when a hub is
 * tampered with the way a faulty engine would leave it. (A checker that cannot fail proves nothing.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryEvent } from '../../worker/src/orchestration/history.ts';
import { withFaultHub, type FaultHub } from './harness.ts';
import { checkInvariants, type Violation } from './invariants.ts';

async function append(hub: FaultHub, instanceId: string, seq: number, event: HistoryEvent): Promise<void> {
  await hub.sql(
    `INSERT INTO ${hub.S}.history (instance_id, execution_id, seq, kind, event)
     SELECT instance_id, execution_id, $2, $3, $4 FROM ${hub.S}.instances WHERE instance_id = $1`,
    [instanceId, seq, event.kind, JSON.stringify(event)],
  );
}

async function lengthOf(hub: FaultHub, instanceId: string): Promise<number> {
  return (await hub.client.getOrchestrationHistory(instanceId)).length;
}

const now = () => new Date().toISOString();

function kinds(violations: Violation[]): string[] {
  return [...new Set(violations.map((v) => v.invariant))].sort();
}

test('a clean run has no violations, and every invariant reports the damage done to it', async () => {
  await withFaultHub(async (hub, workers) => {
    await workers.start('w1');
    const chain = await hub.client.scheduleNewOrchestration('chain', { key: 'a', steps: 2 }, { instanceId: 'chain' });
    const waiter = await hub.client.scheduleNewOrchestration(
      'events',
      { key: 'e', names: ['go'] },
      { instanceId: 'waiter' },
    );
    assert.equal(await hub.client.raiseEvent(waiter, 'go', 1, { idempotencyKey: 'k' }), true);
    await hub.client.waitForOrchestrationCompletion(chain);
    await hub.client.waitForOrchestrationCompletion(waiter);
    const acked = [{ instanceId: waiter, name: 'go', input: '1' }];
    const expected = new Map([
      [chain, { status: 'Completed' as const, output: ['a/0', 'a/1'] }],
      [waiter, { status: 'Completed' as const, output: [1] }],
    ]);

    const clean = await checkInvariants(hub, { ackedEvents: acked, expected });
    assert.deepEqual(clean.violations, []);
    assert.equal(clean.instances, 2);
    assert.deepEqual(clean.byStatus, { Completed: 2 });

    // A result delivered twice, a turn written by a worker of another version, and a stray timer result.
    const n = await lengthOf(hub, chain);
    await hub.sql(`UPDATE ${hub.S}.instances SET locked_by = 'v2/intruder' WHERE instance_id = $1`, [chain]);
    await append(hub, chain, n, { kind: 'OrchestratorStarted', timestamp: now() });
    await append(hub, chain, n + 1, { kind: 'TaskCompleted', timestamp: now(), taskScheduledId: 0, result: '"a/0"' });
    await append(hub, chain, n + 2, { kind: 'TimerFired', timestamp: now(), timerId: 42, fireAt: now() });
    await append(hub, chain, n + 4, { kind: 'OrchestratorCompleted', timestamp: now() });
    await hub.sql(`UPDATE ${hub.S}.instances SET locked_by = NULL WHERE instance_id = $1`, [chain]);
    // An instance left running with a visible message nobody processed, and an event that never arrived.
    await hub.store.createInstance({
      instanceId: 'stuck',
      name: 'chain',
      version: 'v9',
      defaultVersion: 'v9',
      input: '{"key":"s","steps":1}',
    });
    const lost = { instanceId: waiter, name: 'go', input: '2' };

    const broken = await checkInvariants(hub, {
      ackedEvents: [...acked, lost],
      expected: new Map([...expected, [waiter, { status: 'Completed' as const, output: [2] }]]),
    });
    assert.deepEqual(kinds(broken.violations), [
      'events-once',
      'history-contiguous',
      'one-result',
      'outputs',
      'terminal-once',
      'version-affinity',
    ]);
    const about = (invariant: string) =>
      broken.violations
        .filter((v) => v.invariant === invariant)
        .map((v) => `${v.instanceId}: ${v.detail}`)
        .join('\n');
    assert.match(about('one-result'), /chain: .*2 results for activity 0/);
    assert.match(about('one-result'), /TimerFired for timer 42, which was never created/);
    assert.match(about('history-contiguous'), /seq \d+ where \d+ was expected/);
    assert.match(about('version-affinity'), /committed by worker v2\/intruder/);
    assert.match(about('terminal-once'), /stuck: ended the run Pending/);
    assert.match(about('terminal-once'), /stuck: left behind: visible inbox message ExecutionStarted/);
    assert.match(about('events-once'), /'go' 2 never reached its history/);
    assert.match(about('outputs'), /waiter: output \[1\], expected \[2\]/);
  });
});

test('status leaving a terminal state, a second completion, a delivery run twice, a task on the wrong version and unfired due timers are caught', async () => {
  await withFaultHub(async (hub, workers) => {
    await workers.start('w1');
    const id = await hub.client.scheduleNewOrchestration(
      'timers',
      { key: 't', count: 1, delayMs: 100 },
      { instanceId: 'timed' },
    );
    await hub.client.waitForOrchestrationCompletion(id);
    assert.deepEqual((await checkInvariants(hub)).violations, []);

    await hub.sql(`UPDATE ${hub.S}.instances SET status = 'Running' WHERE instance_id = $1`, [id]);
    await hub.sql(`UPDATE ${hub.S}.instances SET status = 'Completed' WHERE instance_id = $1`, [id]);
    const n = await lengthOf(hub, id);
    const past = new Date(Date.now() - 60_000).toISOString();
    await append(hub, id, n, { kind: 'OrchestratorStarted', timestamp: now() });
    await append(hub, id, n + 1, { kind: 'TimerCreated', timestamp: now(), eventId: 7, fireAt: past });
    await append(hub, id, n + 2, { kind: 'ExecutionCompleted', timestamp: now(), status: 'Completed' });
    await append(hub, id, n + 3, { kind: 'OrchestratorCompleted', timestamp: now() });
    const ghost = { key: 'ghost', instanceId: id, taskId: 9, version: 'v1', worker: 'v1/w1', pid: 1, at: 0 };
    const effects = [
      { ...ghost, delivery: 1 },
      { ...ghost, delivery: 1 },
      { ...ghost, key: 'astray', worker: 'v2/w3', delivery: 1 },
    ];

    const report = await checkInvariants(hub, { effects });
    const text = report.violations.map((v) => `[${v.invariant}] ${v.detail}`).join('\n');
    assert.match(text, /\[terminal-once\] status went .*Completed → Running → Completed/);
    assert.match(text, /\[terminal-once\] status Completed but its history has 2 ExecutionCompleted/);
    assert.match(text, /\[one-result\] .*timer 7 due .* never fired/);
    assert.match(text, /\[side-effects\] side effect ghost ran twice under one delivery number \(1, 1\)/);
    assert.match(text, /\[side-effects\] side effect astray of version v1 ran on worker v2\/w3/);
  });
});
