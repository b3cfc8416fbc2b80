import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SchemaVersionError } from '../../../worker/src/errors.ts';
import { createPostgresStore, LATEST_SCHEMA_VERSION } from '../../../worker/src/store/index.ts';
import { MIGRATIONS } from '../../../worker/src/store/migrations/index.ts';
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

test('a hub left at an older version is brought forward from where it stands', async () => {
  const schema = freshSchema();
  const first = MIGRATIONS[0]!;
  // What the first release of dtk left behind.
  await adminQuery(`CREATE SCHEMA "${schema}"`);
  await adminQuery(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  await adminQuery(first.sql.replace(/\bS\./g, `"${schema}".`));
  await adminQuery(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES (1, $1)`, [first.name]);
  const store = createPostgresStore({ url: await testPostgresUrl(), schema });
  try {
    await assert.rejects(store.checkSchema(), /run `dtk hub migrate`/, 'old code paths are refused until migrated');
    assert.deepEqual(await store.migrate(), { from: 1, to: LATEST_SCHEMA_VERSION });
    assert.equal(await store.checkSchema(), LATEST_SCHEMA_VERSION);
  } finally {
    await store.close();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});

test('using a hub that was never migrated fails with SchemaVersionError telling how to fix it', async () => {
  const store = createPostgresStore({ url: await testPostgresUrl(), schema: freshSchema() });
  try {
    await assert.rejects(store.getInstance('x', false), (err: unknown) => {
      assert.ok(err instanceof SchemaVersionError);
      assert.match(err.message, /dtk hub migrate/);
      return true;
    });
    await assert.rejects(store.claimOrchestrations('v1', 1, 1000, 'w'), SchemaVersionError);
  } finally {
    await store.close();
  }
});
