import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('`dtk dev` serves a worker module on a zero-install Postgres that the CLI can drive, and stops cleanly', async () => {
  const dev = spawn(process.execPath, ['cli/bin/dtk.ts', 'dev', 'examples/all.ts', '--schema', 'devhub'], {
    env: { ...process.env, DTK_HUB_URL: '', DTK_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let banner = '';
  let port = 0;
  dev.stderr.on('data', (d: Buffer) => (banner += d.toString()));
  try {
    const hubUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dtk dev did not start:\n${banner}`)), 60000);
      dev.stderr.on('data', () => {
        const m = /export DTK_HUB_URL='([^']+)'/.exec(banner);
        if (m?.[1]) {
          clearTimeout(timer);
          port = Number(new URL(m[1]).port);
          resolve(m[1]);
        }
      });
    });
    const run = spawnSync(process.execPath, ['cli/bin/dtk.ts', 'start', 'wordCount', '--input', '"a b c\\nd e"', '--wait', '-o', 'json'], {
      env: { ...process.env, DTK_HUB_URL: hubUrl, DTK_HUB_SCHEMA: 'devhub' },
      encoding: 'utf8',
      timeout: 60000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as { output: unknown }).output, { lines: 2, words: 5 });
  } finally {
    dev.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => dev.once('exit', (c) => r(c)));
    assert.equal(code, 0, `exit ${code}\n${banner}`);
    assert.equal(await listening(port), false, 'the embedded Postgres was stopped');
  }
});

test('Ctrl-C in `dtk dev` lets the activity in flight finish, stops Postgres and exits 0; the work is kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtk-dev-'));
  const markers = join(dir, 'markers');
  mkdirSync(markers);
  const modulePath = join(dir, 'slow.mjs');
  // The activity takes two seconds and leaves a mark when it starts and when it ends.
  writeFileSync(
    modulePath,
    `import { writeFileSync } from 'node:fs';
     export const orchestrations = { *slowGreet(ctx, name) { return yield* ctx.callActivity('slow', name); } };
     export const activities = {
       async slow(ctx, name) {
         writeFileSync(${JSON.stringify(join(markers, 'started'))}, '');
         await new Promise((r) => setTimeout(r, 2000));
         writeFileSync(${JSON.stringify(join(markers, 'finished'))}, String(ctx.deliveryCount));
         return { greeting: 'Hi ' + name, delivery: ctx.deliveryCount };
       },
     };\n`,
  );
  const dataDir = join(dir, 'data');
  try {
    // Its own process group, like a shell's foreground job: the Ctrl-C below reaches every process in it.
    const first = startDev(modulePath, dataDir, true);
    const { hubUrl, port } = await first.ready;
    const cli = (url: string, ...args: string[]) =>
      spawnSync(process.execPath, ['cli/bin/dtk.ts', ...args], {
        env: { ...process.env, DTK_HUB_URL: url, DTK_HUB_SCHEMA: 'slowhub' },
        encoding: 'utf8',
        timeout: 60000,
      });
    const started = cli(hubUrl, 'start', 'slowGreet', '--input', '"Oslo"', '--id', 'greet-1');
    assert.equal(started.status, 0, started.stderr);
    await until(() => existsSync(join(markers, 'started')), 30000, 'the activity started');

    process.kill(-first.child.pid!, 'SIGINT');
    const code = await first.exit;
    assert.equal(code, 0, `exit ${code}\n${first.output()}`);
    assert.match(first.output(), /SIGINT: finishing work in hand/);
    assert.equal(readFileSync(join(markers, 'finished'), 'utf8'), '1', 'the activity finished within the grace period');
    assert.equal(await listening(port), false, 'the embedded Postgres was stopped');

    // The activity's result was committed before Postgres stopped: a new `dtk dev` on the same data
    // finishes the orchestration without running the activity again.
    const second = startDev(modulePath, dataDir, false);
    const again = await second.ready;
    try {
      const waited = cli(again.hubUrl, 'wait', 'greet-1', '--timeout', '60', '-o', 'json');
      assert.equal(waited.status, 0, waited.stderr);
      assert.deepEqual((JSON.parse(waited.stdout) as { output: unknown }).output, { greeting: 'Hi Oslo', delivery: 1 });
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exit, 0, second.output());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts `dtk dev` on a persistent data directory; `ready` resolves with the hub it printed. */
function startDev(modulePath: string, dataDir: string, ownGroup: boolean) {
  const child = spawn(process.execPath, ['cli/bin/dtk.ts', 'dev', modulePath, '--schema', 'slowhub', '--data-dir', dataDir], {
    env: { ...process.env, DTK_HUB_URL: '', DTK_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownGroup,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const ready = new Promise<{ hubUrl: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dtk dev did not start:\n${output}`)), 60000);
    void exit.then((c) => reject(new Error(`dtk dev exited ${c} while starting:\n${output}`)));
    child.stderr.on('data', () => {
      const m = /export DTK_HUB_URL='([^']+)'/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ hubUrl: m[1], port: Number(new URL(m[1]).port) });
      }
    });
  });
  return { child, ready, exit, output: () => output };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
