/**
 * The WorkflowDeployment reconciler. The entry fetches the object, validates it and checks its hub; the body applies
 * the target version's Deployment (deployments.ts), decides routing (rollout.ts) and writes it to the hub's versions
 * table, plans every other version from the hub's drain state (drain.ts), scales and deletes accordingly, and writes
 * the status (status.ts). Every transition gets an Event.
 */
import type { HubStore, VersionInfo } from '../../../worker/src/store/types.ts';
import { isTrue } from '../crds/conditions.ts';
import { LABELS } from '../crds/group.ts';
import { describeProblems, parseDuration, validateWorkflowDeploymentSpec } from '../crds/index.ts';
import type { WorkflowDeployment, WorkflowDeploymentStatus } from '../crds/index.ts';
import type { OperatorContext } from '../context.ts';
import { crashPoint } from '../runtime/crash.ts';
import { KubeApiError } from '../runtime/kube.ts';
import type { Deployment } from '../runtime/objects.ts';
import { secretValue } from '../runtime/objects.ts';
import { isOwnedBy } from '../runtime/owner.ts';
import { done, requeueAfter, sooner } from '../runtime/result.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import { DEPLOYMENTS, WORKFLOWDEPLOYMENTS } from '../runtime/resources.ts';
import { updateStatus } from '../runtime/status.ts';
import { connectionSecretName } from '../taskhub/names.ts';
import { APPLIED_HASH, buildDeployment, deploymentName, deploymentReady, selectorString, targetVersion, versionOf } from './deployments.ts';
import { planVersion } from './drain.ts';
import type { VersionPlan } from './drain.ts';
import { currentRouting, decideRollout } from './rollout.ts';
import type { RolloutDecision } from './rollout.ts';
import { applyBlocked, applyCompleted } from './status.ts';

/** Reconciles WorkflowDeployments. */
export class WorkflowDeploymentReconciler {
  readonly #ctx: OperatorContext;

  constructor(ctx: OperatorContext) {
    this.#ctx = ctx;
    ctx.metrics.versions.collect(() =>
      ctx.informers.workflowDeployments.list().flatMap((wd) =>
        (wd.status?.versions ?? []).map((v) => ({
          labels: { namespace: wd.metadata.namespace ?? '', workflowdeployment: wd.metadata.name ?? '', version: v.version, state: v.state },
          value: 1,
        })),
      ),
    );
  }

  /** The reconcile entry point (a {@link Reconciler}). */
  reconcile = async (namespace: string, name: string): Promise<ReconcileResult> => {
    const ctx = this.#ctx;
    const wd = await ctx.client.get<WorkflowDeployment>(WORKFLOWDEPLOYMENTS, namespace, name);
    // Deleted (or being deleted): ownerReferences let the garbage collector remove the Deployments.
    if (!wd || wd.metadata.deletionTimestamp) return done;
    const generation = wd.metadata.generation ?? 0;
    const spec = structuredClone(wd.spec);
    const problems = validateWorkflowDeploymentSpec(spec);
    if (problems.length > 0) {
      return this.#blocked(wd, { generation, reason: 'InvalidSpec', message: `invalid spec: ${describeProblems(problems)}` }, done);
    }
    wd.spec = spec;
    const target = targetVersion(wd);
    const hubName = spec.hubRef.name;
    const hub = ctx.informers.taskHubs.get(namespace, hubName);
    if (!hub || !isTrue(hub.status?.conditions, 'Ready')) {
      const why = hub ? (hub.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? 'not reconciled yet') : 'it does not exist';
      return this.#blocked(wd, { generation, target, reason: 'HubNotReady', message: `TaskHub ${hubName} is not Ready: ${why}` }, requeueAfter(ctx.pollMs * 3));
    }
    const owner = this.#hubOwner(namespace, hubName);
    if (owner && owner !== name) {
      return this.#blocked(
        wd,
        {
          generation,
          target,
          reason: 'HubInUse',
          message: `TaskHub ${hubName} is already deployed by WorkflowDeployment ${owner}; a hub's routing has one owner — use one WorkflowDeployment per hub`,
        },
        done,
      );
    }
    const secret = ctx.informers.secrets.get(namespace, connectionSecretName(hubName));
    const uri = secretValue(secret, 'uri');
    const schema = secretValue(secret, 'schema');
    if (!uri || !schema) {
      return this.#blocked(wd, { generation, target, reason: 'HubNotReady', message: `Secret ${connectionSecretName(hubName)} is not written yet` }, requeueAfter(ctx.pollMs));
    }
    const store = ctx.hubs.store(`${namespace}/${hubName}`, { uri, schema });
    return this.#rollout(wd, target, store);
  };

  async #rollout(wd: WorkflowDeployment, target: string, store: Pick<HubStore, 'listVersions' | 'setRouting'>): Promise<ReconcileResult> {
    const ctx = this.#ctx;
    const ns = wd.metadata.namespace ?? '';
    const name = wd.metadata.name ?? '';
    const now = ctx.now().getTime();
    const owned = this.#ownedDeployments(wd);

    // 1. The target's Deployment, applied only when what the operator would apply changed.
    const desired = buildDeployment(wd, target, wd.spec.replicas);
    let targetDep = owned.get(target);
    if (targetDep?.metadata?.annotations?.[APPLIED_HASH] !== desired.metadata?.annotations?.[APPLIED_HASH]) {
      const existed = targetDep !== undefined;
      try {
        targetDep = await ctx.client.apply<Deployment>(DEPLOYMENTS, ns, desired.metadata?.name ?? '', desired);
      } catch (err) {
        // The API server refused the Deployment built from the template: that is the user's to fix, so say it in
        // status; the error still propagates so the retry backs off.
        if (err instanceof KubeApiError && [400, 422, 500].includes(err.status)) {
          await this.#blocked(
            wd,
            { generation: wd.metadata.generation ?? 0, target, reason: 'DeploymentRejected', message: `the Deployment for version ${target} was refused; check spec.template: ${err.message}` },
            done,
          );
        }
        throw err;
      }
      if (!existed) {
        ctx.events.record(wd, 'Normal', 'DeploymentCreated', `created Deployment ${desired.metadata?.name} for version ${target}`);
        crashPoint('after-deployment-create');
      }
      owned.set(target, targetDep);
    }

    // 2. Routing.
    let hubVersions = await store.listVersions();
    const decision = decideRollout({
      strategy: wd.spec.rollout?.strategy ?? 'AllAtOnce',
      steps: (wd.spec.rollout?.steps ?? []).map((s) => ({ percent: s.percent, pauseMs: parseDuration(s.pause ?? '60s') })),
      promote: wd.spec.rollout?.promote,
      target,
      hub: hubVersions,
      targetReady: deploymentReady(targetDep),
      progress: wd.status?.rollout,
      now,
    });
    if (decision.routing) {
      await store.setRouting(decision.routing.current, decision.routing.ramping);
      crashPoint('after-routing-write');
      this.#routingEvent(wd, decision);
      hubVersions = await store.listVersions();
    }

    // 3. Every version: keep, scale down or delete.
    const plans = this.#planVersions(wd, target, owned, hubVersions, now);
    for (const plan of plans) await this.#carryOut(wd, plan, owned.get(plan.status.version));

    // 4. Status.
    const routing = currentRouting(hubVersions);
    const currentDep = routing.current ? owned.get(routing.current) : undefined;
    const versions = plans.filter((p) => !p.delete).map((p) => p.status);
    await this.#writeStatus(
      wd,
      applyCompleted(
        {
          generation: wd.metadata.generation ?? 0,
          target,
          current: routing.current,
          decision,
          versions,
          currentReplicas: currentDep?.status?.replicas ?? 0,
          currentReady: currentDep?.status?.readyReplicas ?? 0,
          currentDesired: currentDep?.spec?.replicas ?? 1,
          selector: routing.current ? selectorString(name, routing.current) : undefined,
        },
        ctx.now(),
      ),
    );

    let result = decision.requeueMs !== undefined ? requeueAfter(decision.requeueMs) : done;
    if (decision.phase === 'WaitingForReplicas') result = sooner(result, requeueAfter(ctx.pollMs));
    for (const plan of plans) if (plan.requeueMs !== undefined) result = sooner(result, requeueAfter(plan.requeueMs));
    return result;
  }

  #planVersions(wd: WorkflowDeployment, target: string, owned: Map<string, Deployment>, hub: VersionInfo[], now: number): VersionPlan[] {
    const prior = new Map((wd.status?.versions ?? []).map((v) => [v.version, v]));
    const settings = {
      target,
      specReplicas: wd.spec.replicas,
      scaleDownDelayMs: parseDuration(wd.spec.drain?.scaleDownDelay ?? '5m'),
      deleteDelayMs: parseDuration(wd.spec.drain?.deleteDelay ?? '1h'),
      pollMs: this.#ctx.pollMs,
      now,
    };
    const byCreation = [...owned.entries()].sort(
      ([, a], [, b]) => Date.parse(a.metadata?.creationTimestamp ?? '') - Date.parse(b.metadata?.creationTimestamp ?? ''),
    );
    return byCreation.map(([version, dep]) =>
      planVersion(
        {
          version,
          deployment: dep.metadata?.name ?? deploymentName(wd.metadata.name ?? '', version),
          replicas: dep.spec?.replicas,
          readyReplicas: dep.status?.readyReplicas ?? 0,
          hub: hub.find((h) => h.version === version),
          prior: prior.get(version),
        },
        settings,
      ),
    );
  }

  async #carryOut(wd: WorkflowDeployment, plan: VersionPlan, dep: Deployment | undefined): Promise<void> {
    const ctx = this.#ctx;
    const ns = wd.metadata.namespace ?? '';
    const v = plan.status;
    const before = (wd.status?.versions ?? []).find((p) => p.version === v.version);
    if (before?.state !== v.state && v.state === 'Draining') {
      ctx.events.record(wd, 'Normal', 'VersionDraining', `version ${v.version} gets no new starts; ${v.runningInstances ?? 0} instances still run on it`);
    }
    if (before?.state === 'Draining' && v.state === 'Drained') {
      const since = before.drainingSince ? Date.parse(before.drainingSince) : undefined;
      if (since !== undefined && v.drainedSince) ctx.metrics.drainSeconds.observe({}, Math.max(0, (Date.parse(v.drainedSince) - since) / 1000));
      ctx.events.record(wd, 'Normal', 'VersionDrained', `version ${v.version} has no unfinished instances; it scales to zero after ${wd.spec.drain?.scaleDownDelay ?? '5m'}`);
    }
    if (!dep) return;
    if (plan.delete) {
      await ctx.client.delete(DEPLOYMENTS, ns, dep.metadata?.name ?? '', { uid: dep.metadata?.uid });
      ctx.events.record(wd, 'Normal', 'VersionDeleted', `deleted Deployment ${dep.metadata?.name} of drained version ${v.version}`);
      crashPoint('after-deployment-delete');
      return;
    }
    if (plan.setReplicas !== undefined) {
      // A merge patch of replicas alone: an apply of a partial object would drop the fields applied earlier.
      await ctx.client.patch(DEPLOYMENTS, ns, dep.metadata?.name ?? '', 'merge', { spec: { replicas: plan.setReplicas } });
      if (plan.setReplicas === 0) {
        ctx.events.record(wd, 'Normal', 'VersionScaledDown', `scaled Deployment ${dep.metadata?.name} of drained version ${v.version} to zero`);
        crashPoint('after-scale-down');
      } else ctx.events.record(wd, 'Normal', 'VersionScaled', `scaled Deployment ${dep.metadata?.name} of version ${v.version} to ${plan.setReplicas}`);
    }
  }

  #routingEvent(wd: WorkflowDeployment, decision: RolloutDecision): void {
    const routing = decision.routing;
    if (!routing) return;
    const message = routing.ramping
      ? `routing: ${routing.ramping.percent}% of new starts to ${routing.ramping.version}, the rest to ${routing.current}`
      : `routing: new starts go to ${routing.current}`;
    this.#ctx.events.record(wd, 'Normal', routing.ramping ? 'RampStep' : 'RoutingChanged', message);
  }

  /** Deployments labelled for this WorkflowDeployment and owned by this incarnation of it, by version. */
  #ownedDeployments(wd: WorkflowDeployment): Map<string, Deployment> {
    const ns = wd.metadata.namespace ?? '';
    const out = new Map<string, Deployment>();
    for (const dep of this.#ctx.informers.deployments.list(ns)) {
      if (dep.metadata?.labels?.[LABELS.workflowDeployment] !== wd.metadata.name) continue;
      if (!isOwnedBy(dep, wd.metadata.uid) || dep.metadata?.deletionTimestamp) continue;
      const version = versionOf(dep);
      if (version) out.set(version, dep);
    }
    return out;
  }

  /** The WorkflowDeployment that owns a hub's routing: the oldest one referencing it (ties broken by name). */
  #hubOwner(namespace: string, hub: string): string | undefined {
    const candidates = this.#ctx.informers.workflowDeployments
      .list(namespace)
      .filter((w) => w.spec?.hubRef?.name === hub && !w.metadata.deletionTimestamp)
      .sort((a, b) => {
        const t = Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '');
        return t !== 0 ? t : (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
      });
    return candidates[0]?.metadata.name;
  }

  async #blocked(wd: WorkflowDeployment, pass: Parameters<typeof applyBlocked>[0], result: ReconcileResult): Promise<ReconcileResult> {
    const before = wd.status?.conditions?.find((c) => c.type === 'Progressing');
    await this.#writeStatus(wd, applyBlocked(pass, this.#ctx.now()));
    if (before?.reason !== pass.reason) this.#ctx.events.record(wd, 'Warning', pass.reason, pass.message);
    return result;
  }

  async #writeStatus(wd: WorkflowDeployment, mutate: (s: WorkflowDeploymentStatus) => void): Promise<void> {
    await updateStatus<WorkflowDeploymentStatus, WorkflowDeployment>(
      this.#ctx.client,
      WORKFLOWDEPLOYMENTS,
      wd.metadata.namespace ?? '',
      wd.metadata.name ?? '',
      mutate,
    );
  }
}
