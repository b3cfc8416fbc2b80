/**
 * The WorkflowDeployment status a pass leads to (DESIGN.md §5): current and target versions, ramp percent, the
 * versions with their state, running instances and replicas, the scale subresource's replicas and selector, and
 * the conditions Available (the current version has ready workers) and Progressing (where the rollout stands).
 */
import { setCondition } from '../crds/conditions.ts';
import type { VersionStatus, WorkflowDeploymentStatus } from '../crds/index.ts';
import type { RolloutDecision } from './rollout.ts';

/** A pass that could not get as far as routing (invalid spec, hub not ready, hub used by another deployment). */
export interface BlockedPass {
  generation: number;
  reason: string;
  message: string;
  target?: string;
}

/** A pass that decided routing and planned every version. */
export interface CompletedPass {
  generation: number;
  target: string;
  current: string | undefined;
  decision: RolloutDecision;
  versions: VersionStatus[];
  /** Replicas of the current version's Deployment (scale subresource). */
  currentReplicas: number;
  currentReady: number;
  currentDesired: number;
  selector: string | undefined;
}

/** Mutator for a pass that stopped early: Progressing=False saying why; Available reflects nothing new. */
export function applyBlocked(pass: BlockedPass, now: Date): (status: WorkflowDeploymentStatus) => void {
  return (status) => {
    const conditions = (status.conditions ??= []);
    status.observedGeneration = pass.generation;
    if (pass.target) status.targetVersion = pass.target;
    setCondition(conditions, { type: 'Progressing', status: 'False', reason: pass.reason, message: pass.message, observedGeneration: pass.generation }, now);
    if (!conditions.some((c) => c.type === 'Available')) {
      setCondition(conditions, { type: 'Available', status: 'False', reason: pass.reason, message: pass.message, observedGeneration: pass.generation }, now);
    }
  };
}

/** Mutator for a completed pass. */
export function applyCompleted(pass: CompletedPass, now: Date): (status: WorkflowDeploymentStatus) => void {
  return (status) => {
    const conditions = (status.conditions ??= []);
    const g = pass.generation;
    status.observedGeneration = g;
    status.targetVersion = pass.target;
    if (pass.current) status.currentVersion = pass.current;
    else delete status.currentVersion;
    status.rampPercent = pass.decision.rampPercent;
    if (pass.decision.progress) status.rollout = pass.decision.progress;
    else delete status.rollout;
    status.versions = pass.versions;
    status.versionSummary = pass.versions
      .map((v) => `${v.version}:${v.state}${v.state === 'Draining' && v.runningInstances ? `(${v.runningInstances})` : ''}`)
      .join(',');
    status.replicas = pass.currentReplicas;
    if (pass.selector) status.selector = pass.selector;
    const available = pass.current !== undefined && pass.currentReady >= Math.min(1, pass.currentDesired);
    setCondition(
      conditions,
      available
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: `version ${pass.current} has ${pass.currentReady}/${pass.currentDesired} ready workers`,
            observedGeneration: g,
          }
        : {
            type: 'Available',
            status: 'False',
            reason: pass.current ? 'NoReadyWorkers' : 'NoCurrentVersion',
            message: pass.current ? `version ${pass.current} has no ready worker yet` : 'no version gets new starts yet',
            observedGeneration: g,
          },
      now,
    );
    const draining = pass.versions.filter((v) => v.state === 'Draining').map((v) => v.version);
    const complete = pass.decision.phase === 'Complete';
    const message =
      complete && draining.length > 0
        ? `${pass.decision.message}; draining ${draining.join(', ')}`
        : pass.decision.message;
    setCondition(
      conditions,
      { type: 'Progressing', status: 'True', reason: complete ? 'RolloutComplete' : pass.decision.phase, message, observedGeneration: g },
      now,
    );
  };
}
