import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInstanceStateError } from '../../../worker/src/errors.ts';
import type { PostgresHubStore } from '../../../worker/src/store/index.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { claimOne, commit, start, turnFor, V1 } from './helpers.ts';

/** Rows left anywhere in the hub for these instances. */
async function leftovers(schema: string, ids: string[]): Promise<number> {
  let n = 0;
  for (const table of ['instances', 'history', 'inbox', 'activity_tasks', 'event_keys']) {
    const r = await adminQuery(`SELECT 1 FROM "${schema}".${table} WHERE instance_id = ANY($1)`, [ids]);
    n += r.rowCount ?? 0;
  }
  return n;
}

/** Wakes `id` with an event and runs one turn that ends it with `status`. */
async function finish(store: PostgresHubStore, id: string, status: 'Completed' | 'Failed' | 'Terminated' = 'Completed'): Promise<void> {
  await store.sendControl(id, { kind: 'raise', name: 'finish' });
  const item = (await store.claimOrchestrations(V1, 50, 30_000, 'w')).find((i) => i.instanceId === id);
  assert.ok(item, `${id} should be claimable`);
  await commit(store, turnFor(item, { status }));
}

test('purging a finished instance removes it with its history, inbox rows, tasks and event keys', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'gone');
    await store.sendControl('gone', { kind: 'raise', name: 'x', idempotencyKey: 'k' });
    const item = await claimOne(store);
    await commit(store, turnFor(item, { status: 'Completed', activities: [{ taskId: 1, name: 'late', version: V1 }] }));
    await store.sendControl('gone', { kind: 'terminate' });
    assert.equal(await store.purgeInstance('gone', false), 1);
    assert.equal(await leftovers(schema, ['gone']), 0);
    assert.equal(await store.getInstance('gone', false), undefined);
  });
});

test('purging a running instance is refused and deletes nothing', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'busy');
    await assert.rejects(store.purgeInstance('busy', false), InvalidInstanceStateError);
    assert.ok((await leftovers(schema, ['busy'])) > 0);
  });
});

test('a recursive purge follows parent links to finished sub-orchestrations', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'root');
    const root = await claimOne(store);
    await commit(store, turnFor(root, { subOrchestrations: [{ instanceId: 'root:a', name: 'child', version: V1, parentTaskId: 1 }] }));
    const child = await claimOne(store);
    await commit(store, turnFor(child, { subOrchestrations: [{ instanceId: 'root:a:b', name: 'grandchild', version: V1, parentTaskId: 1 }] }));
    await finish(store, 'root:a:b');
    await finish(store, 'root:a');
    await finish(store, 'root');
    await start(store, 'bystander');
    assert.equal(await store.purgeInstance('root', true), 3);
    assert.equal(await leftovers(schema, ['root', 'root:a', 'root:a:b']), 0);
    assert.ok(await store.getInstance('bystander', false));
  });
});

test('a purge by filter removes only matching finished instances, in batches, and counts them', async () => {
  await withHub(async ({ store, schema }) => {
    await adminQuery(
      `INSERT INTO "${schema}".instances (instance_id, execution_id, name, version, status, created_at)
       SELECT 'old-' || g, 'e', 'report', 'v1', CASE WHEN g % 10 = 0 THEN 'Running' ELSE 'Completed' END, now() - interval '2 days'
         FROM generate_series(1, 2500) g`,
    );
    await adminQuery(
      `INSERT INTO "${schema}".history (instance_id, execution_id, seq, kind, event)
       SELECT 'old-' || g, 'e', 0, 'ExecutionStarted', '{}' FROM generate_series(1, 2500) g`,
    );
    await start(store, 'fresh');
    await finish(store, 'fresh');
    const cutoff = new Date(Date.now() - 86_400_000);
    assert.equal(await store.purgeInstances({ createdTo: cutoff }), 2250, 'the running tenth is skipped');
    const left = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".instances WHERE instance_id LIKE 'old-%'`);
    assert.equal(Number(left.rows[0]?.n), 250);
    const orphans = await adminQuery(`SELECT 1 FROM "${schema}".history h WHERE NOT EXISTS (SELECT 1 FROM "${schema}".instances i WHERE i.instance_id = h.instance_id)`);
    assert.equal(orphans.rowCount, 0, 'no history outlives its instance');
    assert.ok(await store.getInstance('fresh', false), 'outside the filter');
  });
});

test('a recursive purge by filter also takes the finished children of what it matches', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'p', null, 'batch');
    const parent = await claimOne(store);
    await commit(store, turnFor(parent, { subOrchestrations: [{ instanceId: 'p:1', name: 'part', version: V1, parentTaskId: 1 }] }));
    await finish(store, 'p:1');
    await finish(store, 'p');
    assert.equal(await store.purgeInstances({ name: 'batch', recursive: true }), 2);
    assert.equal(await store.getInstance('p:1', false), undefined);
  });
});

test('a purge by completion time keeps an instance that was created long ago but finished just now', async () => {
  await withHub(async ({ store, schema }) => {
    for (const id of ['long-runner', 'done-long-ago']) {
      await start(store, id);
      await finish(store, id);
    }
    // Both were created three days ago; only one also finished then.
    await adminQuery(`UPDATE "${schema}".instances SET created_at = now() - interval '3 days'`);
    await adminQuery(`UPDATE "${schema}".instances SET completed_at = now() - interval '3 days' WHERE instance_id = 'done-long-ago'`);
    const cutoff = new Date(Date.now() - 86_400_000);
    assert.equal(await store.purgeInstances({ createdTo: cutoff, completedTo: cutoff }), 1);
    assert.equal(await store.getInstance('done-long-ago', false), undefined, 'finished before the cutoff: purged');
    assert.ok(await store.getInstance('long-runner', false), 'finished after the cutoff: kept, however old');
  });
});
