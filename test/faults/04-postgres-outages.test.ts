/**
 * Scenario 4: the database goes away under load. Connections are killed (`pg_terminate_backend`),
 * then Postgres is restarted cleanly, then it crashes (immediate shutdown) and comes back. Workers
 * and a client already waiting on an instance reconnect by themselves, notifications resume, and
 * every instance completes. What a caller sees during the outage is a StoreUnavailableError; a start
 * with an explicit instance id and a raise with an idempotency key can simply be retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtkError, InstanceAlreadyExistsError } from '../../worker/src/errors.ts';
import { PrivatePostgres } from './fixtures/private-postgres.ts';
import {
  describeInstance,
  expectAlive,
  expectInvariants,
  sleep,
  until,
  withFaultHub,
  type FaultHub,
} from './harness.ts';
import type { AckedEvent, Expectation } from './invariants.ts';

/** Longer than any wait in this test: progress after the outage must come from notifications, not polls. */
const POLL_MS = 4000;

/** Retries a client call while the store is unavailable, as an application would. */
async function retrying<T>(what: string, call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const unavailable = err instanceof DtkError && err.code === 'DTK_STORE_UNAVAILABLE';
      if (!unavailable || Date.now() > deadline) throw new Error(`${what} failed`, { cause: err });
      await sleep(200);
    }
  }
}

/** Starts an instance with an explicit id; a retry after an unknown outcome finds it already there. */
async function startInstance(hub: FaultHub, id: string, name: string, input: unknown): Promise<void> {
  await retrying(`start ${id}`, async () => {
    try {
      await hub.client.scheduleNewOrchestration(name, input, { instanceId: id });
    } catch (err) {
      if (!(err instanceof InstanceAlreadyExistsError)) throw err;
    }
  });
}

test('connections killed, a clean restart and a crash of Postgres under load: workers and waiting clients reconnect, notifications resume, everything completes', async () => {
  const server = await PrivatePostgres.start();
  try {
    await withFaultHub(
      async (hub, workers) => {
        await workers.spawn({ label: 'a' });
        await workers.spawn({ label: 'b' });
        const expected = new Map<string, Expectation>();
        const acked: AckedEvent[] = [];
        const raise = async (id: string, name: string, value: number) => {
          // The same key on every attempt: if an attempt committed but its answer was lost, the retry is a no-op.
          await retrying(`raise ${name} on ${id}`, () =>
            hub.client.raiseEvent(id, name, value, { idempotencyKey: `${id}:${name}` }),
          );
          acked.push({ instanceId: id, name, input: JSON.stringify(value) });
        };
        let n = 0;
        const startBatch = async () => {
          for (let i = 0; i < 6; i++, n++) {
            const kind = n % 4;
            const id = `load-${n}`;
            if (kind === 0) {
              await startInstance(hub, id, 'chain', { key: id, steps: 4, holdMs: 150 });
              expected.set(id, { status: 'Completed', output: [0, 1, 2, 3].map((s) => `${id}/${s}`) });
            } else if (kind === 1) {
              await startInstance(hub, id, 'timers', { key: id, count: 3, delayMs: 700 });
              expected.set(id, { status: 'Completed', output: `${id}/after-timers` });
            } else if (kind === 2) {
              await startInstance(hub, id, 'generations', { key: id, total: 4 });
              expected.set(id, { status: 'Completed', output: [0, 1, 2, 3].map((g) => `${id}/g${g}`) });
            } else {
              await startInstance(hub, id, 'events', { key: id, names: ['first', 'second'] });
              expected.set(id, { status: 'Completed', output: [n, -n] });
              await raise(id, 'first', n);
            }
          }
        };
        const raiseSeconds = async () => {
          for (const [id] of expected)
            if (id.match(/^load-(\d+)$/) && Number(id.slice(5)) % 4 === 3)
              await raise(id, 'second', -Number(id.slice(5)));
        };

        await startBatch();
        // A client already waiting when the database goes away.
        const waiting = hub.client.waitForOrchestrationCompletion('load-1', { timeoutMs: 60_000 });

        let killed = 0;
        for (let round = 0; round < 3; round++) {
          await sleep(500);
          killed += await server.terminateBackends();
        }
        await startBatch();
        await sleep(500);
        await server.restart('fast', 1500);
        await startBatch();
        await sleep(800);
        await server.restart('immediate', 1000);
        const backAt = Date.now();
        await startBatch();
        await raiseSeconds();

        const waited = await waiting;
        assert.equal(waited.status, 'Completed', 'the client that was waiting through the outage got its answer');
        for (const id of expected.keys()) {
          await retrying(`wait ${id}`, () =>
            hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 45_000 }),
          ).catch(async (err: Error) => {
            throw new Error(
              `${err.message}\n${await describeInstance(hub, id)}\n${workers.children.map((c) => `${c.id}:\n${c.log().slice(-3000)}`).join('\n')}`,
              { cause: err },
            );
          });
        }
        const recoveredMs = Date.now() - backAt;

        // Notifications resumed: with polls every 4 s, a fresh instance only finishes this fast if the
        // workers and the waiting client are woken.
        await until('every worker and the client to listen again', async () => (await listeners(hub)) >= 3, 15_000);
        const t0 = Date.now();
        await hub.client.scheduleNewOrchestration('chain', { key: 'after', steps: 2 }, { instanceId: 'after' });
        const after = await hub.client.waitForOrchestrationCompletion('after', { timeoutMs: 10_000 });
        const latency = Date.now() - t0;
        assert.deepEqual(after.output, ['after/0', 'after/1']);
        assert.ok(latency < POLL_MS, `a two-step chain took ${latency} ms: notifications did not resume`);
        expected.set('after', { status: 'Completed', output: ['after/0', 'after/1'] });
        process.stdout.write(
          `# ${expected.size} instances completed ${recoveredMs} ms after the crash restart; a two-step chain then took ${latency} ms (poll ${POLL_MS} ms)\n`,
        );

        expectAlive(workers);
        await workers.stopAll();
        await expectInvariants(
          hub,
          {
            test: 'scenario 4: Postgres outages',
            faults: { 'connection-kill': killed, 'pg-restart': 1, 'pg-crash': 1 },
          },
          { ackedEvents: acked, expected },
        );
      },
      { url: server.url, pollIntervalMs: POLL_MS },
    );
  } finally {
    await server.stop();
  }
});

/** Connections currently LISTENing on the hub's channels. */
async function listeners(hub: FaultHub): Promise<number> {
  const r = await hub.sql<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN "${hub.schema}_%'`,
  );
  return Number(r.rows[0]?.n ?? 0);
}
