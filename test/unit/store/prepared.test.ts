/**
 * Which statements are prepared by name: all of them where sessions plan index-driven (the store's
 * own pools, hub transactions), and on a pool passed in by the user all but those whose cached
 * generic plan would degrade as the tables grow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prepared } from '../../../worker/src/store/db.ts';

const KEYED = 'SELECT status FROM "dtk".instances WHERE instance_id = $1';
const ARRAY = 'SELECT 1 FROM unnest($1::text[]) AS k(id) JOIN "dtk".instances i ON i.instance_id = k.id';
const ANY = 'DELETE FROM "dtk".inbox WHERE id = ANY($1::bigint[])';
const LATERAL = 'SELECT * FROM "dtk".instances c LEFT JOIN LATERAL (SELECT 1 FROM "dtk".inbox x WHERE x.instance_id = c.instance_id) m ON true WHERE c.version = $1';

test('index-driven sessions name every parameterised statement, by a stable hash of its text', () => {
  for (const text of [KEYED, ARRAY, ANY, LATERAL]) {
    const config = prepared(text, ['x'], true);
    assert.match(config.name ?? '', /^dtk_[0-9a-z]+$/, text);
    assert.equal(prepared(text, ['y'], true).name, config.name, 'the same text gets the same name');
  }
  assert.notEqual(prepared(KEYED, [1], true).name, prepared(ANY, [1], true).name);
});

test('other sessions leave plan-sensitive statements unnamed, so each call is planned for the current tables', () => {
  assert.ok(prepared(KEYED, ['x']).name, 'a keyed lookup is still prepared');
  for (const text of [ARRAY, ANY, LATERAL]) assert.equal(prepared(text, ['x']).name, undefined, text);
  assert.equal(prepared('BEGIN', undefined, true).name, undefined, 'statements without parameters are never named');
});
