import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SchemaVersionError } from '../../../worker/src/errors.ts';
import { createPostgresStore, LATEST_SCHEMA_VERSION } from '../../../worker/src/store/index.ts';
import { adminQuery, testPostgresUrl, withHub } from '../../harness/postgres.ts';

/** A schema name no other test uses, dropped by the test itself. */
function freshSchema(): string {
  return `m_${randomBytes(6).toString('hex')}`;
}

test('a fresh database is migrated to the latest version, and the record sits in schema_migrations', async () => {
  const schema = freshSchema();
  const store = createPostgresStore({ url: await testPostgresUrl(), schema });
  try {
    await assert.rejects(store.checkSchema(), SchemaVersionError, 'an empty database is not migrated');
    assert.deepEqual(await store.migrate(), { from: 0, to: LATEST_SCHEMA_VERSION });
    assert.equal(await store.checkSchema(), LATEST_SCHEMA_VERSION);
    const rows = await adminQuery<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    assert.deepEqual(
      rows.rows.map((r) => r.version),
      Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1),
    );
    assert.deepEqual(await store.migrate(), { from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION }, 'a second run is a no-op');
  } finally {
    await store.close();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});

test('migrators racing on the same empty schema all succeed and apply each migration once', async () => {
  const schema = freshSchema();
  const url = await testPostgresUrl();
  const stores = Array.from({ length: 4 }, () => createPostgresStore({ url, schema }));
  try {
    const results = await Promise.all(stores.map((s) => s.migrate()));
    for (const r of results) assert.equal(r.to, LATEST_SCHEMA_VERSION);
    const rows = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".schema_migrations`);
    assert.equal(Number(rows.rows[0]?.n), LATEST_SCHEMA_VERSION);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});

test('a database migrated by newer code is refused, and the message says so', async () => {
  await withHub(async (hub) => {
    await adminQuery(`INSERT INTO "${hub.schema}".schema_migrations (version, name) VALUES ($1, 'from the future')`, [
      LATEST_SCHEMA_VERSION + 1,
    ]);
    await assert.rejects(hub.store.migrate(), (err: unknown) => {
      assert.ok(err instanceof SchemaVersionError);
      assert.match(err.message, /newer than this dtk/);
      return true;
    });
    await assert.rejects(hub.store.checkSchema(), /newer than this dtk/);
  });
});
