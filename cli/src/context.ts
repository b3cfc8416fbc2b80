/** What every `dtk` command gets: the parsed global flags and a lazily connected client. */
import { TaskHubClient } from '../../worker/src/client/task-hub-client.ts';
import type { OutputFormat } from './output.ts';
import { UsageError } from './args.ts';

export interface CommandContext {
  output: OutputFormat;
  hubUrl: string | undefined;
  schema: string;
  /** Positional arguments after the command name. */
  args: string[];
  /** Command-specific flags as parsed. */
  flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  client(): TaskHubClient;
  close(): Promise<void>;
}

export function createContext(
  output: OutputFormat,
  hubUrl: string | undefined,
  schema: string,
  args: string[],
  flags: CommandContext['flags'],
): CommandContext {
  let client: TaskHubClient | undefined;
  return {
    output,
    hubUrl,
    schema,
    args,
    flags,
    client() {
      if (!hubUrl) throw new UsageError('no task hub: pass --hub-url postgres://… or set DTK_HUB_URL');
      client ??= new TaskHubClient({ hubUrl, schema });
      return client;
    },
    async close() {
      await client?.close();
    },
  };
}

/** The string value of a flag (undefined when absent). */
export function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(ctx: CommandContext, name: string): boolean {
  return ctx.flags[name] === true;
}

/** The n-th positional argument, or a usage error naming it. */
export function arg(ctx: CommandContext, index: number, name: string): string {
  const v = ctx.args[index];
  if (v === undefined || v === '') throw new UsageError(`missing <${name}>`);
  return v;
}
