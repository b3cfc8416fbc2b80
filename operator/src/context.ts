/** What every reconciler gets: the API client, shared informers, hub connections, events, metrics, clock. */
import type { Logger } from 'pino';
import type { TaskHub, WorkflowDeployment } from './crds/index.ts';
import type { EventRecorder } from './runtime/events.ts';
import type { Informer } from './runtime/informer.ts';
import type { KubeClient } from './runtime/kube.ts';
import type { OperatorMetrics } from './runtime/metrics.ts';
import type { Deployment, Secret, StatefulSet } from './runtime/objects.ts';
import type { HubConnections } from './taskhub/connections.ts';

/** The informer caches the reconcilers read from. */
export interface Informers {
  taskHubs: Informer<TaskHub>;
  workflowDeployments: Informer<WorkflowDeployment>;
  /** Deployments and StatefulSets labelled managed-by dtk-operator. */
  deployments: Informer<Deployment>;
  statefulSets: Informer<StatefulSet>;
  secrets: Informer<Secret>;
}

/** Shared by both reconcilers. */
export interface OperatorContext {
  client: KubeClient;
  informers: Informers;
  hubs: HubConnections;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  /** Period of drain/ramp/instance-count checks and of retries after a failed provisioning. */
  pollMs: number;
  /** Full-provisioning period of a healthy hub (the informer resync). */
  resyncMs: number;
  now: () => Date;
}
