/**
 * The operator process: configuration from the environment, /healthz /readyz /metrics, leader election on a
 * Lease, and the controllers while leading. SIGTERM/SIGINT stop the controllers (passes in flight finish), release
 * the lease so a standby takes over at once, and exit 0. Losing the lease exits 1, so the pod restarts clean
 * instead of reconciling next to a new leader.
 */
import type { Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, DtkError, toError } from '../../worker/src/errors.ts';
import { createLogger } from '../../worker/src/logger.ts';
import { loadOperatorConfig } from './config.ts';
import { Operator } from './operator.ts';
import { setCrashPoints } from './runtime/crash.ts';
import { startHealthServer } from './runtime/http.ts';
import { KubeClient } from './runtime/kube.ts';
import { LeaderElector } from './runtime/lease.ts';
import { createOperatorMetrics } from './runtime/metrics.ts';

const bootLog = createLogger({ component: 'operator' });

async function main(): Promise<void> {
  const config = loadOperatorConfig();
  const log = createLogger({ component: 'operator', identity: config.identity }, config.logLevel);
  if (config.crashAt.length > 0) {
    setCrashPoints({ points: config.crashAt, dir: config.crashDir ?? '' });
    log.warn({ points: config.crashAt, dir: config.crashDir }, 'test-only crash points enabled: this process SIGKILLs itself where one is armed');
  }
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const client = new KubeClient(kc);
  const metrics = createOperatorMetrics();
  const operator = new Operator({
    client,
    logger: log,
    metrics,
    identity: config.identity,
    namespace: config.watchNamespace,
    resyncMs: config.resyncSeconds * 1000,
    pollMs: config.pollSeconds * 1000,
    workers: config.workers,
  });

  let elector: LeaderElector | undefined;
  let shuttingDown = false;
  const leaseMs = config.leaseDurationSeconds * 1000;
  const healthz = [
    () =>
      elector?.isLeader && Date.now() - elector.lastRenewAt > leaseMs
        ? `leader lease not renewed for ${Math.round((Date.now() - elector.lastRenewAt) / 1000)} s`
        : undefined,
  ];
  const readyz = [
    () => (shuttingDown ? 'shutting down' : undefined),
    () => (elector && !elector.isLeader ? undefined : operator.synced ? undefined : 'informer caches not synced yet'),
  ];
  const servers: Server[] = [];
  const health = await startHealthServer({ host: config.httpHost, port: config.healthPort, registry: metrics.registry, healthz, readyz });
  servers.push(health.server);
  let metricsPort = health.port;
  if (config.metricsPort !== config.healthPort || config.metricsPort === 0) {
    const m = await startHealthServer({ host: config.httpHost, port: config.metricsPort, registry: metrics.registry, healthz, readyz });
    servers.push(m.server);
    metricsPort = m.port;
  }
  log.info({ healthPort: health.port, metricsPort, watchNamespace: config.watchNamespace ?? '(all)' }, 'listening');

  const startLeading = () => {
    metrics.leader.set({}, 1);
    operator.start().catch((err: unknown) => {
      log.fatal({ err: toError(err).message }, 'controllers failed to start');
      process.exit(1);
    });
  };
  if (config.leaderElection) {
    elector = new LeaderElector(client, {
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: leaseMs,
      renewDeadlineMs: Math.max(config.renewIntervalSeconds * 1000 * 2, (leaseMs * 2) / 3),
      retryPeriodMs: config.renewIntervalSeconds * 1000,
      logger: log,
      onStartedLeading: startLeading,
      onStoppedLeading: () => {
        metrics.leader.set({}, 0);
        log.error('lost the leader lease; exiting so a fresh process campaigns again');
        process.exit(1);
      },
    });
    metrics.leader.set({}, 0);
    log.info({ lease: `${config.leaseNamespace}/${config.leaseName}` }, 'campaigning for the leader lease');
    elector.start();
  } else {
    startLeading();
  }

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    await operator.stop();
    await elector?.stop();
    metrics.leader.set({}, 0);
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

try {
  await main();
} catch (err) {
  if (err instanceof ConfigError) {
    bootLog.fatal({ code: err.code }, err.message);
    process.exit(2);
  }
  bootLog.fatal({ err: toError(err).message, code: err instanceof DtkError ? err.code : undefined }, 'operator failed to start');
  process.exit(1);
}
