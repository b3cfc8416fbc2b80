import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { register } from '../../../examples/all.ts';
import { silentLogger } from '../../../worker/src/logger.ts';
import { Worker } from '../../../worker/src/worker.ts';
import { adminQuery, testPostgresUrl } from '../../harness/postgres.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function dtk(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['cli/bin/dtk.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the CLI migrates a hub, starts, waits, inspects, signals and purges instances, with stable exit codes', async () => {
  const url = await testPostgresUrl();
  const schema = `cli_${randomBytes(4).toString('hex')}`;
  const env = { DTK_HUB_URL: url, DTK_HUB_SCHEMA: schema, DTK_LOG_LEVEL: 'silent' };
  let worker: Worker | undefined;
  try {
    const migrate = await dtk(['hub', 'migrate'], env);
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, new RegExp(`schema '${schema}' migrated from version 0 to \\d+`));
    assert.match((await dtk(['hub', 'migrate'], env)).stdout, /up to date/);

    worker = new Worker({ hubUrl: url, schema, logger: silentLogger(), pollIntervalMs: 200 });
    await register(worker);
    let shipped = 0;
    worker
      .addActivity('shipOnce', async () => {
        if (++shipped === 1) throw new Error('carrier down');
        return 'shipped';
      })
      .addOrchestrator('shipping', function* (ctx) {
        return yield* ctx.callActivity('shipOnce');
      });
    await worker.start();

    const started = await dtk(['start', 'greetCities', '--input', '["Oslo","Lima"]', '--id', 'cli-1', '--tag', 'team=core', '--wait', '-o', 'json'], env);
    assert.equal(started.code, 0, started.stderr);
    const state = JSON.parse(started.stdout) as { status: string; output: string[]; tags: Record<string, string> };
    assert.equal(state.status, 'Completed');
    assert.deepEqual(state.output, ['Hello, Oslo!', 'Hello, Lima!']);
    assert.deepEqual(state.tags, { team: 'core' });

    const table = await dtk(['status', 'cli-1'], env);
    assert.match(table.stdout, /Status:\s+Completed/);
    const history = await dtk(['history', 'cli-1', '-o', 'yaml'], env);
    assert.match(history.stdout, /kind: TaskCompleted/);
    const listed = await dtk(['list', '--status', 'completed', '--name', 'greetCities'], env);
    assert.match(listed.stdout, /^INSTANCE\s+NAME\s+VERSION\s+STATUS/m);
    assert.match(listed.stdout, /cli-1\s+greetCities\s+v1\s+Completed/);

    assert.equal((await dtk(['start', 'greetCities', '--id', 'cli-1'], env)).code, 4, 'duplicate id is a conflict');
    const missing = await dtk(['status', 'nope'], env);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no instance 'nope'/);
    const badFlag = await dtk(['list', '--status', 'finished'], env);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /^dtk: error: --status: unknown status 'finished'/);
    assert.equal(badFlag.stderr.trim().split('\n').length, 1, 'errors print in one line');

    await dtk(['start', 'approvalWorkflow', '--input', '{"requestId":"r","amount":1,"timeoutMs":60000}', '--id', 'cli-2'], env);
    assert.equal((await dtk(['wait', 'cli-2', '--for', 'start'], env)).code, 0);
    const note = await dtk(['raise', 'cli-2', 'note', '--data', '"fyi"', '--idempotency-key', 'k1'], env);
    assert.equal(note.code, 0, note.stderr);
    assert.match(note.stdout, /event raised/);
    assert.match((await dtk(['raise', 'cli-2', 'note', '--data', '"fyi"', '--idempotency-key', 'k1'], env)).stdout, /already raised/);
    const raised = await dtk(['raise', 'cli-2', 'approval', '--data', '{"approved":false,"by":"bo"}'], env);
    assert.equal(raised.code, 0, raised.stderr);
    const waited = await dtk(['wait', 'cli-2', '-o', 'json'], env);
    assert.equal(waited.code, 0);
    assert.equal((JSON.parse(waited.stdout) as { output: string }).output, 'rejected by bo');

    await dtk(['start', 'approvalWorkflow', '--input', '{"requestId":"t","amount":1,"timeoutMs":60000}', '--id', 'cli-3'], env);
    assert.equal((await dtk(['terminate', 'cli-3', '--reason', '"cancelled"'], env)).code, 0);
    assert.equal((await dtk(['wait', 'cli-3', '--timeout', '10'], env)).code, 6, 'a terminated instance exits 6');
    assert.equal((await dtk(['wait', 'cli-3', '--timeout', '1', '--for', 'completion'], env)).code, 6);

    const restarted = await dtk(['restart', 'cli-1', '--new-id', 'cli-1b', '--wait', '-o', 'json'], env);
    assert.equal(restarted.code, 0, restarted.stderr);
    const again = JSON.parse(restarted.stdout) as { instanceId: string; output: string[]; tags: Record<string, string> };
    assert.equal(again.instanceId, 'cli-1b');
    assert.deepEqual(again.output, ['Hello, Oslo!', 'Hello, Lima!'], 'restarted with the original input');
    assert.deepEqual(again.tags, { team: 'core' });
    const both = await dtk(['restart', 'cli-1', '--same-id', '--new-id', 'x'], env);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--same-id and --new-id exclude each other/);

    await dtk(['start', 'shipping', '--id', 'cli-4', '--wait'], env);
    const rewound = await dtk(['rewind', 'cli-4', '--reason', 'carrier is back'], env);
    assert.equal(rewound.code, 0, rewound.stderr);
    assert.match(rewound.stdout, /cli-4\s+requested/);
    assert.equal((await dtk(['wait', 'cli-4', '--timeout', '10'], env)).code, 0, 'the rewound instance completes');
    const notFailed = await dtk(['rewind', 'cli-4'], env);
    assert.equal(notFailed.code, 4, 'rewinding a Completed instance is a conflict');
    assert.match(notFailed.stderr, /it is Completed.*DTK_INVALID_STATE/);
    assert.equal((await dtk(['rewind', 'nope'], env)).code, 3);

    const notYet = await dtk(['purge', '--completed-to', new Date(Date.now() - 3_600_000).toISOString(), '-o', 'json'], env);
    assert.deepEqual(JSON.parse(notYet.stdout), { purged: 0 }, 'nothing finished an hour ago');
    const purged = await dtk(['purge', '--status', 'Completed,Terminated', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(purged.stdout), { purged: 5 });
    assert.equal((await dtk(['status', 'cli-1'], env)).code, 3);
  } finally {
    await worker?.stop();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});

test('the CLI explains a missing hub and an unreachable database in one line', async () => {
  const noHub = await dtk(['list'], { DTK_HUB_URL: '' });
  assert.equal(noHub.code, 2);
  assert.match(noHub.stderr, /no task hub: pass --hub-url/);
  const down = await dtk(['list', '--hub-url', 'postgres://u:p@127.0.0.1:1/db'], {});
  assert.equal(down.code, 7, down.stderr);
  assert.match(down.stderr, /cannot reach the task hub database at 127\.0\.0\.1:1\/db/);
});
