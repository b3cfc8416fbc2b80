/**
 * Steps and assertions about TaskHubs for cluster and e2e tests: create the admin Secret and the hub, wait for a
 * condition, and check from Postgres what the hub owns.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { adminQuery } from '../../../test/harness/postgres.ts';
import type { TaskHub, TaskHubSpec } from '../../src/crds/index.ts';
import type { KubeClient } from '../../src/runtime/kube.ts';
import { secretValue } from '../../src/runtime/objects.ts';
import type { Secret } from '../../src/runtime/objects.ts';
import { SECRETS, TASKHUBS } from '../../src/runtime/resources.ts';
import { eventually } from './cluster.ts';

/** Creates (or replaces the data of) a Secret holding `uri`. */
export async function putAdminSecret(client: KubeClient, namespace: string, name: string, uri: string): Promise<void> {
  await client.apply(SECRETS, namespace, name, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    data: { uri: Buffer.from(uri).toString('base64') },
  } as Secret);
}

/** Creates a TaskHub. */
export async function createTaskHub(client: KubeClient, namespace: string, name: string, spec: TaskHubSpec): Promise<void> {
  await client.create(TASKHUBS, namespace, { apiVersion: 'durabletask.dev/v1alpha1', kind: 'TaskHub', metadata: { name, namespace }, spec } as TaskHub);
}

/** An external TaskHub reading `secret`. */
export function externalHub(secret: string, extra: Partial<TaskHubSpec> = {}): TaskHubSpec {
  return { postgres: { external: { secretRef: { name: secret } } }, ...extra };
}

/** Waits until the hub's condition `type` has `status` (and `reason`, when given); returns the hub. */
export async function expectHubCondition(
  client: KubeClient,
  namespace: string,
  name: string,
  want: { type?: string; status: 'True' | 'False'; reason?: string },
  timeoutMs = 10_000,
): Promise<TaskHub> {
  const type = want.type ?? 'Ready';
  let last: TaskHub | undefined;
  return eventually(
    `TaskHub ${name} ${type}=${want.status}${want.reason ? ` (${want.reason})` : ''}`,
    async () => {
      last = await client.get<TaskHub>(TASKHUBS, namespace, name);
      const c = last?.status?.conditions?.find((x) => x.type === type);
      const ok = c?.status === want.status && (!want.reason || c.reason === want.reason) && c.observedGeneration === last?.metadata.generation;
      return ok ? last : undefined;
    },
    { timeoutMs, describe: () => JSON.stringify(last?.status?.conditions ?? 'no status') },
  );
}

/** The hub's connection Secret, decoded. */
export async function connectionOf(client: KubeClient, namespace: string, hub: string): Promise<Record<string, string>> {
  const secret = await client.get<Secret>(SECRETS, namespace, `${hub}-connection`);
  assert.ok(secret, `Secret ${hub}-connection does not exist`);
  const out: Record<string, string> = {};
  for (const key of Object.keys(secret.data ?? {})) out[key] = secretValue(secret, key) ?? '';
  return out;
}

/** Runs one query as the hub role (through its connection URI). */
export async function queryAsHub<R extends pg.QueryResultRow = pg.QueryResultRow>(uri: string, sql: string): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  try {
    return await client.query<R>(sql);
  } finally {
    await client.end();
  }
}

/** Whether a role, schema or database exists on the test server. */
export async function pgObjectExists(kind: 'role' | 'schema' | 'database', name: string): Promise<boolean> {
  const sql = {
    role: 'SELECT 1 FROM pg_roles WHERE rolname = $1',
    schema: 'SELECT 1 FROM pg_namespace WHERE nspname = $1',
    database: 'SELECT 1 FROM pg_database WHERE datname = $1',
  }[kind];
  return ((await adminQuery(sql, [name])).rowCount ?? 0) > 0;
}
