/**
 * `dtk dev <worker-module>`: run your own worker module against a zero-install Postgres (or
 * --hub-url), migrated on start. Prints the hub URL so other terminals can use the CLI.
 */
import { createLogger } from '../../../worker/src/logger.ts';
import { loadWorkerModule } from '../../../worker/src/module.ts';
import { Worker } from '../../../worker/src/worker.ts';
import { arg, str, type CommandContext } from '../context.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../embedded-postgres.ts';
import { EXIT } from '../exit-codes.ts';

export async function dev(ctx: CommandContext): Promise<number> {
  const modulePath = arg(ctx, 0, 'worker-module');
  let pg: EmbeddedPostgresHandle | undefined;
  let hubUrl = ctx.hubUrl;
  if (!hubUrl) {
    pg = await startEmbeddedPostgres({ dataDir: str(ctx, 'data-dir') });
    hubUrl = pg.url;
  }
  const worker = new Worker({
    hubUrl,
    schema: ctx.schema,
    version: str(ctx, 'version'),
    migrate: true,
    logger: createLogger({ component: 'dtk-dev' }),
  });
  try {
    await loadWorkerModule(worker, modulePath);
    process.stderr.write(
      `dtk dev: serving ${modulePath}\n  export DTK_HUB_URL='${hubUrl}' DTK_HUB_SCHEMA='${ctx.schema}'\n  then: dtk start <orchestration> --input '<json>' --wait\n  Ctrl-C stops.\n`,
    );
    await worker.runUntilSignal();
  } finally {
    await pg?.stop();
  }
  return EXIT.ok;
}
