/**
 * What a reconcile returns instead of throwing for control flow: `done` (nothing to do until something changes),
 * or `requeueAfter(ms)` (look again later: a delay is running, a dependency is not ready). Errors are for failures;
 * they back off per object.
 */

/** The outcome of one reconcile pass. */
export interface ReconcileResult {
  /** Run again after this many milliseconds (unset: only when something changes). */
  requeueAfterMs?: number;
}

/** Nothing more to do until a watched object changes (or the periodic resync). */
export const done: ReconcileResult = Object.freeze({});

/** Reconcile again after `ms` milliseconds. */
export function requeueAfter(ms: number): ReconcileResult {
  return { requeueAfterMs: Math.max(0, Math.round(ms)) };
}

/** The sooner of two results (an unset requeue counts as never). */
export function sooner(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  if (a.requeueAfterMs === undefined) return b;
  if (b.requeueAfterMs === undefined) return a;
  return a.requeueAfterMs <= b.requeueAfterMs ? a : b;
}
