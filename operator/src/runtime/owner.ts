/** ownerReferences pointing at the operator's custom resources. */
import type { ObjectMeta } from '../crds/taskhub.ts';
import type { OwnerReference } from './kube.ts';

/**
 * The controller reference to `owner`. blockOwnerDeletion makes a foreground delete of the owner wait for the
 * dependant (the chart grants the update on the owners' finalizers subresource this needs).
 */
export function ownerReference(owner: { apiVersion?: string; kind?: string; metadata: ObjectMeta }): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when `obj` names `ownerUid` as its controller. */
export function isOwnedBy(obj: { metadata?: { ownerReferences?: OwnerReference[] } }, ownerUid: string | undefined): boolean {
  return ownerUid !== undefined && (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === ownerUid && r.controller);
}
