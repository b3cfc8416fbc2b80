import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPostgresStore } from '../../../worker/src/store/index.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { V1 } from './helpers.ts';

/** Starts `n` instances in one statement (the store's createInstance is not under test here). */
async function seed(schema: string, n: number): Promise<void> {
  await adminQuery(
    `WITH ids AS (SELECT 'i-' || g AS id, gen_random_uuid()::text AS exec FROM generate_series(1, $1) g),
     inst AS (INSERT INTO "${schema}".instances (instance_id, execution_id, name, version, status, next_visible_at)
              SELECT id, exec, 'flow', $2, 'Pending', now() FROM ids)
     INSERT INTO "${schema}".inbox (instance_id, execution_id, event)
     SELECT id, exec, json_build_object('kind', 'ExecutionStarted', 'timestamp', now(), 'name', 'flow', 'version', $2,
                                        'instanceId', id, 'executionId', exec)::text FROM ids`,
    [n, V1],
  );
}

test('two claimers racing for the same instances never get the same one', async () => {
  await withHub(async ({ store, schema }) => {
    await seed(schema, 20);
    const [a, b] = await Promise.all([
      store.claimOrchestrations(V1, 20, 30_000, 'a'),
      store.claimOrchestrations(V1, 20, 30_000, 'b'),
    ]);
    const ids = [...a, ...b].map((i) => i.instanceId);
    assert.equal(new Set(ids).size, ids.length, 'no instance was handed out twice');
    const left = await store.claimOrchestrations(V1, 20, 30_000, 'c');
    assert.equal(ids.length + left.length, 20, 'every instance is claimed by exactly one claimer');
  });
});

test('eight concurrent claimers over 500 instances claim each exactly once', async () => {
  await withHub(async ({ url, schema }) => {
    await seed(schema, 500);
    // Separate stores (separate pools), as separate worker pods would have.
    const stores = Array.from({ length: 8 }, () => createPostgresStore({ url, schema, poolSize: 2 }));
    try {
      const seen = new Map<string, string>();
      await Promise.all(
        stores.map(async (s, n) => {
          for (;;) {
            const items = await s.claimOrchestrations(V1, 7, 60_000, `w${n}`);
            if (items.length === 0) return;
            for (const item of items) {
              assert.equal(seen.has(item.instanceId), false, `${item.instanceId} claimed twice`);
              seen.set(item.instanceId, `w${n}`);
              assert.equal(item.messages[0]?.event.kind, 'ExecutionStarted');
            }
          }
        }),
      );
      assert.equal(seen.size, 500);
      assert.ok(new Set(seen.values()).size > 1, 'the work was spread over several claimers');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
