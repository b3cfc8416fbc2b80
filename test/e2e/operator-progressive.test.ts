/**
 * A Progressive rollout 25 → 50 → 100 with pauses (issue 5, acceptance 4): while each step holds, the share of new
 * starts that go to the new version stays within ±10 points of the step's percent, and every start completes on
 * the version it was routed to.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { VersionInfo } from '../../worker/src/client/index.ts';
import { startE2e } from './support/env.ts';
import type { E2e } from './support/env.ts';
import { deployHub, deployWorkers, expectWorkersReady, rollOut, workerTemplate } from './support/steps.ts';
import type { Hub } from './support/steps.ts';
import { expectCurrentVersion } from '../../operator/test/support/workflows.ts';

const STEPS = [25, 50, 100];
const PAUSE_S = 8;
/** Starts counted per step at most (enough for ±10 points: the standard error at 50 % is under 3 points). */
const SAMPLES = 300;
const BATCH = 20;

let e2e: E2e;
let hub: Hub;

before(async () => {
  e2e = await startE2e('ramp');
  hub = await deployHub(e2e, 'orders');
});

after(async () => {
  await hub?.client.close();
  await e2e?.stop();
});

/** The percent of new starts v2 gets under this routing, or undefined when v2 is not ramping. */
function rampOf(versions: VersionInfo[]): number | undefined {
  const v2 = versions.find((v) => v.version === 'v2');
  if (v2?.state === 'Ramping') return v2.rampPercent;
  return undefined;
}

describe('a Progressive rollout', () => {
  it('routes 25 %, 50 % and then 100 % of new starts to v2, each within ±10 points, before making it current', async (t) => {
    const wd = await deployWorkers(e2e, hub, 'orders', {
      version: 'v1',
      replicas: 1,
      template: workerTemplate('v1'),
      rollout: { strategy: 'Progressive', steps: STEPS.map((percent) => ({ percent, pause: `${PAUSE_S}s` })) },
      drain: { scaleDownDelay: '1s', deleteDelay: '1s' },
    });
    await expectWorkersReady(e2e, wd, 'v1', 1);
    await rollOut(wd, 'v2');

    // Start batches of instances; a batch counts for a step only when the routing was the same before and after it.
    const tally = new Map<number, { v1: number; v2: number }>();
    const deadline = Date.now() + (STEPS.length * PAUSE_S + 30) * 1000;
    let batch = 0;
    for (;;) {
      assert.ok(Date.now() < deadline, `the ramp did not finish in time; counted ${JSON.stringify([...tally])}`);
      const before = await hub.client.listVersions();
      if (before.find((v) => v.version === 'v2')?.state === 'Current') break;
      const percent = rampOf(before);
      const counted = percent === undefined ? undefined : (tally.get(percent) ?? { v1: 0, v2: 0 });
      if (!counted || counted.v1 + counted.v2 >= SAMPLES) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const created = await Promise.all(
        Array.from({ length: BATCH }, (_, i) => hub.client.store.createInstance({ instanceId: `ramp-${batch}-${i}`, name: 'noop', defaultVersion: 'v1' })),
      );
      batch++;
      if (rampOf(await hub.client.listVersions()) !== percent) continue;
      for (const { version } of created) counted[version === 'v2' ? 'v2' : 'v1']++;
      tally.set(percent ?? 0, counted);
    }

    const shares = STEPS.map((p) => {
      const t = tally.get(p) ?? { v1: 0, v2: 0 };
      return { percent: p, samples: t.v1 + t.v2, share: Math.round((100 * t.v2) / Math.max(1, t.v1 + t.v2)) };
    });
    t.diagnostic(`shares of new starts on v2 per step: ${shares.map((s) => `${s.percent}% → ${s.share}% of ${s.samples}`).join(', ')}`);
    for (const s of shares) {
      assert.ok(s.samples >= 100, `step ${s.percent}%: only ${s.samples} starts counted (${JSON.stringify(shares)})`);
      assert.ok(Math.abs(s.share - s.percent) <= 10, `step ${s.percent}%: ${s.share}% of new starts went to v2 (${JSON.stringify(shares)})`);
    }
    await expectCurrentVersion(wd, 'v2');
    await expectWorkersReady(e2e, wd, 'v2', 1);

    // Every start ran to completion on the version it was routed to.
    const unfinished = await hub.client.listInstances({ statuses: ['Pending', 'Running', 'Failed', 'Terminated'], pageSize: 1000 });
    const waitFor = unfinished.instances.filter((s) => s.status === 'Pending' || s.status === 'Running').map((s) => s.instanceId);
    await Promise.all(waitFor.map((id) => hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 60_000 })));
    const bad = await hub.client.listInstances({ statuses: ['Pending', 'Running', 'Failed', 'Terminated'], pageSize: 1000 });
    assert.deepEqual(bad.instances.map((s) => `${s.instanceId} ${s.status}`), []);
  });
});
