/** Reusable assertions over rendered chart objects. */
import assert from 'node:assert/strict';
import type { K8sObject } from './chart.ts';

/** The parts of a pod spec the assertions read. */
export interface PodSpecView {
  containers: Record<string, unknown>[];
  initContainers?: Record<string, unknown>[];
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
  volumes?: Record<string, unknown>[];
  affinity?: unknown;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

/** One RBAC rule. */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The pod spec of a Deployment (or any object with spec.template.spec). */
export function podSpecOf(workload: K8sObject): PodSpecView {
  const spec = (workload.spec as { template?: { spec?: PodSpecView } } | undefined)?.template?.spec;
  assert.ok(spec, `${workload.kind}/${workload.metadata.name} has no pod template`);
  return spec;
}

/** The rules of a Role or ClusterRole. */
export function rulesOf(role: K8sObject): Rule[] {
  return (role.rules as Rule[] | undefined) ?? [];
}

// Volume types the "restricted" profile allows.
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/**
 * Asserts the Pod Security Standards "restricted" level for a pod spec, plus a read-only root filesystem on every
 * container (which the standard leaves optional and dtk requires).
 */
export function assertRestrictedPodSpec(spec: PodSpecView): void {
  const pod = spec.securityContext ?? {};
  assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, 'no host namespaces');
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    assert.ok(type && RESTRICTED_VOLUMES.includes(type), `volume type ${type} is not allowed by "restricted"`);
  }
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    const name = String(c.name);
    const sc = (c.securityContext ?? {}) as Record<string, unknown>;
    const caps = (sc.capabilities ?? {}) as { drop?: string[]; add?: string[] };
    assert.equal(sc.privileged ?? false, false, `${name}: not privileged`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${name}: allowPrivilegeEscalation must be false`);
    assert.ok(caps.drop?.includes('ALL'), `${name}: capabilities must drop ALL`);
    assert.ok((caps.add ?? []).every((cap) => cap === 'NET_BIND_SERVICE'), `${name}: adds only NET_BIND_SERVICE`);
    assert.equal(sc.runAsNonRoot ?? pod.runAsNonRoot, true, `${name}: runAsNonRoot must be true`);
    assert.notEqual(sc.runAsUser ?? pod.runAsUser, 0, `${name}: must not run as uid 0`);
    const seccomp = (sc.seccompProfile ?? pod.seccompProfile) as { type?: string } | undefined;
    assert.ok(seccomp?.type === 'RuntimeDefault' || seccomp?.type === 'Localhost', `${name}: seccomp RuntimeDefault`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${name}: read-only root filesystem`);
  }
}
