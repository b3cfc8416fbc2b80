/**
 * Scenario 5: serialization failures and deadlocks are retried inside the store; neither a client
 * call nor an orchestration ever sees one, and workers do not log them as errors. Serialization
 * failures are injected by a trigger on every table the engine writes (a write statement fails with
 * SQLSTATE 40001 whenever none did in the last 100 ms); the deadlock is a real one, between a
 * worker's commit and a test transaction taking the same two rows in the other order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import {
  expectAlive,
  expectInvariants,
  sleep,
  until,
  waitAll,
  waitForBlocked,
  withFaultHub,
  type ChildWorker,
  type FaultHub,
} from './harness.ts';
import type { AckedEvent, Expectation } from './invariants.ts';

/** After an injected failure, none for this long: a transaction's retry (a few ms later) must be able to succeed. */
const COOLDOWN_MS = 100;

/**
 * Makes write statements on every engine table fail with SQLSTATE 40001, as often as one per
 * COOLDOWN_MS across the whole database. The bookkeeping lives in sequences, which a rollback does
 * not undo.
 */
async function injectSerializationFailures(hub: FaultHub): Promise<void> {
  const S = hub.S;
  await hub.sql(`
    CREATE SEQUENCE ${S}.fault_last_ms;
    CREATE SEQUENCE ${S}.fault_injected;
    CREATE FUNCTION ${S}.fault_serialization() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
    BEGIN
      IF now_ms - (SELECT last_value FROM ${S}.fault_last_ms) >= ${COOLDOWN_MS} THEN
        PERFORM setval('${S}.fault_last_ms', now_ms);
        RAISE EXCEPTION 'injected serialization failure %', nextval('${S}.fault_injected') USING ERRCODE = 'serialization_failure';
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER fault_serialization BEFORE INSERT OR UPDATE OR DELETE ON ${S}.inbox FOR EACH STATEMENT EXECUTE FUNCTION ${S}.fault_serialization();
    CREATE TRIGGER fault_serialization BEFORE INSERT ON ${S}.history FOR EACH STATEMENT EXECUTE FUNCTION ${S}.fault_serialization();
    CREATE TRIGGER fault_serialization BEFORE INSERT OR UPDATE OR DELETE ON ${S}.activity_tasks FOR EACH STATEMENT EXECUTE FUNCTION ${S}.fault_serialization();
    CREATE TRIGGER fault_serialization BEFORE INSERT OR UPDATE ON ${S}.instances FOR EACH STATEMENT EXECUTE FUNCTION ${S}.fault_serialization();
  `);
}

async function injected(hub: FaultHub): Promise<number> {
  const r = await hub.sql<{ last_value: string; is_called: boolean }>(
    `SELECT last_value, is_called FROM ${hub.S}.fault_injected`,
  );
  return r.rows[0]?.is_called ? Number(r.rows[0].last_value) : 0;
}

/** Error-level lines a worker logged (pino level 50 and above). */
function errorLines(w: ChildWorker): string[] {
  return w
    .log()
    .split('\n')
    .filter((l) => /"level":(5|6)\d/.test(l));
}

test('injected serialization failures on every table are retried: clients and orchestrations never see them', async () => {
  await withFaultHub(async (hub, workers) => {
    const a = await workers.spawn({ label: 'a' });
    const b = await workers.spawn({ label: 'b' });
    await injectSerializationFailures(hub);
    const expected = new Map<string, Expectation>();
    const acked: AckedEvent[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(250);
      const chain = await hub.client.scheduleNewOrchestration(
        'chain',
        { key: `c${i}`, steps: 3, holdMs: 100 },
        { instanceId: `c${i}` },
      );
      expected.set(chain, { status: 'Completed', output: [0, 1, 2].map((s) => `c${i}/${s}`) });
      const fan = await hub.client.scheduleNewOrchestration(
        'fanOut',
        { key: `f${i}`, width: 3 },
        { instanceId: `f${i}` },
      );
      expected.set(fan, { status: 'Completed', output: [0, 1, 2].map((s) => `f${i}/${s}`) });
      const tree = await hub.client.scheduleNewOrchestration(
        'parent',
        { key: `p${i}`, children: 2, steps: 1 },
        { instanceId: `p${i}` },
      );
      expected.set(tree, { status: 'Completed', output: [[`p${i}/c0/0`], [`p${i}/c1/0`]] });
      const waiter = await hub.client.scheduleNewOrchestration(
        'events',
        { key: `e${i}`, names: ['x', 'y'] },
        { instanceId: `e${i}` },
      );
      expected.set(waiter, { status: 'Completed', output: [i, 100 + i] });
      for (const [name, value] of [
        ['x', i],
        ['y', 100 + i],
      ] as const) {
        assert.equal(await hub.client.raiseEvent(waiter, name, value, { idempotencyKey: `${waiter}:${name}` }), true);
        acked.push({ instanceId: waiter, name, input: JSON.stringify(value) });
      }
    }
    await waitAll(hub, workers, expected.keys(), 30_000);
    const failures = await injected(hub);
    assert.ok(failures >= 20, `only ${failures} serialization failures were injected`);
    expectAlive(workers);
    for (const w of [a, b]) assert.deepEqual(errorLines(w), [], `worker ${w.id} logged errors`);
    await expectInvariants(
      hub,
      { test: 'scenario 5a: serialization failures', faults: { 'serialization-failure': failures } },
      { expected, ackedEvents: acked },
    );
  });
});

test("a real deadlock between a worker's commit and another transaction is retried by the worker and never surfaces", async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'a' });
    const other = new pg.Client({ connectionString: hub.adminUrl, application_name: 'fault-test-deadlock' });
    await other.connect();
    const before = await deadlocks(hub);
    try {
      // The other transaction holds the instance's start message; the worker's commit locks the
      // instance row, then waits for it.
      await other.query('BEGIN');
      await other.query(`SET LOCAL deadlock_timeout = '30s'`); // so the worker is the one the detector picks
      const id = await hub.client.scheduleNewOrchestration('chain', { key: 'dl', steps: 2 }, { instanceId: 'dl' });
      await other.query(`SELECT 1 FROM ${hub.S}.inbox WHERE instance_id = $1 FOR UPDATE`, [id]);
      await waitForBlocked(hub, victim.id, /DELETE FROM .*inbox/);
      // Now take the instance row: a cycle. The worker's backend detects it and its transaction is retried.
      await other.query(`SELECT 1 FROM ${hub.S}.instances WHERE instance_id = $1 FOR UPDATE`, [id]);
      await other.query('ROLLBACK');
      const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
      assert.deepEqual(done.output, ['dl/0', 'dl/1']);
    } finally {
      await other.end();
    }
    // Statistics reach pg_stat_database shortly after the transaction, not with it.
    await until('Postgres to count the deadlock', async () => (await deadlocks(hub)) > before, 5000);
    const found = (await deadlocks(hub)) - before;
    assert.deepEqual(errorLines(victim), [], 'the worker did not log the deadlock as an error');
    expectAlive(workers);
    await expectInvariants(
      hub,
      { test: 'scenario 5b: deadlock', faults: { deadlock: found } },
      { expected: new Map([['dl', { status: 'Completed', output: ['dl/0', 'dl/1'] }]]) },
    );
  });
});

async function deadlocks(hub: FaultHub): Promise<number> {
  const r = await hub.sql<{ n: string }>(
    `SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()`,
  );
  return Number(r.rows[0]?.n ?? 0);
}
