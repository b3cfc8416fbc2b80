import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceAlreadyExistsError, PayloadTooLargeError, ValidationError } from '../../../worker/src/errors.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { claimOne, commit, start, turnFor, V1 } from './helpers.ts';

async function count(schema: string, table: string): Promise<number> {
  const r = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".${table}`);
  return Number(r.rows[0]?.n);
}

test('a new instance is Pending with its input, tags and an ExecutionStarted waiting in its inbox', async () => {
  await withHub(async ({ store }) => {
    const { version } = await store.createInstance({
      instanceId: 'order-1',
      name: 'checkout',
      defaultVersion: 'v7',
      input: '{"sku":"A"}',
      tags: { team: 'shop' },
    });
    assert.equal(version, 'v7', 'with no routing table the default version is used');
    const state = await store.getInstance('order-1', true);
    assert.equal(state?.status, 'Pending');
    assert.equal(state?.name, 'checkout');
    assert.equal(state?.input, '{"sku":"A"}');
    assert.deepEqual(state?.tags, { team: 'shop' });
    const item = await store.claimOrchestrations('v7', 10, 30_000, 'w1');
    assert.equal(item.length, 1);
    const started = item[0]?.messages[0]?.event;
    assert.equal(started?.kind, 'ExecutionStarted');
    assert.equal(started.kind === 'ExecutionStarted' && started.version, 'v7');
    assert.equal(started.kind === 'ExecutionStarted' && started.input, '{"sku":"A"}');
  });
});

test('creating an id that exists fails with InstanceAlreadyExistsError and changes nothing', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'dup', 1);
    await assert.rejects(start(store, 'dup', 2), InstanceAlreadyExistsError);
    assert.equal((await store.getInstance('dup', true))?.input, '1');
    assert.equal(await count(schema, 'inbox'), 1);
  });
});

test('reuseIfFinished replaces a finished instance with a fresh execution but refuses a running one', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'again', 1);
    const item = await claimOne(store);
    await commit(store, turnFor(item, { status: 'Completed', output: '"done"' }));
    await store.createInstance({ instanceId: 'again', name: 'flow', version: V1, defaultVersion: V1, input: '2', ifExists: 'reuseIfFinished' });
    const state = await store.getInstance('again', true);
    assert.equal(state?.status, 'Pending');
    assert.equal(state?.input, '2');
    assert.notEqual(state?.executionId, item.executionId);
    assert.deepEqual(await store.getHistory('again'), [], 'the old history is gone');
    await assert.rejects(
      store.createInstance({ instanceId: 'again', name: 'flow', version: V1, defaultVersion: V1, ifExists: 'reuseIfFinished' }),
      InstanceAlreadyExistsError,
    );
  });
});

test('invalid instance ids are refused with a message naming the field, before anything is written', async () => {
  await withHub(async ({ store, schema }) => {
    for (const bad of ['', '   ', 'a\nb', 'tab\there', 'nul\u0000', 'x'.repeat(257)]) {
      await assert.rejects(start(store, bad), (err: unknown) => {
        assert.ok(err instanceof ValidationError, `'${JSON.stringify(bad)}' should be refused`);
        assert.equal(err.field, 'instanceId');
        assert.match(err.message, /^instanceId: /);
        return true;
      });
    }
    await start(store, 'x'.repeat(256));
    await start(store, 'ünïcødé / with spaces:ok');
    assert.equal(await count(schema, 'instances'), 2);
  });
});

test('an oversize input is refused with PayloadTooLargeError and writes nothing', async () => {
  await withHub(
    async ({ store, schema }) => {
      const input = JSON.stringify('x'.repeat(2000));
      await assert.rejects(
        store.createInstance({ instanceId: 'big', name: 'flow', defaultVersion: V1, input }),
        (err: unknown) => {
          assert.ok(err instanceof PayloadTooLargeError);
          assert.equal(err.limitBytes, 1024);
          assert.equal(err.sizeBytes, Buffer.byteLength(input));
          return true;
        },
      );
      assert.equal(await count(schema, 'instances'), 0);
      assert.equal(await count(schema, 'inbox'), 0);
    },
    { maxPayloadBytes: 1024 },
  );
});

test('a scheduled start is not claimable before its time', async () => {
  await withHub(async ({ store }) => {
    const at = new Date(Date.now() + 1500).toISOString();
    await store.createInstance({ instanceId: 'later', name: 'flow', version: V1, defaultVersion: V1, scheduledStartTime: at });
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w1'), []);
    await new Promise((r) => setTimeout(r, 1600));
    const [item] = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    assert.equal(item?.messages[0]?.event.kind, 'ExecutionStarted');
  });
});

test('an event raised before a scheduled start waits for the start and arrives after ExecutionStarted', async () => {
  await withHub(async ({ store }) => {
    const at = new Date(Date.now() + 1000).toISOString();
    await store.createInstance({ instanceId: 'later', name: 'flow', version: V1, defaultVersion: V1, scheduledStartTime: at });
    await store.sendControl('later', { kind: 'raise', name: 'early', input: '1' });
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w1'), [], 'the raise does not start it early');
    await new Promise((r) => setTimeout(r, 1100));
    const item = await claimOne(store);
    assert.deepEqual(
      item.messages.map((m) => m.event.kind),
      ['ExecutionStarted', 'EventRaised'],
    );
  });
});

test('an unreachable database surfaces as DTK_STORE_UNAVAILABLE naming the host and port to check', async () => {
  const { createPostgresStore } = await import('../../../worker/src/store/index.ts');
  const store = createPostgresStore({ url: 'postgres://u:secret@127.0.0.1:1/hub', schema: 'nowhere' });
  try {
    await assert.rejects(store.getInstance('x', false), (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, 'DTK_STORE_UNAVAILABLE');
      assert.match((err as Error).message, /127\.0\.0\.1:1/);
      assert.doesNotMatch((err as Error).message, /secret/);
      return true;
    });
  } finally {
    await store.close();
  }
});
