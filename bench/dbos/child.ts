/**
 * DBOS side of the comparison, run in a child process so DBOS's globals stay out of the bench
 * process. It runs the hello chain as a DBOS workflow of three no-op steps, keeping
 * `concurrency` workflows in flight, and reports its elapsed time and CPU over IPC.
 *
 * Protocol: the parent forks this file with the run as JSON in argv[2]; the child sends one
 * `DbosRunReport` message (or `{ error }`) and exits.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { closedLoop } from '../closed-loop.ts';

/** What the parent asks for. */
export interface DbosRunRequest {
  systemDatabaseUrl: string;
  total: number;
  warmup: number;
  concurrency: number;
}

/** What the child reports. */
export interface DbosRunReport {
  completed: number;
  elapsedMs: number;
  /** CPU seconds this process used during the timed part. */
  cpuSeconds: number;
}

async function noop(value: number): Promise<number> {
  return value;
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as DbosRunRequest;
  DBOS.setConfig({ name: 'dtk-bench', systemDatabaseUrl: req.systemDatabaseUrl, logLevel: 'error' });
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
  await DBOS.launch();
  const runOne = async (i: number) => {
    const handle = await DBOS.startWorkflow(helloChain)(i);
    const out = await handle.getResult();
    if (out !== i) throw new Error(`DBOS helloChain(${i}) returned ${String(out)}`);
  };
  await closedLoop(req.warmup, req.concurrency, runOne);
  const cpu0 = process.cpuUsage();
  const { elapsedMs } = await closedLoop(req.total, req.concurrency, (i) => runOne(req.warmup + i));
  const cpu = process.cpuUsage(cpu0);
  const report: DbosRunReport = { completed: req.total, elapsedMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  await DBOS.shutdown();
  process.send?.(report);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.send?.({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  },
);
