/**
 * DBOS side of the comparison, in a child process so DBOS's globals stay out of the bench
 * process. It registers the hello chain as a DBOS workflow of three no-op steps, launches
 * against its own system database, says `ready`, then answers the bench over IPC:
 * `run` (keep `concurrency` workflows in flight until `total` finished; elapsed and CPU) and
 * `stop` (shut DBOS down and exit). The database URL comes as JSON in argv[2].
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { closedLoop } from '../closed-loop.ts';

/** What the bench passes at start. */
export interface DbosChildRequest {
  systemDatabaseUrl: string;
}

/** Reply to `run`. */
export interface DbosRunReport {
  completed: number;
  elapsedMs: number;
  /** CPU seconds this process used during the run. */
  cpuSeconds: number;
}

interface Command {
  id: number;
  cmd: string;
  total?: number;
  concurrency?: number;
  /** First workflow input, so warm-up and timed runs never reuse an input. */
  offset?: number;
}

async function noop(value: number): Promise<number> {
  return value;
}

const req = JSON.parse(process.argv[2] ?? '{}') as DbosChildRequest;
// DBOS's own default pool (10 connections, like dtk's store) unless DTK_BENCH_DBOS_POOL says otherwise.
const poolSize = Number(process.env.DTK_BENCH_DBOS_POOL) || undefined;
DBOS.setConfig({
  name: 'dtk-bench',
  systemDatabaseUrl: req.systemDatabaseUrl,
  logLevel: 'error',
  systemDatabasePoolSize: poolSize,
});
const step = DBOS.registerStep(noop, { name: 'noop' });
// The same shape as dtk's helloChain: three sequential steps passing a value through.
const helloChain = DBOS.registerWorkflow(
  async (value: number): Promise<number> => {
    const a = await step(value);
    const b = await step(a);
    return step(b);
  },
  { name: 'helloChain' },
);

async function runOne(value: number): Promise<void> {
  const handle = await DBOS.startWorkflow(helloChain)(value);
  const out = await handle.getResult();
  if (out !== value) throw new Error(`DBOS helloChain(${value}) returned ${String(out)}`);
}

async function run(total: number, concurrency: number, offset: number): Promise<DbosRunReport> {
  const cpu0 = process.cpuUsage();
  const { elapsedMs } = await closedLoop(total, concurrency, (i) => runOne(offset + i));
  const cpu = process.cpuUsage(cpu0);
  return { completed: total, elapsedMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// The bench died: nothing will ask this process to stop, so leave now.
process.on('disconnect', () => process.exit(1));

process.on('message', (msg: Command) => {
  const reply = (body: object) => process.send?.({ id: msg.id, ...body });
  const fail = (err: unknown) => reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  if (msg.cmd === 'run') {
    run(msg.total ?? 0, msg.concurrency ?? 1, msg.offset ?? 0).then(reply, fail);
  } else if (msg.cmd === 'stop') {
    DBOS.shutdown().then(() => {
      reply({ ok: true });
      setImmediate(() => process.exit(0));
    }, fail);
  } else {
    reply({ error: `unknown command ${msg.cmd}` });
  }
});

try {
  await DBOS.launch();
  process.send?.({ ready: true });
} catch (err) {
  process.stderr.write(`DBOS failed to launch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
