import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';
import { LocalKubelet } from '../harness/kubelet/index.ts';

const ECHO_ENV = join(import.meta.dirname, 'fixtures', 'echo-env.ts');

let cp: ControlPlane;
let kubelet: LocalKubelet;
let apps: AppsV1Api;
let core: CoreV1Api;

before(async () => {
  cp = await useControlPlane();
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  kubelet = new LocalKubelet({
    kubeConfig: cp.kubeConfig,
    config: { images: { 'dtk-test/echo-env:*': { command: [process.execPath, ECHO_ENV], env: { FROM_IMAGE: 'baked' } } } },
    baseEnv: { KUBECONFIG: cp.kubeconfigPath },
    backoff: { initialMs: 200, maxMs: 1_000 },
    resyncMs: 5_000,
  });
  await kubelet.start();
});

after(async () => {
  await kubelet.stop();
});

/** A Deployment the local kubelet picks up: labelled part-of=dtk, running the echo-env fixture. */
function echoDeployment(name: string, replicas: number, env: V1EnvVar[], graceSeconds = 5, image = 'dtk-test/echo-env:1'): V1Deployment {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'dtk' };
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels },
        spec: { terminationGracePeriodSeconds: graceSeconds, containers: [{ name: 'main', image, env }] },
      },
    },
  };
}

/** The replica's log once the fixture has printed its environment (it is ready before it prints). */
function replicaLog(namespace: string, deployment: string, index: number): Promise<string> {
  const replica = kubelet.replicaInfo(namespace, deployment).find((r) => r.index === index);
  assert.ok(replica, `no replica ${index} of ${deployment}`);
  return kubelet.waitForLog(replica.logPath, /^ENV PATH=/m);
}

async function scale(namespace: string, name: string, replicas: number): Promise<void> {
  await apps.patchNamespacedDeployment(
    { name, namespace, body: { spec: { replicas } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function expectStatus(namespace: string, name: string, expected: { ready: number; replicas: number }) {
  const { metadata, status } = await apps.readNamespacedDeploymentStatus({ name, namespace });
  assert.equal(status?.observedGeneration, metadata?.generation, 'status must be for the current generation');
  assert.equal(status?.readyReplicas ?? 0, expected.ready);
  assert.equal(status?.replicas ?? 0, expected.replicas);
  return status;
}

describe('the local kubelet', () => {
  it('runs a labelled Deployment to readyReplicas with env from literals, a Secret, a ConfigMap and the pod', async () => {
    await withNamespace(cp, async (ns) => {
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'hub' }, stringData: { uri: 'postgres://s3cret@db/hub' } } });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'settings' }, data: { LEVEL: 'debug', MODE: 'fast' } } });
      const deployment = echoDeployment('echo', 2, [
        { name: 'LITERAL', value: 'plain' },
        { name: 'HUB_URI', valueFrom: { secretKeyRef: { name: 'hub', key: 'uri' } } },
        { name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LEVEL' } } },
        { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'COMBINED', value: '$(LITERAL)-$(LOG_LEVEL)' },
      ]);
      deployment.spec!.template.spec!.containers[0]!.envFrom = [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }];
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment });

      await kubelet.waitForReady(ns, 'echo', 2);
      const status = await expectStatus(ns, 'echo', { ready: 2, replicas: 2 });
      assert.equal(status?.availableReplicas, 2);
      assert.equal(status?.updatedReplicas, 2);
      assert.equal(status?.conditions?.find((c) => c.type === 'Available')?.status, 'True');

      const log = await replicaLog(ns, 'echo', 0);
      const podName = kubelet.replicaInfo(ns, 'echo')[0]?.name;
      assert.match(log, /^ENV HUB_URI=postgres:\/\/s3cret@db\/hub$/m);
      assert.match(log, /^ENV LITERAL=plain$/m);
      assert.match(log, /^ENV LOG_LEVEL=debug$/m);
      assert.match(log, /^ENV CFG_MODE=fast$/m);
      assert.match(log, /^ENV COMBINED=plain-debug$/m);
      assert.match(log, /^ENV FROM_IMAGE=baked$/m);
      assert.match(log, new RegExp(`^ENV MY_POD=${podName}$`, 'm'));
      assert.match(log, new RegExp(`^ENV POD_NAMESPACE=${ns}$`, 'm'));
    });
  });

  it('delivers SIGTERM when the Deployment is scaled to zero', async () => {
    await withNamespace(cp, async (ns) => {
      await apps.createNamespacedDeployment({ namespace: ns, body: echoDeployment('scaled', 1, []) });
      await kubelet.waitForReady(ns, 'scaled', 1);
      const [replica] = kubelet.replicaInfo(ns, 'scaled');
      await replicaLog(ns, 'scaled', 0);

      await scale(ns, 'scaled', 0);
      await kubelet.waitForReady(ns, 'scaled', 0);
      const log = readFileSync(replica!.logPath, 'utf8');
      assert.match(log, /sending SIGTERM/);
      assert.match(log, /^received SIGTERM$/m, 'the process itself must have seen SIGTERM');
      assert.match(log, /exited with code 0/);
      await expectStatus(ns, 'scaled', { ready: 0, replicas: 0 });
    });
  });

  it('sends SIGKILL when a process ignores SIGTERM past the grace period', async () => {
    await withNamespace(cp, async (ns) => {
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: echoDeployment('stubborn', 1, [{ name: 'IGNORE_SIGTERM', value: '1' }], 1),
      });
      await kubelet.waitForReady(ns, 'stubborn', 1);
      const [replica] = kubelet.replicaInfo(ns, 'stubborn');
      await replicaLog(ns, 'stubborn', 0);
      const started = Date.now();
      await scale(ns, 'stubborn', 0);
      await kubelet.waitForReady(ns, 'stubborn', 0);
      assert.ok(Date.now() - started >= 900, 'the grace period must be waited out');
      const log = readFileSync(replica!.logPath, 'utf8');
      assert.match(log, /^received SIGTERM$/m);
      assert.match(log, /grace period over, sending SIGKILL/);
      assert.match(log, /exited with SIGKILL/);
    });
  });

  it('rolls out a changed template: new replicas first, then SIGTERM to the old ones', async () => {
    await withNamespace(cp, async (ns) => {
      await apps.createNamespacedDeployment({ namespace: ns, body: echoDeployment('rolling', 1, [{ name: 'REV', value: 'one' }]) });
      await kubelet.waitForReady(ns, 'rolling', 1);
      const [first] = kubelet.replicaInfo(ns, 'rolling');
      await replicaLog(ns, 'rolling', 0);

      await apps.patchNamespacedDeployment(
        { name: 'rolling', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'main', env: [{ name: 'REV', value: 'two' }] }] } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      await kubelet.waitFor(() => kubelet.replicaInfo(ns, 'rolling').every((r) => r.templateHash !== first!.templateHash), 20_000);
      await kubelet.waitForReady(ns, 'rolling', 1);
      const [second] = kubelet.replicaInfo(ns, 'rolling');
      assert.notEqual(second!.name, first!.name);
      assert.match(await replicaLog(ns, 'rolling', 0), /^ENV REV=two$/m);
      assert.match(readFileSync(first!.logPath, 'utf8'), /^received SIGTERM$/m);
      const status = await expectStatus(ns, 'rolling', { ready: 1, replicas: 1 });
      assert.equal(status?.updatedReplicas, 1);
      assert.equal(status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
    });
  });

  it('restarts a process that exits, with back-off, and it becomes ready again', async () => {
    await withNamespace(cp, async (ns) => {
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: echoDeployment('crashy', 1, [{ name: 'EXIT_AFTER_MS', value: '300' }]),
      });
      await kubelet.waitFor(() => (kubelet.replicaInfo(ns, 'crashy')[0]?.restarts ?? 0) >= 2, 20_000);
      await kubelet.waitFor(() => kubelet.replicaInfo(ns, 'crashy')[0]?.ready === true, 20_000);
      const log = await replicaLog(ns, 'crashy', 0);
      assert.ok((log.match(/: started pid /g) ?? []).length >= 3, log);
      assert.match(log, /exited with code 3/);
    });
  });

  it('reports ReplicaFailure for an image it has no command for, and for a missing Secret key', async () => {
    await withNamespace(cp, async (ns) => {
      await apps.createNamespacedDeployment({ namespace: ns, body: echoDeployment('unmapped', 1, [], 5, 'elsewhere/app:2') });
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: echoDeployment('nosecret', 1, [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }]),
      });
      const failureOf = async (name: string) => {
        for (let i = 0; i < 100; i++) {
          const { status } = await apps.readNamespacedDeploymentStatus({ name, namespace: ns });
          const failure = status?.conditions?.find((c) => c.type === 'ReplicaFailure');
          if (failure) return failure;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.fail(`no ReplicaFailure condition on ${name}`);
      };
      assert.match((await failureOf('unmapped')).message ?? '', /no command configured for image "elsewhere\/app:2"/);
      const missing = await failureOf('nosecret');
      assert.equal(missing.reason, 'CreateContainerConfigError');
      assert.match(missing.message ?? '', /secret "absent" not found/);
    });
  });
});
