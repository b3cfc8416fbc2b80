/**
 * The operator's controllers wired to shared informers: TaskHubs, WorkflowDeployments, the Deployments and
 * StatefulSets it manages, and Secrets (referenced admin Secrets and the connection Secrets it writes). Each event
 * is mapped to the objects it concerns and queued. main.ts starts this only while holding the leader lease; tests
 * run it in-process.
 */
import type { Logger } from 'pino';
import { LABELS, MANAGER } from './crds/group.ts';
import type { TaskHub, WorkflowDeployment } from './crds/index.ts';
import type { Informers, OperatorContext } from './context.ts';
import { Controller } from './runtime/controller.ts';
import { KubeEventRecorder } from './runtime/events.ts';
import type { EventRecorder } from './runtime/events.ts';
import { Informer } from './runtime/informer.ts';
import type { KubeClient, KubeObject } from './runtime/kube.ts';
import type { OperatorMetrics } from './runtime/metrics.ts';
import type { Deployment, Secret, StatefulSet } from './runtime/objects.ts';
import { DEPLOYMENTS, SECRETS, STATEFULSETS, TASKHUBS, WORKFLOWDEPLOYMENTS } from './runtime/resources.ts';
import { HubConnections } from './taskhub/connections.ts';
import { connectionSecretName, managedPostgresName } from './taskhub/names.ts';
import { TaskHubReconciler } from './taskhub/reconcile.ts';
import { WorkflowDeploymentReconciler } from './workflowdeployment/reconcile.ts';

/** Options of {@link Operator}. */
export interface OperatorOptions {
  client: KubeClient;
  logger: Logger;
  metrics: OperatorMetrics;
  identity: string;
  /** Watch one namespace; all when undefined. */
  namespace?: string;
  resyncMs: number;
  pollMs: number;
  workers: number;
  events?: EventRecorder;
}

/** Informers + controllers; start() when leading, stop() on shutdown. */
export class Operator {
  readonly ctx: OperatorContext;
  readonly taskHubs: Controller;
  readonly workflowDeployments: Controller;
  readonly #log: Logger;
  #started = false;

  constructor(o: OperatorOptions) {
    this.#log = o.logger;
    const informer = <T extends KubeObject>(resource: typeof TASKHUBS, labelSelector?: string) =>
      new Informer<T>(o.client, {
        resource,
        namespace: o.namespace,
        labelSelector,
        relistMs: o.resyncMs,
        logger: o.logger,
        onList: (r) => o.metrics.relists.inc({ resource: r.plural }),
      });
    const managed = `${LABELS.managedBy}=${MANAGER}`;
    const informers: Informers = {
      taskHubs: informer<TaskHub>(TASKHUBS),
      workflowDeployments: informer<WorkflowDeployment>(WORKFLOWDEPLOYMENTS),
      deployments: informer<Deployment>(DEPLOYMENTS, managed),
      statefulSets: informer<StatefulSet>(STATEFULSETS, managed),
      secrets: informer<Secret>(SECRETS),
    };
    this.ctx = {
      client: o.client,
      informers,
      hubs: new HubConnections(o.logger),
      events: o.events ?? new KubeEventRecorder(o.client, o.logger, o.identity),
      metrics: o.metrics,
      log: o.logger,
      pollMs: o.pollMs,
      resyncMs: o.resyncMs,
      now: () => new Date(),
    };
    const common = { logger: o.logger, metrics: o.metrics, workers: o.workers };
    this.taskHubs = new Controller({ ...common, name: 'taskhub', reconcile: new TaskHubReconciler(this.ctx).reconcile });
    this.workflowDeployments = new Controller({
      ...common,
      name: 'workflowdeployment',
      reconcile: new WorkflowDeploymentReconciler(this.ctx).reconcile,
    });
    this.#wire(informers);
  }

  /** True once every informer has listed once. */
  get synced(): boolean {
    return this.#started && Object.values(this.ctx.informers).every((i: Informer<KubeObject>) => i.synced);
  }

  /** Starts informers, waits for their first lists, then starts the controllers. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await Promise.all(Object.values(this.ctx.informers).map((i: Informer<KubeObject>) => i.start()));
    this.taskHubs.start();
    this.workflowDeployments.start();
    this.#log.info('controllers started');
  }

  /** Stops taking work, lets passes in flight finish, closes hub connections. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await Promise.all([this.taskHubs.stop(), this.workflowDeployments.stop()]);
    await Promise.all(Object.values(this.ctx.informers).map((i: Informer<KubeObject>) => i.stop()));
    await this.ctx.hubs.closeAll();
    this.#log.info('controllers stopped');
  }

  #wire(i: Informers): void {
    const hubsEnqueue = (ns: string | undefined, name: string | undefined) => this.taskHubs.enqueue(ns, name);
    const wdsOfHub = (ns: string | undefined, hub: string) => {
      for (const wd of i.workflowDeployments.list(ns)) {
        if (wd.spec?.hubRef?.name === hub) this.workflowDeployments.enqueue(ns, wd.metadata.name);
      }
    };
    i.taskHubs.on((type, hub, old) => {
      // Status writes (the reconciler's own) must not trigger another pass: that would be a hot loop.
      if (type !== 'update' || specChanged(hub, old)) hubsEnqueue(hub.metadata.namespace, hub.metadata.name);
      if (type !== 'resync' && readiness(hub) !== readiness(old)) wdsOfHub(hub.metadata.namespace, hub.metadata.name ?? '');
    });
    i.workflowDeployments.on((type, wd, old) => {
      if (type !== 'update' || specChanged(wd, old)) this.workflowDeployments.enqueue(wd.metadata.namespace, wd.metadata.name);
      // Another deployment of the same hub may now own its routing.
      if (type === 'delete') wdsOfHub(wd.metadata.namespace, wd.spec?.hubRef?.name ?? '');
    });
    i.deployments.on((type, dep) => {
      if (type === 'resync') return;
      const wd = dep.metadata?.labels?.[LABELS.workflowDeployment];
      if (wd) this.workflowDeployments.enqueue(dep.metadata?.namespace, wd);
    });
    i.statefulSets.on((type, sts) => {
      if (type === 'resync') return;
      const hub = sts.metadata?.labels?.[LABELS.hub];
      if (hub) hubsEnqueue(sts.metadata?.namespace, hub);
    });
    i.secrets.on((type, secret) => {
      if (type === 'resync') return;
      const ns = secret.metadata?.namespace;
      const name = secret.metadata?.name ?? '';
      for (const hub of i.taskHubs.list(ns)) {
        const hubName = hub.metadata.name ?? '';
        const refs = [hub.spec?.postgres?.external?.secretRef?.name, connectionSecretName(hubName), managedPostgresName(hubName)];
        if (!refs.includes(name)) continue;
        hubsEnqueue(ns, hubName);
        if (name === connectionSecretName(hubName)) wdsOfHub(ns, hubName);
      }
    });
  }
}

/** True when an update changed more than status: the spec (generation), deletion, finalizers or labels. */
function specChanged(obj: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return true;
  const a = obj.metadata ?? {};
  const b = old.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? []) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {})
  );
}

/** A hub's Ready condition status ('' when unknown). */
function readiness(hub: TaskHub | undefined): string {
  return hub?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '';
}
