import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceNotFoundError, InvalidInstanceStateError, PayloadTooLargeError } from '../../../worker/src/errors.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { claimOne, commit, kinds, start, turnFor } from './helpers.ts';

test('an event raised before the first claim is delivered with the start, in order', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'i1');
    assert.equal(await store.sendControl('i1', { kind: 'raise', name: 'approve', input: 'true' }), true);
    const item = await claimOne(store);
    assert.deepEqual(kinds(item.messages.map((m) => m.event)), ['ExecutionStarted', 'EventRaised']);
  });
});

test('a repeated raise with the same idempotency key is a no-op, even after the first was consumed', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'i1');
    const raise = { kind: 'raise', name: 'pay', input: '1', idempotencyKey: 'req-17' } as const;
    assert.equal(await store.sendControl('i1', raise), true);
    assert.equal(await store.sendControl('i1', raise), false);
    const item = await claimOne(store);
    await commit(store, turnFor(item));
    assert.equal(await store.sendControl('i1', raise), false, 'still deduplicated after delivery');
    assert.equal((await adminQuery(`SELECT * FROM "${schema}".inbox`)).rowCount, 0);
    assert.equal(await store.sendControl('i1', { ...raise, idempotencyKey: 'req-18' }), true);
  });
});

test('suspend, resume and terminate arrive as their history events', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'i1');
    await commit(store, turnFor(await claimOne(store)));
    await store.sendControl('i1', { kind: 'suspend', reason: 'maintenance' });
    await store.sendControl('i1', { kind: 'resume' });
    await store.sendControl('i1', { kind: 'terminate', reason: '"stop"', recurse: true });
    const events = (await claimOne(store)).messages.map((m) => m.event);
    assert.deepEqual(kinds(events), ['ExecutionSuspended', 'ExecutionResumed', 'ExecutionTerminated']);
    assert.equal(events[0]?.kind === 'ExecutionSuspended' && events[0].reason, 'maintenance');
    assert.deepEqual(events[2]?.kind === 'ExecutionTerminated' && [events[2].reason, events[2].recurse], ['"stop"', true]);
    assert.equal((await store.getInstance('i1', false))?.status, 'Running', 'the status changes only when a worker processes it');
  });
});

test('terminating an instance scheduled for later takes effect now, together with its start', async () => {
  await withHub(async ({ store }) => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    await store.createInstance({ instanceId: 'later', name: 'flow', version: 'v1', defaultVersion: 'v1', scheduledStartTime: at });
    await store.sendControl('later', { kind: 'terminate', reason: '"no"' });
    const item = await claimOne(store);
    assert.deepEqual(kinds(item.messages.map((m) => m.event)), ['ExecutionStarted', 'ExecutionTerminated']);
  });
});

test('control messages to an unknown instance fail with InstanceNotFoundError', async () => {
  await withHub(async ({ store }) => {
    await assert.rejects(store.sendControl('ghost', { kind: 'raise', name: 'x' }), InstanceNotFoundError);
    await assert.rejects(store.sendControl('ghost', { kind: 'terminate' }), InstanceNotFoundError);
  });
});

test('a finished instance refuses raise, suspend and resume; terminating it is a no-op', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'done');
    await commit(store, turnFor(await claimOne(store), { status: 'Completed' }));
    for (const op of [{ kind: 'raise', name: 'x' }, { kind: 'suspend' }, { kind: 'resume' }] as const) {
      await assert.rejects(store.sendControl('done', op), (err: unknown) => {
        assert.ok(err instanceof InvalidInstanceStateError);
        assert.match(err.message, /it is Completed/);
        return true;
      });
    }
    assert.equal(await store.sendControl('done', { kind: 'terminate' }), false);
    assert.equal((await adminQuery(`SELECT * FROM "${schema}".inbox`)).rowCount, 0);
  });
});

test('an oversize event payload is refused before it is written', async () => {
  await withHub(
    async ({ store, schema }) => {
      await start(store, 'i1');
      await assert.rejects(store.sendControl('i1', { kind: 'raise', name: 'big', input: JSON.stringify('y'.repeat(600)) }), PayloadTooLargeError);
      assert.equal((await adminQuery(`SELECT * FROM "${schema}".inbox`)).rowCount, 1, 'only the start message');
    },
    { maxPayloadBytes: 512 },
  );
});
