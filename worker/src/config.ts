/**
 * Worker configuration in one place: environment and explicit options are merged, defaults
 * applied, and the result validated with ajv. Start-up fails with every problem listed,
 * never halfway through a run.
 */
import { Ajv } from 'ajv';
import { ConfigError } from './errors.ts';

/** Settings a worker process runs with. */
export interface WorkerSettings {
  /** postgres:// URL of the task hub's database. */
  hubUrl: string;
  /** Schema holding the hub's tables. */
  schema: string;
  /** The one version this worker serves. */
  version: string;
  /** Orchestration turns processed at once. */
  orchestrationConcurrency: number;
  /** Activities run at once. */
  activityConcurrency: number;
  /** How long a claim is held before another worker may take the work over. */
  leaseMs: number;
  /** On SIGTERM, how long in-flight work may take before it is released. */
  shutdownGraceMs: number;
  /** Largest payload accepted, in bytes. */
  maxPayloadBytes: number;
  /** Largest custom status accepted, in bytes (statuses are read often, so they stay small). */
  maxCustomStatusBytes: number;
  /** Fallback poll interval when a notification is missed. */
  pollIntervalMs: number;
  /** Instances kept in memory between turns, so long histories are not re-read. */
  cacheSize: number;
  workerId: string;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['hubUrl', 'schema', 'version'],
  properties: {
    hubUrl: { type: 'string', pattern: '^postgres(ql)?://' },
    schema: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,47}$' },
    version: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    orchestrationConcurrency: { type: 'integer', minimum: 1, maximum: 10000 },
    activityConcurrency: { type: 'integer', minimum: 1, maximum: 10000 },
    leaseMs: { type: 'integer', minimum: 1000, maximum: 3600000 },
    shutdownGraceMs: { type: 'integer', minimum: 0, maximum: 3600000 },
    maxPayloadBytes: { type: 'integer', minimum: 1024, maximum: 104857600 },
    maxCustomStatusBytes: { type: 'integer', minimum: 256, maximum: 1048576 },
    pollIntervalMs: { type: 'integer', minimum: 10, maximum: 60000 },
    cacheSize: { type: 'integer', minimum: 0, maximum: 1000000 },
    workerId: { type: 'string', minLength: 1 },
  },
} as const;

/** Environment variables a worker reads, and the setting each one feeds. */
export const WORKER_ENV: Record<string, keyof WorkerSettings> = {
  DTK_HUB_URL: 'hubUrl',
  DTK_HUB_SCHEMA: 'schema',
  DTK_VERSION: 'version',
  DTK_ORCHESTRATION_CONCURRENCY: 'orchestrationConcurrency',
  DTK_ACTIVITY_CONCURRENCY: 'activityConcurrency',
  DTK_LEASE_MS: 'leaseMs',
  DTK_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  DTK_MAX_PAYLOAD_BYTES: 'maxPayloadBytes',
  DTK_MAX_CUSTOM_STATUS_BYTES: 'maxCustomStatusBytes',
  DTK_POLL_INTERVAL_MS: 'pollIntervalMs',
  DTK_CACHE_SIZE: 'cacheSize',
  DTK_WORKER_ID: 'workerId',
};

const NUMERIC: ReadonlySet<keyof WorkerSettings> = new Set([
  'orchestrationConcurrency',
  'activityConcurrency',
  'leaseMs',
  'shutdownGraceMs',
  'maxPayloadBytes',
  'maxCustomStatusBytes',
  'pollIntervalMs',
  'cacheSize',
]);

export const DEFAULT_SETTINGS = {
  schema: 'dtk',
  version: 'v1',
  orchestrationConcurrency: 100,
  activityConcurrency: 100,
  leaseMs: 30000,
  shutdownGraceMs: 25000,
  maxPayloadBytes: 262144,
  maxCustomStatusBytes: 16384,
  pollIntervalMs: 1000,
  cacheSize: 1000,
} satisfies Partial<WorkerSettings>;

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(schema);

/**
 * Merges explicit options over environment over defaults and validates the result.
 * Throws ConfigError naming every bad field with the environment variable that sets it.
 */
export function resolveWorkerSettings(
  options: Partial<WorkerSettings>,
  env: NodeJS.ProcessEnv = process.env,
  defaultWorkerId = 'worker',
): WorkerSettings {
  const fromEnv: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, key] of Object.entries(WORKER_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (NUMERIC.has(key)) {
      const n = Number(raw);
      if (!Number.isInteger(n)) problems.push(`${name}=${JSON.stringify(raw)} is not an integer`);
      else fromEnv[key] = n;
    } else {
      fromEnv[key] = raw;
    }
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS, workerId: defaultWorkerId, ...fromEnv, ...defined };
  if (!validate(merged)) {
    for (const e of validate.errors ?? []) {
      const field = e.instancePath.replace(/^\//, '') || (e.params as { missingProperty?: string }).missingProperty || '(root)';
      const envName = Object.entries(WORKER_ENV).find(([, k]) => k === field)?.[0];
      problems.push(`${field}${envName ? ` (env ${envName})` : ''} ${e.message ?? 'is invalid'}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return merged as unknown as WorkerSettings;
}
