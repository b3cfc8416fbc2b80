import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { loadOperatorConfig } from '../../src/config.ts';
import { CRASH_POINTS, crashPoint, setCrashPoints } from '../../src/runtime/crash.ts';
import type { CrashPoint } from '../../src/runtime/crash.ts';

const dir = mkdtempSync(join(tmpdir(), 'dtk-crash-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setCrashPoints(undefined));

/** Enables `points` with a kill that records instead of dying. */
function enable(points: string[]): CrashPoint[] {
  const killed: CrashPoint[] = [];
  setCrashPoints({ points, dir, kill: (p) => killed.push(p) });
  return killed;
}

const arm = (point: CrashPoint) => writeFileSync(join(dir, point), '');

describe('test-only crash points', () => {
  it('do nothing when none is enabled, armed or not', () => {
    arm('after-role-create');
    for (const p of CRASH_POINTS) crashPoint(p);
    assert.ok(existsSync(join(dir, 'after-role-create')), 'an arming is left alone while crash points are off');
    rmSync(join(dir, 'after-role-create'));
  });

  it('fire once per arming, only at the listed points that are armed', () => {
    const killed = enable(['after-deployment-create', 'after-drop-role']);
    crashPoint('after-deployment-create');
    assert.deepEqual(killed, [], 'listed but not armed: the process goes on');
    arm('after-deployment-create');
    arm('after-scale-down');
    crashPoint('after-scale-down');
    assert.deepEqual(killed, [], 'armed but not listed: the process goes on');
    crashPoint('after-deployment-create');
    crashPoint('after-deployment-create');
    assert.deepEqual(killed, ['after-deployment-create'], 'one arming, one crash');
    assert.ok(existsSync(join(dir, 'after-deployment-create.fired')), 'the test can see which point fired');
    assert.ok(!existsSync(join(dir, 'after-deployment-create')), 'the restarted process goes past the point');
    arm('after-deployment-create');
    crashPoint('after-deployment-create');
    assert.deepEqual(killed, ['after-deployment-create', 'after-deployment-create'], 'armed again, fires again');
  });

  it('are configured by DTK_OPERATOR_CRASH_AT and DTK_OPERATOR_CRASH_DIR, unknown names refused at start', () => {
    const config = loadOperatorConfig({
      DTK_OPERATOR_CRASH_AT: 'after-migrate, after-drop-data',
      DTK_OPERATOR_CRASH_DIR: dir,
    });
    assert.deepEqual(config.crashAt, ['after-migrate', 'after-drop-data']);
    assert.equal(config.crashDir, dir);
    assert.throws(
      () => loadOperatorConfig({ DTK_OPERATOR_CRASH_AT: 'after-lunch', DTK_OPERATOR_CRASH_DIR: dir }),
      /names no crash point: after-lunch/,
    );
    assert.throws(() => loadOperatorConfig({ DTK_OPERATOR_CRASH_AT: 'after-migrate' }), /needs DTK_OPERATOR_CRASH_DIR/);
  });
});
