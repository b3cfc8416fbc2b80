import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import { createPostgresStore, type PostgresHubStore } from '../../../worker/src/store/index.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { start, turnFor, V1 } from './helpers.ts';

/**
 * Workers whose turns message each other: concurrent batches lock each other's rows (deadlocks are
 * retried inside the store) and race message delivery against recomputing `next_visible_at`. No
 * message may be lost or delivered twice, and none may be stranded in an inbox no claim will read.
 */
test('four workers messaging each other lose no message and strand none', async () => {
  await withHub(async ({ url, schema, store }) => {
    const ids = Array.from({ length: 30 }, (_, i) => `peer-${i}`);
    for (const id of ids) await start(store, id);
    let budget = 600;
    let sent = 0;
    const workers: PostgresHubStore[] = Array.from({ length: 4 }, () => createPostgresStore({ url, schema, poolSize: 3, pollIntervalMs: 50 }));
    try {
      await Promise.all(
        workers.map(async (w, n) => {
          let idle = 0;
          while (idle < 10) {
            const items = await w.claimOrchestrations(V1, 5, 30_000, `w${n}`);
            if (items.length === 0) {
              idle++;
              await w.waitForWork('orchestration', V1, 50);
              continue;
            }
            idle = 0;
            const turns = items.map((item) => {
              const messages = [];
              for (let k = 0; k < 2 && budget > 0; k++, budget--) {
                const to = ids[Math.floor(Math.random() * ids.length)]!;
                const event: HistoryEvent = { kind: 'EventRaised', timestamp: new Date().toISOString(), name: 'ping', input: '1' };
                messages.push({ instanceId: to, event });
              }
              return { turn: turnFor(item, { messages }), count: messages.length };
            });
            const results = await w.commitTurns(turns.map((t) => t.turn), 30_000);
            results.forEach((r, i) => {
              assert.equal(r.committed, true);
              sent += turns[i]!.count;
            });
          }
        }),
      );
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    assert.equal(sent, 600);
    const received = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".history WHERE kind = 'EventRaised'`);
    assert.equal(Number(received.rows[0]?.n), 600, 'every ping is in exactly one history');
    const stranded = await adminQuery(`SELECT * FROM "${schema}".inbox`);
    assert.equal(stranded.rowCount, 0, 'no message left behind');
  });
});
