/**
 * The e2e world of one test file: the run's control plane and Postgres, a namespace of its own, the generated CRDs,
 * a local kubelet running the operator image and the worker images as local processes, and the operator deployed
 * as a Deployment (watching only this namespace, short lease and poll periods, free ports).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { useControlPlane } from '../../harness/cluster/index.ts';
import type { ControlPlane } from '../../harness/cluster/index.ts';
import { LocalKubelet } from '../../harness/kubelet/index.ts';
import { testPostgresUrl } from '../../harness/postgres.ts';
import { KubeClient } from '../../../operator/src/runtime/kube.ts';
import type { KubeObject, Resource } from '../../../operator/src/runtime/kube.ts';
import { DEPLOYMENTS, TASKHUBS } from '../../../operator/src/runtime/resources.ts';
import { applyCrds, eventually, ROOT } from '../../../operator/test/support/cluster.ts';
import { putAdminSecret } from '../../../operator/test/support/hubs.ts';

const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };

/** Image names the local kubelet knows. */
export const IMAGES = { operator: 'dtk/operator:dev', worker: 'dtk/e2e-worker:1' } as const;

/** Settings of the operator Deployment. */
export interface OperatorSettings {
  replicas?: number;
  leaseDurationSeconds?: number;
  renewIntervalSeconds?: number;
  pollSeconds?: number;
  /** More environment for the operator container (e.g. the test-only crash points). */
  env?: Record<string, string>;
}

/** What every e2e step gets. */
export interface E2e {
  cp: ControlPlane;
  namespace: string;
  client: KubeClient;
  kubelet: LocalKubelet;
  /** The test Postgres's superuser URI (the admin Secret `pg-admin` holds it). */
  adminUri: string;
  stop(): Promise<void>;
}

/** The operator's Deployment, as a user would apply it (minus RBAC: processes use the admin kubeconfig). */
export function operatorDeployment(namespace: string, s: OperatorSettings = {}): KubeObject {
  const labels = { 'app.kubernetes.io/name': 'dtk-operator', 'app.kubernetes.io/part-of': 'dtk' };
  const env = {
    DTK_OPERATOR_WATCH_NAMESPACE: namespace,
    DTK_OPERATOR_LEASE_NAMESPACE: namespace,
    DTK_OPERATOR_LEASE_DURATION_SECONDS: String(s.leaseDurationSeconds ?? 6),
    DTK_OPERATOR_RENEW_INTERVAL_SECONDS: String(s.renewIntervalSeconds ?? 1),
    DTK_OPERATOR_POLL_SECONDS: String(s.pollSeconds ?? 0.5),
    DTK_OPERATOR_RESYNC_SECONDS: '20',
    // Every local process shares the host network: let each replica pick free ports.
    DTK_OPERATOR_HEALTH_PORT: '0',
    DTK_OPERATOR_METRICS_PORT: '0',
    ...s.env,
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dtk-operator', namespace, labels },
    spec: {
      replicas: s.replicas ?? 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'dtk-operator' } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'operator',
              image: IMAGES.operator,
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ...Object.entries(env).map(([name, value]) => ({ name, value })),
              ],
            },
          ],
        },
      },
    },
  } as KubeObject;
}

/** Sets up the world; call stop() in after(). */
export async function startE2e(prefix: string, operator: OperatorSettings = {}): Promise<E2e> {
  const cp = await useControlPlane();
  const adminUri = await testPostgresUrl();
  await applyCrds(cp);
  const client = new KubeClient(cp.kubeConfig);
  const namespace = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const node = process.execPath;
  const kubelet = new LocalKubelet({
    kubeConfig: cp.kubeConfig,
    namespace,
    baseEnv: { KUBECONFIG: cp.kubeconfigPath, DTK_LOG_LEVEL: process.env.DTK_E2E_LOG_LEVEL ?? 'info' },
    backoff: { initialMs: 500, maxMs: 2000 },
    // The kubelet hashes pod templates as JSON text, and its periodic lists and its watch order keys differently:
    // every relist would look like a template change and restart every replica. Deployments created after start
    // are only ever seen through the watch, so a relist period longer than any test file keeps hashes stable.
    resyncMs: 600_000,
    log: () => undefined,
    config: {
      images: {
        'dtk/operator:*': { command: [node, join(ROOT, 'operator/src/main.ts')], cwd: ROOT },
        'dtk/e2e-worker:*': { command: [node, join(ROOT, 'worker/src/main.ts'), join(ROOT, 'test/e2e/fixtures/worker.ts')], cwd: ROOT },
        'dtk/examples:*': { command: [node, join(ROOT, 'worker/src/main.ts'), join(ROOT, 'examples/all.ts')], cwd: ROOT },
      },
    },
  });
  await kubelet.start();
  await putAdminSecret(client, namespace, 'pg-admin', adminUri);
  await client.create(DEPLOYMENTS, namespace, operatorDeployment(namespace, operator));
  await kubelet.waitForReady(namespace, 'dtk-operator', operator.replicas ?? 1);
  return {
    cp,
    namespace,
    client,
    kubelet,
    adminUri,
    async stop() {
      // Hubs go first, while the operator still runs to carry out their deletionPolicy (Delete in these tests).
      const hubs = await client.list(TASKHUBS, namespace).catch(() => ({ items: [] as KubeObject[] }));
      await Promise.all(hubs.items.map((h) => client.delete(TASKHUBS, namespace, h.metadata?.name ?? '').catch(() => false)));
      await eventually('TaskHubs deleted', async () => ((await client.list(TASKHUBS, namespace)).items.length === 0 ? true : undefined), {
        timeoutMs: 20_000,
      }).catch(() => undefined);
      await kubelet.stop();
      await client.delete(NAMESPACES, undefined, namespace).catch(() => undefined);
    },
  };
}
