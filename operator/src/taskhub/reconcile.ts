/**
 * The TaskHub reconciler. The entry fetches the hub, handles deletion and the finalizer and validates the spec; the
 * body provisions (provision.ts, managed.ts), migrates (migrate.ts), counts instances and writes the status
 * (status.ts). A healthy hub is fully re-provisioned only when its spec or Secrets change, or once per resync
 * period; in between, passes only refresh instance counts, which also notices a database that went away.
 */
import { getCondition } from '../crds/conditions.ts';
import { TASKHUB_FINALIZER } from '../crds/group.ts';
import { describeProblems, parseDuration, validateTaskHubSpec } from '../crds/index.ts';
import type { TaskHub, TaskHubStatus } from '../crds/index.ts';
import type { OperatorContext } from '../context.ts';
import { addFinalizer, hasFinalizer } from '../runtime/finalizers.ts';
import { KubeApiError } from '../runtime/kube.ts';
import { done, requeueAfter } from '../runtime/result.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import { TASKHUBS } from '../runtime/resources.ts';
import { updateStatus } from '../runtime/status.ts';
import { toError } from '../../../worker/src/errors.ts';
import { finalizeTaskHub } from './delete.ts';
import { ensureManagedPostgres } from './managed.ts';
import { migrateHub } from './migrate.ts';
import type { MigrationOutcome } from './migrate.ts';
import { connectionSecretName, managedPostgresName } from './names.ts';
import { describePgError, ProvisioningError } from './postgres.ts';
import { provisionHub } from './provision.ts';
import type { ProvisionedHub } from './provision.ts';
import { applyHubOutcome } from './status.ts';
import type { HubPassOutcome } from './status.ts';
import { countInstances } from './sql.ts';

/** The last full provisioning of a hub, reused while nothing it depends on changed. */
interface Memo {
  fingerprint: string;
  at: number;
  provisioned: ProvisionedHub;
  migrated: MigrationOutcome;
}

const FINISHED = ['Completed', 'Failed', 'Terminated'] as const;
const PURGE_EVERY_MS = 60_000;

/** Reconciles TaskHubs; holds per-hub memory (last provisioning, counts, last purge). */
export class TaskHubReconciler {
  readonly #ctx: OperatorContext;
  readonly #memo = new Map<string, Memo>();
  readonly #counts = new Map<string, Record<string, number>>();
  readonly #lastPurge = new Map<string, number>();

  constructor(ctx: OperatorContext) {
    this.#ctx = ctx;
    ctx.metrics.hubInstances.collect(() =>
      [...this.#counts].flatMap(([key, byStatus]) => {
        const [namespace = '', taskhub = ''] = key.split('/');
        return Object.entries(byStatus).map(([status, value]) => ({ labels: { namespace, taskhub, status }, value }));
      }),
    );
  }

  /** The reconcile entry point (a {@link Reconciler}). */
  reconcile = async (namespace: string, name: string): Promise<ReconcileResult> => {
    const ctx = this.#ctx;
    const key = `${namespace}/${name}`;
    let hub = await ctx.client.get<TaskHub>(TASKHUBS, namespace, name);
    if (!hub) {
      this.#forget(key);
      await ctx.hubs.close(key);
      return done;
    }
    if (hub.metadata.deletionTimestamp) {
      this.#forget(key);
      return hasFinalizer(hub, TASKHUB_FINALIZER) ? finalizeTaskHub(ctx, hub) : done;
    }
    hub = await addFinalizer(ctx.client, TASKHUBS, hub, TASKHUB_FINALIZER);
    const spec = structuredClone(hub.spec);
    const problems = validateTaskHubSpec(spec);
    const outcome: HubPassOutcome = { hubName: name, generation: hub.metadata.generation ?? 0 };
    if (problems.length > 0) {
      outcome.invalidSpec = `invalid spec: ${describeProblems(problems)}`;
      await this.#writeStatus(hub, outcome);
      return done;
    }
    hub = { ...hub, spec };
    await this.#run(hub, key, outcome);
    await this.#writeStatus(hub, outcome);
    return requeueAfter(ctx.pollMs);
  };

  async #run(hub: TaskHub, key: string, outcome: HubPassOutcome): Promise<void> {
    const ctx = this.#ctx;
    let memo = this.#memo.get(key);
    const fingerprint = this.#fingerprint(hub);
    const fresh = memo && memo.fingerprint === fingerprint && ctx.now().getTime() - memo.at < ctx.resyncMs;
    if (!fresh) {
      memo = undefined;
      this.#memo.delete(key);
      let provisioned: ProvisionedHub;
      try {
        if (hub.spec.postgres.managed) await ensureManagedPostgres(ctx, hub);
        provisioned = await provisionHub(ctx, hub);
      } catch (err) {
        outcome.dbError = asProvisioningError(err);
        return;
      }
      outcome.provisioned = provisioned;
      if (provisioned.createdRole) {
        ctx.events.record(hub, 'Normal', 'RoleCreated', `created role ${provisioned.names.role} and Secret ${connectionSecretName(outcome.hubName)}`);
      }
      if (provisioned.publicWritable) {
        ctx.events.record(
          hub,
          'Warning',
          'PublicSchemaWritable',
          `role ${provisioned.names.role} can create objects in schema public through PUBLIC's default grant (Postgres 14 or older); run REVOKE CREATE ON SCHEMA public FROM PUBLIC if nothing relies on it`,
        );
      }
      let migrated: MigrationOutcome;
      try {
        migrated = await migrateHub(ctx, key, provisioned);
      } catch (err) {
        outcome.migrateError = asProvisioningError(err);
        return;
      }
      if (migrated.from !== migrated.to) {
        ctx.events.record(hub, 'Normal', 'Migrated', `hub schema migrated from version ${migrated.from} to ${migrated.to}`);
      }
      memo = { fingerprint, at: ctx.now().getTime(), provisioned, migrated };
      this.#memo.set(key, memo);
    }
    if (!memo) return;
    outcome.provisioned = memo.provisioned;
    outcome.migrated = { from: memo.migrated.to, to: memo.migrated.to };
    const info = { uri: memo.provisioned.uri, schema: memo.provisioned.schema };
    try {
      outcome.counts = await countInstances(ctx.hubs.pool(key, info), memo.provisioned.schema);
      this.#counts.set(key, outcome.counts);
    } catch (err) {
      // The database went away (or the role was changed behind our back): report it and provision afresh next time.
      this.#memo.delete(key);
      outcome.provisioned = undefined;
      outcome.migrated = undefined;
      outcome.dbError = describePgError(err, `${memo.provisioned.admin.host}:${memo.provisioned.admin.port}`, `Secret ${connectionSecretName(outcome.hubName)}`);
      return;
    }
    await this.#purge(hub, key, info);
  }

  /** Purges finished instances past spec.retention, at most once a minute. */
  async #purge(hub: TaskHub, key: string, info: { uri: string; schema: string }): Promise<void> {
    const after = hub.spec.retention?.finishedAfter;
    if (!after) return;
    const now = this.#ctx.now().getTime();
    if (now - (this.#lastPurge.get(key) ?? 0) < PURGE_EVERY_MS) return;
    this.#lastPurge.set(key, now);
    // Retention counts from completion. An instance finished before the cutoff was also created before
    // it, so the creation bound adds nothing to the filter but lets the purge use the creation index.
    const cutoff = new Date(now - parseDuration(after));
    try {
      const purged = await this.#ctx.hubs.store(key, info).purgeInstances({ statuses: [...FINISHED], createdTo: cutoff, completedTo: cutoff });
      if (purged > 0) this.#ctx.events.record(hub, 'Normal', 'Purged', `purged ${purged} instances finished more than ${after} ago`);
    } catch (err) {
      this.#ctx.log.warn({ hub: key, err: toError(err).message }, 'retention purge failed');
    }
  }

  /** What a full provisioning depends on: the spec and the Secrets it reads or writes. */
  #fingerprint(hub: TaskHub): string {
    const ns = hub.metadata.namespace ?? '';
    const name = hub.metadata.name ?? '';
    const secrets = this.#ctx.informers.secrets;
    const admin = hub.spec.postgres.external?.secretRef.name ?? managedPostgresName(name);
    return [
      hub.metadata.generation,
      secrets.get(ns, admin)?.metadata?.resourceVersion,
      secrets.get(ns, connectionSecretName(name))?.metadata?.resourceVersion,
    ].join('|');
  }

  async #writeStatus(hub: TaskHub, outcome: HubPassOutcome): Promise<void> {
    const ctx = this.#ctx;
    const before = getCondition(hub.status?.conditions, 'Ready');
    const written = await updateStatus<TaskHubStatus, TaskHub>(
      ctx.client,
      TASKHUBS,
      hub.metadata.namespace ?? '',
      hub.metadata.name ?? '',
      applyHubOutcome(outcome, ctx.now()),
    );
    const after = getCondition(written?.status?.conditions, 'Ready');
    if (after && (after.status !== before?.status || after.reason !== before?.reason)) {
      if (after.status === 'True') ctx.events.record(hub, 'Normal', 'HubReady', after.message);
      else ctx.events.record(hub, 'Warning', after.reason, after.message);
    }
  }

  #forget(key: string): void {
    this.#memo.delete(key);
    this.#counts.delete(key);
    this.#lastPurge.delete(key);
  }
}

/** Database problems become conditions; Kubernetes API errors propagate (a conflict requeues quietly). */
function asProvisioningError(err: unknown): ProvisioningError {
  if (err instanceof KubeApiError) throw err;
  return err instanceof ProvisioningError ? err : describePgError(err, 'the hub database', 'the TaskHub spec');
}
