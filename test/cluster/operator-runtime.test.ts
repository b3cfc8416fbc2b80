/**
 * The operator's runtime pieces against a real API server: leader election on a Lease (one leader, hand-over on
 * release, takeover after expiry when the leader dies silently), the informer (add/update/delete, resync on relist),
 * status transactions (skip when unchanged, 409 on a stale read), finalizer patches and Events.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { pino } from 'pino';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';
import type { TaskHub, TaskHubStatus } from '../../operator/src/crds/index.ts';
import { KubeEventRecorder } from '../../operator/src/runtime/events.ts';
import { addFinalizer, removeFinalizer } from '../../operator/src/runtime/finalizers.ts';
import { Informer } from '../../operator/src/runtime/informer.ts';
import type { InformerEventType } from '../../operator/src/runtime/informer.ts';
import { isConflict, KubeClient } from '../../operator/src/runtime/kube.ts';
import type { KubeObject } from '../../operator/src/runtime/kube.ts';
import { LeaderElector } from '../../operator/src/runtime/lease.ts';
import { EVENTS, SECRETS, TASKHUBS } from '../../operator/src/runtime/resources.ts';
import { updateStatus } from '../../operator/src/runtime/status.ts';
import { applyCrds, eventually } from '../../operator/test/support/cluster.ts';
import { createTaskHub, externalHub } from '../../operator/test/support/hubs.ts';

let cp: ControlPlane;
let client: KubeClient;
const log = pino({ level: 'silent' });

before(async () => {
  cp = await useControlPlane();
  client = new KubeClient(cp.kubeConfig);
  await applyCrds(cp);
});

function elector(namespace: string, identity: string, leading: Set<string>): LeaderElector {
  return new LeaderElector(client, {
    namespace,
    name: 'leader',
    identity,
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
    logger: log,
    onStartedLeading: () => leading.add(identity),
    onStoppedLeading: () => leading.delete(identity),
  });
}

describe('leader election on a Lease', () => {
  it('elects one leader; a released lease passes to the other at once, an abandoned one after it expires', async () => {
    await withNamespace(cp, async (ns) => {
      const leading = new Set<string>();
      const a = elector(ns, 'a', leading);
      const b = elector(ns, 'b', leading);
      a.start();
      await eventually('a to lead', async () => (leading.has('a') ? true : undefined));
      b.start();
      await sleep(1000);
      assert.deepEqual([...leading], ['a'], 'only one leader while a renews');

      const released = Date.now();
      await a.stop();
      await eventually('b to lead after a released', async () => (leading.has('b') ? true : undefined));
      assert.ok(Date.now() - released < 1500, 'a released lease is taken without waiting for expiry');

      // c campaigns; then b dies without releasing (its timers just stop): c waits for the lease to expire.
      const c = elector(ns, 'c', leading);
      c.start();
      await sleep(500);
      assert.ok(!leading.has('c'));
      const died = Date.now();
      await b.stop({ release: false });
      await eventually('c to lead after b died', async () => (leading.has('c') ? true : undefined), { timeoutMs: 10_000 });
      assert.ok(Date.now() - died >= 1500, 'an abandoned lease is taken only after it expires');
      await c.stop();
    });
  });
});

describe('the informer', () => {
  it('reports add, update and delete from its watch, and resync for unchanged objects on a relist', async () => {
    await withNamespace(cp, async (ns) => {
      const seen: string[] = [];
      const informer = new Informer<KubeObject>(client, { resource: SECRETS, namespace: ns, logger: log, relistMs: 60_000 });
      informer.on((type: InformerEventType, obj) => seen.push(`${type} ${obj.metadata?.name}`));
      await informer.start();
      const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: ns }, data: { a: 'YQ==' } };
      await client.create(SECRETS, ns, secret);
      await eventually('add', async () => (seen.includes('add s1') ? true : undefined));
      await client.patch(SECRETS, ns, 's1', 'merge', { data: { a: 'Yg==' } });
      await eventually('update', async () => (seen.includes('update s1') ? true : undefined));
      informer.relist();
      await eventually('resync', async () => (seen.includes('resync s1') ? true : undefined));
      await client.delete(SECRETS, ns, 's1');
      await eventually('delete', async () => (seen.includes('delete s1') ? true : undefined));
      assert.equal(informer.get(ns, 's1'), undefined);
      await informer.stop();
    });
  });
});

describe('status transactions, finalizers and events', () => {
  it('skip a write when nothing changed, conflict on a stale resourceVersion, and patch finalizers alone', async () => {
    await withNamespace(cp, async (ns) => {
      await createTaskHub(client, ns, 'h', externalHub('none'));
      const set = (status: TaskHubStatus) => {
        status.schemaVersion = 7;
      };
      const first = await updateStatus<TaskHubStatus, TaskHub>(client, TASKHUBS, ns, 'h', set);
      const second = await updateStatus<TaskHubStatus, TaskHub>(client, TASKHUBS, ns, 'h', set);
      assert.equal(first?.status?.schemaVersion, 7);
      assert.equal(second?.metadata.resourceVersion, first?.metadata.resourceVersion, 'an unchanged status is not written');

      const stale = first as TaskHub;
      await client.patch(TASKHUBS, ns, 'h', 'merge', { spec: { deletionPolicy: 'Delete' } });
      await assert.rejects(
        client.patch(TASKHUBS, ns, 'h', 'merge', { metadata: { resourceVersion: stale.metadata.resourceVersion }, status: { schemaVersion: 8 } }, 'status'),
        (err: unknown) => isConflict(err),
      );

      const fresh = (await client.get<TaskHub>(TASKHUBS, ns, 'h')) as TaskHub;
      const withFinalizer = await addFinalizer(client, TASKHUBS, fresh, 'example.com/one');
      assert.deepEqual(withFinalizer.metadata.finalizers, ['example.com/one']);
      assert.equal(withFinalizer.spec.deletionPolicy, 'Delete', 'the spec is untouched');
      await assert.rejects(addFinalizer(client, TASKHUBS, fresh, 'example.com/two'), (err: unknown) => isConflict(err));
      await removeFinalizer(client, TASKHUBS, withFinalizer, 'example.com/one');
      assert.equal((await client.get<TaskHub>(TASKHUBS, ns, 'h'))?.metadata.finalizers, undefined);

      const events = new KubeEventRecorder(client, log, 'test');
      events.record(withFinalizer, 'Normal', 'Tested', 'once');
      await eventually('one event', async () => ((await client.list(EVENTS, ns)).items.length === 1 ? true : undefined));
      events.record(withFinalizer, 'Normal', 'Tested', 'once');
      await eventually('the repeat counted on the same event', async () => {
        const items = (await client.list<KubeObject & { count?: number }>(EVENTS, ns)).items;
        return items.length === 1 && items[0]?.count === 2 ? true : undefined;
      });
    });
  });
});
