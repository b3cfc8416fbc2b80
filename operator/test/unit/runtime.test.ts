import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { setCondition } from '../../src/crds/conditions.ts';
import type { Condition } from '../../src/crds/conditions.ts';
import { Registry } from '../../src/runtime/metrics.ts';
import { WorkQueue } from '../../src/runtime/queue.ts';
import { done, requeueAfter, sooner } from '../../src/runtime/result.ts';
import { jsonEqual, mergePatch } from '../../src/runtime/status.ts';

describe('the work queue', () => {
  it('runs a key queued many times once', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(await q.get(), 'ns/b');
  });

  it('never hands out a key that is being processed, and runs it again after when it was added meanwhile', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    assert.equal(q.length, 0, 'a key in progress is not queued a second time');
    q.done(key ?? '');
    assert.equal(q.length, 1, 'the key added while processing runs again');
    assert.equal(await q.get(), 'ns/a');
  });

  it('keeps the earliest of several delayed adds, and an immediate add wins over a delay', async () => {
    const q = new WorkQueue();
    q.addAfter('ns/a', 5_000);
    q.addAfter('ns/a', 20);
    q.addAfter('ns/a', 10_000);
    await sleep(60);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'ns/a');
    q.done('ns/a');
    q.addAfter('ns/b', 10_000);
    q.add('ns/b');
    assert.equal(await q.get(), 'ns/b');
    q.shutDown();
  });

  it('backs off exponentially per key up to the maximum, and forgets on success', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = [1, 2, 3, 4, 5].map(() => q.addRateLimited('ns/a'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000]);
    assert.equal(q.addRateLimited('ns/b'), 100, 'back-off is per key');
    q.forget('ns/a');
    assert.equal(q.addRateLimited('ns/a'), 100);
    q.shutDown();
  });

  it('wakes waiting workers with undefined on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('ns/a');
    assert.equal(q.length, 0, 'nothing is queued after shutdown');
  });
});

describe('reconcile results', () => {
  it('picks the sooner requeue, treating done as never', () => {
    assert.deepEqual(sooner(done, requeueAfter(500)), { requeueAfterMs: 500 });
    assert.deepEqual(sooner(requeueAfter(200), requeueAfter(500)), { requeueAfterMs: 200 });
    assert.equal(sooner(done, done), done);
  });
});

describe('status transactions', () => {
  it('builds a merge patch that removes dropped keys with null and replaces arrays whole', () => {
    const before = { a: 1, b: { c: 2, d: 3 }, list: [1, 2], gone: 'x' };
    const after = { a: 1, b: { c: 2, d: 4 }, list: [1], added: true };
    assert.deepEqual(mergePatch(before, after), { b: { d: 4 }, list: [1], gone: null, added: true });
    assert.equal(mergePatch(before, structuredClone(before)), undefined, 'equal values need no write');
  });

  it('compares JSON regardless of key order', () => {
    assert.ok(jsonEqual({ a: 1, b: [{ x: 1, y: 2 }] }, { b: [{ y: 2, x: 1 }], a: 1 }));
    assert.ok(!jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
  });

  it('moves a condition transition time only when its status changes', () => {
    const conditions: Condition[] = [];
    setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating the role' }, new Date('2025-01-01T00:00:00Z'));
    setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Migrating', message: 'applying migrations' }, new Date('2025-01-01T00:01:00Z'));
    assert.equal(conditions[0]?.lastTransitionTime, '2025-01-01T00:00:00.000Z');
    assert.equal(conditions[0]?.reason, 'Migrating');
    setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Ready', message: 'hub ready' }, new Date('2025-01-01T00:02:00Z'));
    assert.equal(conditions[0]?.lastTransitionTime, '2025-01-01T00:02:00.000Z');
    assert.equal(conditions.length, 1);
  });
});

describe('the metrics registry', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const r = new Registry();
    const c = r.counter('dtk_test_total', 'Things.');
    c.inc({ controller: 'taskhub', result: 'done' });
    c.inc({ result: 'done', controller: 'taskhub' }, 2);
    const g = r.gauge('dtk_test_versions', 'Versions.');
    g.collect(() => [{ labels: { state: 'Draining', name: 'a"b' }, value: 1 }]);
    const h = r.histogram('dtk_test_seconds', 'Durations.', [0.1, 1]);
    h.observe({}, 0.05);
    h.observe({}, 0.5);
    h.observe({}, 5);
    assert.equal(
      r.render(),
      [
        '# HELP dtk_test_total Things.',
        '# TYPE dtk_test_total counter',
        'dtk_test_total{controller="taskhub",result="done"} 3',
        '# HELP dtk_test_versions Versions.',
        '# TYPE dtk_test_versions gauge',
        'dtk_test_versions{state="Draining",name="a\\"b"} 1',
        '# HELP dtk_test_seconds Durations.',
        '# TYPE dtk_test_seconds histogram',
        'dtk_test_seconds_bucket{le="0.1"} 1',
        'dtk_test_seconds_bucket{le="1"} 2',
        'dtk_test_seconds_bucket{le="+Inf"} 3',
        'dtk_test_seconds_sum 5.55',
        'dtk_test_seconds_count 3',
        '',
      ].join('\n'),
    );
  });

  it('refuses a metric registered twice', () => {
    const r = new Registry();
    r.counter('x_total', 'x');
    assert.throws(() => r.gauge('x_total', 'x'), /registered twice/);
  });
});
