/**
 * `spec.postgres.managed`: a single-instance Postgres for development clusters. A StatefulSet with one PVC, a
 * Service in front of it and a Secret with a generated superuser password (created once, never rotated: the data
 * on the volume was initialised with it). Everything meets the Pod Security "restricted" profile. Once the pod is
 * ready, the hub is provisioned in it like an external one.
 */
import { randomBytes } from 'node:crypto';
import type { OperatorContext } from '../context.ts';
import { LABELS, MANAGER } from '../crds/group.ts';
import type { TaskHub } from '../crds/index.ts';
import { isConflict } from '../runtime/kube.ts';
import type { KubeObject } from '../runtime/kube.ts';
import { secretData, secretValue } from '../runtime/objects.ts';
import type { Secret } from '../runtime/objects.ts';
import { ownerReference } from '../runtime/owner.ts';
import { SECRETS, SERVICES, STATEFULSETS } from '../runtime/resources.ts';
import { managedPostgresName } from './names.ts';
import { ProvisioningError } from './postgres.ts';

/** uid/gid of the `postgres` user in the official image. */
const POSTGRES_UID = 999;
const PORT = 5432;

function labels(hub: TaskHub): Record<string, string> {
  return { [LABELS.hub]: hub.metadata.name ?? '', [LABELS.component]: 'postgres' };
}

function metadata(hub: TaskHub, name: string) {
  return {
    name,
    namespace: hub.metadata.namespace,
    labels: { ...labels(hub), [LABELS.partOf]: 'dtk', [LABELS.managedBy]: MANAGER },
    ownerReferences: [ownerReference(hub)],
  };
}

/** The StatefulSet running the managed Postgres. */
export function managedStatefulSet(hub: TaskHub): KubeObject {
  const name = managedPostgresName(hub.metadata.name ?? '');
  const managed = hub.spec.postgres.managed ?? {};
  const storage = managed.storage ?? {};
  const claimSpec: Record<string, unknown> = {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: storage.size ?? '1Gi' } },
  };
  if (storage.storageClassName) claimSpec.storageClassName = storage.storageClassName;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(hub, name),
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: labels(hub) },
      template: {
        metadata: { labels: { ...labels(hub), [LABELS.managedBy]: MANAGER } },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: POSTGRES_UID,
            runAsGroup: POSTGRES_UID,
            fsGroup: POSTGRES_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'postgres',
              image: managed.image ?? 'postgres:17',
              ports: [{ name: 'postgres', containerPort: PORT }],
              env: [
                { name: 'POSTGRES_USER', value: 'postgres' },
                { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name, key: 'password' } } },
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
              ],
              readinessProbe: { exec: { command: ['pg_isready', '-U', 'postgres', '-h', '127.0.0.1'] }, periodSeconds: 5 },
              securityContext: {
                allowPrivilegeEscalation: false,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              ...(managed.resources ? { resources: managed.resources } : {}),
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/postgresql/data' },
                { name: 'run', mountPath: '/var/run/postgresql' },
              ],
            },
          ],
          volumes: [{ name: 'run', emptyDir: {} }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: claimSpec }],
    },
  } as KubeObject;
}

/** The Service in front of the managed Postgres. */
export function managedService(hub: TaskHub): KubeObject {
  const name = managedPostgresName(hub.metadata.name ?? '');
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(hub, name),
    spec: { selector: labels(hub), ports: [{ name: 'postgres', port: PORT, targetPort: PORT }] },
  } as KubeObject;
}

/**
 * Creates the admin Secret (once), the Service and the StatefulSet, and throws ManagedPostgresStarting until the
 * pod is ready.
 */
export async function ensureManagedPostgres(ctx: OperatorContext, hub: TaskHub): Promise<void> {
  const ns = hub.metadata.namespace ?? '';
  const name = managedPostgresName(hub.metadata.name ?? '');
  if (!ctx.informers.secrets.get(ns, name)) {
    try {
      await ctx.client.create<Secret>(SECRETS, ns, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: metadata(hub, name),
        type: 'Opaque',
        data: secretData({ password: randomBytes(24).toString('base64url') }),
      } as Secret);
      ctx.events.record(hub, 'Normal', 'ManagedPostgresCreated', `created Secret ${name} with the managed Postgres superuser password`);
    } catch (err) {
      // Created by an earlier pass whose event has not reached the cache yet: keep the existing password.
      if (!isConflict(err)) throw err;
    }
  }
  await ctx.client.apply(SERVICES, ns, name, managedService(hub));
  await ctx.client.apply(STATEFULSETS, ns, name, managedStatefulSet(hub));
  const sts = ctx.informers.statefulSets.get(ns, name);
  const ready = sts?.status?.readyReplicas ?? 0;
  if (ready < 1) {
    throw new ProvisioningError(
      'ManagedPostgresStarting',
      `waiting for StatefulSet ${ns}/${name} to have a ready Postgres pod (${ready}/1 ready); check its pod and PersistentVolumeClaim if this lasts`,
    );
  }
}

/** The superuser URI of the managed Postgres, through its Service. */
export async function managedAdminUri(ctx: OperatorContext, hub: TaskHub): Promise<string> {
  const ns = hub.metadata.namespace ?? '';
  const name = managedPostgresName(hub.metadata.name ?? '');
  const secret = ctx.informers.secrets.get(ns, name) ?? (await ctx.client.get<Secret>(SECRETS, ns, name));
  const password = secretValue(secret, 'password');
  if (!password) throw new ProvisioningError('ManagedPostgresStarting', `Secret ${ns}/${name} with the managed Postgres password is missing`);
  return `postgres://postgres:${encodeURIComponent(password)}@${name}.${ns}.svc:${PORT}/postgres?sslmode=disable`;
}
