/**
 * The world of scenario 10: the e2e world (control plane, local kubelet, one operator replica running as a
 * process) with the operator's test-only crash points enabled, and the steps to kill it at a chosen point: arm the
 * point, do what passes it, wait until the process SIGKILLed itself there and the kubelet started it again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRASH_POINTS } from '../../../operator/src/runtime/crash.ts';
import type { CrashPoint } from '../../../operator/src/runtime/crash.ts';
import { eventually } from '../../../operator/test/support/cluster.ts';
import { startE2e } from '../../e2e/support/env.ts';
import type { E2e } from '../../e2e/support/env.ts';
import type { ReplicaInfo } from '../../harness/kubelet/index.ts';

/** The operator's lease: short, so a restarted operator (which waits out its predecessor's lease) is back soon. */
const LEASE_SECONDS = 3;

/** Scenario 10's world; stop() it in after(). */
export interface KillWorld {
  e2e: E2e;
  /** Kills so far, by fault kind (`operator-kill:<point>`), for the suite's summary. */
  kills: Record<string, number>;
  /** Arms crash points: the operator SIGKILLs itself the next time it passes each. */
  arm(...points: CrashPoint[]): void;
  /**
   * Waits until the operator died at each point, in order, and runs again; returns when the first of them fired
   * (as Date.now() saw it), to time the recovery from.
   */
  expectKilledAt(points: CrashPoint[], timeoutMs?: number): Promise<number>;
  /** The operator replica (there is one). */
  operator(): ReplicaInfo;
  /** Its log so far (the crash lines included), for failure messages. */
  operatorLog(): string;
  stop(): Promise<void>;
}

/** Starts the world with every crash point enabled and none armed. */
export async function startKillWorld(prefix: string): Promise<KillWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'dtk-operator-crash-'));
  const e2e = await startE2e(prefix, {
    leaseDurationSeconds: LEASE_SECONDS,
    renewIntervalSeconds: 0.5,
    pollSeconds: 0.5,
    env: { DTK_OPERATOR_CRASH_AT: CRASH_POINTS.join(','), DTK_OPERATOR_CRASH_DIR: dir },
  });
  const kills: Record<string, number> = {};
  const operator = () => {
    const [replica] = e2e.kubelet.replicaInfo(e2e.namespace, 'dtk-operator');
    assert.ok(replica, 'the operator replica exists');
    return replica;
  };
  const operatorLog = () => {
    try {
      return readFileSync(operator().logPath, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    e2e,
    kills,
    arm(...points) {
      for (const p of points) {
        assert.ok(!existsSync(join(dir, p)), `crash point ${p} is still armed from an earlier step`);
        rmSync(join(dir, `${p}.fired`), { force: true });
        writeFileSync(join(dir, p), '');
      }
    },
    async expectKilledAt(points, timeoutMs = 60_000) {
      const restartsBefore = operator().restarts;
      let firstAt = 0;
      for (const p of points) {
        await eventually(
          `the operator to crash at ${p}`,
          async () => (existsSync(join(dir, `${p}.fired`)) ? true : undefined),
          {
            timeoutMs,
            intervalMs: 50,
            describe: () => operatorLog().split('\n').slice(-15).join('\n'),
          },
        );
        firstAt ||= Date.now();
        kills[`operator-kill:${p}`] = (kills[`operator-kill:${p}`] ?? 0) + 1;
      }
      await eventually(
        `the operator to run again after ${points.length} kill(s)`,
        async () => {
          const r = operator();
          return r.phase === 'running' && r.restarts >= restartsBefore + points.length ? true : undefined;
        },
        { timeoutMs, intervalMs: 50, describe: () => JSON.stringify(operator()) },
      );
      return firstAt;
    },
    operator,
    operatorLog,
    async stop() {
      try {
        await e2e.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Total kills recorded. */
export function killCount(world: KillWorld): number {
  return Object.values(world.kills).reduce((a, b) => a + b, 0);
}
