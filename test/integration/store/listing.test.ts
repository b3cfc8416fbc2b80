import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../worker/src/errors.ts';
import type { InstanceState, ListRequest } from '../../../worker/src/store/types.ts';
import type { PostgresHubStore } from '../../../worker/src/store/index.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';

/**
 * 1,200 instances: names alternate order/refund, statuses cycle through four, versions v1/v2; every
 * three share one created_at (microsecond precision), so paging must break ties by instance id.
 */
async function seed(schema: string): Promise<void> {
  await adminQuery(
    `INSERT INTO "${schema}".instances (instance_id, execution_id, name, version, status, created_at)
     SELECT 'inst-' || lpad(g::text, 4, '0'), 'e', CASE WHEN g % 2 = 0 THEN 'order' ELSE 'refund' END,
            CASE WHEN g % 3 = 0 THEN 'v2' ELSE 'v1' END,
            (ARRAY['Running', 'Completed', 'Failed', 'Pending'])[g % 4 + 1],
            timestamptz '2026-01-01 00:00:00.000001+00' + (g / 3) * interval '1 microsecond' * 997
       FROM generate_series(1, 1200) g`,
  );
}

async function listAll(store: PostgresHubStore, req: ListRequest): Promise<{ all: InstanceState[]; pages: number }> {
  const all: InstanceState[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await store.listInstances({ ...req, continuationToken: token });
    pages++;
    all.push(...page.instances);
    token = page.continuationToken;
  } while (token);
  return { all, pages };
}

test('paging walks every instance exactly once, in creation order, with ties broken by id', async () => {
  await withHub(async ({ store, schema }) => {
    await seed(schema);
    const { all, pages } = await listAll(store, { pageSize: 250 });
    assert.equal(all.length, 1200);
    assert.equal(pages, 5);
    assert.equal(new Set(all.map((s) => s.instanceId)).size, 1200);
    const first = await store.listInstances({});
    assert.equal(first.instances.length, 100, 'default page size');
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1]!, all[i]!];
      assert.ok(a.createdAt <= b.createdAt, 'creation order');
      if (a.createdAt.getTime() === b.createdAt.getTime()) assert.ok(a.instanceId < b.instanceId || a.createdAt < b.createdAt);
    }
  });
});

test('filters by status, name, version, creation range and id prefix combine', async () => {
  await withHub(async ({ store, schema }) => {
    await seed(schema);
    const failedOrders = await listAll(store, { statuses: ['Failed'], name: 'order', pageSize: 1000 });
    assert.ok(failedOrders.all.length > 0);
    assert.ok(failedOrders.all.every((s) => s.status === 'Failed' && s.name === 'order'));
    const v2 = await listAll(store, { version: 'v2', statuses: ['Running', 'Pending'], pageSize: 1000 });
    assert.equal(v2.all.length, 200);
    assert.ok(v2.all.every((s) => s.version === 'v2'));
    const prefix = await listAll(store, { instanceIdPrefix: 'inst-00' });
    assert.equal(prefix.all.length, 99, 'inst-0001 … inst-0099');
    const all = (await listAll(store, { pageSize: 1000 })).all;
    const from = all[300]!.createdAt;
    const to = all[600]!.createdAt;
    const range = (await listAll(store, { createdFrom: from, createdTo: to, pageSize: 1000 })).all;
    assert.ok(range.length > 250 && range.length <= 301);
    assert.ok(range.every((s) => s.createdAt >= from && s.createdAt < to));
  });
});

test('an id prefix is literal: LIKE wildcards in it match only themselves', async () => {
  await withHub(async ({ store }) => {
    for (const id of ['a_1', 'ab1', 'a%2', 'abc']) await store.createInstance({ instanceId: id, name: 'n', defaultVersion: 'v1' });
    assert.deepEqual((await store.listInstances({ instanceIdPrefix: 'a_' })).instances.map((s) => s.instanceId), ['a_1']);
    assert.deepEqual((await store.listInstances({ instanceIdPrefix: 'a%' })).instances.map((s) => s.instanceId), ['a%2']);
  });
});

test('payloads are returned only when asked for', async () => {
  await withHub(async ({ store }) => {
    await store.createInstance({ instanceId: 'p', name: 'n', defaultVersion: 'v1', input: '{"big":true}' });
    assert.equal((await store.listInstances({})).instances[0]?.input, undefined);
    assert.equal((await store.listInstances({ withPayloads: true })).instances[0]?.input, '{"big":true}');
  });
});

test('a bad page size or a forged continuation token is refused with a clear message', async () => {
  await withHub(async ({ store }) => {
    await assert.rejects(store.listInstances({ pageSize: 1001 }), (err: unknown) => err instanceof ValidationError && err.field === 'pageSize');
    await assert.rejects(store.listInstances({ pageSize: 0 }), ValidationError);
    await assert.rejects(store.listInstances({ continuationToken: 'not-a-token' }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.field, 'continuationToken');
      return true;
    });
  });
});
