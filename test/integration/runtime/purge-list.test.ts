import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, Task } from '../../../worker/src/orchestration/index.ts';
import type { Worker } from '../../../worker/src/worker.ts';
import { withRuntime } from './helpers.ts';

const register = (w: Worker) =>
  w
    .addOrchestrator('quick', function* (_ctx: OrchestrationContext, n: number): Generator<Task<unknown>, unknown, unknown> {
      if (n % 3 === 0) throw new Error(`bad ${n}`);
      return n;
    })
    .addOrchestrator('parked', function* (ctx: OrchestrationContext): Generator<Task<unknown>, unknown, unknown> {
      yield ctx.waitForExternalEvent('never');
      return 'x';
    });

test('purge by filter removes only finished instances that match, with their history', async () => {
  await withRuntime(register, async ({ client }) => {
    const ids: string[] = [];
    for (let n = 1; n <= 9; n++) ids.push(await client.scheduleNewOrchestration('quick', n, { instanceId: `q-${n}` }));
    const running = await client.scheduleNewOrchestration('parked', undefined, { instanceId: 'q-parked' });
    for (const id of ids) await client.waitForOrchestrationCompletion(id);
    await client.waitForOrchestrationStart(running);

    const purgedFailed = await client.purgeOrchestrations({ statuses: ['Failed'] });
    assert.equal(purgedFailed, 3);
    const purgedRest = await client.purgeOrchestrations({ instanceIdPrefix: 'q-', createdTo: new Date(Date.now() + 1000) });
    assert.equal(purgedRest, 6, 'the running instance is skipped');
    const left = (await client.listInstances({})).instances.map((s) => s.instanceId);
    assert.deepEqual(left, ['q-parked']);
    assert.deepEqual(await client.getOrchestrationHistory('q-1'), []);
  });
});

test('list filters and pages through 1,000 instances without gaps or repeats', async () => {
  await withRuntime(undefined, async ({ client }) => {
    // No worker: instances stay Pending, so the set is stable while we page.
    for (let i = 0; i < 1000; i++) {
      await client.scheduleNewOrchestration(i % 2 ? 'odd' : 'even', i, { instanceId: `item-${String(i).padStart(4, '0')}`, version: i < 500 ? 'v1' : 'v2' });
    }
    const seen = new Set<string>();
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.listInstances({ pageSize: 128, continuationToken: token });
      for (const s of page.instances) {
        assert.ok(!seen.has(s.instanceId), `repeat ${s.instanceId}`);
        seen.add(s.instanceId);
      }
      token = page.continuationToken;
      pages++;
    } while (token);
    assert.equal(seen.size, 1000);
    assert.equal(pages, 8);
    let odd = 0;
    for await (const s of client.listAllInstances({ name: 'odd', version: 'v2', pageSize: 100 })) {
      assert.equal(s.name, 'odd');
      assert.equal(s.version, 'v2');
      odd++;
    }
    assert.equal(odd, 250);
    const prefixed = await client.listInstances({ instanceIdPrefix: 'item-09', pageSize: 1000 });
    assert.equal(prefixed.instances.length, 100);
    const pending = await client.listInstances({ statuses: ['Pending'], pageSize: 1000 });
    assert.equal(pending.instances.length, 1000);
  });
});
