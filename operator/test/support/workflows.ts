/**
 * Steps and assertions about WorkflowDeployments for cluster and e2e tests, named after what the user sees:
 * `expectCurrentVersion(wd, 'v2')`, `expectVersionDrained(wd, 'v1')`, `expectDeploymentGone(wd, 'v1')`.
 */
import assert from 'node:assert/strict';
import type { VersionStatus, WorkflowDeployment, WorkflowDeploymentSpec } from '../../src/crds/index.ts';
import type { KubeClient } from '../../src/runtime/kube.ts';
import type { Deployment } from '../../src/runtime/objects.ts';
import { DEPLOYMENTS, WORKFLOWDEPLOYMENTS } from '../../src/runtime/resources.ts';
import { deploymentName } from '../../src/workflowdeployment/deployments.ts';
import { eventually } from './cluster.ts';

/** A WorkflowDeployment as tests address it. */
export interface WdRef {
  client: KubeClient;
  namespace: string;
  name: string;
}

/** Creates a WorkflowDeployment. */
export async function createWorkflowDeployment(client: KubeClient, namespace: string, name: string, spec: WorkflowDeploymentSpec): Promise<WdRef> {
  await client.create(WORKFLOWDEPLOYMENTS, namespace, {
    apiVersion: 'durabletask.dev/v1alpha1',
    kind: 'WorkflowDeployment',
    metadata: { name, namespace },
    spec,
  } as WorkflowDeployment);
  return { client, namespace, name };
}

/** Merge-patches the spec (a template change, a promote, a scale). */
export async function patchSpec(wd: WdRef, spec: Partial<WorkflowDeploymentSpec>): Promise<void> {
  await wd.client.patch(WORKFLOWDEPLOYMENTS, wd.namespace, wd.name, 'merge', { spec });
}

/** The object as it is now. */
export async function readWd(wd: WdRef): Promise<WorkflowDeployment> {
  const obj = await wd.client.get<WorkflowDeployment>(WORKFLOWDEPLOYMENTS, wd.namespace, wd.name);
  assert.ok(obj, `WorkflowDeployment ${wd.name} does not exist`);
  return obj;
}

/** Waits until `check` accepts the status; the timeout message shows the last status. */
export async function expectStatus(
  wd: WdRef,
  what: string,
  check: (obj: WorkflowDeployment) => boolean,
  timeoutMs = 20_000,
): Promise<WorkflowDeployment> {
  let last: WorkflowDeployment | undefined;
  return eventually(
    `${wd.name}: ${what}`,
    async () => {
      last = await readWd(wd);
      return check(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 200, describe: () => JSON.stringify(last?.status ?? 'no status') },
  );
}

/** The status entry of a version. */
export function versionStatus(obj: WorkflowDeployment, version: string): VersionStatus | undefined {
  return obj.status?.versions?.find((v) => v.version === version);
}

/** Waits until new starts go to `version` (status.currentVersion, for the current generation). */
export function expectCurrentVersion(wd: WdRef, version: string, timeoutMs?: number): Promise<WorkflowDeployment> {
  return expectStatus(
    wd,
    `current version ${version}`,
    (o) => o.status?.currentVersion === version && o.status.observedGeneration === o.metadata.generation,
    timeoutMs,
  );
}

/** Waits until the version is in `state` in status.versions. */
export function expectVersionState(wd: WdRef, version: string, state: VersionStatus['state'], timeoutMs?: number): Promise<WorkflowDeployment> {
  return expectStatus(wd, `version ${version} ${state}`, (o) => versionStatus(o, version)?.state === state, timeoutMs);
}

/** Waits until the version drained (no unfinished instance) and returns when the hub said so. */
export async function expectVersionDrained(wd: WdRef, version: string, timeoutMs?: number): Promise<Date> {
  const obj = await expectStatus(wd, `version ${version} drained`, (o) => versionStatus(o, version)?.drainedSince !== undefined, timeoutMs);
  return new Date(versionStatus(obj, version)?.drainedSince ?? '');
}

/** The Deployment of a version, or undefined. */
export function deploymentOf(wd: WdRef, version: string): Promise<Deployment | undefined> {
  return wd.client.get<Deployment>(DEPLOYMENTS, wd.namespace, deploymentName(wd.name, version));
}

/** Waits until the version's Deployment has `replicas` replicas in its spec. */
export function expectDeploymentReplicas(wd: WdRef, version: string, replicas: number, timeoutMs?: number): Promise<Deployment> {
  let last: Deployment | undefined;
  return eventually(
    `Deployment of ${version} at ${replicas} replicas`,
    async () => {
      last = await deploymentOf(wd, version);
      return last && (last.spec?.replicas ?? 1) === replicas ? last : undefined;
    },
    { timeoutMs: timeoutMs ?? 20_000, intervalMs: 200, describe: () => JSON.stringify(last?.spec?.replicas ?? 'no Deployment') },
  );
}

/** Waits until the version's Deployment is deleted. */
export function expectDeploymentGone(wd: WdRef, version: string, timeoutMs?: number): Promise<true> {
  return eventually(`Deployment of ${version} deleted`, async () => ((await deploymentOf(wd, version)) ? undefined : true), {
    timeoutMs: timeoutMs ?? 20_000,
    intervalMs: 200,
  });
}

/**
 * Writes a Deployment status as the deployment controller would once every replica is ready (cluster tests have no
 * kubelet; e2e tests use the local kubelet instead).
 */
export async function markDeploymentReady(wd: WdRef, version: string): Promise<void> {
  const dep = await eventually(`Deployment of ${version} to exist`, () => deploymentOf(wd, version), { timeoutMs: 10_000 });
  const replicas = dep.spec?.replicas ?? 1;
  await wd.client.patch(DEPLOYMENTS, wd.namespace, dep.metadata?.name ?? '', 'merge', {
    status: {
      observedGeneration: dep.metadata?.generation,
      replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      updatedReplicas: replicas,
    },
  }, 'status');
}
