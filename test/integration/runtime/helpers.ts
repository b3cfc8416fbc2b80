/**
 * Story helpers for runtime integration tests: a fresh hub on the real test Postgres, workers
 * started against it, and a client. Everything is torn down after the test body.
 */
import { TaskHubClient } from '../../../worker/src/client/task-hub-client.ts';
import { silentLogger } from '../../../worker/src/logger.ts';
import { Worker, type WorkerOptions } from '../../../worker/src/worker.ts';
import { withHub, type TestHub } from '../../harness/postgres.ts';

export interface RuntimeFixture {
  hub: TestHub;
  client: TaskHubClient;
  /** Starts another worker on the same hub (stopped at the end of the test). */
  startWorker(register: (w: Worker) => void, options?: WorkerOptions): Promise<Worker>;
}

/** Short leases and polls so fault tests finish quickly. */
export const FAST = { leaseMs: 1500, pollIntervalMs: 200, shutdownGraceMs: 2000 } satisfies WorkerOptions;

export async function withRuntime(
  register: ((w: Worker) => void) | undefined,
  body: (f: RuntimeFixture) => Promise<void>,
  options: WorkerOptions = {},
): Promise<void> {
  await withHub(async (hub) => {
    const workers: Worker[] = [];
    const client = new TaskHubClient({ hubUrl: hub.url, schema: hub.schema, maxPayloadBytes: options.maxPayloadBytes });
    const startWorker = async (reg: (w: Worker) => void, opts: WorkerOptions = {}) => {
      const worker = new Worker({ hubUrl: hub.url, schema: hub.schema, logger: silentLogger(), ...FAST, ...options, ...opts });
      reg(worker);
      await worker.start();
      workers.push(worker);
      return worker;
    };
    try {
      if (register) await startWorker(register);
      await body({ hub, client, startWorker });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await client.close();
    }
  });
}
