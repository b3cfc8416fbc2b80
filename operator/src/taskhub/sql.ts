/**
 * The operator's own SQL: hub roles, schemas and databases, run over the admin connection, plus the instance counts
 * read as the hub role. Identifiers and literals are escaped with pg's helpers (DDL takes no bind parameters).
 * Every statement is idempotent, so a pass interrupted anywhere (operator killed, connection lost) is finished by
 * the next one. Passwords never appear in SQL text: roles get a SCRAM-SHA-256 verifier computed here, so a server
 * logging statements logs no secret.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

const id = (name: string) => pg.escapeIdentifier(name);
const lit = (text: string) => pg.escapeLiteral(text);

/** A connection that can run queries (a pg.Client or pg.Pool). */
export type Sql = Pick<pg.Client, 'query'>;

/** The SCRAM-SHA-256 verifier Postgres stores for a password (RFC 5802/7677), so the password itself is never sent. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Who the admin connection is and what it may do. */
export async function adminIdentity(sql: Sql): Promise<{ user: string; superuser: boolean; database: string; serverVersion: number }> {
  const r = await sql.query<{ u: string; s: boolean; d: string; v: string }>(
    `SELECT current_user AS u, r.rolsuper AS s, current_database() AS d, current_setting('server_version_num') AS v
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = r.rows[0];
  if (!row) throw new Error('cannot read the admin role from pg_roles');
  return { user: row.u, superuser: row.s, database: row.d, serverVersion: Number(row.v) };
}

/**
 * Creates the hub's login role, or resets its password to the one in the connection Secret. The role has no
 * attribute beyond LOGIN: no CREATEDB, no CREATEROLE, no inheritance from anything. A concurrent creator (another
 * operator during a lease hand-over) makes CREATE fail with duplicate_object; the ALTER then does the same job.
 * A non-superuser admin is made a member of the role so it may create the schema or database owned by it.
 */
export async function ensureRole(sql: Sql, role: string, password: string, hub: string, adminIsSuperuser: boolean): Promise<'created' | 'existing'> {
  const verifier = lit(scramVerifier(password));
  const exists = await sql.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
  let outcome: 'created' | 'existing' = 'existing';
  if (exists.rowCount === 0) {
    try {
      await sql.query(`CREATE ROLE ${id(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD ${verifier}`);
      outcome = 'created';
    } catch (err) {
      if ((err as { code?: string }).code !== '42710') throw err;
    }
  }
  if (outcome === 'existing') {
    await sql.query(`ALTER ROLE ${id(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${verifier}`);
  }
  await sql.query(`COMMENT ON ROLE ${id(role)} IS ${lit(`dtk TaskHub ${hub}`)}`);
  if (!adminIsSuperuser) await sql.query(`GRANT ${id(role)} TO CURRENT_USER`);
  return outcome;
}

/**
 * Schema isolation: a schema owned by the hub role in the admin URI's database, closed to everyone else
 * (REVOKE ... FROM PUBLIC), with the role's search_path pinned to it. The role's explicit rights on `public` are
 * revoked; rights PUBLIC holds there are left alone so other users keep working (on Postgres 15+ PUBLIC has no
 * CREATE on public anyway; {@link publicSchemaWritable} reports the older default).
 */
export async function ensureHubSchema(sql: Sql, schema: string, role: string): Promise<void> {
  await sql.query(`CREATE SCHEMA IF NOT EXISTS ${id(schema)} AUTHORIZATION ${id(role)}`);
  // A retained schema from an earlier hub of the same name may be owned by a previous incarnation's role.
  await sql.query(`ALTER SCHEMA ${id(schema)} OWNER TO ${id(role)}`);
  await sql.query(`REVOKE ALL ON SCHEMA ${id(schema)} FROM PUBLIC`);
  await sql.query(`REVOKE ALL ON SCHEMA public FROM ${id(role)}`);
  await sql.query(`ALTER ROLE ${id(role)} SET search_path = ${id(schema)}`);
}

/** True when the database exists. */
export async function databaseExists(sql: Sql, database: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Database isolation, first half (admin database): a database owned by the hub role that nobody else may connect
 * to. CREATE DATABASE cannot run in a transaction; a concurrent creator makes it fail with duplicate_database,
 * which counts as success.
 */
export async function ensureHubDatabase(sql: Sql, database: string, role: string): Promise<void> {
  if (!(await databaseExists(sql, database))) {
    try {
      await sql.query(`CREATE DATABASE ${id(database)} OWNER ${id(role)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
  }
  await sql.query(`ALTER DATABASE ${id(database)} OWNER TO ${id(role)}`);
  await sql.query(`REVOKE ALL ON DATABASE ${id(database)} FROM PUBLIC`);
  await sql.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${id(database)} TO ${id(role)}`);
}

/**
 * Database isolation, second half (connected to the hub's own database as admin): the hub schema owned by the role,
 * `public` closed (safe here: nobody else uses this database), and the role's search_path pinned in this database.
 */
export async function hardenHubDatabase(sql: Sql, database: string, schema: string, role: string): Promise<void> {
  await sql.query(`CREATE SCHEMA IF NOT EXISTS ${id(schema)} AUTHORIZATION ${id(role)}`);
  await sql.query(`ALTER SCHEMA ${id(schema)} OWNER TO ${id(role)}`);
  await sql.query(`REVOKE ALL ON SCHEMA ${id(schema)} FROM PUBLIC`);
  await sql.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
  await sql.query(`ALTER ROLE ${id(role)} IN DATABASE ${id(database)} SET search_path = ${id(schema)}`);
}

/** True when the role can create objects in `public` (through PUBLIC's default grant on Postgres 14 and older). */
export async function publicSchemaWritable(sql: Sql, role: string): Promise<boolean> {
  const r = await sql.query<{ ok: boolean }>(`SELECT has_schema_privilege($1, 'public', 'CREATE') AS ok`, [role]);
  return r.rows[0]?.ok ?? false;
}

/** True when the role may create schemas in the current database (the store's migrate() needs it, see below). */
export async function canCreateInDatabase(sql: Sql, role: string): Promise<boolean> {
  const r = await sql.query<{ ok: boolean }>(`SELECT has_database_privilege($1, current_database(), 'CREATE') AS ok`, [role]);
  return r.rows[0]?.ok ?? false;
}

/**
 * The store's migrate() starts with CREATE SCHEMA IF NOT EXISTS, which Postgres checks against CREATE on the
 * database even when the schema exists. Under schema isolation the role gets that right only for the duration of a
 * migration and loses it right after.
 */
export async function grantCreateOnDatabase(sql: Sql, role: string): Promise<void> {
  await sql.query(`DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO %I', current_database(), ${lit(role)}); END $$`);
}

/** Takes back what {@link grantCreateOnDatabase} gave. */
export async function revokeCreateOnDatabase(sql: Sql, role: string): Promise<void> {
  await sql.query(`DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM %I', current_database(), ${lit(role)}); END $$`);
}

/** Ends the role's sessions (workers) so its schema, database and the role itself can be dropped. */
export async function terminateSessions(sql: Sql, role: string): Promise<void> {
  await sql.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`, [role]);
}

/** Drops the hub schema and everything in it. */
export async function dropHubSchema(sql: Sql, schema: string): Promise<void> {
  await sql.query(`DROP SCHEMA IF EXISTS ${id(schema)} CASCADE`);
}

/** Drops the hub database, disconnecting anyone still in it (Postgres 13+). */
export async function dropHubDatabase(sql: Sql, database: string): Promise<void> {
  await sql.query(`DROP DATABASE IF EXISTS ${id(database)} WITH (FORCE)`);
}

/**
 * Drops the hub role. DROP OWNED first removes its remaining objects and grants in the admin database (the
 * temporary CREATE grant, if a migration died between grant and revoke); the role's settings go with it.
 */
export async function dropRole(sql: Sql, role: string): Promise<void> {
  const exists = await sql.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
  if (exists.rowCount === 0) return;
  await sql.query(`DROP OWNED BY ${id(role)} CASCADE`);
  await sql.query(`DROP ROLE IF EXISTS ${id(role)}`);
}

/** Instances by runtime status, read as the hub role. */
export async function countInstances(sql: Sql, schema: string): Promise<Record<string, number>> {
  const r = await sql.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM ${id(schema)}.instances GROUP BY status`);
  return Object.fromEntries(r.rows.map((row) => [row.status, row.n]));
}
