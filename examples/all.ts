/** One worker module serving every example (the demo, `dtk dev examples/all.ts`, the example image). */
import type { Worker } from '../worker/src/worker.ts';
import { applyWorkerModule } from '../worker/src/module.ts';
import * as chaining from './function-chaining/orchestrations.ts';
import * as fanOut from './fan-out-fan-in/orchestrations.ts';
import * as monitor from './monitor/orchestrations.ts';
import * as human from './human-interaction/orchestrations.ts';

export async function register(worker: Worker): Promise<void> {
  for (const mod of [chaining, fanOut, monitor, human]) await applyWorkerModule(worker, mod);
}
