/**
 * TaskHub: one Postgres task hub (DESIGN.md §5). The schema below is the single source of truth for the CRD YAML,
 * the operator's own validation, and the TypeScript types the reconciler reads.
 */
import type { Condition } from './conditions.ts';
import { conditionsSchema, duration, isObject } from './schema.ts';
import type { SchemaNode } from './schema.ts';

/** Where the hub's Postgres comes from: exactly one of `external` and `managed`. */
export interface TaskHubPostgres {
  external?: {
    /** A Secret in the hub's namespace whose `key` holds an admin postgres:// URI (rights to create roles and databases). */
    secretRef: { name: string; key?: string };
    /** Overrides the URI's `sslmode` for the admin and the hub connections. */
    sslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  };
  managed?: {
    image?: string;
    storage?: { size?: string; storageClassName?: string };
    resources?: Record<string, unknown>;
  };
}

/** `spec` of a TaskHub, after the API server's defaults. */
export interface TaskHubSpec {
  postgres: TaskHubPostgres;
  isolation?: 'schema' | 'database';
  deletionPolicy?: 'Retain' | 'Delete';
  retention?: { finishedAfter?: string };
}

/** Instance counts by runtime status, refreshed periodically. */
export interface InstanceCounts {
  pending: number;
  running: number;
  suspended: number;
  completed: number;
  failed: number;
  terminated: number;
}

/** `status` of a TaskHub. */
export interface TaskHubStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  schemaVersion?: number;
  connectionSecret?: string;
  database?: string;
  schema?: string;
  role?: string;
  instances?: InstanceCounts;
}

/** A TaskHub object as read from the API server. */
export interface TaskHub {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: TaskHubSpec;
  status?: TaskHubStatus;
}

/** The part of ObjectMeta the operator reads. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

const count = (description: string): SchemaNode => ({ type: 'integer', minimum: 0, description });

/** OpenAPI schema of `spec`. */
export const taskHubSpecSchema: SchemaNode = {
  type: 'object',
  required: ['postgres'],
  properties: {
    postgres: {
      type: 'object',
      description: 'Where the hub lives: exactly one of external (your Postgres) or managed (a dev-only StatefulSet).',
      properties: {
        external: {
          type: 'object',
          required: ['secretRef'],
          properties: {
            secretRef: {
              type: 'object',
              required: ['name'],
              description: 'Secret in this namespace holding an admin postgres:// URI with rights to create roles and databases.',
              properties: {
                name: { type: 'string', minLength: 1, maxLength: 253 },
                key: { type: 'string', minLength: 1, default: 'uri', description: 'Key of the URI in the Secret.' },
              },
            },
            sslMode: {
              type: 'string',
              enum: ['disable', 'require', 'verify-ca', 'verify-full'],
              description: "Overrides the URI's sslmode for the operator's and the workers' connections.",
            },
          },
        },
        managed: {
          type: 'object',
          description: 'A single-instance Postgres StatefulSet with a PVC and generated credentials, for development clusters.',
          properties: {
            image: { type: 'string', default: 'postgres:17', minLength: 1 },
            storage: {
              type: 'object',
              default: {},
              properties: {
                size: { type: 'string', default: '1Gi', pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$' },
                storageClassName: { type: 'string' },
              },
            },
            resources: {
              type: 'object',
              description: 'Container resources of the Postgres pod (requests, limits).',
              'x-kubernetes-preserve-unknown-fields': true,
            },
          },
        },
      },
      'x-kubernetes-validations': [
        {
          rule: 'has(self.external) != has(self.managed)',
          message: 'set exactly one of spec.postgres.external and spec.postgres.managed',
          check: (self) => isObject(self) && (self.external !== undefined) !== (self.managed !== undefined),
        },
        {
          rule: 'has(self.external) == has(oldSelf.external)',
          message: 'switching between external and managed is not supported; create a new TaskHub',
          check: (self, old) => isObject(self) && isObject(old) && (self.external !== undefined) === (old.external !== undefined),
        },
      ],
    },
    isolation: {
      type: 'string',
      enum: ['schema', 'database'],
      default: 'schema',
      description: 'schema: a schema of its own in the admin database; database: a database of its own. Immutable.',
      'x-kubernetes-validations': [
        {
          rule: 'self == oldSelf',
          message: 'isolation is immutable: the hub data lives there; create a new TaskHub to change it',
          check: (self, old) => self === old,
        },
      ],
    },
    deletionPolicy: {
      type: 'string',
      enum: ['Retain', 'Delete'],
      default: 'Retain',
      description: 'Retain keeps the database/schema, role and connection Secret when the TaskHub is deleted; Delete drops them.',
    },
    retention: {
      type: 'object',
      description: 'Automatic purge of finished instances.',
      properties: {
        finishedAfter: duration('Purge Completed/Failed/Terminated instances that finished longer ago than this, e.g. 720h.'),
      },
    },
  },
};

/** OpenAPI schema of `status`. */
export const taskHubStatusSchema: SchemaNode = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer' },
    conditions: conditionsSchema('Ready, DatabaseReady and Migrated.'),
    schemaVersion: { type: 'integer', description: 'Migration version of the hub schema.' },
    connectionSecret: { type: 'string', description: 'Secret with uri, host, port, database, schema, user, password for workers.' },
    database: { type: 'string' },
    schema: { type: 'string' },
    role: { type: 'string' },
    instances: {
      type: 'object',
      description: 'Instances by runtime status.',
      properties: {
        pending: count('Pending instances.'),
        running: count('Running instances.'),
        suspended: count('Suspended instances.'),
        completed: count('Completed instances.'),
        failed: count('Failed instances.'),
        terminated: count('Terminated instances.'),
      },
    },
  },
};

/** Printer columns of `kubectl get th`. */
export const taskHubColumns = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Schema', type: 'integer', jsonPath: '.status.schemaVersion', description: 'Migration version of the hub schema' },
  { name: 'Running', type: 'integer', jsonPath: '.status.instances.running' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
