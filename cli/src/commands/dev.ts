/**
 * `dtk dev <worker-module>`: run your own worker module against a zero-install Postgres (or
 * --hub-url), migrated on start. Prints the hub URL so other terminals can use the CLI.
 *
 * Ctrl-C (or SIGTERM, or a closed terminal) stops cleanly: the worker stops claiming, lets work in
 * hand finish within its grace period and releases the rest, then Postgres stops and `dtk dev` exits
 * 0. A second Ctrl-C exits at once (130), still telling Postgres to shut down.
 */
import { createLogger } from '../../../worker/src/logger.ts';
import { loadWorkerModule } from '../../../worker/src/module.ts';
import { Worker } from '../../../worker/src/worker.ts';
import { arg, str, type CommandContext } from '../context.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../embedded-postgres.ts';
import { EXIT } from '../exit-codes.ts';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function dev(ctx: CommandContext): Promise<number> {
  const modulePath = arg(ctx, 0, 'worker-module');
  // Listen before anything starts: a signal during start-up then stops what has started, and the
  // embedded server is never left running by a default signal death.
  const stopRequested = firstStopSignal();
  let pg: EmbeddedPostgresHandle | undefined;
  try {
    let hubUrl = ctx.hubUrl;
    if (!hubUrl) {
      pg = await startEmbeddedPostgres({ dataDir: str(ctx, 'data-dir'), ownSignals: true });
      hubUrl = pg.url;
    }
    const worker = new Worker({
      hubUrl,
      schema: ctx.schema,
      version: str(ctx, 'version'),
      migrate: true,
      logger: createLogger({ component: 'dtk-dev' }),
    });
    await loadWorkerModule(worker, modulePath);
    await worker.start();
    try {
      process.stderr.write(
        `dtk dev: serving ${modulePath}\n  export DTK_HUB_URL='${hubUrl}' DTK_HUB_SCHEMA='${ctx.schema}'\n  then: dtk start <orchestration> --input '<json>' --wait\n  Ctrl-C stops.\n`,
      );
      const signal = await stopRequested.signal;
      process.stderr.write(`dtk dev: ${signal}: finishing work in hand (Ctrl-C again to exit now)\n`);
    } finally {
      await worker.stop();
    }
  } finally {
    await pg?.stop();
    stopRequested.dispose();
  }
  process.stderr.write('dtk dev: stopped\n');
  // Everything we started has stopped; should a library still hold a timer or socket, the process is
  // done anyway and does not wait for it.
  setTimeout(() => process.exit(), 1000).unref();
  return EXIT.ok;
}

/**
 * Resolves with the first stop signal; any further one exits the process at once with the
 * signal's conventional code (the embedded server's exit listener still asks it to shut down).
 */
function firstStopSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let first: NodeJS.Signals | undefined;
  let resolve: (signal: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onSignal = (s: NodeJS.Signals) => {
    if (first === undefined) {
      first = s;
      resolve(s);
      return;
    }
    process.stderr.write(`dtk dev: ${s} again: exiting now\n`);
    process.exit(s === 'SIGINT' ? 130 : s === 'SIGHUP' ? 129 : 143);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return { signal, dispose: () => STOP_SIGNALS.forEach((s) => process.off(s, onSignal)) };
}
