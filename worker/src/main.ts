/**
 * Entry point of a worker process (the worker image runs this): loads the module named by
 * DTK_WORKER_MODULE, serves DTK_VERSION of the hub at DTK_HUB_URL, and on SIGTERM drains and
 * exits 0. Configuration errors exit 2 with every problem listed.
 */
import { ConfigError, DtkError } from './errors.ts';
import { createLogger } from './logger.ts';
import { loadWorkerModule } from './module.ts';
import { Worker } from './worker.ts';

const log = createLogger({ component: 'worker' });
const modulePath = process.argv[2] ?? process.env.DTK_WORKER_MODULE;

try {
  if (!modulePath) throw new ConfigError(['DTK_WORKER_MODULE is not set: point it at the file that registers your orchestrations']);
  const worker = new Worker({ logger: log, migrate: process.env.DTK_MIGRATE === 'true' });
  await loadWorkerModule(worker, modulePath);
  await worker.runUntilSignal();
  process.exit(0);
} catch (err) {
  if (err instanceof DtkError) {
    log.fatal({ code: err.code }, err.message);
    process.exit(err instanceof ConfigError || err.code === 'DTK_INVALID_ARGUMENT' ? 2 : 1);
  }
  log.fatal({ err }, 'worker crashed');
  process.exit(1);
}
