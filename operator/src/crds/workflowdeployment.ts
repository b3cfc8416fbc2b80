/**
 * WorkflowDeployment: versioned worker Deployments for one hub (DESIGN.md §5). Single source of truth for the CRD
 * YAML, the operator's validation, and the reconciler's types.
 */
import type { Condition } from './conditions.ts';
import { conditionsSchema, duration, isObject, stringMap } from './schema.ts';
import type { SchemaNode } from './schema.ts';
import type { ObjectMeta } from './taskhub.ts';

/** How a new version takes over new starts. */
export type RolloutStrategy = 'AllAtOnce' | 'Progressive' | 'Manual';

/** One step of a Progressive rollout: route `percent` of new starts to the new version for `pause`. */
export interface RampStep {
  percent: number;
  pause?: string;
}

/** `spec` of a WorkflowDeployment, after the API server's defaults. */
export interface WorkflowDeploymentSpec {
  hubRef: { name: string };
  template: PodTemplate;
  version?: string;
  replicas?: number;
  rollout?: { strategy?: RolloutStrategy; steps?: RampStep[]; promote?: string };
  drain?: { scaleDownDelay?: string; deleteDelay?: string };
}

/** A pod template as the operator handles it: metadata it labels, the rest passed through to the Deployment. */
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; [key: string]: unknown };
}

/** The part of a container the operator touches (env); the rest passes through. */
export interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  [key: string]: unknown;
}

/** A container environment variable. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

/** Lifecycle state of one version, as the hub's routing table and the operator see it. */
export type VersionState = 'Ramping' | 'Current' | 'Draining' | 'Drained' | 'Pending';

/** One version in a WorkflowDeployment's status. */
export interface VersionStatus {
  version: string;
  deployment: string;
  state: VersionState;
  runningInstances?: number;
  replicas?: number;
  readyReplicas?: number;
  drainingSince?: string;
  drainedSince?: string;
  scaledDownAt?: string;
}

/** `status` of a WorkflowDeployment. */
export interface WorkflowDeploymentStatus {
  observedGeneration?: number;
  currentVersion?: string;
  targetVersion?: string;
  rampPercent?: number;
  rollout?: { version: string; step: number; stepStartedAt: string };
  versions?: VersionStatus[];
  /** One line for `kubectl get wd`, e.g. `v2:Current,v1:Draining(3)`. */
  versionSummary?: string;
  replicas?: number;
  selector?: string;
  conditions?: Condition[];
}

/** A WorkflowDeployment object as read from the API server. */
export interface WorkflowDeployment {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: WorkflowDeploymentSpec;
  status?: WorkflowDeploymentStatus;
}

const VERSION_PATTERN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';

function percents(self: unknown): number[] {
  return Array.isArray(self) ? self.map((s) => (isObject(s) && typeof s.percent === 'number' ? s.percent : NaN)) : [];
}

/** OpenAPI schema of `spec`. */
export const workflowDeploymentSpecSchema: SchemaNode = {
  type: 'object',
  required: ['hubRef', 'template'],
  properties: {
    hubRef: {
      type: 'object',
      required: ['name'],
      description: 'The TaskHub (in this namespace) whose workers this deploys. Immutable.',
      properties: { name: { type: 'string', minLength: 1, maxLength: 253 } },
      'x-kubernetes-validations': [
        {
          rule: 'self == oldSelf',
          message: 'hubRef is immutable: instances live in their hub; create a new WorkflowDeployment for another hub',
          check: (self, old) => JSON.stringify(self) === JSON.stringify(old),
        },
      ],
    },
    template: {
      type: 'object',
      required: ['spec'],
      description: 'Pod template of the worker; the operator injects DTK_HUB_URL, DTK_HUB_SCHEMA and DTK_VERSION.',
      properties: {
        metadata: {
          type: 'object',
          properties: { labels: stringMap('Pod labels.'), annotations: stringMap('Pod annotations.') },
        },
        spec: {
          type: 'object',
          required: ['containers'],
          'x-kubernetes-preserve-unknown-fields': true,
          properties: {
            containers: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['name', 'image'],
                'x-kubernetes-preserve-unknown-fields': true,
                properties: { name: { type: 'string', minLength: 1 }, image: { type: 'string', minLength: 1 } },
              },
            },
          },
        },
      },
    },
    version: {
      type: 'string',
      maxLength: 40,
      pattern: VERSION_PATTERN,
      description: 'Version name of this template (default: a hash of the template). Instances are pinned to it.',
    },
    replicas: {
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      description: 'Worker replicas of the current version; unset leaves it to an autoscaler (scale subresource).',
    },
    rollout: {
      type: 'object',
      default: {},
      properties: {
        strategy: {
          type: 'string',
          enum: ['AllAtOnce', 'Progressive', 'Manual'],
          default: 'AllAtOnce',
          description: 'AllAtOnce: new starts move when the new version is ready; Progressive: by ramp steps; Manual: when promote names it.',
        },
        steps: {
          type: 'array',
          maxItems: 20,
          description: 'Progressive ramp: percent of new starts routed to the new version, each held for pause.',
          items: {
            type: 'object',
            required: ['percent'],
            properties: {
              percent: { type: 'integer', minimum: 1, maximum: 100 },
              pause: duration('How long this step holds before the next, e.g. 30s.', '60s'),
            },
          },
          'x-kubernetes-validations': [
            {
              rule: 'self.map(s, s.percent).isSorted() && self.all(s, self.filter(t, t.percent == s.percent).size() == 1)',
              message: 'ramp percents must strictly increase from step to step (e.g. 25, 50, 100)',
              check: (self) => percents(self).every((p, i, all) => i === 0 || p > (all[i - 1] ?? Infinity)),
            },
          ],
        },
        promote: {
          type: 'string',
          maxLength: 40,
          pattern: VERSION_PATTERN,
          description: 'Manual strategy: the version that gets new starts once it is ready.',
        },
      },
      'x-kubernetes-validations': [
        {
          rule: "!has(self.strategy) || self.strategy != 'Progressive' || (has(self.steps) && size(self.steps) > 0)",
          message: 'the Progressive strategy needs at least one ramp step',
          fieldPath: '.steps',
          reason: 'FieldValueRequired',
          check: (self) =>
            !isObject(self) || self.strategy !== 'Progressive' || (Array.isArray(self.steps) && self.steps.length > 0),
        },
        {
          rule: "!has(self.promote) || (has(self.strategy) && self.strategy == 'Manual')",
          message: 'promote applies only to the Manual strategy',
          fieldPath: '.promote',
          check: (self) => !isObject(self) || self.promote === undefined || self.strategy === 'Manual',
        },
      ],
    },
    drain: {
      type: 'object',
      default: {},
      properties: {
        scaleDownDelay: duration('How long after an old version drained its Deployment scales to zero.', '5m'),
        deleteDelay: duration('How long after the scale-down the old Deployment is deleted.', '1h'),
      },
    },
  },
};

/** OpenAPI schema of `status`. */
export const workflowDeploymentStatusSchema: SchemaNode = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer' },
    currentVersion: { type: 'string', description: 'The version new starts go to (all of them unless ramping).' },
    targetVersion: { type: 'string', description: "The spec's version." },
    rampPercent: { type: 'integer', description: 'Percent of new starts going to the target version while ramping.' },
    rollout: {
      type: 'object',
      description: 'Progress of a Progressive rollout.',
      properties: {
        version: { type: 'string' },
        step: { type: 'integer' },
        stepStartedAt: { type: 'string', format: 'date-time' },
      },
    },
    versions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['version'],
      items: {
        type: 'object',
        required: ['version', 'deployment', 'state'],
        properties: {
          version: { type: 'string' },
          deployment: { type: 'string' },
          state: { type: 'string', enum: ['Pending', 'Ramping', 'Current', 'Draining', 'Drained'] },
          runningInstances: { type: 'integer' },
          replicas: { type: 'integer' },
          readyReplicas: { type: 'integer' },
          drainingSince: { type: 'string', format: 'date-time' },
          drainedSince: { type: 'string', format: 'date-time' },
          scaledDownAt: { type: 'string', format: 'date-time' },
        },
      },
    },
    versionSummary: { type: 'string', description: 'The versions and their states in one line, e.g. v2:Current,v1:Draining(3).' },
    replicas: { type: 'integer', description: 'Replicas of the current version (scale subresource).' },
    selector: { type: 'string', description: 'Label selector of the current version pods (scale subresource).' },
    conditions: conditionsSchema('Available and Progressing.'),
  },
};

/** Printer columns of `kubectl get wd`. */
export const workflowDeploymentColumns = [
  { name: 'Current', type: 'string', jsonPath: '.status.currentVersion' },
  { name: 'Target', type: 'string', jsonPath: '.status.targetVersion' },
  { name: 'Ramp', type: 'integer', jsonPath: '.status.rampPercent' },
  { name: 'Versions', type: 'string', jsonPath: '.status.versionSummary' },
  { name: 'Available', type: 'string', jsonPath: '.status.conditions[?(@.type=="Available")].status', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
