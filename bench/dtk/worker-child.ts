/**
 * A dtk worker in a process of its own, so "one worker process" is literal and its CPU time
 * is its own. It serves every bench workload and answers the bench over IPC:
 * `stats` (turns, activities, CPU seconds), `probes` (the probe activity's timestamps) and
 * `stop` (drain, then exit). The hub to serve comes as JSON in argv[2]; any DTK_* environment
 * variable (for example DTK_ORCHESTRATION_CONCURRENCY) still applies.
 */
import pino from 'pino';
import { Worker } from '../../worker/src/worker.ts';
import { probeTimes, register } from './workloads.ts';

/** What the bench passes to the child. */
export interface WorkerChildRequest {
  hubUrl: string;
  schema: string;
}

/** Reply to `stats`. */
export interface WorkerChildStats {
  turns: number;
  activities: number;
  /** CPU seconds this process has used since it started. */
  cpuSeconds: number;
  rssMiB: number;
}

interface Command {
  id: number;
  cmd: string;
}

const req = JSON.parse(process.argv[2] ?? '{}') as WorkerChildRequest;
const worker = new Worker({
  hubUrl: req.hubUrl,
  schema: req.schema,
  version: 'v1',
  migrate: true,
  logger: pino({ level: process.env.DTK_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
});
register(worker);

function stats(): WorkerChildStats {
  const cpu = process.cpuUsage();
  const rssMiB = Math.round(process.memoryUsage.rss() / 2 ** 20);
  return { ...worker.stats, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssMiB };
}

// The bench died (Ctrl-C, a crash, a closed pipe): nothing will stop this worker, so leave now rather
// than linger on a dropped database.
process.on('disconnect', () => process.exit(1));

process.on('message', (msg: Command) => {
  const reply = (body: Record<string, unknown>) => process.send?.({ id: msg.id, ...body });
  switch (msg.cmd) {
    case 'ready':
      reply({ ok: true });
      break;
    case 'stats':
      reply({ ...stats() });
      break;
    case 'probes':
      reply({ probes: [...probeTimes.entries()] });
      probeTimes.clear();
      break;
    case 'stop':
      worker.stop().then(
        () => {
          reply({ ...stats() });
          // Exit normally (not by signal) so a --cpu-prof profile gets written.
          setImmediate(() => process.exit(0));
        },
        (err: unknown) => reply({ error: String(err) }),
      );
      break;
    default:
      reply({ error: `unknown command ${msg.cmd}` });
  }
});

try {
  await worker.start();
  process.send?.({ ready: true });
} catch (err) {
  const why = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`bench worker failed to start: ${why}\n`);
  process.exit(1);
}
