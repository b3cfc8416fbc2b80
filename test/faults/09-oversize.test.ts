/**
 * Scenario 9: payloads over the limits. An activity whose output is too large fails that activity
 * (non-retriable, so its retry policy does not run it again) with an error saying what to do; the
 * orchestration sees a TaskFailedError and carries on. A custom status over its limit fails the
 * instance with the reason. Nothing oversize is written, other instances are not held up, and the
 * hub stays consistent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveriesOf, expectInvariants, withFaultHub } from './harness.ts';
import type { Expectation } from './invariants.ts';

const LIMIT = 4096;

test('oversize activity output fails that activity once with a clear error; oversize custom status fails its instance; the rest carries on', async () => {
  await withFaultHub(
    async (hub, workers) => {
      await workers.spawn({ label: 'w' });
      const big = await hub.client.scheduleNewOrchestration(
        'bigOutput',
        { key: 'big', chars: LIMIT * 3 },
        { instanceId: 'big' },
      );
      const loud = await hub.client.scheduleNewOrchestration('chatty', { chars: 20_000 }, { instanceId: 'loud' });
      const quiet = await hub.client.scheduleNewOrchestration('chatty', { chars: 100 }, { instanceId: 'quiet' });
      const bystander = await hub.client.scheduleNewOrchestration(
        'chain',
        { key: 'by', steps: 2 },
        { instanceId: 'by' },
      );

      const bigDone = await hub.client.waitForOrchestrationCompletion(big, { timeoutMs: 15_000 });
      assert.equal(bigDone.status, 'Completed', 'the orchestration caught the failure and carried on');
      assert.match(
        String(bigDone.output),
        /caught: .*output of activity 'effect' is 12290 bytes, over the limit of 4096 bytes/,
      );
      assert.match(String(bigDone.output), /return a reference/);
      assert.equal(deliveriesOf(hub, 'big').length, 1, 'non-retriable: the retry policy did not run it again');

      const loudDone = await hub.client.waitForOrchestrationCompletion(loud, { timeoutMs: 15_000 });
      assert.equal(loudDone.status, 'Failed');
      assert.equal(loudDone.failure?.errorType, 'PayloadTooLargeError');
      assert.match(loudDone.failure?.message ?? '', /custom status is 20002 bytes, over the limit of 16384 bytes/);
      assert.equal(loudDone.customStatus, undefined, 'the oversize status was never written');

      await hub.client.waitForOrchestrationStart(quiet);
      assert.equal(
        (await hub.client.getOrchestrationState(quiet))?.customStatus,
        's'.repeat(100),
        'a status under the limit is visible',
      );
      await hub.client.raiseEvent(quiet, 'go');
      assert.equal((await hub.client.waitForOrchestrationCompletion(quiet)).output, 'done');
      assert.deepEqual((await hub.client.waitForOrchestrationCompletion(bystander)).output, ['by/0', 'by/1']);

      const sizes = await hub.sql<{ biggest: number }>(
        `SELECT max(greatest(octet_length(coalesce(output, '')), octet_length(coalesce(custom_status, '')))) AS biggest FROM ${hub.S}.instances`,
      );
      assert.ok((sizes.rows[0]?.biggest ?? 0) <= 16_384, 'nothing oversize reached a table');
      const expected = new Map<string, Expectation>([
        [loud, { status: 'Failed' }],
        [quiet, { status: 'Completed', output: 'done' }],
        [bystander, { status: 'Completed', output: ['by/0', 'by/1'] }],
      ]);
      await expectInvariants(
        hub,
        { test: 'scenario 9: oversize payloads', faults: { 'oversize-output': 1, 'oversize-status': 1 } },
        { expected },
      );
    },
    { maxPayloadBytes: LIMIT },
  );
});
