import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VersionInfo } from '../../../worker/src/store/types.ts';
import { planVersion } from '../../src/workflowdeployment/drain.ts';
import type { DrainSettings, VersionInput } from '../../src/workflowdeployment/drain.ts';
import { deploymentName, templateHash } from '../../src/workflowdeployment/deployments.ts';
import { decideRollout } from '../../src/workflowdeployment/rollout.ts';
import type { RolloutInput } from '../../src/workflowdeployment/rollout.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const v = (version: string, state: VersionInfo['state'], extra: Partial<VersionInfo> = {}): VersionInfo => ({
  version,
  state,
  rampPercent: 0,
  runningInstances: 0,
  ...extra,
});

function decide(input: Partial<RolloutInput>) {
  return decideRollout({ strategy: 'AllAtOnce', steps: [], target: 'v2', hub: [v('v1', 'Current')], targetReady: true, now: T0, ...input });
}

describe('rollout decisions', () => {
  it('makes the first version of a hub current at once, ready or not', () => {
    const d = decide({ hub: [], targetReady: false });
    assert.deepEqual(d.routing, { current: 'v2' });
    assert.equal(d.phase, 'Complete');
  });

  it('AllAtOnce waits for the target to be ready, then routes everything to it', () => {
    assert.equal(decide({ targetReady: false }).routing, undefined);
    assert.equal(decide({ targetReady: false }).phase, 'WaitingForReplicas');
    assert.deepEqual(decide({}).routing, { current: 'v2' });
  });

  it('writes nothing when the hub already routes as decided', () => {
    const d = decide({ hub: [v('v1', 'Draining'), v('v2', 'Current')] });
    assert.equal(d.routing, undefined);
    assert.equal(d.phase, 'Complete');
  });

  it('Progressive starts at the first step, holds it for its pause, and moves one step per pass', () => {
    const steps = [{ percent: 25, pauseMs: 10_000 }, { percent: 50, pauseMs: 10_000 }];
    const first = decide({ strategy: 'Progressive', steps });
    assert.deepEqual(first.routing, { current: 'v1', ramping: { version: 'v2', percent: 25 } });
    assert.equal(first.requeueMs, 10_000);
    const hub = [v('v1', 'Current'), v('v2', 'Ramping', { rampPercent: 25 })];
    const held = decide({ strategy: 'Progressive', steps, hub, progress: first.progress, now: T0 + 4000 });
    assert.equal(held.routing, undefined);
    assert.equal(held.requeueMs, 6000);
    // The operator was away for a minute: the next step still gets its full pause.
    const late = decide({ strategy: 'Progressive', steps, hub, progress: first.progress, now: T0 + 60_000 });
    assert.deepEqual(late.routing, { current: 'v1', ramping: { version: 'v2', percent: 50 } });
    assert.deepEqual(late.progress, { version: 'v2', step: 1, stepStartedAt: new Date(T0 + 60_000).toISOString() });
    const end = decide({ strategy: 'Progressive', steps, hub, progress: late.progress, now: T0 + 70_000 });
    assert.deepEqual(end.routing, { current: 'v2' });
    assert.equal(end.progress, undefined);
  });

  it('Manual waits for promote to name the target', () => {
    assert.equal(decide({ strategy: 'Manual' }).phase, 'AwaitingPromotion');
    assert.equal(decide({ strategy: 'Manual', promote: 'v3' }).routing, undefined);
    assert.deepEqual(decide({ strategy: 'Manual', promote: 'v2' }).routing, { current: 'v2' });
  });

  it('returns to a draining or drained version at once, even unready and mid-ramp', () => {
    const d = decide({ strategy: 'Progressive', steps: [{ percent: 10, pauseMs: 1 }], hub: [v('v1', 'Current'), v('v2', 'Drained')], targetReady: false });
    assert.deepEqual(d.routing, { current: 'v2' });
  });

  it('stops ramping a version that is no longer the target', () => {
    const d = decide({ target: 'v3', targetReady: false, hub: [v('v1', 'Current'), v('v2', 'Ramping', { rampPercent: 50 })] });
    assert.deepEqual(d.routing, { current: 'v1' });
    assert.equal(d.rampPercent, 0);
  });
});

describe('drain plans', () => {
  const settings: DrainSettings = { target: 'v2', specReplicas: 3, scaleDownDelayMs: 10_000, deleteDelayMs: 20_000, pollMs: 1000, now: T0 };
  const input = (hub: VersionInfo | undefined, extra: Partial<VersionInput> = {}): VersionInput => ({
    version: 'v1',
    deployment: 'orders-v1',
    replicas: 2,
    readyReplicas: 2,
    hub,
    prior: undefined,
    ...extra,
  });

  it('runs spec.replicas for the current version and the target', () => {
    assert.equal(planVersion(input(v('v1', 'Current')), settings).setReplicas, 3);
    assert.equal(planVersion(input(undefined, { version: 'v2' }), settings).status.state, 'Pending');
  });

  it('keeps a draining version at its replicas and polls', () => {
    const plan = planVersion(input(v('v1', 'Draining', { runningInstances: 4 })), settings);
    assert.equal(plan.setReplicas, undefined);
    assert.equal(plan.delete, false);
    assert.equal(plan.status.runningInstances, 4);
    assert.equal(plan.status.drainingSince, new Date(T0).toISOString());
    assert.equal(plan.requeueMs, 1000);
  });

  it('scales a drained version to zero after scaleDownDelay and deletes it deleteDelay later', () => {
    const drained = v('v1', 'Drained', { drainedSince: new Date(T0) });
    assert.deepEqual(
      [T0 + 9_999, T0 + 10_000, T0 + 29_999, T0 + 30_000].map((now) => {
        const p = planVersion(input(drained), { ...settings, now });
        return [p.setReplicas, p.delete, p.requeueMs];
      }),
      [
        [undefined, false, 1],
        [0, false, 20_000],
        [0, false, 1],
        [undefined, true, undefined],
      ],
    );
  });

  it('treats a version the hub never routed to as drained from when it is first seen', () => {
    const plan = planVersion(input(undefined, { version: 'v0' }), settings);
    assert.equal(plan.status.state, 'Drained');
    assert.equal(plan.status.drainedSince, new Date(T0).toISOString());
  });
});

describe('Deployment names', () => {
  it('is <name>-<version> up to 63 characters, and a hashed prefix beyond', () => {
    assert.equal(deploymentName('orders', 'v1'), 'orders-v1');
    const long = deploymentName('a'.repeat(60), 'v1.2.3');
    assert.equal(long.length, 63);
    assert.match(long, /^a+-[0-9a-f]{8}$/);
    assert.notEqual(deploymentName('a'.repeat(60), 'v1.2.4'), long);
  });

  it('hashes templates stably, whatever the key order', () => {
    const a = templateHash({ spec: { containers: [{ name: 'w', image: 'x:1' }] } });
    const b = templateHash({ spec: { containers: [{ image: 'x:1', name: 'w' }] } });
    assert.equal(a, b);
    assert.notEqual(a, templateHash({ spec: { containers: [{ name: 'w', image: 'x:2' }] } }));
  });
});
