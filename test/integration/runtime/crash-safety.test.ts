import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as crashWorker from '../fixtures/crash-worker.ts';
import { applyWorkerModule } from '../../../worker/src/module.ts';
import type { TestHub } from '../../harness/postgres.ts';
import { withRuntime } from './helpers.ts';

const LEASE_MS = 1500;

function spawnWorker(hub: TestHub, sideEffectFile: string, holdMs: number): { child: ChildProcess; log: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['worker/src/main.ts', 'test/integration/fixtures/crash-worker.ts'], {
    env: {
      ...process.env,
      DTK_HUB_URL: hub.url,
      DTK_HUB_SCHEMA: hub.schema,
      DTK_VERSION: 'v1',
      DTK_LEASE_MS: String(LEASE_MS),
      DTK_POLL_INTERVAL_MS: '200',
      DTK_LOG_LEVEL: 'info',
      SIDE_EFFECT_FILE: sideEffectFile,
      HOLD_MS: String(holdMs),
      WORKER_LABEL: 'child',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, log: () => output };
}

async function until(what: string, check: () => boolean, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function deliveries(file: string): { pid: number; delivery: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid: number; delivery: number });
}

test('a worker killed with SIGKILL during an activity: another worker re-runs it after the lease expires, and the orchestration completes once', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'dtk-crash-')), 'effects.jsonl');
  process.env.SIDE_EFFECT_FILE = file;
  process.env.WORKER_LABEL = 'survivor';
  process.env.HOLD_MS = '0';
  await withRuntime(undefined, async ({ hub, client, startWorker }) => {
    const { child } = spawnWorker(hub, file, 60000);
    const id = await client.scheduleNewOrchestration('oneStep', 'charge-card');
    await until('the child to start the activity', () => deliveries(file).length === 1);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await startWorker((w) => void applyWorkerModule(w, crashWorker), { leaseMs: LEASE_MS });
    const s = await client.waitForOrchestrationCompletion(id, { timeoutMs: 20000 });
    const recoveredMs = Date.now() - killedAt;
    assert.equal(s.status, 'Completed');
    assert.equal(s.output, 'charge-card by survivor');
    const runs = deliveries(file);
    assert.deepEqual(runs.map((r) => r.delivery), [1, 2], 'the activity ran again, and its delivery count shows it');
    const history = await client.getOrchestrationHistory(id);
    assert.equal(history.filter((e) => e.kind === 'TaskScheduled').length, 1);
    assert.equal(history.filter((e) => e.kind === 'TaskCompleted').length, 1);
    assert.equal(history.filter((e) => e.kind === 'ExecutionCompleted').length, 1);
    process.stdout.write(`# recovered ${recoveredMs} ms after SIGKILL (lease ${LEASE_MS} ms)\n`);
  });
});

test('a worker paused past its lease cannot commit when it wakes', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'dtk-pause-')), 'effects.jsonl');
  process.env.SIDE_EFFECT_FILE = file;
  process.env.WORKER_LABEL = 'survivor';
  process.env.HOLD_MS = '0';
  await withRuntime(undefined, async ({ hub, client, startWorker }) => {
    const { child, log } = spawnWorker(hub, file, 1000);
    try {
      const id = await client.scheduleNewOrchestration('oneStep', 'ship-order');
      await until('the child to start the activity', () => deliveries(file).length === 1);
      child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, LEASE_MS + 500));
      await startWorker((w) => void applyWorkerModule(w, crashWorker), { leaseMs: LEASE_MS });
      const s = await client.waitForOrchestrationCompletion(id, { timeoutMs: 20000 });
      assert.equal(s.output, 'ship-order by survivor');
      child.kill('SIGCONT');
      await until('the woken worker to notice its lost lease', () => /lease lost/.test(log()), 10000);
      const history = await client.getOrchestrationHistory(id);
      assert.equal(history.filter((e) => e.kind === 'TaskCompleted').length, 1, 'no duplicate result');
      assert.equal((await client.getOrchestrationState(id))?.output, 'ship-order by survivor', 'the stale result was not written');
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.equal(code, 0, 'SIGTERM drains and exits 0');
    }
  });
});
