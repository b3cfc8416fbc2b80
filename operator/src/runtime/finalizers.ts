/**
 * Finalizers added and removed by merge patch of `metadata.finalizers` alone, locked to the resourceVersion read:
 * never a full update (which would race with spec edits) and never server-side apply (which would make the operator
 * an owner of the whole list and fight other controllers' finalizers).
 */
import type { KubeClient, KubeObject, Resource } from './kube.ts';

/** True when the object carries the finalizer. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** Adds the finalizer unless present; returns the patched object (or the same one when nothing changed). */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, res: Resource, obj: T, finalizer: string): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const finalizers = [...(obj.metadata?.finalizers ?? []), finalizer];
  return client.patch<T>(res, obj.metadata?.namespace, obj.metadata?.name ?? '', 'merge', {
    metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers },
  });
}

/** Removes the finalizer if present; the object may be gone afterwards (it was waiting only for this). */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, res: Resource, obj: T, finalizer: string): Promise<void> {
  if (!hasFinalizer(obj, finalizer)) return;
  const finalizers = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  await client.patch<T>(res, obj.metadata?.namespace, obj.metadata?.name ?? '', 'merge', {
    metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers: finalizers.length ? finalizers : null },
  });
}
