/**
 * The store's fast paths keep their promises: claims and lease upkeep commit asynchronously while
 * everything that records workflow state commits durably, and every statement of a turn commit,
 * an activity completion and a claim gets an index-driven plan even on a hub whose tables are
 * empty (where a cached plan would otherwise pick scans that grow with the hub).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import type { Queryable } from '../../../worker/src/store/db.ts';
import { openDatabase } from '../../../worker/src/store/index.ts';
import { completeActivities } from '../../../worker/src/store/sql/activities.ts';
import { claimInstances } from '../../../worker/src/store/sql/claim-orchestrations.ts';
import { commitTurnBatch } from '../../../worker/src/store/sql/commit-turns.ts';
import { CHANNELS } from '../../../worker/src/store/sql/notify.ts';
import { withHub } from '../../harness/postgres.ts';
import { LEASE_MS, start, turnFor, V1 } from './helpers.ts';

interface Recorded {
  text: string;
  values: unknown[] | undefined;
}

/** A client that remembers every statement it runs. */
function recording(client: Queryable, into: Recorded[]): Queryable {
  return {
    query: (text, values) => {
      into.push({ text, values });
      return client.query(text, values);
    },
  };
}

/** Plan nodes that read a whole table or join by hashing or merging: what must not be cached. */
function scansAndBulkJoins(plan: unknown, schema: string): string[] {
  const found: string[] = [];
  const visit = (node: Record<string, unknown>) => {
    const type = String(node['Node Type']);
    if (type === 'Seq Scan' && node['Schema'] === schema) found.push(`Seq Scan on ${String(node['Relation Name'])}`);
    if (type === 'Hash Join' || type === 'Merge Join') found.push(type);
    for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  visit(plan as Record<string, unknown>);
  return found;
}

/** The generic plan (the one a named statement caches) of `text`, as `db` would make it. */
async function genericPlan(db: Queryable, text: string): Promise<unknown> {
  const r = await db.query<{ 'QUERY PLAN': [{ Plan: unknown }] }>(`EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) ${text}`);
  return r.rows[0]!['QUERY PLAN'][0].Plan;
}

test('claims and lease upkeep commit asynchronously; transactions and plain statements durably', async () => {
  await withHub(async ({ url }) => {
    const db = openDatabase(url, 2);
    try {
      // Where each connection's setting comes from: 'client' is the lease pool's own override; the
      // others keep the server's configuration (durable unless the server itself was set otherwise).
      const source = async (q: Queryable) =>
        (await q.query<{ setting: string; source: string }>(`SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'`)).rows[0];
      assert.deepEqual(await source(db.leases), { setting: 'off', source: 'client' }, 'the lease pool commits without waiting for the WAL');
      const server = (await source(db))?.source;
      assert.notEqual(server, 'client', 'single statements on the main pool (starts) keep the server setting');
      assert.notEqual((await db.transaction((c) => source(c)))?.source, 'client', 'turn commits and completions keep the server setting');
      assert.notEqual((await db.transaction((c) => source(c)))?.source, 'session', 'and no transaction turns it off');
    } finally {
      await db.end();
    }
  });
});

test("a URL's own options keep working beside the store's session settings", async () => {
  await withHub(async ({ url }) => {
    const withOwn = new URL(url);
    withOwn.searchParams.set('options', '-c application_name=from-url -c statement_timeout=12345');
    const db = openDatabase(withOwn.toString(), 1);
    try {
      const show = async (q: Queryable, name: string) => (await q.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name];
      for (const q of [db, db.leases]) {
        assert.equal(await show(q, 'statement_timeout'), '12345ms', "the URL's own setting applies");
        assert.equal(await show(q, 'enable_hashjoin'), 'off', "and so do the store's");
      }
      assert.equal(await show(db.leases, 'synchronous_commit'), 'off');
    } finally {
      await db.end();
    }
  });
});

test('every statement of a turn commit, a completion and a claim plans index-driven on an empty hub', async () => {
  await withHub(async ({ url, schema, store }) => {
    // A batch that exercises every step of a commit: history, consumed messages, an activity, a timer,
    // a sub-orchestration, an event to another instance; then the activity's completion.
    for (const id of ['a', 'b', 'target']) await start(store, id);
    const items = await store.claimOrchestrations(V1, 2, LEASE_MS, 'w', new Map());
    assert.equal(items.length, 2);
    const [first, second] = items as [(typeof items)[0], (typeof items)[0]];
    const fireAt = new Date(Date.now() + 60_000).toISOString();
    const turns = [
      turnFor(first, { activities: [{ taskId: 0, name: 'act', version: V1, input: '1' }], timers: [{ timerId: 1, fireAt }] }),
      turnFor(second, {
        subOrchestrations: [{ parentTaskId: 0, instanceId: 'child', name: 'flow', version: V1, input: undefined }],
        messages: [{ instanceId: 'target', event: { kind: 'EventRaised', timestamp: new Date().toISOString(), name: 'go', input: undefined } }],
      }),
    ];
    const db = openDatabase(url, 1);
    const recorded: Recorded[] = [];
    try {
      const S = `"${schema}"`;
      await db.transaction((c) => commitTurnBatch(recording(c, recorded), S, CHANNELS(schema), turns));
      const [task] = await store.claimActivities(V1, 1, LEASE_MS, 'w');
      assert.ok(task, 'the activity was scheduled');
      await db.transaction((c) =>
        completeActivities(recording(c, recorded), S, CHANNELS(schema), [{ ...task, result: '2' }]),
      );
      await claimInstances(recording(db.leases, recorded), S, V1, 10, LEASE_MS, 'w', crypto.randomUUID());
      assert.ok(recorded.length >= 8, `recorded ${recorded.length} statements`);

      // Plans as the store makes them: inside a hub transaction, and on the lease pool.
      for (const { text } of recorded) {
        const plan = await db.transaction((c) => genericPlan(c, text));
        assert.deepEqual(scansAndBulkJoins(plan, schema), [], `index-driven in a transaction: ${text.slice(0, 80)}`);
        const leasePlan = await genericPlan(db.leases, text);
        assert.deepEqual(scansAndBulkJoins(leasePlan, schema), [], `index-driven on the lease pool: ${text.slice(0, 80)}`);
      }
      // Without those settings the same statements on the same empty tables do plan scans: the check above can fail.
      const plain = new pg.Pool({ connectionString: url, max: 1 });
      try {
        const bad = [];
        for (const { text } of recorded) bad.push(...scansAndBulkJoins(await genericPlan(plain, text), schema));
        assert.ok(bad.length > 0, 'default settings plan at least one scan or bulk join on empty tables');
      } finally {
        await plain.end();
      }
    } finally {
      await db.end();
    }
  });
});
