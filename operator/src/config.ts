/**
 * Operator configuration in one place: environment variables (the Helm chart sets them) over defaults, validated
 * with ajv. Start-up fails with every problem listed, naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Ajv } from 'ajv';
import { ConfigError } from '../../worker/src/errors.ts';
import { CRASH_POINTS, parseCrashPoints, unknownCrashPoints } from './runtime/crash.ts';

/** Settings the operator runs with. */
export interface OperatorConfig {
  /** Unique per process: `<pod name>_<random>`, so a restarted pod does not inherit its predecessor's lease. */
  identity: string;
  /** Namespace to watch; undefined watches all namespaces. */
  watchNamespace: string | undefined;
  logLevel: string;
  httpHost: string;
  /** Port of /healthz and /readyz (0: any free port). */
  healthPort: number;
  /** Port of /metrics (0: any free port; equal to healthPort: one server for all). */
  metricsPort: number;
  /** Full relist period of every informer. */
  resyncSeconds: number;
  leaderElection: boolean;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationSeconds: number;
  renewIntervalSeconds: number;
  /** How often drain state, ramp steps and hub instance counts are looked at while something is in flight. */
  pollSeconds: number;
  /** Reconcile passes run at once per controller. */
  workers: number;
  /** Test only: crash points that may fire (runtime/crash.ts); empty in production. */
  crashAt: string[];
  /** Test only: where crash points are armed. */
  crashDir: string | undefined;
}

/** Environment variable → setting, with its type. */
export const OPERATOR_ENV = {
  DTK_OPERATOR_WATCH_NAMESPACE: ['watchNamespace', 'string'],
  DTK_LOG_LEVEL: ['logLevel', 'string'],
  DTK_OPERATOR_HTTP_HOST: ['httpHost', 'string'],
  DTK_OPERATOR_HEALTH_PORT: ['healthPort', 'integer'],
  DTK_OPERATOR_METRICS_PORT: ['metricsPort', 'integer'],
  DTK_OPERATOR_RESYNC_SECONDS: ['resyncSeconds', 'number'],
  DTK_OPERATOR_LEADER_ELECTION: ['leaderElection', 'boolean'],
  DTK_OPERATOR_LEASE_NAME: ['leaseName', 'string'],
  DTK_OPERATOR_LEASE_NAMESPACE: ['leaseNamespace', 'string'],
  DTK_OPERATOR_LEASE_DURATION_SECONDS: ['leaseDurationSeconds', 'number'],
  DTK_OPERATOR_RENEW_INTERVAL_SECONDS: ['renewIntervalSeconds', 'number'],
  DTK_OPERATOR_POLL_SECONDS: ['pollSeconds', 'number'],
  DTK_OPERATOR_WORKERS: ['workers', 'integer'],
  DTK_OPERATOR_CRASH_AT: ['crashAt', 'string'],
  DTK_OPERATOR_CRASH_DIR: ['crashDir', 'string'],
} as const satisfies Record<string, readonly [keyof OperatorConfig, 'string' | 'integer' | 'number' | 'boolean']>;

const schema = {
  type: 'object',
  properties: {
    logLevel: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
    healthPort: { type: 'integer', minimum: 0, maximum: 65535 },
    metricsPort: { type: 'integer', minimum: 0, maximum: 65535 },
    resyncSeconds: { type: 'number', minimum: 1, maximum: 86400 },
    leaseName: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 },
    leaseNamespace: { type: 'string', minLength: 1 },
    leaseDurationSeconds: { type: 'number', minimum: 1, maximum: 3600 },
    renewIntervalSeconds: { type: 'number', minimum: 0.1, maximum: 3600 },
    pollSeconds: { type: 'number', minimum: 0.1, maximum: 3600 },
    workers: { type: 'integer', minimum: 1, maximum: 64 },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(schema);

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const podName = env.POD_NAME || hostname();
  const values: Record<string, unknown> = {
    identity: `${podName}_${randomBytes(4).toString('hex')}`,
    watchNamespace: undefined,
    logLevel: 'info',
    httpHost: '0.0.0.0',
    healthPort: 8081,
    metricsPort: 8080,
    resyncSeconds: 300,
    leaderElection: true,
    leaseName: 'dtk-operator-leader',
    leaseNamespace: env.POD_NAMESPACE || 'default',
    leaseDurationSeconds: 15,
    renewIntervalSeconds: 5,
    pollSeconds: 10,
    workers: 2,
    crashAt: '',
    crashDir: undefined,
  };
  const problems: string[] = [];
  for (const [name, [key, type]] of Object.entries(OPERATOR_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (type === 'string') values[key] = raw;
    else if (type === 'boolean') {
      if (raw !== 'true' && raw !== 'false') problems.push(`${name}=${JSON.stringify(raw)} must be true or false`);
      else values[key] = raw === 'true';
    } else {
      const n = Number(raw);
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) problems.push(`${name}=${JSON.stringify(raw)} is not ${type === 'integer' ? 'an integer' : 'a number'}`);
      else values[key] = n;
    }
  }
  if (!validate(values)) {
    for (const e of validate.errors ?? []) {
      const field = e.instancePath.replace(/^\//, '');
      const envName = Object.entries(OPERATOR_ENV).find(([, [k]]) => k === field)?.[0] ?? field;
      problems.push(`${envName} ${e.message ?? 'is invalid'}`);
    }
  }
  const renew = values.renewIntervalSeconds as number;
  const lease = values.leaseDurationSeconds as number;
  if (values.leaderElection && renew >= lease) {
    problems.push(`DTK_OPERATOR_RENEW_INTERVAL_SECONDS (${renew}) must be below DTK_OPERATOR_LEASE_DURATION_SECONDS (${lease})`);
  }
  const crashAt = parseCrashPoints(values.crashAt as string);
  const unknown = unknownCrashPoints(crashAt);
  if (unknown.length > 0) problems.push(`DTK_OPERATOR_CRASH_AT names no crash point: ${unknown.join(', ')} (known: ${CRASH_POINTS.join(', ')})`);
  if (crashAt.length > 0 && !values.crashDir) problems.push('DTK_OPERATOR_CRASH_AT needs DTK_OPERATOR_CRASH_DIR, the directory where points are armed');
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...values, crashAt } as unknown as OperatorConfig;
}
