/**
 * The activity loop's shutdown against a fake hub: stopping an idle loop returns at once and leaves
 * no timer behind, so a stopped worker does not keep its process alive for the grace period.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../worker/src/logger.ts';
import { ActivityLoop } from '../../../worker/src/runtime/activity-loop.ts';
import type { HubStore } from '../../../worker/src/store/types.ts';

/** A hub with no activity work: claims come back empty and waits last until the signal. */
function idleHub(): HubStore {
  const hub: Partial<HubStore> = {
    claimActivities: async () => [],
    waitForWork: (_kind, _version, maxWaitMs, signal) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, maxWaitMs);
        signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      }),
    completeActivities: async () => [],
    abandonActivities: async () => {},
    renewActivityLeases: async () => [],
  };
  return hub as HubStore;
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('stopping an idle activity loop returns at once and leaves no timer running', async () => {
  const before = timers();
  const loop = new ActivityLoop({
    store: idleHub(),
    registry: { getActivity: () => undefined, activityNames: () => [] },
    version: 'v1',
    workerId: 'w',
    concurrency: 4,
    leaseMs: 30_000,
    pollIntervalMs: 1_000,
    maxPayloadBytes: 1024,
    logger: silentLogger(),
  });
  loop.start();
  await new Promise((r) => setTimeout(r, 50));
  const began = Date.now();
  await loop.stop(25_000);
  assert.ok(Date.now() - began < 1_000, `stop took ${Date.now() - began} ms with nothing in flight`);
  assert.equal(timers(), before, 'no grace-period or renewal timer outlives stop()');
});
