import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError } from '../../../worker/src/errors.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { claimOne, commit, sleep, start, turnFor, V1 } from './helpers.ts';

// A poll interval far longer than the waits measured below: only a notification can explain a quick wake.
const SLOW_POLL = { pollIntervalMs: 5_000 };

test('waitForInstance wakes on the status notification, well before the poll interval', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'i1');
    const item = await claimOne(store);
    const began = Date.now();
    const waiting = store.waitForInstance('i1', (s) => s.status === 'Completed', 10_000, true);
    await sleep(300);
    await commit(store, turnFor(item, { status: 'Completed', output: '"yes"' }));
    const state = await waiting;
    const took = Date.now() - began;
    assert.equal(state.output, '"yes"');
    assert.ok(took < 1_500, `woke after ${took} ms; the poll interval is 5000 ms`);
  }, SLOW_POLL);
});

test('waitForInstance gives up with TimeoutError naming the status it saw', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'stuck');
    await assert.rejects(store.waitForInstance('stuck', (s) => s.status === 'Completed', 300, false), (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.match(err.message, /it is Pending/);
      return true;
    });
  });
});

test('waitForWork wakes when an instance is started, well before the poll interval', async () => {
  await withHub(async ({ store }) => {
    const began = Date.now();
    const waiting = store.waitForWork('orchestration', V1, 5_000);
    await sleep(300);
    await start(store, 'new');
    await waiting;
    const took = Date.now() - began;
    assert.ok(took < 1_500, `woke after ${took} ms`);
  }, SLOW_POLL);
});

test('waitForWork for activities wakes when a turn schedules one', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'i1');
    const item = await claimOne(store);
    const began = Date.now();
    const waiting = store.waitForWork('activity', V1, 5_000);
    await sleep(300);
    await commit(store, turnFor(item, { activities: [{ taskId: 0, name: 'a', version: V1 }] }));
    await waiting;
    assert.ok(Date.now() - began < 1_500);
  }, SLOW_POLL);
});

test('waitForWork ignores other versions', async () => {
  await withHub(async ({ store }) => {
    const began = Date.now();
    const waiting = store.waitForWork('orchestration', 'v9', 1_000);
    await sleep(100);
    await start(store, 'other-version');
    await waiting;
    assert.ok(Date.now() - began >= 950, 'a v1 start does not wake a v9 worker');
  }, SLOW_POLL);
});

test('waitForWork wakes when a timer falls due, with no notification at all', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'sleepy');
    const item = await claimOne(store);
    await commit(store, turnFor(item, { timers: [{ timerId: 1, fireAt: new Date(Date.now() + 600).toISOString() }] }));
    const began = Date.now();
    await store.waitForWork('orchestration', V1, 5_000);
    const took = Date.now() - began;
    assert.ok(took >= 400 && took < 1_500, `woke after ${took} ms`);
    assert.equal((await claimOne(store)).messages[0]?.event.kind, 'TimerFired');
  }, SLOW_POLL);
});

test('waitForWork returns at once when its signal is aborted', async () => {
  await withHub(async ({ store }) => {
    const stop = new AbortController();
    const began = Date.now();
    const waiting = store.waitForWork('orchestration', V1, 5_000, stop.signal);
    await sleep(50);
    stop.abort();
    await waiting;
    assert.ok(Date.now() - began < 1_000);
  }, SLOW_POLL);
});

test('when the LISTEN connection dies, waits fall back to polling and notifications resume after reconnecting', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'a');
    const first = await claimOne(store);
    const waiting = store.waitForInstance('a', (s) => s.status === 'Completed', 10_000, false);
    await sleep(200);
    const killed = await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1`, [`LISTEN "${schema}_%`]);
    assert.ok((killed.rowCount ?? 0) >= 1, 'the listener connection was found and terminated');
    await commit(store, turnFor(first, { status: 'Completed' }));
    await waiting; // by polling (interval 1000 ms here) or by the reconnected listener
    // After the back-off the listener is back: a later change wakes a waiter quickly again.
    await sleep(1_500);
    await start(store, 'b');
    const second = await claimOne(store);
    const began = Date.now();
    const again = store.waitForInstance('b', (s) => s.status === 'Completed', 10_000, false);
    await sleep(100);
    await commit(store, turnFor(second, { status: 'Completed' }));
    await again;
    assert.ok(Date.now() - began < 900, 'woken by a notification, not the 1000 ms poll');
  }, { pollIntervalMs: 1_000 });
});

test('a waiter reads the instance again only when a notification carries a status it waits for', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'w');
    let reads = 0;
    const read = store.getInstance.bind(store);
    store.getInstance = (id, withPayloads) => {
      reads++;
      return read(id, withPayloads);
    };
    const terminal = (status: string) => ['Completed', 'Failed', 'Terminated'].includes(status);
    const waiting = store.waitForInstance('w', (s) => terminal(s.status), 10_000, true, terminal);
    await sleep(200);
    assert.equal(reads, 1, 'one read on subscribing');

    const first = await claimOne(store);
    await commit(store, turnFor(first, { status: 'Running' }));
    await sleep(300);
    assert.equal(reads, 1, 'the Running notification is not worth a read');

    // A sender that writes only the instance id (as earlier versions did) still wakes the waiter.
    await adminQuery(`SELECT pg_notify($1, 'w')`, [`${schema}_status`]);
    await sleep(300);
    assert.equal(reads, 2, 'a bare id wakes it');

    await store.sendControl('w', { kind: 'raise', name: 'go', input: undefined });
    const second = await claimOne(store);
    await commit(store, turnFor(second, { status: 'Completed', output: '1' }));
    const state = await waiting;
    assert.equal(state.status, 'Completed');
    assert.equal(reads, 3, 'the Completed notification is');
  }, SLOW_POLL);
});
