import type { V1Deployment, V1DeploymentCondition, V1DeploymentStatus } from '@kubernetes/client-node';
import type { ReplicaInfo } from './replica.ts';

/** Why a Deployment's replicas could not be created at all (no image mapping, a missing Secret...). */
export interface ReplicaFailure {
  reason: string;
  message: string;
}

/**
 * Computes a Deployment's status from its local replicas with the fields and condition reasons the real
 * deployment controller uses, so code that waits on them (kubectl rollout status, the operator) behaves the same.
 * Conditions keep their timestamps while their status, reason and message are unchanged.
 */
export function deploymentStatus(
  deployment: V1Deployment,
  templateHash: string,
  replicas: readonly ReplicaInfo[],
  failure: ReplicaFailure | undefined,
  now: Date,
): V1DeploymentStatus {
  const desired = deployment.spec?.replicas ?? 1;
  const minReadyMs = (deployment.spec?.minReadySeconds ?? 0) * 1000;
  const live = replicas.filter((r) => r.phase !== 'terminating' && r.phase !== 'stopped');
  const updated = live.filter((r) => r.templateHash === templateHash);
  const ready = live.filter((r) => r.ready);
  const available = ready.filter((r) => r.readySince !== undefined && now.getTime() - r.readySince >= minReadyMs);
  const oldLive = live.length - updated.length;
  const maxUnavailable = resolveMaxUnavailable(deployment, desired);
  const name = deployment.metadata?.name ?? '';

  const conditions: V1DeploymentCondition[] = [];
  const minimumAvailable = available.length >= desired - maxUnavailable;
  conditions.push(
    condition('Available', minimumAvailable, minimumAvailable ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      minimumAvailable ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.', now),
  );
  const complete = updated.length === desired && available.length >= desired && oldLive === 0;
  const replicaSet = `${name}-${templateHash}`;
  conditions.push(
    complete
      ? condition('Progressing', true, 'NewReplicaSetAvailable', `ReplicaSet "${replicaSet}" has successfully progressed.`, now)
      : condition('Progressing', true, 'ReplicaSetUpdated', `ReplicaSet "${replicaSet}" is progressing.`, now),
  );
  if (failure) conditions.push(condition('ReplicaFailure', true, failure.reason, failure.message, now));

  return {
    observedGeneration: deployment.metadata?.generation,
    replicas: live.length,
    updatedReplicas: updated.length,
    readyReplicas: ready.length,
    availableReplicas: available.length,
    unavailableReplicas: Math.max(desired - available.length, 0),
    conditions: keepTimestamps(conditions, deployment.status?.conditions ?? []),
  };
}

/** True when two statuses differ in anything but condition timestamps (so an unchanged status is not rewritten). */
export function statusChanged(previous: V1DeploymentStatus | undefined, next: V1DeploymentStatus): boolean {
  return JSON.stringify(comparable(previous ?? {})) !== JSON.stringify(comparable(next));
}

function comparable(status: V1DeploymentStatus): unknown {
  return {
    observedGeneration: status.observedGeneration,
    replicas: status.replicas ?? 0,
    updatedReplicas: status.updatedReplicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
    unavailableReplicas: status.unavailableReplicas ?? 0,
    conditions: (status.conditions ?? [])
      .map((c) => [c.type, c.status, c.reason, c.message])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  };
}

function condition(type: string, status: boolean, reason: string, message: string, now: Date): V1DeploymentCondition {
  return { type, status: status ? 'True' : 'False', reason, message, lastTransitionTime: now, lastUpdateTime: now };
}

function keepTimestamps(next: V1DeploymentCondition[], previous: V1DeploymentCondition[]): V1DeploymentCondition[] {
  return next.map((c) => {
    const old = previous.find((p) => p.type === c.type);
    if (!old) return c;
    const sameStatus = old.status === c.status;
    const same = sameStatus && old.reason === c.reason && old.message === c.message;
    return {
      ...c,
      lastTransitionTime: sameStatus ? (old.lastTransitionTime ?? c.lastTransitionTime) : c.lastTransitionTime,
      lastUpdateTime: same ? (old.lastUpdateTime ?? c.lastUpdateTime) : c.lastUpdateTime,
    };
  });
}

/** spec.strategy.rollingUpdate.maxUnavailable as a count (percentages round down, default 25%); 0 for Recreate. */
function resolveMaxUnavailable(deployment: V1Deployment, desired: number): number {
  const strategy = deployment.spec?.strategy;
  if (strategy?.type === 'Recreate') return 0;
  const value = strategy?.rollingUpdate?.maxUnavailable ?? '25%';
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(String(value));
  return percent ? Math.floor((desired * Number(percent[1])) / 100) : Number(value) || 0;
}
