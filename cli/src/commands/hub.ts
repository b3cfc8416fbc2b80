/** Hub commands: `dtk hub migrate`, `dtk versions`. */
import { createPostgresStore } from '../../../worker/src/store/index.ts';
import { UsageError } from '../args.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { age, printResult } from '../output.ts';

export async function hubMigrate(ctx: CommandContext): Promise<number> {
  if (!ctx.hubUrl) throw new UsageError('no task hub: pass --hub-url postgres://… or set DTK_HUB_URL');
  const store = createPostgresStore({ url: ctx.hubUrl, schema: ctx.schema });
  try {
    const { from, to } = await store.migrate();
    const message = from === to ? `schema '${ctx.schema}' is up to date (version ${to})` : `schema '${ctx.schema}' migrated from version ${from} to ${to}`;
    if (ctx.output === 'table') process.stdout.write(`${message}\n`);
    else printResult(ctx.output, { schema: ctx.schema, from, to });
  } finally {
    await store.close();
  }
  return EXIT.ok;
}

export async function versions(ctx: CommandContext): Promise<number> {
  const list = await ctx.client().listVersions();
  printResult(
    ctx.output,
    list,
    list.map((v) => ({
      version: v.version,
      state: v.state,
      ramp: v.state === 'Ramping' ? `${v.rampPercent}%` : '',
      running: String(v.runningInstances),
      drained: v.drainedSince ? `${age(v.drainedSince)} ago` : '',
    })),
  );
  return EXIT.ok;
}
