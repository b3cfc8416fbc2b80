/** The resource types the operator reads and writes (RBAC in docs/operator-design.md lists the same set). */
import { GROUP, TASKHUB, VERSION, WORKFLOWDEPLOYMENT } from '../crds/group.ts';
import type { Resource } from './kube.ts';

export const TASKHUBS: Resource = { group: GROUP, version: VERSION, plural: TASKHUB.plural, kind: TASKHUB.kind, namespaced: true };
export const WORKFLOWDEPLOYMENTS: Resource = {
  group: GROUP,
  version: VERSION,
  plural: WORKFLOWDEPLOYMENT.plural,
  kind: WORKFLOWDEPLOYMENT.kind,
  namespaced: true,
};
export const DEPLOYMENTS: Resource = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };
export const STATEFULSETS: Resource = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true };
export const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const SERVICES: Resource = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true };
export const EVENTS: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };
export const LEASES: Resource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };

/** `apiVersion` of a resource's objects. */
export function apiVersionOf(res: Resource): string {
  return res.group === '' ? res.version : `${res.group}/${res.version}`;
}
