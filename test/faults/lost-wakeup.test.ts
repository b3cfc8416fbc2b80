/**
 * A race the fault suite found (scenario 5's load, with retries shifting timings): an activity result
 * committed while its orchestration's turn was committing could be left in the inbox with nothing
 * pointing a claim at it, and the instance waited forever. Here the two transactions are interleaved
 * by hand, so the race happens every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { until, withFaultHub } from './harness.ts';

test("an activity result committed while its instance's turn commits is never stranded", async () => {
  await withFaultHub(async (hub) => {
    const { store } = hub;
    await store.createInstance({ instanceId: 'w', name: 'chain', version: 'v1', defaultVersion: 'v1', input: '{}' });
    // Turn 1 schedules activity 0.
    const [first] = await store.claimOrchestrations('v1', 1, 30_000, 'v1/a');
    assert.ok(first);
    const now = new Date().toISOString();
    await store.commitTurns(
      [
        {
          instanceId: 'w',
          executionId: first.executionId,
          lockToken: first.lockToken,
          historyStartSeq: 0,
          newHistory: [
            { kind: 'OrchestratorStarted', timestamp: now },
            ...first.messages.map((m) => m.event),
            { kind: 'TaskScheduled', timestamp: now, eventId: 0, name: 'effect' },
            { kind: 'OrchestratorCompleted', timestamp: now },
          ],
          consumedMessageIds: first.messages.map((m) => m.id),
          status: 'Running',
          activities: [{ taskId: 0, name: 'effect', version: 'v1' }],
          timers: [],
          subOrchestrations: [],
          messages: [],
        },
      ],
      30_000,
    );
    const [task] = await store.claimActivities('v1', 1, 30_000, 'v1/b');
    assert.ok(task);
    // Something else arrives, so the instance is due and claimed for another turn.
    await store.sendControl('w', { kind: 'raise', name: 'poke' });
    const [second] = await store.claimOrchestrations('v1', 1, 30_000, 'v1/a');
    assert.ok(second);

    // That turn's commit holds the instance row and, having consumed its only message, clears next_visible_at...
    const turn = new pg.Client({ connectionString: hub.adminUrl });
    await turn.connect();
    try {
      await turn.query('BEGIN');
      await turn.query(`DELETE FROM ${hub.S}.inbox WHERE id = ANY($1::bigint[])`, [second.messages.map((m) => m.id)]);
      await turn.query(
        `UPDATE ${hub.S}.instances SET next_visible_at = NULL, lock_token = NULL, locked_until = NULL, locked_by = NULL WHERE instance_id = 'w'`,
      );
      // ...while the activity's result is committed.
      let completed = false;
      const completion = store
        .completeActivities([
          {
            id: task.id,
            lockToken: task.lockToken,
            instanceId: 'w',
            executionId: task.executionId,
            taskId: 0,
            result: '"done"',
          },
        ])
        .then(() => {
          completed = true;
        });
      await until('the completion to insert its message', async () => {
        const r = await hub.sql(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.query LIKE '%next_visible_at = now()%'`,
        );
        return r.rows.length > 0 || completed;
      });
      await turn.query('COMMIT');
      await completion;
    } finally {
      await turn.end();
    }

    const row = await hub.sql<{ next_visible_at: Date | null }>(
      `SELECT next_visible_at FROM ${hub.S}.instances WHERE instance_id = 'w'`,
    );
    assert.notEqual(row.rows[0]?.next_visible_at, null, 'the instance points at its new message');
    const [third] = await store.claimOrchestrations('v1', 1, 30_000, 'v1/a');
    assert.deepEqual(
      third?.messages.map((m) => m.event.kind),
      ['TaskCompleted'],
      'the result is claimable',
    );
  });
});
