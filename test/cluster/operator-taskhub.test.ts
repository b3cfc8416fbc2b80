/**
 * The TaskHub reconciler against a real API server and the test Postgres (issue 5, acceptance 1 and 8): a hub gets
 * a role, a schema or database of its own and a connection Secret, cannot reach another hub, is deleted or retained
 * by its deletionPolicy, and reports what to fix when its Secret or Postgres is missing, recovering on its own.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';
import { adminQuery, testPostgresUrl } from '../harness/postgres.ts';
import { freePort } from '../../cli/src/embedded-postgres.ts';
import type { TaskHub } from '../../operator/src/crds/index.ts';
import { SECRETS, STATEFULSETS, SERVICES, TASKHUBS } from '../../operator/src/runtime/resources.ts';
import type { Secret } from '../../operator/src/runtime/objects.ts';
import { applyCrds, eventually } from '../../operator/test/support/cluster.ts';
import {
  connectionOf,
  createTaskHub,
  expectHubCondition,
  externalHub,
  pgObjectExists,
  putAdminSecret,
  queryAsHub,
} from '../../operator/test/support/hubs.ts';
import { startTestOperator } from '../../operator/test/support/operator.ts';
import type { TestOperator } from '../../operator/test/support/operator.ts';

let cp: ControlPlane;
let adminUri: string;

/** What the managed-hub test reads of the StatefulSet. */
interface ManagedStatefulSet {
  spec: {
    volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
    template: { spec: { securityContext: { runAsNonRoot: boolean } } };
  };
}

before(async () => {
  cp = await useControlPlane();
  adminUri = await testPostgresUrl();
  await applyCrds(cp);
});

/** A namespace with the operator running for it and the admin Secret `pg-admin`. */
async function withOperator(body: (ns: string, op: TestOperator) => Promise<void>): Promise<void> {
  await withNamespace(cp, async (ns) => {
    const op = await startTestOperator(cp, ns);
    try {
      await putAdminSecret(op.client, ns, 'pg-admin', adminUri);
      await body(ns, op);
    } finally {
      await op.stop();
    }
  }, { prefix: 'th' });
}

async function deleteHub(op: TestOperator, ns: string, name: string): Promise<void> {
  await op.client.delete(TASKHUBS, ns, name);
  await eventually(`TaskHub ${name} to be gone`, async () => ((await op.client.get(TASKHUBS, ns, name)) ? undefined : true), { timeoutMs: 15_000 });
}

describe('the TaskHub reconciler', () => {
  it('makes an external hub Ready within 10 s with its own role, schema and connection Secret', async () => {
    await withOperator(async (ns, op) => {
      const started = Date.now();
      await createTaskHub(op.client, ns, 'orders', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      const hub = await expectHubCondition(op.client, ns, 'orders', { status: 'True' }, 10_000);
      assert.ok(Date.now() - started < 10_000);
      const status = hub.status ?? {};
      assert.equal(status.schemaVersion !== undefined && status.schemaVersion > 0, true);
      assert.equal(status.connectionSecret, 'orders-connection');
      for (const type of ['DatabaseReady', 'Migrated']) {
        assert.equal(status.conditions?.find((c) => c.type === type)?.status, 'True', type);
      }
      assert.deepEqual(hub.metadata.finalizers, ['durabletask.dev/taskhub-cleanup']);

      const conn = await connectionOf(op.client, ns, 'orders');
      assert.deepEqual(Object.keys(conn).sort(), ['database', 'host', 'password', 'port', 'schema', 'uri', 'user']);
      assert.equal(conn.user, status.role);
      assert.equal(conn.schema, status.schema);
      assert.ok(await pgObjectExists('role', conn.user ?? ''));
      assert.ok(await pgObjectExists('schema', conn.schema ?? ''));

      // The role's search_path is its schema, and it may not create anything in public.
      const path = await queryAsHub<{ search_path: string }>(conn.uri ?? '', 'SHOW search_path');
      assert.equal(path.rows[0]?.search_path, `${conn.schema}`);
      const pub = await queryAsHub<{ ok: boolean }>(conn.uri ?? '', `SELECT has_schema_privilege('public', 'CREATE') AS ok`);
      assert.equal(pub.rows[0]?.ok, false);
      const owner = await adminQuery<{ owner: string }>(`SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = $1`, [conn.schema]);
      assert.equal(owner.rows[0]?.owner, conn.user);
      // The temporary right to create schemas, needed only while migrating, was taken back.
      const create = await adminQuery<{ ok: boolean }>(`SELECT has_database_privilege($1, current_database(), 'CREATE') AS ok`, [conn.user]);
      assert.equal(create.rows[0]?.ok, false);

      await deleteHub(op, ns, 'orders');
    });
  });

  it("keeps hubs apart: one hub's role cannot read another hub's tables", async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'orders', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await createTaskHub(op.client, ns, 'billing', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await expectHubCondition(op.client, ns, 'orders', { status: 'True' });
      await expectHubCondition(op.client, ns, 'billing', { status: 'True' });
      const orders = await connectionOf(op.client, ns, 'orders');
      const billing = await connectionOf(op.client, ns, 'billing');
      assert.notEqual(orders.user, billing.user);
      await queryAsHub(orders.uri ?? '', `SELECT count(*) FROM "${orders.schema}".instances`);
      await assert.rejects(queryAsHub(orders.uri ?? '', `SELECT count(*) FROM "${billing.schema}".instances`), /permission denied for schema/);
      await assert.rejects(queryAsHub(billing.uri ?? '', `SELECT count(*) FROM "${orders.schema}".versions`), /permission denied for schema/);
      await deleteHub(op, ns, 'orders');
      await deleteHub(op, ns, 'billing');
    });
  });

  it('gives a database-isolated hub a database nobody else can connect to', async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'orders', externalHub('pg-admin', { isolation: 'database', deletionPolicy: 'Delete' }));
      await createTaskHub(op.client, ns, 'billing', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      const hub = await expectHubCondition(op.client, ns, 'orders', { status: 'True' });
      await expectHubCondition(op.client, ns, 'billing', { status: 'True' });
      const orders = await connectionOf(op.client, ns, 'orders');
      assert.equal(orders.schema, 'dtk');
      assert.equal(orders.database, hub.status?.database);
      assert.ok(await pgObjectExists('database', orders.database ?? ''));
      await queryAsHub(orders.uri ?? '', 'SELECT count(*) FROM dtk.instances');
      const billing = await connectionOf(op.client, ns, 'billing');
      const intruder = new URL(billing.uri ?? '');
      intruder.pathname = `/${orders.database}`;
      await assert.rejects(queryAsHub(intruder.toString(), 'SELECT 1'), /permission denied for database/);
      await deleteHub(op, ns, 'orders');
      assert.equal(await pgObjectExists('database', orders.database ?? ''), false, 'Delete drops the database');
      assert.equal(await pgObjectExists('role', orders.user ?? ''), false, 'Delete drops the role');
      await deleteHub(op, ns, 'billing');
    });
  });

  it('drops schema, role and Secret with deletionPolicy Delete, and keeps them with Retain', async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'gone', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await createTaskHub(op.client, ns, 'kept', externalHub('pg-admin'));
      await expectHubCondition(op.client, ns, 'gone', { status: 'True' });
      const kept = await expectHubCondition(op.client, ns, 'kept', { status: 'True' });
      assert.equal(kept.spec.deletionPolicy, 'Retain', 'Retain is the default');
      const gone = await connectionOf(op.client, ns, 'gone');
      const keptConn = await connectionOf(op.client, ns, 'kept');

      await deleteHub(op, ns, 'gone');
      assert.equal(await pgObjectExists('schema', gone.schema ?? ''), false);
      assert.equal(await pgObjectExists('role', gone.user ?? ''), false);
      assert.equal(await op.client.get(SECRETS, ns, 'gone-connection'), undefined);

      await deleteHub(op, ns, 'kept');
      assert.ok(await pgObjectExists('schema', keptConn.schema ?? ''));
      assert.ok(await pgObjectExists('role', keptConn.user ?? ''));
      const secret = await op.client.get<Secret>(SECRETS, ns, 'kept-connection');
      assert.ok(secret, 'Retain keeps the connection Secret');
      assert.equal(secret.metadata?.ownerReferences, undefined, 'released, so garbage collection does not remove it');
      await queryAsHub(keptConn.uri ?? '', 'SELECT count(*) FROM instances');

      // A TaskHub created again with the same name adopts what was retained, with the same password.
      await createTaskHub(op.client, ns, 'kept', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await expectHubCondition(op.client, ns, 'kept', { status: 'True' });
      assert.equal((await connectionOf(op.client, ns, 'kept')).password, keptConn.password);
      await deleteHub(op, ns, 'kept');
    });
  });

  it('reports a missing admin Secret with what to create, and recovers when it appears', async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'orders', externalHub('not-yet', { deletionPolicy: 'Delete' }));
      const hub = await expectHubCondition(op.client, ns, 'orders', { status: 'False', reason: 'AdminSecretNotFound' });
      const ready = hub.status?.conditions?.find((c) => c.type === 'Ready');
      assert.match(ready?.message ?? '', new RegExp(`Secret ${ns}/not-yet not found: create it with key 'uri'`));
      await putAdminSecret(op.client, ns, 'not-yet', adminUri);
      await expectHubCondition(op.client, ns, 'orders', { status: 'True' });
      await deleteHub(op, ns, 'orders');
    });
  });

  it('reports an unreachable Postgres with the host to check, and recovers when the Secret is fixed', async () => {
    await withOperator(async (ns, op) => {
      const closed = new URL(adminUri);
      closed.port = String(await freePort());
      await putAdminSecret(op.client, ns, 'pg-broken', closed.toString());
      await createTaskHub(op.client, ns, 'orders', externalHub('pg-broken', { deletionPolicy: 'Delete' }));
      const hub = await expectHubCondition(op.client, ns, 'orders', { status: 'False', reason: 'PostgresUnreachable' });
      const message = hub.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
      assert.match(message, new RegExp(`cannot reach Postgres at 127\\.0\\.0\\.1:${closed.port}`));
      assert.match(message, /check the host and port in Secret .*pg-broken/);
      await putAdminSecret(op.client, ns, 'pg-broken', adminUri);
      await expectHubCondition(op.client, ns, 'orders', { status: 'True' });
      await deleteHub(op, ns, 'orders');
    });
  });

  it('creates the StatefulSet, Service and Secret of a managed hub and waits for its pod', async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'dev', { postgres: { managed: { storage: { size: '2Gi' } } }, deletionPolicy: 'Delete' });
      await expectHubCondition(op.client, ns, 'dev', { type: 'DatabaseReady', status: 'False', reason: 'ManagedPostgresStarting' });
      const sts = (await op.client.get(STATEFULSETS, ns, 'dev-postgres')) as ManagedStatefulSet | undefined;
      assert.equal(sts?.spec.volumeClaimTemplates[0]?.spec.resources.requests.storage, '2Gi');
      assert.equal(sts?.spec.template.spec.securityContext.runAsNonRoot, true);
      assert.ok(await op.client.get(SERVICES, ns, 'dev-postgres'));
      const secret = await op.client.get<Secret>(SECRETS, ns, 'dev-postgres');
      assert.ok(secret?.data?.password, 'a generated superuser password');
      await deleteHub(op, ns, 'dev');
      assert.equal(await op.client.get(STATEFULSETS, ns, 'dev-postgres'), undefined, 'Delete removes the StatefulSet');
    });
  });

  it('purges instances that finished longer ago than spec.retention.finishedAfter, counted from completion', async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'ledger', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await expectHubCondition(op.client, ns, 'ledger', { status: 'True' });
      const conn = await connectionOf(op.client, ns, 'ledger');
      // Two finished instances created three days ago: one finished then, one a minute ago; and one still running.
      await queryAsHub(
        conn.uri ?? '',
        `INSERT INTO "${conn.schema}".instances (instance_id, execution_id, name, version, status, created_at, completed_at)
         VALUES ('finished-long-ago', 'e', 'n', 'v1', 'Completed', now() - interval '3 days', now() - interval '3 days'),
                ('finished-just-now', 'e', 'n', 'v1', 'Failed', now() - interval '3 days', now() - interval '1 minute'),
                ('still-running', 'e', 'n', 'v1', 'Running', now() - interval '3 days', NULL)`,
      );
      await op.client.patch(TASKHUBS, ns, 'ledger', 'merge', { spec: { retention: { finishedAfter: '24h' } } });
      const left = await eventually('the retention purge', async () => {
        const r = await queryAsHub<{ instance_id: string }>(conn.uri ?? '', `SELECT instance_id FROM "${conn.schema}".instances ORDER BY 1`);
        const ids = r.rows.map((row) => row.instance_id);
        return ids.includes('finished-long-ago') ? undefined : ids;
      }, { timeoutMs: 15_000 });
      assert.deepEqual(left, ['finished-just-now', 'still-running'], 'retention counts from completion, not creation');
      await deleteHub(op, ns, 'ledger');
    });
  });

  it('converges again after an operator restart without a second role or a new password', async () => {
    await withOperator(async (ns, op) => {
      await createTaskHub(op.client, ns, 'orders', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await expectHubCondition(op.client, ns, 'orders', { status: 'True' });
      const before = await connectionOf(op.client, ns, 'orders');
      await op.stop();
      const again = await startTestOperator(cp, ns);
      try {
        // Touch the spec so the new operator provisions fully rather than trusting the status.
        await again.client.patch(TASKHUBS, ns, 'orders', 'merge', { spec: { retention: { finishedAfter: '720h' } } });
        await expectHubCondition(again.client, ns, 'orders', { status: 'True' });
        const after = await connectionOf(again.client, ns, 'orders');
        assert.equal(after.password, before.password);
        const roles = await adminQuery(`SELECT 1 FROM pg_roles WHERE rolname LIKE $1`, [`${before.user}%`]);
        assert.equal(roles.rowCount, 1);
        const hub = await again.client.get<TaskHub>(TASKHUBS, ns, 'orders');
        assert.deepEqual(hub?.metadata.finalizers, ['durabletask.dev/taskhub-cleanup'], 'one finalizer, not two');
        await deleteHub(again, ns, 'orders');
      } finally {
        await again.stop();
      }
    });
  });
});
