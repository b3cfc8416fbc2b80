import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPostgresStore } from '../../../worker/src/store/index.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { sleep, V1 } from './helpers.ts';

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

test('a claim that meets a turn committed while it runs reads what that turn left, not its own older snapshot', async () => {
  await withHub(async ({ store, schema }) => {
    const S = `"${schema}"`;
    await store.createInstance({ instanceId: 'a', name: 'flow', version: V1, defaultVersion: V1 });
    await store.createInstance({ instanceId: 'x', name: 'flow', version: V1, defaultVersion: V1 });
    // 'a' comes first in the claim's order; updating it makes the claim pause before it reaches 'x'.
    await adminQuery(`UPDATE ${S}.instances SET next_visible_at = now() - interval '1 minute' WHERE instance_id = 'a'`);
    await adminQuery(
      `CREATE FUNCTION ${S}.slow_claim() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.instance_id = 'a' AND NEW.lock_token IS DISTINCT FROM OLD.lock_token THEN PERFORM pg_sleep(0.6); END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER slow_claim BEFORE UPDATE ON ${S}.instances FOR EACH ROW EXECUTE FUNCTION ${S}.slow_claim();`,
    );
    const exec = (await adminQuery<{ execution_id: string }>(`SELECT execution_id FROM ${S}.instances WHERE instance_id = 'x'`)).rows[0]!.execution_id;

    const claiming = store.claimOrchestrations(V1, 10, 30_000, 'w');
    await sleep(250);
    // Meanwhile a turn of 'x' commits (as a worker whose lease just ran out would): it consumes the start
    // message, appends history, and a new event arrives; 'x' stays due and unleased.
    await adminQuery(
      `WITH consumed AS (DELETE FROM ${S}.inbox WHERE instance_id = 'x' RETURNING id),
       appended AS (INSERT INTO ${S}.history (instance_id, execution_id, seq, kind, event)
                    VALUES ('x', $1, 0, 'OrchestratorStarted', '{"kind":"OrchestratorStarted","timestamp":"2026-01-01T00:00:00.000Z"}')),
       arrived AS (INSERT INTO ${S}.inbox (instance_id, event)
                   VALUES ('x', '{"kind":"EventRaised","timestamp":"2026-01-01T00:00:01.000Z","name":"later"}'))
       UPDATE ${S}.instances SET status = 'Running', updated_at = now() WHERE instance_id = 'x'`,
      [exec],
    );
    const items = await claiming;
    const x = items.find((i) => i.instanceId === 'x');
    assert.ok(x, "the claim took 'x' as it is after the turn");
    assert.equal(x.status, 'Running');
    assert.deepEqual(
      x.messages.map((m) => m.event.kind),
      ['EventRaised'],
      'the consumed start message is not handed out again, and the new event is',
    );
    assert.equal(x.historyOffset + x.history.length, 1, 'the history the turn appended is read');
  });
});
