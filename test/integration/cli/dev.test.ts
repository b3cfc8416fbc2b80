import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';

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
    // The embedded server's own exit hook stops Postgres and ends the process with the signal's
    // conventional code (128 + 15); what matters is that nothing is left running.
    const code = await new Promise<number | null>((r) => dev.once('exit', (c) => r(c)));
    assert.ok(code === 0 || code === 143, `exit ${code}\n${banner}`);
    const stillListening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    assert.equal(stillListening, false, 'the embedded Postgres was stopped');
  }
});
