/**
 * The orchestration loop against a fake hub holding one instance: when its turn cannot be built
 * (here, the store fails to read its history), a one-off failure is retried at once, and a failure
 * that repeats backs off instead of claiming, failing and releasing in a hot loop.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import type { OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import { OrchestrationLoop } from '../../../worker/src/runtime/orchestration-loop.ts';
import { VersionRouting } from '../../../worker/src/runtime/version-routing.ts';
import { BuildFailures } from '../../../worker/src/runtime/build-failures.ts';
import { delay } from '../../../worker/src/runtime/delay.ts';
import type { HubStore, OrchestrationTurn, OrchestrationWorkItem, TurnCommitResult } from '../../../worker/src/store/types.ts';
import { orchestratorCompleted, orchestratorStarted, started, taskCompleted, taskScheduled } from '../fixtures/history.ts';
import { registryOf } from '../fixtures/run.ts';

const registry = registryOf({
  *greet(ctx: OrchestrationContext, name: string) {
    return yield* ctx.callActivity<string>('hello', name);
  },
});

/** One `greet` instance waiting on its activity's result, with the lease semantics of the real hub. */
class OneInstanceHub {
  /** When each claim happened (ms since the hub was made). */
  readonly claims: number[] = [];
  readonly commits: OrchestrationTurn[] = [];
  readonly released: number[] = [];
  /** How many history reads fail before they succeed (Infinity: all of them). */
  historyFailures: number;
  readonly #born = Date.now();
  readonly #history: HistoryEvent[] = [orchestratorStarted(), started('greet', 'Oslo'), taskScheduled(0, 'hello', 'Oslo'), orchestratorCompleted()];
  #lockToken: string | undefined;
  #lockedUntil = 0;

  constructor(historyFailures: number) {
    this.historyFailures = historyFailures;
  }

  elapsed(): number {
    return Date.now() - this.#born;
  }

  asStore(): HubStore {
    const faked: Partial<HubStore> = {
      claimOrchestrations: async (version, _max, leaseMs) => {
        // A real claim is I/O: let timers run, so a hot loop shows up as claims rather than a hang.
        await new Promise(setImmediate);
        if (this.commits.length > 0 || Date.now() < this.#lockedUntil) return [];
        this.#lockToken = randomUUID();
        this.#lockedUntil = Date.now() + leaseMs;
        this.claims.push(this.elapsed());
        const item: OrchestrationWorkItem = {
          instanceId: 'order-1',
          executionId: 'e1',
          name: 'greet',
          version,
          status: 'Running',
          lockToken: this.#lockToken,
          // As if the worker had held the history in memory once: the loop must read it again.
          history: [],
          historyOffset: this.#history.length,
          messages: [{ id: '1', event: taskCompleted(0, 'Hi Oslo') }],
        };
        return [item];
      },
      getHistory: async () => {
        if (this.historyFailures > 0) {
          this.historyFailures--;
          throw new Error('connection reset while reading history');
        }
        return this.#history;
      },
      abandonOrchestrations: async (items) => {
        if (items.some((i) => i.lockToken === this.#lockToken)) {
          this.released.push(this.elapsed());
          this.#lockedUntil = 0;
        }
      },
      renewOrchestrationLeases: async (items, leaseMs) => {
        const ours = items.filter((i) => i.lockToken === this.#lockToken);
        if (ours.length > 0) this.#lockedUntil = Date.now() + leaseMs;
        return items.filter((i) => i.lockToken !== this.#lockToken).map((i) => i.instanceId);
      },
      commitTurns: async (turns): Promise<TurnCommitResult[]> => {
        this.commits.push(...turns);
        return turns.map((t) => ({ instanceId: t.instanceId, committed: true }));
      },
      waitForWork: (_kind, _version, maxWaitMs, signal) => delay(Math.min(maxWaitMs, 20), signal),
      listVersions: async () => [],
    };
    // Anything the loop calls that this fake does not model should fail the test loudly.
    return new Proxy(faked, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (value === undefined && typeof key === 'string') throw new Error(`the fake hub has no ${key}`);
        return value;
      },
    }) as HubStore;
  }
}

/** Runs a loop over the hub for `ms` and returns the log lines it wrote. */
async function runLoop(hub: OneInstanceHub, ms: number): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const store = hub.asStore();
  const loop = new OrchestrationLoop({
    store,
    registry,
    version: 'v1',
    workerId: 'w1',
    concurrency: 1,
    leaseMs: 30000,
    pollIntervalMs: 20,
    maxPayloadBytes: 1 << 20,
    maxCustomStatusBytes: 1 << 16,
    cacheSize: 10,
    routing: new VersionRouting(store),
    logger: pino({ level: 'info' }, sink),
  });
  loop.start();
  await delay(ms);
  await loop.stop();
  return lines;
}

test('a turn whose history read fails once is released and retried at once, then commits', async () => {
  const hub = new OneInstanceHub(1);
  const lines = await runLoop(hub, 500);

  assert.equal(hub.claims.length, 2, 'claimed, failed, claimed again');
  assert.equal(hub.released.length, 1, 'the first failure releases the lease');
  assert.ok(hub.claims[1]! - hub.claims[0]! < 200, `retried promptly, not after a back-off (${hub.claims[1]! - hub.claims[0]!} ms)`);
  assert.equal(hub.commits.length, 1);
  assert.equal(hub.commits[0]?.status, 'Completed');

  const failure = lines.find((l) => l.msg === 'turn could not be built; releasing it');
  assert.ok(failure, 'the failure is logged');
  assert.equal(failure.instanceId, 'order-1');
  assert.equal(failure.version, 'v1');
  assert.equal(failure.retryInMs, 0);
});

test('a turn that can never be built is claimed a handful of times in three seconds, with growing waits', async () => {
  const hub = new OneInstanceHub(Infinity);
  const lines = await runLoop(hub, 3000);

  // Claims at about 0 s (released), 0 s (held 1 s), 1 s (held 2 s), 3 s: four or five, never a hot loop.
  assert.ok(hub.claims.length >= 3 && hub.claims.length <= 5, `claimed ${hub.claims.length} times, first at ${hub.claims.slice(0, 8).join(', ')} ms`);
  assert.equal(hub.released.length, 1, 'only the first failure releases the lease at once');
  assert.ok(hub.claims[2]! - hub.claims[1]! >= 900, 'the second failure holds the instance about a second');
  assert.equal(hub.commits.length, 0);

  const waits = lines.filter((l) => typeof l.retryInMs === 'number' && l.instanceId === 'order-1').map((l) => l.retryInMs);
  assert.deepEqual(waits.slice(0, 3), [0, 1000, 2000], 'each failure is logged with the wait before the next try');
});

test('the failure count backs off by doubling up to a cap, resets on success, and forgets old failures', () => {
  let now = 0;
  const failures = new BuildFailures({ baseMs: 1000, maxMs: 8000, maxEntries: 2, now: () => now });
  const waits = [1, 2, 3, 4, 5, 6].map(() => failures.failed('a').waitMs);
  assert.deepEqual(waits, [0, 1000, 2000, 4000, 8000, 8000]);

  failures.succeeded('a');
  assert.equal(failures.failed('a').waitMs, 0, 'a success starts the count over');

  now += 16001;
  failures.failed('a');
  now += 16001;
  assert.equal(failures.failed('a').failures, 1, 'a failure long after the last counts as a first one');

  failures.failed('b');
  failures.failed('c');
  assert.equal(failures.size, 2, 'memory is bounded; the least recently failed instance is dropped');
  assert.equal(failures.failed('a').failures, 1);
});
