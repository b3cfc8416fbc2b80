import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveWorkerSettings } from '../../../worker/src/config.ts';
import { ConfigError } from '../../../worker/src/errors.ts';

test('environment fills settings, explicit options win, defaults fill the rest', () => {
  const s = resolveWorkerSettings({ version: 'v7' }, { DTK_HUB_URL: 'postgres://h/db', DTK_VERSION: 'v2', DTK_LEASE_MS: '5000' });
  assert.equal(s.hubUrl, 'postgres://h/db');
  assert.equal(s.version, 'v7');
  assert.equal(s.leaseMs, 5000);
  assert.equal(s.schema, 'dtk');
});

test('every bad setting is listed at once, with the variable that sets it', () => {
  assert.throws(
    () => resolveWorkerSettings({}, { DTK_HUB_URL: 'mysql://x', DTK_LEASE_MS: 'soon', DTK_HUB_SCHEMA: 'Bad-Name' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /DTK_LEASE_MS="soon" is not an integer/);
      assert.match(err.message, /hubUrl \(env DTK_HUB_URL\) must match pattern/);
      assert.match(err.message, /schema \(env DTK_HUB_SCHEMA\)/);
      return true;
    },
  );
});

test('a missing hub URL is named', () => {
  assert.throws(() => resolveWorkerSettings({}, {}), /hubUrl|DTK_HUB_URL/);
});
