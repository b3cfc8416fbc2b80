/**
 * Rewinding a Failed instance: the failure that ended it is undone, the failed work runs again, and the
 * orchestration continues as if it had never failed. Work that had succeeded is not repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceNotFoundError, InvalidInstanceStateError } from '../../../worker/src/errors.ts';
import type { OrchestrationContext, Task } from '../../../worker/src/orchestration/index.ts';
import type { Worker } from '../../../worker/src/worker.ts';
import { adminQuery, type TestHub } from '../../harness/postgres.ts';
import { checkInvariants, describeViolations, installAudit, type AuditedHub } from '../../faults/invariants.ts';
import { withRuntime, type RuntimeFixture } from './helpers.ts';

type Gen<T> = Generator<Task<unknown>, T, unknown>;

/** Runs per activity call key, so each story can say what ran how often. */
const runs = new Map<string, number>();
const ran = (key: string) => runs.get(key) ?? 0;
/** Counts a run; true on the first one. */
function firstRun(key: string): boolean {
  runs.set(key, ran(key) + 1);
  return ran(key) === 1;
}

const register = (w: Worker) =>
  w
    .addActivity('step', async (_ctx, input: { n: number; value: string; failFirst?: boolean }) => {
      if (firstRun(`step${input.n}`) && input.failFirst) throw new Error(`step ${input.n} hit a flaky backend`);
      return `${input.value}>${input.n}`;
    })
    .addActivity('work', async (_ctx, input: { item: number; failFirst: boolean }) => {
      const first = firstRun(`work${input.item}`);
      if (first && input.failFirst) {
        // Fail after the others have finished, so their results are recorded before the instance fails.
        await new Promise((resolve) => setTimeout(resolve, 400));
        throw new Error(`item ${input.item} failed`);
      }
      return input.item * 10;
    })
    .addOrchestrator('chain', function* (ctx: OrchestrationContext, start: string): Gen<string> {
      const a = (yield ctx.callActivity('step', { n: 1, value: start })) as string;
      const b = (yield ctx.callActivity('step', { n: 2, value: a, failFirst: true })) as string;
      return (yield ctx.callActivity('step', { n: 3, value: b })) as string;
    })
    .addOrchestrator('fanOut', function* (ctx: OrchestrationContext): Gen<number> {
      const tasks = [0, 1, 2, 3, 4].map((item) => ctx.callActivity<number>('work', { item, failFirst: item === 1 || item === 3 }));
      const results = (yield ctx.whenAll(tasks)) as number[];
      return results.reduce((sum, x) => sum + x, 0);
    })
    .addOrchestrator('child', function* (ctx: OrchestrationContext, value: string): Gen<string> {
      return (yield ctx.callActivity('step', { n: 7, value, failFirst: true })) as string;
    })
    .addOrchestrator('parent', function* (ctx: OrchestrationContext): Gen<string> {
      const fromChild = (yield ctx.callSubOrchestrator('child', 'p', { instanceId: `${ctx.instanceId}-child` })) as string;
      return `parent got ${fromChild}`;
    })
    .addOrchestrator('alwaysThrows', function* (ctx: OrchestrationContext): Gen<never> {
      yield ctx.callActivity('step', { n: 9, value: 'x' });
      throw new Error('the code itself is broken');
    })
    .addOrchestrator('waits', function* (ctx: OrchestrationContext): Gen<unknown> {
      return yield ctx.waitForExternalEvent('never');
    })
    .addOrchestrator('tellsThenThrows', function* (ctx: OrchestrationContext, target: string): Gen<never> {
      yield ctx.callActivity('step', { n: 8, value: 'x' });
      ctx.sendEvent(target, 'heads-up', 'sent before failing');
      throw new Error('failed after telling someone');
    });

/** A runtime on an audited hub: the fault tests' invariant checker can judge it afterwards. */
async function withAuditedRuntime(body: (f: RuntimeFixture, audit: AuditedHub) => Promise<void>): Promise<void> {
  runs.clear();
  await withRuntime(undefined, async (f) => {
    const audit = auditOf(f.hub);
    await installAudit(audit);
    await f.startWorker(register);
    await body(f, audit);
  });
}

function auditOf(hub: TestHub): AuditedHub {
  return { S: `"${hub.schema}"`, sql: (text, values) => adminQuery(text, values) };
}

async function expectInvariants(audit: AuditedHub): Promise<void> {
  const report = await checkInvariants(audit);
  assert.deepEqual(report.violations, [], describeViolations(report));
}

async function storedSeqs(hub: TestHub, instanceId: string): Promise<number[]> {
  const r = await adminQuery<{ seq: number }>(
    `SELECT h.seq FROM "${hub.schema}".history h JOIN "${hub.schema}".instances i USING (instance_id, execution_id)
      WHERE h.instance_id = $1 ORDER BY h.seq`,
    [instanceId],
  );
  return r.rows.map((row) => row.seq);
}

test('a chain whose second activity failed once is rewound and completes; only the failed activity runs again', async () => {
  await withAuditedRuntime(async ({ client, hub }, audit) => {
    const id = await client.scheduleNewOrchestration('chain', 'go');
    const failed = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(failed.status, 'Failed');
    assert.match(failed.failure?.message ?? '', /step 2 hit a flaky backend/);

    assert.deepEqual(await client.rewindOrchestration(id, { reason: 'backend is back' }), [id]);
    const done = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(done.status, 'Completed');
    assert.equal(done.output, 'go>1>2>3');
    assert.equal(done.failure, undefined, 'the failure is cleared');
    assert.deepEqual([ran('step1'), ran('step2'), ran('step3')], [1, 2, 1]);

    const history = await client.getOrchestrationHistory(id);
    const completed = history.flatMap((e) => (e.kind === 'TaskCompleted' ? [e.taskScheduledId] : []));
    assert.deepEqual(completed, [0, 1, 2], 'one TaskCompleted per task');
    assert.equal(history.filter((e) => e.kind === 'TaskFailed').length, 0, 'the undone failure left no trace');
    assert.equal(history.filter((e) => e.kind === 'ExecutionCompleted').length, 1);
    assert.deepEqual(await storedSeqs(hub, id), history.map((_, i) => i), 'history is contiguous from 0');
    await expectInvariants(audit);
  });
});

test('a fan-out where two of five activities failed is rewound; each failed one runs again, the others do not', async () => {
  await withAuditedRuntime(async ({ client }, audit) => {
    const id = await client.scheduleNewOrchestration('fanOut');
    assert.equal((await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 })).status, 'Failed');
    // Let the second failure arrive too (it is dropped by the Failed instance, or still waiting in its inbox).
    await new Promise((resolve) => setTimeout(resolve, 600));

    await client.rewindOrchestration(id);
    const done = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(done.status, 'Completed');
    assert.equal(done.output, 100);
    assert.deepEqual([0, 1, 2, 3, 4].map((item) => ran(`work${item}`)), [1, 2, 1, 2, 1]);
    const history = await client.getOrchestrationHistory(id);
    assert.equal(history.filter((e) => e.kind === 'TaskCompleted').length, 5);
    assert.equal(history.filter((e) => e.kind === 'TaskFailed').length, 0);
    await expectInvariants(audit);
  });
});

test('rewinding a parent that failed because its sub-orchestration failed rewinds the child too; both complete', async () => {
  await withAuditedRuntime(async ({ client }, audit) => {
    const id = await client.scheduleNewOrchestration('parent', undefined, { instanceId: 'order-7' });
    assert.equal((await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 })).status, 'Failed');
    assert.equal((await client.getOrchestrationState('order-7-child'))?.status, 'Failed');

    assert.deepEqual(await client.rewindOrchestration(id), ['order-7', 'order-7-child']);
    const done = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(done.status, 'Completed');
    assert.equal(done.output, 'parent got p>7');
    const child = await client.getOrchestrationState('order-7-child');
    assert.equal(child?.status, 'Completed');
    assert.equal(child?.output, 'p>7');
    assert.equal(ran('step7'), 2);
    const parentHistory = await client.getOrchestrationHistory(id);
    assert.deepEqual(
      parentHistory.filter((e) => e.kind.startsWith('SubOrchestrationInstance')).map((e) => e.kind),
      ['SubOrchestrationInstanceCreated', 'SubOrchestrationInstanceCompleted'],
    );
    await expectInvariants(audit);
  });
});

test('an orchestrator that failed on its own runs its last turn again and fails again; finished work is not repeated', async () => {
  await withAuditedRuntime(async ({ client }) => {
    const id = await client.scheduleNewOrchestration('alwaysThrows');
    const first = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(first.status, 'Failed');

    await client.rewindOrchestration(id);
    const again = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(again.status, 'Failed');
    assert.match(again.failure?.message ?? '', /the code itself is broken/);
    assert.equal(ran('step9'), 1, 'the activity had completed; only the turn after it ran again');
    const history = await client.getOrchestrationHistory(id);
    assert.equal(history.filter((e) => e.kind === 'ExecutionCompleted').length, 1);
  });
});

test('a Running or Completed instance cannot be rewound and is left as it was; an unknown one is not found', async () => {
  await withRuntime(register, async ({ client }) => {
    runs.clear();
    const waiting = await client.scheduleNewOrchestration('waits');
    await client.waitForOrchestrationStart(waiting, { timeoutMs: 10_000 });
    const before = await client.getOrchestrationHistory(waiting);
    await assert.rejects(client.rewindOrchestration(waiting), (err: unknown) => {
      assert.ok(err instanceof InvalidInstanceStateError);
      assert.equal(err.code, 'DTK_INVALID_STATE');
      assert.match(err.message, /it is Running/);
      return true;
    });
    assert.equal((await client.getOrchestrationState(waiting))?.status, 'Running');
    assert.deepEqual(await client.getOrchestrationHistory(waiting), before);

    runs.set('step2', 1); // the flaky step has had its failure already: the chain completes
    const done = await client.scheduleNewOrchestration('chain', 'ok');
    const completed = await client.waitForOrchestrationCompletion(done, { timeoutMs: 10_000 });
    assert.equal(completed.status, 'Completed');
    const historyBefore = await client.getOrchestrationHistory(done);
    await assert.rejects(client.rewindOrchestration(done), /it is Completed/);
    const after = await client.getOrchestrationState(done);
    assert.equal(after?.status, 'Completed');
    assert.equal(after?.output, 'ok>1>2>3');
    assert.deepEqual(await client.getOrchestrationHistory(done), historyBefore);

    await assert.rejects(client.rewindOrchestration('no-such-instance'), InstanceNotFoundError);
  });
});

test('an instance whose failing turn also sent an event is not rewound (the event cannot be taken back), and is left as it was', async () => {
  await withRuntime(register, async ({ client }) => {
    runs.clear();
    const listener = await client.scheduleNewOrchestration('waits');
    await client.waitForOrchestrationStart(listener, { timeoutMs: 10_000 });
    const id = await client.scheduleNewOrchestration('tellsThenThrows', listener);
    const failed = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(failed.status, 'Failed');
    const historyBefore = await client.getOrchestrationHistory(id);
    await assert.rejects(client.rewindOrchestration(id), (err: unknown) => {
      assert.ok(err instanceof InvalidInstanceStateError);
      assert.match(err.message, /sent events, which a rewind cannot take back; use restart/);
      return true;
    });
    assert.equal((await client.getOrchestrationState(id))?.status, 'Failed');
    assert.deepEqual(await client.getOrchestrationHistory(id), historyBefore);
  });
});
