import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, Task } from '../../../worker/src/orchestration/index.ts';
import { TaskFailedError } from '../../../worker/src/orchestration/failure.ts';
import type { Worker } from '../../../worker/src/worker.ts';
import { withRuntime } from './helpers.ts';

type Gen<T> = Generator<Task<unknown>, T, unknown>;

test('retries wait with exponential backoff on durable timers', async () => {
  let calls = 0;
  const register = (w: Worker) =>
    w
      .addActivity('flaky', async () => {
        calls++;
        if (calls < 4) throw new Error(`attempt ${calls} failed`);
        return 'ok';
      })
      .addOrchestrator('retrying', function* (ctx: OrchestrationContext): Gen<unknown> {
        return yield* ctx.callActivity('flaky', undefined, { retry: { maxAttempts: 5, firstRetryIntervalMs: 200, backoffCoefficient: 2 } });
      });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('retrying');
    const state = await client.waitForOrchestrationCompletion(id, { timeoutMs: 20000 });
    assert.equal(state.status, 'Completed');
    assert.equal(state.output, 'ok');
    const history = await client.getOrchestrationHistory(id);
    const timers = history.filter((e) => e.kind === 'TimerCreated');
    const delays = timers.map((t) => {
      const created = Date.parse(t.timestamp);
      return Date.parse(t.kind === 'TimerCreated' ? t.fireAt : '') - created;
    });
    assert.deepEqual(delays, [200, 400, 800], 'each retry waits first * 2^(attempt-1)');
    const failures = history.filter((e) => e.kind === 'TaskFailed');
    assert.equal(failures.length, 3);
    const fired = history.filter((e) => e.kind === 'TimerFired').map((e) => Date.parse(e.timestamp));
    const scheduled = timers.map((t) => Date.parse(t.kind === 'TimerCreated' ? t.fireAt : ''));
    fired.forEach((f, i) => assert.ok(f >= (scheduled[i] ?? 0), 'a timer never fires early'));
  });
});

test('an external event raised before the orchestration waits is not lost', async () => {
  const register = (w: Worker) =>
    w.addActivity('slow', async () => new Promise((r) => setTimeout(() => r('slept'), 500))).addOrchestrator(
      'late-waiter',
      function* (ctx: OrchestrationContext): Gen<unknown> {
        yield ctx.callActivity('slow');
        return yield* ctx.waitForExternalEvent('go');
      },
    );
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('late-waiter');
    await client.raiseEvent(id, 'go', { early: true });
    const state = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 });
    assert.deepEqual(state.output, { early: true });
  });
});

test('event versus timeout: whichever comes first wins, both ways', async () => {
  const register = (w: Worker) =>
    w.addOrchestrator('race', function* (ctx: OrchestrationContext, timeoutMs: number): Gen<unknown> {
      try {
        return yield* ctx.waitForExternalEvent('answer', timeoutMs);
      } catch (err) {
        return `timed out: ${err instanceof TaskFailedError}`;
      }
    });
  await withRuntime(register, async ({ client }) => {
    const fast = await client.scheduleNewOrchestration('race', 30000);
    await client.waitForOrchestrationStart(fast);
    await client.raiseEvent(fast, 'answer', 42);
    const slow = await client.scheduleNewOrchestration('race', 300);
    assert.equal((await client.waitForOrchestrationCompletion(fast)).output, 42);
    assert.equal((await client.waitForOrchestrationCompletion(slow)).output, 'timed out: true');
  });
});

test('continueAsNew carries unprocessed events into the next execution', async () => {
  const register = (w: Worker) =>
    w.addOrchestrator('counter', function* (ctx: OrchestrationContext, n: number): Gen<unknown> {
      const value = yield* ctx.waitForExternalEvent<number>('add');
      const total = n + value;
      if (total >= 6) return total;
      ctx.continueAsNew(total);
      return undefined;
    });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('counter', 0);
    // Three events at once: the first execution consumes one and must hand the other two on.
    for (const v of [1, 2, 3]) await client.raiseEvent(id, 'add', v);
    const state = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 });
    assert.equal(state.status, 'Completed');
    assert.equal(state.output, 6);
  });
});

test('a failing sub-orchestration surfaces its failure details to the parent', async () => {
  const register = (w: Worker) =>
    w
      .addActivity('explode', async () => {
        throw new RangeError('value out of range: 7');
      })
      .addOrchestrator('child', function* (ctx: OrchestrationContext): Gen<unknown> {
        return yield* ctx.callActivity('explode');
      })
      .addOrchestrator('parent', function* (ctx: OrchestrationContext): Gen<unknown> {
        try {
          yield ctx.callSubOrchestrator('child');
          return 'no failure?';
        } catch (err) {
          if (!(err instanceof TaskFailedError)) throw err;
          let d: TaskFailedError['details'] | undefined = err.details;
          const chain: string[] = [];
          while (d) {
            chain.push(`${d.errorType}: ${d.message}`);
            d = d.cause;
          }
          return chain;
        }
      });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('parent');
    const state = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 });
    const chain = state.output as string[];
    assert.ok(chain.some((line) => line.includes('RangeError: value out of range: 7')), JSON.stringify(chain));
  });
});

test('recursive terminate stops the parent and its running children', async () => {
  const register = (w: Worker) =>
    w
      .addOrchestrator('sleeper', function* (ctx: OrchestrationContext): Gen<unknown> {
        yield ctx.createTimer(60000);
        return 'woke';
      })
      .addOrchestrator('tree', function* (ctx: OrchestrationContext): Gen<unknown> {
        yield ctx.whenAll([ctx.callSubOrchestrator('sleeper', undefined, { instanceId: `${ctx.instanceId}-a` }), ctx.callSubOrchestrator('sleeper', undefined, { instanceId: `${ctx.instanceId}-b` })]);
        return 'done';
      });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('tree', undefined, { instanceId: 'tree-1' });
    await client.waitForOrchestrationStart('tree-1-a');
    await client.waitForOrchestrationStart('tree-1-b');
    await client.terminateOrchestration(id, { output: 'stop', recursive: true });
    for (const i of [id, 'tree-1-a', 'tree-1-b']) {
      const s = await client.waitForOrchestrationCompletion(i, { timeoutMs: 10000 });
      assert.equal(s.status, 'Terminated', i);
    }
  });
});

test('suspend stops progress and resume continues', async () => {
  const register = (w: Worker) =>
    w.addOrchestrator('steps', function* (ctx: OrchestrationContext): Gen<unknown> {
      const a = yield* ctx.waitForExternalEvent<string>('step');
      const b = yield* ctx.waitForExternalEvent<string>('step');
      return [a, b];
    });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('steps');
    await client.waitForOrchestrationStart(id);
    await client.suspendOrchestration(id, 'maintenance');
    await client.store.waitForInstance(id, (s) => s.status === 'Suspended', 5000, false);
    await client.raiseEvent(id, 'step', 'one');
    await client.raiseEvent(id, 'step', 'two');
    await new Promise((r) => setTimeout(r, 700));
    const paused = await client.getOrchestrationState(id);
    assert.equal(paused?.status, 'Suspended', 'no progress while suspended');
    await client.resumeOrchestration(id);
    const done = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 });
    assert.deepEqual(done.output, ['one', 'two']);
  });
});

test('waitForOrchestrationCompletion returns within 100 ms of completion', async () => {
  const register = (w: Worker) =>
    w.addOrchestrator('gate', function* (ctx: OrchestrationContext): Gen<unknown> {
      yield ctx.waitForExternalEvent('open');
      return 'open';
    });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('gate');
    await client.waitForOrchestrationStart(id);
    const waiting = client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 }).then((s) => ({ s, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 300));
    await client.raiseEvent(id, 'open');
    const { s, at } = await waiting;
    const lag = at - (s.completedAt?.getTime() ?? 0);
    assert.equal(s.status, 'Completed');
    assert.ok(lag < 100, `wait returned ${lag} ms after completion`);
  });
});

test('a timer firing after completion leaves the result and completion time alone', async () => {
  const register = (w: Worker) =>
    w.addOrchestrator('first-wins', function* (ctx: OrchestrationContext): Gen<unknown> {
      const winner = yield* ctx.whenAny<unknown>([ctx.waitForExternalEvent('go'), ctx.createTimer(400)]);
      return winner.isComplete ? 'event' : 'timer';
    });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('first-wins');
    await client.waitForOrchestrationStart(id);
    await client.raiseEvent(id, 'go');
    const done = await client.waitForOrchestrationCompletion(id);
    assert.equal(done.output, 'event');
    await new Promise((r) => setTimeout(r, 900)); // the losing timer fires and is dropped
    const later = await client.getOrchestrationState(id);
    assert.equal(later?.status, 'Completed');
    assert.equal(later?.output, 'event');
    assert.equal(later?.completedAt?.getTime(), done.completedAt?.getTime());
  });
});
