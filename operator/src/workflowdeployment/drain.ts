/**
 * What happens to each version's Deployment, decided from the hub's drain state. A version that gets new starts
 * (current, ramping, or the target waiting for its turn) runs `spec.replicas`. A draining version keeps the
 * replicas it has while any instance pinned to it is unfinished. Once the hub says it drained (drainedSince), it
 * keeps them `scaleDownDelay` longer, then scales to zero, and its Deployment is deleted `deleteDelay` after that.
 * A version the hub never routed to (a target replaced before it got any starts) has no instances: it is treated
 * as drained from the moment the operator first sees it so.
 */
import type { VersionInfo } from '../../../worker/src/store/types.ts';
import type { VersionState, VersionStatus } from '../crds/index.ts';

/** What a pass knows about one version the WorkflowDeployment has a Deployment for (or wants one for). */
export interface VersionInput {
  version: string;
  deployment: string;
  /** The Deployment's spec.replicas now (undefined: not created yet, or left to the default). */
  replicas: number | undefined;
  readyReplicas: number;
  hub: VersionInfo | undefined;
  prior: VersionStatus | undefined;
}

/** The settings the plan depends on. */
export interface DrainSettings {
  target: string;
  specReplicas: number | undefined;
  scaleDownDelayMs: number;
  deleteDelayMs: number;
  pollMs: number;
  now: number;
}

/** The plan for one version. */
export interface VersionPlan {
  status: VersionStatus;
  /** Replicas to set on the Deployment; undefined leaves them. */
  setReplicas?: number;
  /** Delete the Deployment now. */
  delete: boolean;
  requeueMs?: number;
}

/** Plans one version. */
export function planVersion(v: VersionInput, s: DrainSettings): VersionPlan {
  const iso = (ms: number) => new Date(ms).toISOString();
  const base = { version: v.version, deployment: v.deployment, replicas: v.replicas, readyReplicas: v.readyReplicas };
  const hubState = v.hub?.state;
  if (v.version === s.target || hubState === 'Current' || hubState === 'Ramping') {
    const state: VersionState = hubState === 'Current' || hubState === 'Ramping' ? hubState : 'Pending';
    return {
      status: { ...base, state, runningInstances: v.hub?.runningInstances ?? 0 },
      setReplicas: s.specReplicas !== undefined && v.replicas !== s.specReplicas ? s.specReplicas : undefined,
      delete: false,
    };
  }
  if (hubState === 'Draining') {
    return {
      status: {
        ...base,
        state: 'Draining',
        runningInstances: v.hub?.runningInstances ?? 0,
        drainingSince: v.prior?.drainingSince ?? iso(s.now),
      },
      delete: false,
      requeueMs: s.pollMs,
    };
  }
  const drainedSince = v.hub?.drainedSince?.getTime() ?? (v.prior?.drainedSince ? Date.parse(v.prior.drainedSince) : s.now);
  const scaleDownAt = drainedSince + s.scaleDownDelayMs;
  const deleteAt = scaleDownAt + s.deleteDelayMs;
  const status: VersionStatus = {
    ...base,
    state: 'Drained',
    runningInstances: 0,
    drainedSince: iso(drainedSince),
    ...(v.prior?.drainingSince ? { drainingSince: v.prior.drainingSince } : {}),
  };
  if (s.now < scaleDownAt) return { status, delete: false, requeueMs: scaleDownAt - s.now };
  if (s.now < deleteAt) {
    return {
      status: { ...status, replicas: 0, scaledDownAt: v.prior?.scaledDownAt ?? iso(s.now) },
      setReplicas: v.replicas === 0 ? undefined : 0,
      delete: false,
      requeueMs: deleteAt - s.now,
    };
  }
  return { status: { ...status, replicas: 0, scaledDownAt: v.prior?.scaledDownAt ?? iso(s.now) }, delete: true };
}
