/**
 * TaskHubs as a user creates, breaks, fixes and deletes them, with the operator running as a process under the local
 * kubelet (issue 5, acceptance 1 and 8):
 *  - an external hub is Ready within 10 s with its schema, role and Secret, and its role cannot read another hub;
 *  - deleting with Delete removes them, with Retain keeps them;
 *  - a hub whose Secret is missing, or whose Postgres goes down, says Ready=False with what to fix, and recovers on
 *    its own once the Secret exists or the server is back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startEmbeddedPostgres } from '../../cli/src/embedded-postgres.ts';
import type { EmbeddedPostgresHandle } from '../../cli/src/embedded-postgres.ts';
import { SECRETS } from '../../operator/src/runtime/resources.ts';
import { connectionOf, createTaskHub, expectHubCondition, externalHub, pgObjectExists, putAdminSecret, queryAsHub } from '../../operator/test/support/hubs.ts';
import { startE2e } from './support/env.ts';
import type { E2e } from './support/env.ts';
import { deleteHub, deployHub } from './support/steps.ts';

let e2e: E2e;

before(async () => {
  e2e = await startE2e('hubs');
});

after(async () => {
  await e2e?.stop();
});

/** A Postgres of this test's own that can be stopped and started again on the same port and data. */
class OwnPostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'dtk-e2e-pg-'));
  #server: EmbeddedPostgresHandle | undefined;
  #port = 0;

  async start(): Promise<string> {
    this.#port ||= await freePort();
    this.#server = await startEmbeddedPostgres({ dataDir: join(this.dir, 'data'), port: this.#port });
    return this.#server.url;
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
    this.#server = undefined;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('TaskHubs under the operator', () => {
  it('become Ready within 10 s with a schema, role and Secret of their own, and cannot read each other', async () => {
    const orders = await deployHub(e2e, 'orders');
    const billing = await deployHub(e2e, 'billing');
    const conn = await connectionOf(e2e.client, e2e.namespace, 'orders');
    assert.ok(await pgObjectExists('role', conn.user ?? ''));
    assert.ok(await pgObjectExists('schema', conn.schema ?? ''));
    await queryAsHub(orders.uri, 'SELECT count(*) FROM instances');
    await assert.rejects(queryAsHub(orders.uri, `SELECT count(*) FROM "${billing.schema}".instances`), /permission denied for schema/);
    await assert.rejects(queryAsHub(billing.uri, `SELECT count(*) FROM "${orders.schema}".history`), /permission denied for schema/);
    await deleteHub(e2e, orders);
    await deleteHub(e2e, billing);
  });

  it('are dropped with deletionPolicy Delete and kept with Retain', async () => {
    const gone = await deployHub(e2e, 'gone', { deletionPolicy: 'Delete' });
    const kept = await deployHub(e2e, 'kept', { deletionPolicy: 'Retain' });
    const goneConn = await connectionOf(e2e.client, e2e.namespace, 'gone');
    const keptConn = await connectionOf(e2e.client, e2e.namespace, 'kept');
    await deleteHub(e2e, gone);
    await deleteHub(e2e, kept);
    assert.equal(await pgObjectExists('schema', goneConn.schema ?? ''), false);
    assert.equal(await pgObjectExists('role', goneConn.user ?? ''), false);
    assert.equal(await e2e.client.get(SECRETS, e2e.namespace, 'gone-connection'), undefined);
    assert.ok(await pgObjectExists('schema', keptConn.schema ?? ''));
    assert.ok(await pgObjectExists('role', keptConn.user ?? ''));
    assert.ok(await e2e.client.get(SECRETS, e2e.namespace, 'kept-connection'));
    // Leave the shared server clean: adopt the retained hub again, then delete it for good.
    await deleteHub(e2e, await deployHub(e2e, 'kept', { deletionPolicy: 'Delete' }));
  });

  it('say Ready=False with what to fix while the admin Secret is missing, and recover when it appears', async () => {
    await createTaskHub(e2e.client, e2e.namespace, 'late', externalHub('late-admin', { deletionPolicy: 'Delete' }));
    const waiting = await expectHubCondition(e2e.client, e2e.namespace, 'late', { status: 'False', reason: 'AdminSecretNotFound' });
    assert.match(waiting.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '', /late-admin not found: create it with key 'uri'/);
    await putAdminSecret(e2e.client, e2e.namespace, 'late-admin', e2e.adminUri);
    await expectHubCondition(e2e.client, e2e.namespace, 'late', { status: 'True' });
    await deleteHub(e2e, 'late');
  });

  it('say Ready=False with the host to check while their Postgres is down, and recover on their own when it is back', async () => {
    const pg = new OwnPostgres();
    try {
      await putAdminSecret(e2e.client, e2e.namespace, 'own-admin', await pg.start());
      await createTaskHub(e2e.client, e2e.namespace, 'own', externalHub('own-admin', { deletionPolicy: 'Delete' }));
      await expectHubCondition(e2e.client, e2e.namespace, 'own', { status: 'True' });

      await pg.stop();
      const down = await expectHubCondition(e2e.client, e2e.namespace, 'own', { status: 'False', reason: 'PostgresUnreachable' }, 20_000);
      assert.match(down.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '', /cannot reach Postgres at 127\.0\.0\.1:\d+/);

      await pg.start();
      await expectHubCondition(e2e.client, e2e.namespace, 'own', { status: 'True' }, 30_000);
      await deleteHub(e2e, 'own');
    } finally {
      await pg.remove();
    }
  });
});
