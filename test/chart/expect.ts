/**
 * Reusable assertions for the user-path e2e test, phrased as what a user would check with kubectl: a TaskHub is
 * Ready, a version is current, a version drained and went away, nothing of a release is left.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlPlane } from '../harness/cluster/index.ts';

/** A Kubernetes object as kubectl prints it with `-o json`. */
export interface JsonObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string }[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** Retries `probe` until it returns a value (not undefined) or the time is up; the error says what was awaited. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(250);
  }
}

/** `kubectl get` as JSON; undefined when the object does not exist. */
export async function getObject(cp: ControlPlane, kind: string, namespace: string | undefined, name: string): Promise<JsonObject | undefined> {
  const result = await cp.kubectl(['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json']);
  if (result.code !== 0) {
    if (/NotFound|not found/.test(result.stderr)) return undefined;
    throw new Error(`kubectl get ${kind} ${name}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as JsonObject;
}

/** `kubectl get -l` as JSON items. */
export async function listObjects(cp: ControlPlane, kind: string, namespace: string | undefined, selector?: string): Promise<JsonObject[]> {
  const args = ['get', kind, ...(namespace ? ['-n', namespace] : ['-A']), '-o', 'json', ...(selector ? ['-l', selector] : [])];
  const result = await cp.kubectl(args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { items: JsonObject[] }).items;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The condition of a type on an object's status. */
export function conditionOf(obj: JsonObject | undefined, type: string): Condition | undefined {
  return (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

/** One entry of a WorkflowDeployment's status.versions. */
export interface VersionStatus {
  version: string;
  deployment: string;
  state: string;
  runningInstances?: number;
  replicas?: number;
  readyReplicas?: number;
}

/** status.versions of a WorkflowDeployment. */
export function versionsOf(wd: JsonObject | undefined): VersionStatus[] {
  return (wd?.status?.versions as VersionStatus[] | undefined) ?? [];
}

/** Waits until a Deployment has `replicas` ready replicas, as the local kubelet reports them. */
export async function expectDeploymentReady(cp: ControlPlane, namespace: string, name: string, replicas: number): Promise<JsonObject> {
  return waitFor(`deployment ${namespace}/${name} with ${replicas} ready replicas`, async () => {
    const d = await getObject(cp, 'deployment', namespace, name);
    return d && d.status?.readyReplicas === replicas ? d : undefined;
  });
}

/** Waits until a version of a WorkflowDeployment is in `state`, and returns its entry. */
export async function expectVersionState(
  cp: ControlPlane,
  namespace: string,
  wd: string,
  version: string,
  state: string,
  timeoutMs = 60_000,
): Promise<VersionStatus> {
  let seen = '';
  return waitFor(
    `version ${version} of ${namespace}/${wd} to be ${state} (last seen: ${seen || 'nothing'})`,
    async () => {
      const entry = versionsOf(await getObject(cp, 'workflowdeployment', namespace, wd)).find((v) => v.version === version);
      seen = entry?.state ?? 'absent';
      return entry?.state === state ? entry : undefined;
    },
    timeoutMs,
  );
}

/**
 * Waits until a drained version is gone: its entry left status.versions and its Deployment was deleted. Holds the
 * user's promise that an old version keeps running while it has work, then disappears on its own.
 */
export async function expectVersionRemoved(cp: ControlPlane, namespace: string, wd: string, version: string, deployment: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    `version ${version} of ${namespace}/${wd} to leave the status and its Deployment ${deployment} to be deleted`,
    async () => {
      const listed = versionsOf(await getObject(cp, 'workflowdeployment', namespace, wd)).some((v) => v.version === version);
      const exists = (await getObject(cp, 'deployment', namespace, deployment)) !== undefined;
      return !listed && !exists ? true : undefined;
    },
    timeoutMs,
  );
}

/** Kinds a chart release creates, to check that `helm uninstall` took them all. */
export const RELEASE_KINDS = [
  'deployments.apps',
  'services',
  'serviceaccounts',
  'poddisruptionbudgets.policy',
  'roles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io',
  'networkpolicies.networking.k8s.io',
];

/** Asserts that nothing labelled with the release is left, namespaced or cluster-wide. */
export async function expectReleaseGone(cp: ControlPlane, release: string): Promise<void> {
  const selector = `app.kubernetes.io/instance=${release},app.kubernetes.io/managed-by=Helm`;
  for (const kind of RELEASE_KINDS) {
    const left = await listObjects(cp, kind, undefined, selector);
    assert.deepEqual(left.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), [], `${kind} left behind`);
  }
  for (const kind of ['clusterroles.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io']) {
    const left = await listObjects(cp, kind, undefined, selector);
    assert.deepEqual(left.map((o) => o.metadata.name), [], `${kind} left behind`);
  }
}
