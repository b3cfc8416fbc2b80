/**
 * `dtk`: the command line of a task hub. Global flags: --hub-url (or DTK_HUB_URL),
 * --schema (or DTK_HUB_SCHEMA, default dtk), -o table|json|yaml. Errors print in one line
 * and exit with the codes in exit-codes.ts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DtkError, toError } from '../../worker/src/errors.ts';
import { UsageError } from './args.ts';
import { createContext, type CommandContext } from './context.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import type { OutputFormat } from './output.ts';
import * as instances from './commands/instances.ts';
import * as hub from './commands/hub.ts';
import { dev } from './commands/dev.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  usage: string;
  summary: string;
  options: Options;
  run: (ctx: CommandContext) => Promise<number>;
}

const s = { type: 'string' } as const;
const b = { type: 'boolean' } as const;

const COMMANDS: Record<string, Command> = {
  'hub migrate': { usage: 'hub migrate', summary: 'create or upgrade the hub schema', options: {}, run: hub.hubMigrate },
  start: {
    usage: 'start <orchestration> [--input JSON] [--id ID] [--version V] [--start-at ISO] [--tag k=v]... [--wait [--timeout S]]',
    summary: 'start an orchestration instance',
    options: { input: s, id: s, version: s, 'start-at': s, tag: { type: 'string', multiple: true }, wait: b, timeout: s },
    run: instances.start,
  },
  restart: {
    usage: 'restart <instance-id> [--same-id | --new-id ID] [--version V] [--wait [--timeout S]]',
    summary: 'start an instance again with its input (a new id unless --same-id)',
    options: { 'same-id': b, 'new-id': s, version: s, wait: b, timeout: s },
    run: instances.restart,
  },
  rewind: {
    usage: 'rewind <instance-id> [--reason TEXT]',
    summary: 'run the failed work of a Failed instance again and let it continue',
    options: { reason: s },
    run: instances.rewind,
  },
  status: { usage: 'status <instance-id> [--no-payloads]', summary: "show an instance's state", options: { 'no-payloads': b }, run: instances.status },
  list: {
    usage: 'list [--status S,...] [--name N] [--version V] [--prefix P] [--created-from ISO] [--created-to ISO] [--page-size N] [--continue TOKEN | --all]',
    summary: 'list instances',
    options: { status: s, name: s, version: s, prefix: s, 'created-from': s, 'created-to': s, 'page-size': s, continue: s, all: b },
    run: instances.list,
  },
  history: { usage: 'history <instance-id>', summary: "print an instance's history", options: {}, run: instances.history },
  raise: {
    usage: 'raise <instance-id> <event-name> [--data JSON] [--idempotency-key K]',
    summary: 'deliver an external event',
    options: { data: s, 'idempotency-key': s },
    run: instances.raise,
  },
  suspend: { usage: 'suspend <instance-id> [--reason TEXT]', summary: 'pause an instance', options: { reason: s }, run: instances.suspend },
  resume: { usage: 'resume <instance-id> [--reason TEXT]', summary: 'resume a suspended instance', options: { reason: s }, run: instances.resume },
  terminate: {
    usage: 'terminate <instance-id> [--reason JSON] [--recursive]',
    summary: 'terminate an instance',
    options: { reason: s, recursive: b },
    run: instances.terminate,
  },
  purge: {
    usage: 'purge <instance-id> [--recursive] | purge --status S,... [--completed-to ISO] [--created-to ISO] [--created-from ISO] [--name N] [--prefix P]',
    summary: 'delete finished instances and their history',
    options: { recursive: b, status: s, 'completed-to': s, 'created-to': s, 'created-from': s, name: s, prefix: s },
    run: instances.purge,
  },
  wait: {
    usage: 'wait <instance-id> [--for completion|start] [--timeout S]',
    summary: 'wait for an instance to start or finish (exit 6 if it failed)',
    options: { for: s, timeout: s },
    run: instances.wait,
  },
  versions: { usage: 'versions', summary: 'show version routing and drain state', options: {}, run: hub.versions },
  dev: {
    usage: 'dev <worker-module> [--version V] [--data-dir DIR]',
    summary: 'run a worker module against a zero-install Postgres (or --hub-url)',
    options: { version: s, 'data-dir': s },
    run: dev,
  },
};

const GLOBAL: Options = { 'hub-url': s, schema: s, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } };

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'dtk — Durable Task on Kubernetes',
    '',
    'Usage: dtk <command> [flags]   (--hub-url URL or DTK_HUB_URL; --schema NAME or DTK_HUB_SCHEMA; -o table|json|yaml)',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'dtk <command> --help' for its flags. Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 timeout, 6 instance failed, 7 hub unavailable.",
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const name = argv[0] === 'hub' ? `hub ${argv[1] ?? ''}`.trim() : argv[0];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`dtk: error: unknown command '${name}'\n\n${help()}\n`);
    return EXIT.usage;
  }
  const rest = argv.slice(name.split(' ').length);
  let ctx: CommandContext | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL, ...command.options }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${toError(err).message}\nusage: dtk ${command.usage}`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`usage: dtk ${command.usage}\n\n${command.summary}\n`);
      return EXIT.ok;
    }
    const output = (values.output ?? 'table') as string;
    if (output !== 'table' && output !== 'json' && output !== 'yaml') throw new UsageError(`-o: expected table, json or yaml, got '${output}'`);
    const hubUrl = (values['hub-url'] as string | undefined) ?? process.env.DTK_HUB_URL;
    const schema = (values.schema as string | undefined) ?? process.env.DTK_HUB_SCHEMA ?? 'dtk';
    ctx = createContext(output as OutputFormat, hubUrl, schema, positionals, values);
    return await command.run(ctx);
  } catch (err) {
    const e = toError(err);
    const code = e instanceof DtkError ? ` (${e.code})` : '';
    process.stderr.write(`dtk: error: ${e.message}${code}\n`);
    if (!(e instanceof DtkError) && process.env.DTK_DEBUG) process.stderr.write(`${e.stack}\n`);
    return exitCodeFor(err);
  } finally {
    await ctx?.close();
  }
}
