/**
 * Deletion of a TaskHub, held by a finalizer until its deletionPolicy is carried out. Delete drops the schema or
 * database and the role (after ending the role's sessions) and deletes the Secrets, and for a managed hub the
 * StatefulSet, Service and volume claim. Retain leaves the data, the role and the Secrets (released from the
 * TaskHub's ownership, so garbage collection does not take the password with it): a TaskHub created again with the
 * same name picks them up.
 */
import { TASKHUB_FINALIZER } from '../crds/group.ts';
import type { TaskHub } from '../crds/index.ts';
import type { OperatorContext } from '../context.ts';
import { crashPoint } from '../runtime/crash.ts';
import { removeFinalizer } from '../runtime/finalizers.ts';
import type { Resource } from '../runtime/kube.ts';
import { done, requeueAfter } from '../runtime/result.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import { SECRETS, SERVICES, STATEFULSETS, TASKHUBS } from '../runtime/resources.ts';
import { setCondition } from '../crds/conditions.ts';
import { updateStatus } from '../runtime/status.ts';
import { connectionSecretName, hubNames, managedPostgresName } from './names.ts';
import { describePgError, ProvisioningError, withClient } from './postgres.ts';
import { resolveAdmin } from './provision.ts';
import * as sql from './sql.ts';

const PVCS: Resource = { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true };

/** Carries out the deletionPolicy and lets the TaskHub go. */
export async function finalizeTaskHub(ctx: OperatorContext, hub: TaskHub): Promise<ReconcileResult> {
  const ns = hub.metadata.namespace ?? '';
  const name = hub.metadata.name ?? '';
  const key = `${ns}/${name}`;
  await ctx.hubs.close(key);
  const policy = hub.spec.deletionPolicy ?? 'Retain';
  try {
    if (policy === 'Delete') await deleteEverything(ctx, hub);
    else await releaseSecrets(ctx, hub);
  } catch (err) {
    const problem =
      err instanceof ProvisioningError ? err : describePgError(err, 'the hub database', `spec.postgres of TaskHub ${key}`);
    const message = `${problem.message}; the TaskHub stays until its deletionPolicy Delete can be carried out (or set deletionPolicy: Retain to let it go)`;
    await updateStatus<NonNullable<TaskHub['status']>, TaskHub>(ctx.client, TASKHUBS, ns, name, (status) =>
      setCondition((status.conditions ??= []), { type: 'Ready', status: 'False', reason: problem.reason, message, observedGeneration: hub.metadata.generation }, ctx.now()),
    );
    ctx.events.record(hub, 'Warning', 'DeletionBlocked', message);
    return requeueAfter(ctx.pollMs);
  }
  crashPoint('before-finalizer-remove');
  await removeFinalizer(ctx.client, TASKHUBS, hub, TASKHUB_FINALIZER);
  ctx.metrics.hubInstances.collect(() => []);
  return done;
}

async function deleteEverything(ctx: OperatorContext, hub: TaskHub): Promise<void> {
  const ns = hub.metadata.namespace ?? '';
  const name = hub.metadata.name ?? '';
  if (hub.spec.postgres.managed) {
    // The data lives only in the managed Postgres: removing it removes the hub's database, role and all.
    const pg = managedPostgresName(name);
    await ctx.client.delete(STATEFULSETS, ns, pg);
    await ctx.client.delete(SERVICES, ns, pg);
    await ctx.client.delete(PVCS, ns, `data-${pg}-0`);
    await ctx.client.delete(SECRETS, ns, pg);
  } else {
    const names = hubNames(ns, name, hub.spec.isolation ?? 'schema');
    const { uri } = await resolveAdmin(ctx, hub);
    await withClient(uri, async (admin) => {
      await sql.terminateSessions(admin, names.role);
      if (names.database) await sql.dropHubDatabase(admin, names.database);
      else await sql.dropHubSchema(admin, names.schema);
      crashPoint('after-drop-data');
      await sql.dropRole(admin, names.role);
      crashPoint('after-drop-role');
    });
  }
  await ctx.client.delete(SECRETS, ns, connectionSecretName(name));
  ctx.events.record(hub, 'Normal', 'HubDeleted', 'deletionPolicy Delete: dropped the hub data and role and deleted its Secrets');
}

async function releaseSecrets(ctx: OperatorContext, hub: TaskHub): Promise<void> {
  const ns = hub.metadata.namespace ?? '';
  const name = hub.metadata.name ?? '';
  const kept = [connectionSecretName(name)];
  if (hub.spec.postgres.managed) kept.push(managedPostgresName(name));
  for (const secret of kept) {
    const existing = await ctx.client.get(SECRETS, ns, secret);
    if (!existing?.metadata?.ownerReferences?.length) continue;
    await ctx.client.patch(SECRETS, ns, secret, 'merge', { metadata: { ownerReferences: null } });
  }
  if (hub.spec.postgres.managed) {
    for (const res of [STATEFULSETS, SERVICES]) {
      if (await ctx.client.get(res, ns, managedPostgresName(name))) {
        await ctx.client.patch(res, ns, managedPostgresName(name), 'merge', { metadata: { ownerReferences: null } });
      }
    }
  }
  ctx.events.record(hub, 'Normal', 'HubRetained', `deletionPolicy Retain: kept the hub data, its role and Secret ${connectionSecretName(name)}`);
}
