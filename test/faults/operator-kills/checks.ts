/**
 * What scenario 10 expects once the restarted operator converged: no duplicates (one role, one schema or database,
 * one connection Secret, migrations recorded once, one Deployment per live version, status saying what exists), and
 * after a deletion no orphans (what the deletionPolicy removes is gone, what it keeps is kept and released).
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { LATEST_SCHEMA_VERSION } from '../../../worker/src/store/index.ts';
import { TASKHUB_FINALIZER } from '../../../operator/src/crds/group.ts';
import type { TaskHub, WorkflowDeployment } from '../../../operator/src/crds/index.ts';
import type { KubeObject } from '../../../operator/src/runtime/kube.ts';
import { DEPLOYMENTS, SECRETS, TASKHUBS } from '../../../operator/src/runtime/resources.ts';
import { hubNames } from '../../../operator/src/taskhub/names.ts';
import { withClient } from '../../../operator/src/taskhub/postgres.ts';
import type { HubNames } from '../../../operator/src/taskhub/names.ts';
import { deploymentName } from '../../../operator/src/workflowdeployment/deployments.ts';
import { connectionOf } from '../../../operator/test/support/hubs.ts';
import { readWd } from '../../../operator/test/support/workflows.ts';
import type { WdRef } from '../../../operator/test/support/workflows.ts';
import type { E2e } from '../../e2e/support/env.ts';
import { adminQuery } from '../../harness/postgres.ts';
import type { AuditedHub } from '../invariants.ts';

/** A hub's Postgres names in this world. */
export function namesOf(e2e: E2e, hub: string, isolation: 'schema' | 'database' = 'schema'): HubNames {
  return hubNames(e2e.namespace, hub, isolation);
}

/** Roles, schemas and databases on the server whose name starts like the hub's (a duplicate would too). */
async function pgObjectsLike(names: HubNames): Promise<{ roles: string[]; schemas: string[]; databases: string[] }> {
  const prefix = `${names.role.replace(/_[0-9a-f]{8}$/, '')}%`;
  const col = async (sql: string) => (await adminQuery<{ n: string }>(sql, [prefix])).rows.map((r) => r.n).sort();
  return {
    roles: await col(`SELECT rolname AS n FROM pg_roles WHERE rolname LIKE $1`),
    schemas: await col(`SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE $1`),
    databases: await col(`SELECT datname AS n FROM pg_database WHERE datname LIKE $1`),
  };
}

/** Names of the objects of a kind labelled for the hub. */
async function labelled(e2e: E2e, res: typeof SECRETS, selector: string): Promise<string[]> {
  const list = await e2e.client.list(res, e2e.namespace, { labelSelector: selector });
  return list.items.map((o: KubeObject) => o.metadata?.name ?? '').sort();
}

/**
 * A Ready hub owns exactly one role, one schema (or database), one connection Secret whose password works, its
 * migrations recorded once each, no leftover right to create in the admin database, and a status naming them.
 */
export async function expectOneHub(e2e: E2e, hub: string, isolation: 'schema' | 'database'): Promise<void> {
  const names = namesOf(e2e, hub, isolation);
  const found = await pgObjectsLike(names);
  assert.deepEqual(found.roles, [names.role], 'one role');
  if (isolation === 'schema') {
    assert.deepEqual(found.schemas, [names.schema], 'one schema');
  } else {
    assert.deepEqual(found.databases, [names.database], 'one database');
  }
  assert.deepEqual(
    await labelled(e2e, SECRETS, `durabletask.dev/hub=${hub}`),
    [`${hub}-connection`],
    'one connection Secret',
  );
  const conn = await connectionOf(e2e.client, e2e.namespace, hub);
  assert.equal(conn.user, names.role);
  const migrations = await asHub(conn.uri ?? '', (c) =>
    c.query<{ version: number }>(`SELECT version FROM schema_migrations ORDER BY version`),
  );
  assert.deepEqual(
    migrations.rows.map((r) => r.version),
    Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1),
    'every migration recorded once, none missing',
  );
  if (isolation === 'schema') {
    // The store's migrate() needs CREATE on the database; the operator grants it for the migration only.
    const create = await adminQuery<{ ok: boolean }>(
      `SELECT has_database_privilege($1, current_database(), 'CREATE') AS ok`,
      [names.role],
    );
    assert.equal(create.rows[0]?.ok, false, `role ${names.role} kept CREATE on the admin database after migrating`);
  }
  const obj = await e2e.client.get<TaskHub>(TASKHUBS, e2e.namespace, hub);
  const ready = obj?.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True', JSON.stringify(obj?.status?.conditions));
  assert.equal(obj?.status?.role, names.role);
  assert.equal(obj?.status?.schema, names.schema);
  assert.equal(obj?.status?.schemaVersion, LATEST_SCHEMA_VERSION);
  assert.equal(obj?.status?.connectionSecret, `${hub}-connection`);
  assert.deepEqual(obj?.metadata.finalizers, [TASKHUB_FINALIZER], 'one finalizer');
}

/** After a Delete: the TaskHub, its role, schema or database, Secret and every session of the role are gone. */
export async function expectHubGone(e2e: E2e, hub: string, isolation: 'schema' | 'database'): Promise<void> {
  const names = namesOf(e2e, hub, isolation);
  assert.equal(await e2e.client.get(TASKHUBS, e2e.namespace, hub), undefined, 'the TaskHub is gone');
  assert.deepEqual(
    await pgObjectsLike(names),
    { roles: [], schemas: [], databases: [] },
    'no role, schema or database left',
  );
  assert.deepEqual(await labelled(e2e, SECRETS, `durabletask.dev/hub=${hub}`), [], 'no Secret left');
  assert.deepEqual(await labelled(e2e, DEPLOYMENTS, `durabletask.dev/hub=${hub}`), [], 'no worker Deployment left');
  const sessions = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1`, [
    names.role,
  ]);
  assert.equal(Number(sessions.rows[0]?.n), 0, 'no session of the role left');
}

/** After a Retain: the TaskHub is gone; its role, data and Secret stay, the Secret no longer owned by it. */
export async function expectHubRetained(e2e: E2e, hub: string, isolation: 'schema' | 'database'): Promise<void> {
  const names = namesOf(e2e, hub, isolation);
  assert.equal(await e2e.client.get(TASKHUBS, e2e.namespace, hub), undefined, 'the TaskHub is gone');
  const found = await pgObjectsLike(names);
  assert.deepEqual(found.roles, [names.role], 'the role is kept');
  if (isolation === 'database') assert.deepEqual(found.databases, [names.database], 'the database is kept');
  else assert.deepEqual(found.schemas, [names.schema], 'the schema is kept');
  const secret = await e2e.client.get(SECRETS, e2e.namespace, `${hub}-connection`);
  assert.ok(secret, 'the connection Secret is kept');
  assert.deepEqual(secret.metadata?.ownerReferences ?? [], [], 'released, so garbage collection does not take it');
}

/**
 * The rollout converged on `live` versions: exactly one Deployment for each, status listing exactly them with
 * `current` Current, and the hub routing every new start to `current`.
 */
export async function expectVersions(
  e2e: E2e,
  wd: WdRef,
  live: string[],
  current: string,
): Promise<WorkflowDeployment> {
  const deployments = await labelled(e2e, DEPLOYMENTS, `durabletask.dev/workflowdeployment=${wd.name}`);
  assert.deepEqual(deployments, live.map((v) => deploymentName(wd.name, v)).sort(), 'one Deployment per live version');
  const obj = await readWd(wd);
  assert.deepEqual(
    (obj.status?.versions ?? []).map((v) => v.version).sort(),
    [...live].sort(),
    `status lists the live versions: ${JSON.stringify(obj.status?.versions)}`,
  );
  assert.equal(obj.status?.currentVersion, current);
  assert.equal(obj.status?.versions?.find((v) => v.version === current)?.state, 'Current');
  assert.equal(obj.status?.observedGeneration, obj.metadata.generation);
  return obj;
}

/** Runs `body` on a connection as the hub role (the operator's own helper: connect, run, always disconnect). */
export const asHub: <T>(uri: string, body: (client: pg.Client) => Promise<T>) => Promise<T> = withClient;

/** The hub seen by the invariant checker, through the hub role (which owns its schema, so it may add the audit). */
export function auditedHub(uri: string, schema: string): AuditedHub & { close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: uri, max: 2 });
  pool.on('error', () => undefined);
  return { S: `"${schema}"`, sql: (text, values) => pool.query(text, values), close: () => pool.end() };
}
