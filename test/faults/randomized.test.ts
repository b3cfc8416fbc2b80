/**
 * The seeded randomized fault run. Four workers on two versions, each behind a proxy of its own, run
 * a mixed workload (chains, fan-outs, timers, external events with repeated raises,
 * sub-orchestrations, continue-as-new) while a fault injector kills, pauses, cuts off and stalls them
 * and kills their database sessions. Then the faults stop, everything must finish, and every invariant
 * must hold.
 *
 * The seed is printed first; `DTK_FAULTS_SEED=<seed>` replays the same workload and the same fault
 * schedule (kinds, targets, durations and spacing — not the operating system's scheduling).
 * `DTK_FAULTS_LONG=1` runs the load for ten minutes instead of about a minute and a half
 * (`DTK_FAULTS_LOAD_MS` sets it exactly); `DTK_FAULTS_DEBUG=1` prints every kill and what it interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { Fleet, type FaultKind } from './fixtures/fleet.ts';
import { Random } from './fixtures/random.ts';
import { planInstance, type InstancePlan } from './fixtures/workload.ts';
import { expectAlive, expectInvariants, sleep, waitAll, withFaultHub, type FaultHub } from './harness.ts';
import type { AckedEvent, Expectation } from './invariants.ts';

const SEED = process.env.DTK_FAULTS_SEED ? Number(process.env.DTK_FAULTS_SEED) : randomInt(2 ** 31);
const LONG = process.env.DTK_FAULTS_LONG === '1';
const LOAD_MS = Number(process.env.DTK_FAULTS_LOAD_MS ?? (LONG ? 600_000 : 100_000));
/** Leases of the run's workers: short, so kills cost seconds, not the default half minute. */
const LEASE_MS = 2000;

const FAULTS: Record<FaultKind, number> = { sigkill: 3, sigstop: 3, 'connection-kill': 2, stall: 3, cut: 2 };

test(`randomized fault run (seed ${SEED})`, async () => {
  process.stdout.write(
    `# randomized fault run: seed ${SEED} (replay with DTK_FAULTS_SEED=${SEED}); load for ${Math.round(LOAD_MS / 1000)} s\n`,
  );
  await withFaultHub(
    async (hub, workers) => {
      const fleet = new Fleet(hub, workers, LEASE_MS);
      try {
        await fleet.start([
          { label: 'w1', version: 'v1' },
          { label: 'w2', version: 'v1' },
          { label: 'w3', version: 'v2' },
          { label: 'w4', version: 'v2' },
        ]);
        const driver = new Driver(hub, Random.stream(SEED, 'workload'));
        const loadEnd = Date.now() + LOAD_MS;
        await Promise.all([driver.run(loadEnd), injectFaults(fleet, Random.stream(SEED, 'faults'), loadEnd)]);

        const healStart = Date.now();
        await fleet.heal();
        await driver.settled();
        await waitAll(hub, workers, driver.expected.keys(), 120_000);
        const drainedMs = Date.now() - healStart;
        expectAlive(workers);
        assert.deepEqual(driver.errors, [], 'client calls never failed, and a repeated raise was always refused');
        await workers.stopAll();

        const report = await expectInvariants(
          hub,
          {
            test: 'randomized run',
            faults: fleet.applied,
            recoveriesMs: fleet.recoveriesMs,
            leaseMs: LEASE_MS,
            seed: SEED,
          },
          { expected: driver.expected, ackedEvents: driver.acked, timerSlackMs: LEASE_MS * 3 },
        );
        const kinds = Object.entries(driver.kinds)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        process.stdout.write(
          `# randomized run: ${driver.expected.size} instances started (${kinds}), ${report.instances} with sub-orchestrations, ` +
            `${report.historyEvents} history events; everything finished ${drainedMs} ms after the faults stopped\n`,
        );
      } finally {
        await fleet.close();
      }
    },
    { pollIntervalMs: 250 },
  );
});

/** Draws a fault every 0.6–2.5 s until `until`, each with its target and duration. */
async function injectFaults(fleet: Fleet, rng: Random, until: number): Promise<void> {
  while (Date.now() < until) {
    await sleep(rng.int(600, 2500));
    const kind = rng.weighted(FAULTS);
    const target = rng.int(0, fleet.size - 1);
    // Pauses and stalls from well under to well over the lease; restarts after 0.3–2 s.
    const ms = kind === 'sigkill' ? rng.int(300, 2000) : rng.int(200, LEASE_MS * 2);
    if (Date.now() < until) await fleet.inject(kind, target, ms);
  }
}

/** Starts the planned instances at a random pace and raises their events. */
class Driver {
  readonly #hub: FaultHub;
  readonly #rng: Random;
  readonly #raising: Promise<void>[] = [];
  readonly expected = new Map<string, Expectation>();
  readonly acked: AckedEvent[] = [];
  readonly kinds: Record<string, number> = {};
  readonly errors: string[] = [];

  constructor(hub: FaultHub, rng: Random) {
    this.#hub = hub;
    this.#rng = rng;
  }

  async run(until: number): Promise<void> {
    for (let n = 0; Date.now() < until; n++) {
      const plan = planInstance(this.#rng, n);
      const pause = this.#rng.int(150, 800);
      await this.#start(plan);
      await sleep(pause);
    }
  }

  /** Resolves when every planned raise was made. */
  async settled(): Promise<void> {
    await Promise.all(this.#raising);
  }

  async #start(plan: InstancePlan): Promise<void> {
    try {
      await this.#hub.client.scheduleNewOrchestration(plan.kind, plan.input, {
        instanceId: plan.id,
        version: plan.version,
      });
    } catch (err) {
      this.errors.push(`start ${plan.id}: ${(err as Error).message}`);
      return;
    }
    this.expected.set(plan.id, plan.expected);
    this.kinds[plan.kind] = (this.kinds[plan.kind] ?? 0) + 1;
    if (plan.raises.length === 0) return;
    if (plan.ordered) {
      this.#raising.push(
        (async () => {
          for (const r of plan.raises) {
            await sleep(r.afterMs);
            await this.#raise(plan.id, r.name, r.data, r.idempotencyKey, r.repeat);
          }
        })(),
      );
    } else {
      for (const r of plan.raises) {
        this.#raising.push(
          sleep(r.afterMs).then(() => this.#raise(plan.id, r.name, r.data, r.idempotencyKey, r.repeat)),
        );
      }
    }
  }

  async #raise(instanceId: string, name: string, data: string, key: string, repeat: boolean): Promise<void> {
    try {
      if (!(await this.#hub.client.raiseEvent(instanceId, name, data, { idempotencyKey: key }))) {
        this.errors.push(`raise ${key}: refused the first time`);
        return;
      }
      this.acked.push({ instanceId, name, input: JSON.stringify(data) });
      if (repeat && (await this.#hub.client.raiseEvent(instanceId, name, data, { idempotencyKey: key }))) {
        this.errors.push(`raise ${key}: accepted twice`);
      }
    } catch (err) {
      this.errors.push(`raise ${key}: ${(err as Error).message}`);
    }
  }
}
