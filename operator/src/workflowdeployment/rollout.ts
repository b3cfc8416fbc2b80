/**
 * Which version new starts go to: a pure decision from the spec's strategy, the hub's routing table and whether the
 * target's Deployment is ready. The hub's `versions` table is the single source of truth for routing; the decision
 * only says what it should become. Rules:
 *  - the first version of a hub becomes current at once (there is nothing to ramp from);
 *  - a target that still exists as a draining or drained version becomes current at once (a rollback is urgent);
 *  - AllAtOnce: the target becomes current when its Deployment is ready;
 *  - Progressive: once ready, the target ramps through the steps, each held for its pause, then becomes current;
 *  - Manual: once ready, the target becomes current when `spec.rollout.promote` names it;
 *  - a ramping version that is no longer the target stops ramping at once (it drains).
 */
import type { VersionInfo } from '../../../worker/src/store/types.ts';
import type { RolloutStrategy } from '../crds/index.ts';

/** A ramp step with its pause in milliseconds. */
export interface Step {
  percent: number;
  pauseMs: number;
}

/** Routing as the hub's versions table holds it. */
export interface Routing {
  current: string;
  ramping?: { version: string; percent: number };
}

/** Everything the decision depends on. */
export interface RolloutInput {
  strategy: RolloutStrategy;
  steps: Step[];
  promote?: string;
  target: string;
  /** The hub's versions (routing and drain state). */
  hub: VersionInfo[];
  targetReady: boolean;
  /** Progress recorded in status by earlier passes. */
  progress?: { version: string; step: number; stepStartedAt: string };
  now: number;
}

/** Where the rollout stands. */
export type RolloutPhase = 'Complete' | 'WaitingForReplicas' | 'Ramping' | 'AwaitingPromotion';

/** What to do and what to record. */
export interface RolloutDecision {
  /** Routing to write, when it differs from the hub's. */
  routing?: Routing;
  /** Progress to record (undefined clears it). */
  progress?: { version: string; step: number; stepStartedAt: string };
  /** Percent of new starts the target gets once the routing is written. */
  rampPercent: number;
  phase: RolloutPhase;
  message: string;
  /** Look again after this long (the end of a ramp step). */
  requeueMs?: number;
}

/** The hub's current routing. */
export function currentRouting(hub: VersionInfo[]): { current?: string; ramping?: { version: string; percent: number } } {
  const current = hub.find((v) => v.state === 'Current')?.version;
  const r = hub.find((v) => v.state === 'Ramping');
  return { current, ramping: r ? { version: r.version, percent: r.rampPercent } : undefined };
}

function sameRouting(hub: VersionInfo[], next: Routing): boolean {
  const now = currentRouting(hub);
  return (
    now.current === next.current &&
    now.ramping?.version === next.ramping?.version &&
    (now.ramping?.percent ?? 0) === (next.ramping?.percent ?? 0)
  );
}

/** Decides the routing for this pass. */
export function decideRollout(input: RolloutInput): RolloutDecision {
  const { target, hub } = input;
  const { current, ramping } = currentRouting(hub);
  const route = (next: Routing): Routing | undefined => (sameRouting(hub, next) ? undefined : next);

  if (current === undefined || current === target) {
    return {
      routing: route({ current: target }),
      rampPercent: 100,
      phase: 'Complete',
      message: current === undefined ? `version ${target} is the hub's first version: new starts go to it` : `new starts go to version ${target}`,
    };
  }
  const known = hub.find((v) => v.version === target);
  if (known && (known.state === 'Draining' || known.state === 'Drained')) {
    return {
      routing: route({ current: target }),
      rampPercent: 100,
      phase: 'Complete',
      message: `version ${target} still existed (${known.state}): it is current again`,
    };
  }
  // A version ramping that is not the target any more stops getting new starts at once.
  const stillRamping = ramping && ramping.version === target ? ramping : undefined;
  const hold: Routing = stillRamping ? { current, ramping: stillRamping } : { current };
  if (!input.targetReady) {
    return {
      routing: route(hold),
      progress: input.progress?.version === target ? input.progress : undefined,
      rampPercent: stillRamping?.percent ?? 0,
      phase: 'WaitingForReplicas',
      message: `waiting for the Deployment of version ${target} to be ready; new starts stay on ${current}`,
    };
  }
  if (input.strategy === 'AllAtOnce') {
    return { routing: route({ current: target }), rampPercent: 100, phase: 'Complete', message: `new starts go to version ${target}` };
  }
  if (input.strategy === 'Manual') {
    if (input.promote === target) {
      return { routing: route({ current: target }), rampPercent: 100, phase: 'Complete', message: `version ${target} promoted: new starts go to it` };
    }
    return {
      routing: route({ current }),
      rampPercent: 0,
      phase: 'AwaitingPromotion',
      message: `version ${target} is ready; set spec.rollout.promote: ${target} to send new starts to it (they stay on ${current})`,
    };
  }
  return progressive(input, current, route);
}

function progressive(input: RolloutInput, current: string, route: (r: Routing) => Routing | undefined): RolloutDecision {
  const { target, steps, now } = input;
  let progress =
    input.progress?.version === target ? input.progress : { version: target, step: 0, stepStartedAt: new Date(now).toISOString() };
  // At most one step per pass, and the next one starts now: every step is held for its whole pause at its percent,
  // even when this pass runs late (or the operator was away).
  const ending = steps[progress.step];
  if (ending && now >= Date.parse(progress.stepStartedAt) + ending.pauseMs) {
    progress = { version: target, step: progress.step + 1, stepStartedAt: new Date(now).toISOString() };
  }
  const step = steps[progress.step];
  if (!step) {
    return { routing: route({ current: target }), rampPercent: 100, phase: 'Complete', message: `ramp finished: new starts go to version ${target}` };
  }
  const endsAt = Date.parse(progress.stepStartedAt) + step.pauseMs;
  return {
    routing: route({ current, ramping: { version: target, percent: step.percent } }),
    progress,
    rampPercent: step.percent,
    phase: 'Ramping',
    message: `step ${progress.step + 1} of ${steps.length}: ${step.percent}% of new starts go to version ${target}, the rest to ${current}`,
    requeueMs: Math.max(0, endsAt - now),
  };
}
