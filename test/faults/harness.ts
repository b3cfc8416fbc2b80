/**
 * Story helpers for fault tests: a fresh hub with the audit triggers the invariant checker reads,
 * workers in child processes that can be killed, paused and resumed, in-process workers for the
 * survivors, a client, and ways to catch a worker at a precise point (a lock it will block on).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TaskHubClient } from '../../worker/src/client/task-hub-client.ts';
import { silentLogger } from '../../worker/src/logger.ts';
import { applyWorkerModule } from '../../worker/src/module.ts';
import { createPostgresStore, type PostgresHubStore } from '../../worker/src/store/index.ts';
import { Worker, type WorkerOptions } from '../../worker/src/worker.ts';
import { testPostgresUrl } from '../harness/postgres.ts';
import * as faultWorker from './fixtures/fault-worker.ts';
import type { EffectRecord } from './fixtures/fault-worker.ts';
import {
  checkInvariants,
  describeViolations,
  installAudit,
  type CheckOptions,
  type InvariantReport,
} from './invariants.ts';
import { recordFigures, type FaultFigures } from './report.ts';

/**
 * Short leases so a test sees expiry quickly; long enough that a busy 2-core machine does not lose
 * them by accident.
 */
export const LEASE_MS = 1500;
export const POLL_MS = 200;

/** A hub of a fault test's own, with the audit installed. */
export interface FaultHub {
  /** Server URL the workers and the client use (may be a proxy). */
  url: string;
  /** Server URL for the test's own SQL, never proxied. */
  adminUrl: string;
  schema: string;
  /** The quoted schema, for SQL text. */
  S: string;
  store: PostgresHubStore;
  client: TaskHubClient;
  /** Where `effect` records deliveries. */
  effectsFile: string;
  /** Runs SQL as superuser on the hub's database. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface FaultHubOptions {
  /** Server to use (default: the run's test Postgres). */
  url?: string;
  /** URL workers and the client connect to, e.g. through a proxy (default: `url`). */
  workerUrl?: string;
  maxPayloadBytes?: number;
  pollIntervalMs?: number;
}

/**
 * A fresh, migrated, audited hub schema for the duration of `body`; workers started by `workers` are
 * stopped after it.
 */
export async function withFaultHub<T>(
  body: (hub: FaultHub, workers: WorkerSet) => Promise<T>,
  options: FaultHubOptions = {},
): Promise<T> {
  const adminUrl = options.url ?? (await testPostgresUrl());
  const url = options.workerUrl ?? adminUrl;
  const schema = `f_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: adminUrl, max: 4 });
  admin.on('error', () => {});
  const dir = mkdtempSync(join(tmpdir(), 'dtk-faults-'));
  const store = createPostgresStore({
    url,
    schema,
    pollIntervalMs: options.pollIntervalMs ?? POLL_MS,
    maxPayloadBytes: options.maxPayloadBytes,
  });
  await store.migrate();
  const hub: FaultHub = {
    url,
    adminUrl,
    schema,
    S: `"${schema}"`,
    store,
    client: new TaskHubClient({ store, maxPayloadBytes: options.maxPayloadBytes }),
    effectsFile: join(dir, 'effects.jsonl'),
    sql: (text, values) => admin.query(text, values),
  };
  await installAudit(hub);
  const workers = new WorkerSet(hub, options);
  try {
    return await body(hub, workers);
  } finally {
    // Everything is released even when stopping a worker fails, or the test process would hang.
    try {
      await workers.stopAll();
    } finally {
      await store.close();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

/** A worker running in a child process. */
export interface ChildWorker {
  /** `<version>/<label>`: its DTK_WORKER_ID and application_name. */
  id: string;
  version: string;
  child: ChildProcess;
  /** Everything it printed so far. */
  log(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  isAlive(): boolean;
}

export interface SpawnOptions {
  label: string;
  version?: string;
  leaseMs?: number;
  pollIntervalMs?: number;
  /** Extra environment (e.g. DTK_ACTIVITY_CONCURRENCY). */
  env?: Record<string, string>;
}

/** The workers of one test: children to kill and pause, in-process ones to survive. */
export class WorkerSet {
  readonly #hub: FaultHub;
  readonly #options: FaultHubOptions;
  readonly children: ChildWorker[] = [];
  readonly #inProcess: Worker[] = [];

  constructor(hub: FaultHub, options: FaultHubOptions) {
    this.#hub = hub;
    this.#options = options;
  }

  /** Starts a worker process serving the fault module; resolves once it has started claiming. */
  async spawn(options: SpawnOptions): Promise<ChildWorker> {
    const version = options.version ?? 'v1';
    const id = `${version}/${options.label}`;
    let output = '';
    const child = spawn(process.execPath, ['worker/src/main.ts', 'test/faults/fixtures/fault-worker.ts'], {
      env: {
        ...process.env,
        DTK_HUB_URL: this.#hub.url,
        DTK_HUB_SCHEMA: this.#hub.schema,
        DTK_VERSION: version,
        DTK_WORKER_ID: id,
        PGAPPNAME: id,
        DTK_LEASE_MS: String(options.leaseMs ?? LEASE_MS),
        DTK_POLL_INTERVAL_MS: String(options.pollIntervalMs ?? this.#options.pollIntervalMs ?? POLL_MS),
        DTK_SHUTDOWN_GRACE_MS: '2000',
        DTK_LOG_LEVEL: 'info',
        FAULT_EFFECTS_FILE: this.#hub.effectsFile,
        ...(this.#options.maxPayloadBytes ? { DTK_MAX_PAYLOAD_BYTES: String(this.#options.maxPayloadBytes) } : {}),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let alive = true;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        alive = false;
        resolve(code);
      }),
    );
    const worker: ChildWorker = { id, version, child, log: () => output, exited, isAlive: () => alive };
    this.children.push(worker);
    await until(`worker ${id} to start`, () => /worker started/.test(output) || !alive, 20000);
    if (!alive) throw new Error(`worker ${id} exited at start:\n${output}`);
    return worker;
  }

  /** Starts a worker in this process (a survivor: not killed by the test). */
  async start(label: string, options: WorkerOptions = {}): Promise<Worker> {
    const version = options.version ?? 'v1';
    const worker = new Worker({
      hubUrl: this.#hub.url,
      schema: this.#hub.schema,
      version,
      workerId: `${version}/${label}`,
      leaseMs: LEASE_MS,
      pollIntervalMs: this.#options.pollIntervalMs ?? POLL_MS,
      shutdownGraceMs: 2000,
      maxPayloadBytes: this.#options.maxPayloadBytes,
      logger: silentLogger(),
      ...options,
    });
    process.env.FAULT_EFFECTS_FILE = this.#hub.effectsFile;
    await applyWorkerModule(worker, faultWorker);
    await worker.start();
    this.#inProcess.push(worker);
    return worker;
  }

  /**
   * The crash step the scenarios share: SIGKILL `victim`, wait until its process is gone, release
   * `lock` if the test held one to stop it at a chosen point, and start a survivor. Returns when the
   * kill happened, for the recovery time.
   */
  async killAndReplace(victim: ChildWorker, lock?: HeldLock): Promise<number> {
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await lock?.release();
    await this.start('survivor');
    return killedAt;
  }

  /** Stops everything still running: children get SIGCONT then SIGTERM (SIGKILL if they hang). */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled([
      ...this.children.filter((c) => c.isAlive()).map((c) => stopChild(c)),
      ...this.#inProcess.map((w) => w.stop()),
    ]);
    this.#inProcess.length = 0;
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** SIGCONT + SIGTERM, then SIGKILL after a few seconds; resolves with the exit code. */
export async function stopChild(c: ChildWorker, timeoutMs = 8000): Promise<number | null> {
  if (!c.isAlive()) return c.exited;
  c.child.kill('SIGCONT');
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), timeoutMs);
  try {
    return await c.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 25 ms until it holds. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every delivery `effect` recorded so far. */
export function readEffects(hub: FaultHub): EffectRecord[] {
  if (!existsSync(hub.effectsFile)) return [];
  return readFileSync(hub.effectsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EffectRecord);
}

/** Deliveries of one side effect, in order. */
export function deliveriesOf(hub: FaultHub, key: string): EffectRecord[] {
  return readEffects(hub).filter((e) => e.key === key);
}

/** A transaction of the test's own, holding locks until released. */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Opens a transaction on the hub, runs `statements` (which take locks) and keeps it open, so a
 * worker that needs those locks blocks at a known point. `release` rolls back.
 */
export async function holdLock(hub: FaultHub, ...statements: string[]): Promise<HeldLock> {
  const client = new pg.Client({ connectionString: hub.adminUrl, application_name: 'fault-test-lock' });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  // The worker must be the one that waits, and, in a deadlock, the one the detector picks.
  await client.query(`SET LOCAL deadlock_timeout = '30s'`);
  for (const s of statements) await client.query(s.replace(/\bS\./g, `${hub.S}.`));
  return {
    async release() {
      await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

/**
 * Resolves once a backend of `applicationName` waits on a lock in a statement matching `query`;
 * returns that statement.
 */
export async function waitForBlocked(
  hub: FaultHub,
  applicationName: string,
  query: RegExp,
  timeoutMs = 15000,
): Promise<string> {
  let found = '';
  await until(
    `${applicationName} to block on a lock in /${query.source}/`,
    async () => {
      const r = await hub.sql<{ query: string }>(
        `SELECT query FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [applicationName],
      );
      found = r.rows.map((row) => row.query).find((q) => query.test(q)) ?? '';
      return found !== '';
    },
    timeoutMs,
  );
  return found;
}

/** The event kinds of an instance's current history, for compact assertions. */
export async function historyKinds(hub: FaultHub, instanceId: string): Promise<string[]> {
  return (await hub.client.getOrchestrationHistory(instanceId)).map((e) => e.kind);
}

/** How many times `kind` occurs in `kinds`. */
export function count(kinds: readonly string[], kind: string): number {
  return kinds.filter((k) => k === kind).length;
}

/**
 * Checks every invariant over the hub, records the test's figures for the summary, and fails the
 * test with the list of violations if there is any.
 */
export async function expectInvariants(
  hub: FaultHub,
  figures: Omit<FaultFigures, 'instances' | 'violations'>,
  options: Omit<CheckOptions, 'effects'> = {},
): Promise<InvariantReport> {
  const report = await checkInvariants(hub, { ...options, effects: readEffects(hub) });
  recordFigures({ ...figures, instances: report.instances, violations: report.violations.length });
  assert.equal(report.violations.length, 0, describeViolations(report));
  return report;
}

/** Fails unless every child worker is still running: a worker that died without being killed is a bug. */
export function expectAlive(workers: WorkerSet): void {
  for (const c of workers.children) {
    assert.ok(
      c.isAlive() || c.child.signalCode === 'SIGKILL',
      `worker ${c.id} died on its own:\n${c.log().slice(-4000)}`,
    );
  }
}

/** Everything the hub holds about an instance, as text, for failure messages about a stuck instance. */
export async function describeInstance(hub: FaultHub, instanceId: string): Promise<string> {
  const S = hub.S;
  const row = await hub.sql(
    `SELECT status, execution_id, version, next_visible_at, locked_by, locked_until, now() AS now FROM ${S}.instances WHERE instance_id = $1`,
    [instanceId],
  );
  const history = await hub.sql<{ seq: number; kind: string; event: string; execution_id: string }>(
    `SELECT execution_id, seq, kind, event FROM ${S}.audit_history WHERE instance_id = $1 ORDER BY id`,
    [instanceId],
  );
  const inbox = await hub.sql(
    `SELECT id, execution_id, visible_at, event FROM ${S}.inbox WHERE instance_id = $1 ORDER BY id`,
    [instanceId],
  );
  const tasks = await hub.sql(
    `SELECT id, task_id, name, delivery_count, visible_at, locked_by FROM ${S}.activity_tasks WHERE instance_id = $1`,
    [instanceId],
  );
  const done = await hub.sql(
    `SELECT task_id, delivery_count, locked_by, at FROM ${S}.audit_activities WHERE instance_id = $1`,
    [instanceId],
  );
  return [
    `instance ${instanceId}: ${JSON.stringify(row.rows[0])}`,
    'history (all executions):',
    ...history.rows.map((h) => `  ${h.execution_id.slice(0, 8)} ${h.seq} ${h.event}`),
    `inbox: ${JSON.stringify(inbox.rows)}`,
    `activity tasks: ${JSON.stringify(tasks.rows)}`,
    `completed activities: ${JSON.stringify(done.rows)}`,
  ].join('\n');
}

/**
 * Waits until every instance finished; on a timeout the error shows the stuck instance as the hub
 * holds it and the workers' last log lines.
 */
export async function waitAll(
  hub: FaultHub,
  workers: WorkerSet,
  ids: Iterable<string>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const id of ids) {
    try {
      await hub.client.waitForOrchestrationCompletion(id, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        withPayloads: false,
      });
    } catch (err) {
      const logs = workers.children.map((c) => `── ${c.id} (last lines):\n${c.log().slice(-3000)}`).join('\n');
      throw new Error(`${(err as Error).message}\n${await describeInstance(hub, id)}\n${logs}`, { cause: err });
    }
  }
}
