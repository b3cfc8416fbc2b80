import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../worker/src/errors.ts';
import type { PostgresHubStore } from '../../../worker/src/store/index.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';

/** Starts `n` instances without a version, `parallel` at a time, and counts the versions they got. */
async function startMany(store: PostgresHubStore, prefix: string, n: number, parallel = 10): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - i) }, (_, j) =>
      store.createInstance({ instanceId: `${prefix}-${i + j}`, name: 'flow', defaultVersion: 'fallback' }),
    );
    for (const { version } of await Promise.all(batch)) counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  return counts;
}

test('with no routing, new instances get the default version', async () => {
  await withHub(async ({ store }) => {
    assert.deepEqual([...(await startMany(store, 'x', 5))], [['fallback', 5]]);
    assert.deepEqual(await store.listVersions(), []);
  });
});

test('new starts go to the Current version; an explicit version is kept', async () => {
  await withHub(async ({ store }) => {
    await store.setRouting('v1');
    assert.deepEqual([...(await startMany(store, 'x', 20))], [['v1', 20]]);
    const pinned = await store.createInstance({ instanceId: 'pinned', name: 'flow', version: 'v0', defaultVersion: 'fallback' });
    assert.equal(pinned.version, 'v0');
  });
});

test('a Ramping version gets roughly its percent of new starts', async () => {
  await withHub(async ({ store }) => {
    await store.setRouting('v1', { version: 'v2', percent: 25 });
    const counts = await startMany(store, 'r', 1000);
    const v2 = counts.get('v2') ?? 0;
    assert.equal((counts.get('v1') ?? 0) + v2, 1000);
    // 25% of 1000 has a standard deviation of about 14: four of them either side.
    assert.ok(v2 > 195 && v2 < 305, `v2 got ${v2} of 1000`);
  });
});

test('promoting a new version drains the old one, which becomes Drained once its instances finish', async () => {
  await withHub(async ({ store, schema }) => {
    await store.setRouting('v1');
    await startMany(store, 'old', 3);
    await store.setRouting('v2', { version: 'v3', percent: 10 });
    const during = await store.listVersions();
    assert.deepEqual(
      during.map((v) => [v.version, v.state, v.rampPercent, v.runningInstances]),
      [
        ['v1', 'Draining', 0, 3],
        ['v2', 'Current', 0, 0],
        ['v3', 'Ramping', 10, 0],
      ],
    );
    await adminQuery(`UPDATE "${schema}".instances SET status = 'Completed' WHERE version = 'v1'`);
    const after = await store.listVersions();
    const v1 = after.find((v) => v.version === 'v1');
    assert.equal(v1?.state, 'Drained');
    assert.equal(v1?.runningInstances, 0);
    assert.ok(v1?.drainedSince instanceof Date);
    await store.setRouting('v3');
    const final = await store.listVersions();
    assert.deepEqual(
      final.map((v) => [v.version, v.state]),
      [
        ['v1', 'Drained'],
        ['v2', 'Drained'],
        ['v3', 'Current'],
      ],
      'v2 had nothing running, so it drains at once',
    );
  });
});

test('routing refuses a percent outside 0–100 and ramping the current version', async () => {
  await withHub(async ({ store }) => {
    await assert.rejects(store.setRouting('v1', { version: 'v2', percent: 101 }), ValidationError);
    await assert.rejects(store.setRouting('v1', { version: 'v1', percent: 5 }), ValidationError);
  });
});
