/**
 * The worker Deployment of one version: `<name>-<version>` (shortened with a hash past 63 characters), owned by the
 * WorkflowDeployment, labelled with hub and version, the hub's connection Secret and DTK_VERSION injected into every
 * container, and Pod Security "restricted" defaults filled in where the template leaves them unset.
 */
import { createHash } from 'node:crypto';
import { LABELS, MANAGER } from '../crds/group.ts';
import type { Container, EnvVar, PodTemplate, WorkflowDeployment } from '../crds/index.ts';
import type { KubeObject } from '../runtime/kube.ts';
import type { Deployment } from '../runtime/objects.ts';
import { ownerReference } from '../runtime/owner.ts';
import { connectionSecretName } from '../taskhub/names.ts';

/** Annotation holding the hash of everything the operator applied, so an unchanged Deployment is not re-applied. */
export const APPLIED_HASH = 'durabletask.dev/applied-hash';
/** Environment variables the operator owns in worker containers. */
const INJECTED = new Set(['DTK_HUB_URL', 'DTK_HUB_SCHEMA', 'DTK_VERSION']);

/** JSON with object keys sorted, so equal values hash equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function hash(value: unknown, length: number): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, length);
}

/** The default version of a template: a short hash of it. */
export function templateHash(template: PodTemplate): string {
  return hash(template, 10);
}

/** The version a WorkflowDeployment's spec asks for. */
export function targetVersion(wd: WorkflowDeployment): string {
  return wd.spec.version ?? templateHash(wd.spec.template);
}

/** `<name>-<version>`, or a prefix of it plus a hash when longer than 63 characters. */
export function deploymentName(wdName: string, version: string): string {
  const full = `${wdName}-${version}`;
  if (full.length <= 63) return full;
  const suffix = `-${createHash('sha256').update(full).digest('hex').slice(0, 8)}`;
  return `${full.slice(0, 63 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

/** Labels selecting one version's pods. */
export function selectorLabels(wdName: string, version: string): Record<string, string> {
  return { [LABELS.workflowDeployment]: wdName, [LABELS.version]: version };
}

/** The label selector string of a version's pods (for the scale subresource). */
export function selectorString(wdName: string, version: string): string {
  return Object.entries(selectorLabels(wdName, version))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function injectEnv(container: Container, hub: string, version: string): Container {
  const secret = connectionSecretName(hub);
  const env: EnvVar[] = [
    { name: 'DTK_HUB_URL', valueFrom: { secretKeyRef: { name: secret, key: 'uri' } } },
    { name: 'DTK_HUB_SCHEMA', valueFrom: { secretKeyRef: { name: secret, key: 'schema' } } },
    { name: 'DTK_VERSION', value: version },
    ...(container.env ?? []).filter((e) => !INJECTED.has(e.name)),
  ];
  const securityContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    ...(container.securityContext as Record<string, unknown> | undefined),
  };
  return { ...container, env, securityContext };
}

/** The Deployment of `version`, as the operator applies it (server-side, field manager dtk-operator). */
export function buildDeployment(wd: WorkflowDeployment, version: string, replicas: number | undefined): Deployment {
  const name = wd.metadata.name ?? '';
  const hub = wd.spec.hubRef.name;
  const template = wd.spec.template;
  const labels = {
    [LABELS.partOf]: 'dtk',
    [LABELS.managedBy]: MANAGER,
    [LABELS.component]: 'worker',
    [LABELS.hub]: hub,
    ...selectorLabels(name, version),
  };
  const podSpec = template.spec;
  const podSecurityContext = {
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
    ...(podSpec.securityContext as Record<string, unknown> | undefined),
  };
  const spec: Record<string, unknown> = {
    selector: { matchLabels: selectorLabels(name, version) },
    template: {
      metadata: {
        labels: { ...template.metadata?.labels, ...labels },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      },
      spec: {
        ...podSpec,
        securityContext: podSecurityContext,
        containers: podSpec.containers.map((c) => injectEnv(c, hub, version)),
      },
    },
  };
  if (replicas !== undefined) spec.replicas = replicas;
  const body: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(name, version),
      namespace: wd.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(wd)],
    },
    spec: spec as Deployment['spec'],
  };
  body.metadata = { ...body.metadata, annotations: { [APPLIED_HASH]: hash(body, 16) } };
  return body;
}

/** The version a Deployment runs (from its label). */
export function versionOf(obj: KubeObject): string | undefined {
  return obj.metadata?.labels?.[LABELS.version];
}

/** True when the Deployment's status is for its current spec and enough replicas are ready. */
export function deploymentReady(dep: Deployment | undefined): boolean {
  if (!dep) return false;
  const desired = dep.spec?.replicas ?? 1;
  const observed = (dep.status?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 1);
  return observed && (dep.status?.readyReplicas ?? 0) >= desired;
}
