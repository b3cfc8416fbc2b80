/**
 * Migrations: numbered, applied in order, each in its own transaction together with its row in
 * `schema_migrations`, under an advisory lock so concurrent migrators queue instead of racing.
 * A second concurrent `migrate()` finds nothing left to do and succeeds. A database newer than
 * this code is refused.
 */
import { SchemaVersionError } from '../errors.ts';
import type { Database } from './db.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.ts';

function lockKey(schema: string): string {
  return `dtk-migrate:${schema}`;
}

async function currentVersion(db: Pick<Database, 'query'>, schema: string): Promise<number | undefined> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`"${schema}".schema_migrations`]);
  if (!exists.rows[0]?.t) return undefined;
  const r = await db.query<{ v: number | null }>(`SELECT max(version) AS v FROM "${schema}".schema_migrations`);
  return r.rows[0]?.v ?? 0;
}

function refuseNewer(schema: string, version: number): never {
  throw new SchemaVersionError(
    `hub schema '${schema}' is at version ${version}, newer than this dtk (knows up to ${LATEST_SCHEMA_VERSION}); ` +
      'upgrade the worker/CLI image to a release that knows this schema — never run older code against a newer hub',
  );
}

/** Brings the hub schema to LATEST_SCHEMA_VERSION. */
export async function migrate(db: Database, schema: string): Promise<{ from: number; to: number }> {
  const from = (await currentVersion(db, schema)) ?? 0;
  if (from > LATEST_SCHEMA_VERSION) refuseNewer(schema, from);
  let to = from;
  for (const migration of MIGRATIONS) {
    if (migration.version <= to) continue;
    const applied = await db.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(schema)]);
      // Only when missing: Postgres checks CREATE on the database before IF NOT EXISTS, and a
      // hub role provisioned by the operator owns its schema but may not create schemas.
      const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const now = (await currentVersion(client, schema)) ?? 0;
      // Another migrator got here first while we waited for the lock.
      if (now >= migration.version) return now;
      await client.query(migration.sql.replace(/\bS\./g, `"${schema}".`));
      await client.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      return migration.version;
    });
    to = Math.max(to, applied);
  }
  return { from, to };
}

/** Returns the schema version, or throws SchemaVersionError when missing or newer than the code. */
export async function checkSchema(db: Database, schema: string): Promise<number> {
  const version = await currentVersion(db, schema);
  if (version === undefined || version === 0) {
    throw new SchemaVersionError(`hub schema '${schema}' is not migrated; run \`dtk hub migrate\` (or let the operator provision the TaskHub)`);
  }
  if (version > LATEST_SCHEMA_VERSION) refuseNewer(schema, version);
  if (version < LATEST_SCHEMA_VERSION) {
    throw new SchemaVersionError(`hub schema '${schema}' is at version ${version}, this dtk needs ${LATEST_SCHEMA_VERSION}; run \`dtk hub migrate\``);
  }
  return version;
}
