/** Status conditions (`type`, `status`, CamelCase `reason`, human `message`, `observedGeneration`, transition time). */

/** One status condition, as in metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/**
 * Sets `next` in `conditions` (in place). The transition time moves only when the status changes, so a condition
 * that keeps its status but changes reason or message does not look like a new transition, and re-setting the same
 * condition changes nothing (which lets the status writer skip the write).
 */
export function setCondition(conditions: Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): void {
  const i = conditions.findIndex((c) => c.type === next.type);
  const prior = i >= 0 ? conditions[i] : undefined;
  const lastTransitionTime =
    prior && prior.status === next.status && prior.lastTransitionTime ? prior.lastTransitionTime : now.toISOString();
  const merged: Condition = { ...next, lastTransitionTime };
  if (i >= 0) conditions[i] = merged;
  else conditions.push(merged);
}

/** The condition of a type, if present. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` is present with status True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}
