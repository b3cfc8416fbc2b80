/**
 * Status as small transactions: re-read the object, apply mutator functions to a copy of its status, skip the write
 * when nothing changed, else send a merge patch of just the difference to the status subresource, locked to the
 * resourceVersion that was read (a concurrent writer makes it a 409, which the controller requeues quietly).
 */
import type { KubeClient, KubeObject, Resource } from './kube.ts';

/** A function that edits a status in place; it sees the freshly read object. */
export type StatusMutator<S, T> = (status: S, obj: T) => void;

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`: removed keys become null, arrays are replaced whole.
 * Undefined when they are equal.
 */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (jsonEqual(from, to)) return undefined;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(from) || !isObj(to)) return to === undefined ? null : to;
  const patch: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (!(key in to) || to[key] === undefined) {
      if (key in from && from[key] !== undefined) patch[key] = null;
      continue;
    }
    const sub = mergePatch(from[key], to[key]);
    if (sub !== undefined) patch[key] = sub;
  }
  return patch;
}

/**
 * Re-reads the object, applies `mutators` to a copy of its status and patches the difference. Returns the object as
 * written (or as read when nothing changed), or undefined when the object no longer exists.
 */
export async function updateStatus<S extends object, T extends KubeObject & { status?: S }>(
  client: KubeClient,
  res: Resource,
  namespace: string,
  name: string,
  ...mutators: StatusMutator<S, T>[]
): Promise<T | undefined> {
  const obj = await client.get<T>(res, namespace, name);
  if (!obj) return undefined;
  const before = (obj.status ?? {}) as S;
  const next = structuredClone(before);
  for (const mutate of mutators) mutate(next, obj);
  const diff = mergePatch(before, next);
  if (diff === undefined) return obj;
  return client.patch<T>(res, namespace, name, 'merge', { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status: diff }, 'status');
}
