/** Instance commands: start, restart, rewind, status, list, history, raise, suspend, resume, terminate, purge, wait. */
import { isTerminal } from '../../../worker/src/orchestration/history.ts';
import type { OrchestrationState } from '../../../worker/src/client/task-hub-client.ts';
import { dateFlag, intFlag, jsonFlag, statusesFlag, tagsFlag, UsageError } from '../args.ts';
import { arg, bool, str, type CommandContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { age, brief, printResult } from '../output.ts';

function stateRow(s: OrchestrationState): Record<string, string> {
  return {
    instance: s.instanceId,
    name: s.name,
    version: s.version,
    status: s.status,
    age: age(s.createdAt),
    output: s.failure ? `${s.failure.errorType}: ${s.failure.message}` : brief(s.output),
  };
}

function printState(ctx: CommandContext, s: OrchestrationState): void {
  printResult(ctx.output, s, [stateRow(s)]);
}

/** Exit code for a finished instance: 0 when Completed, 6 otherwise. */
function finalCode(s: OrchestrationState): number {
  return s.status === 'Completed' ? EXIT.ok : isTerminal(s.status) ? EXIT.instanceFailed : EXIT.ok;
}

function timeoutMs(ctx: CommandContext): number {
  return (intFlag('timeout', str(ctx, 'timeout'), 1, 86400) ?? 60) * 1000;
}

/** After a start or restart: print the new instance, or with --wait its final state (exit 6 if it failed). */
async function showStarted(ctx: CommandContext, id: string): Promise<number> {
  const client = ctx.client();
  if (!bool(ctx, 'wait')) {
    const s = await client.getOrchestrationState(id);
    if (s) printState(ctx, s);
    return EXIT.ok;
  }
  const s = await client.waitForOrchestrationCompletion(id, { timeoutMs: timeoutMs(ctx) });
  printState(ctx, s);
  return finalCode(s);
}

export async function start(ctx: CommandContext): Promise<number> {
  const client = ctx.client();
  const id = await client.scheduleNewOrchestration(arg(ctx, 0, 'orchestration-name'), jsonFlag('input', str(ctx, 'input')), {
    instanceId: str(ctx, 'id'),
    version: str(ctx, 'version'),
    startAt: dateFlag('start-at', str(ctx, 'start-at')),
    tags: tagsFlag(ctx.flags.tag as string[] | undefined),
  });
  return showStarted(ctx, id);
}

export async function restart(ctx: CommandContext): Promise<number> {
  const client = ctx.client();
  const sameId = bool(ctx, 'same-id');
  const newId = str(ctx, 'new-id');
  if (sameId && newId !== undefined) throw new UsageError('--same-id and --new-id exclude each other; give one of them, or neither for a random new id');
  const id = await client.restartOrchestration(arg(ctx, 0, 'instance-id'), {
    newInstanceId: sameId ? false : (newId ?? true),
    version: str(ctx, 'version'),
  });
  return showStarted(ctx, id);
}

export async function rewind(ctx: CommandContext): Promise<number> {
  const rewound = await ctx.client().rewindOrchestration(arg(ctx, 0, 'instance-id'), { reason: str(ctx, 'reason') });
  printResult(
    ctx.output,
    { rewound },
    rewound.map((id, i) => ({ rewound: id, as: i === 0 ? 'requested' : 'failed sub-orchestration' })),
  );
  return EXIT.ok;
}

export async function status(ctx: CommandContext): Promise<number> {
  const id = arg(ctx, 0, 'instance-id');
  const s = await ctx.client().getOrchestrationState(id, { withPayloads: !bool(ctx, 'no-payloads') });
  if (!s) {
    process.stderr.write(`dtk: error: no instance '${id}' in this task hub (DTK_INSTANCE_NOT_FOUND)\n`);
    return EXIT.notFound;
  }
  if (ctx.output === 'table') {
    const lines = [
      `Instance:  ${s.instanceId}`,
      `Name:      ${s.name}`,
      `Version:   ${s.version}`,
      `Status:    ${s.status}`,
      `Created:   ${s.createdAt.toISOString()} (${age(s.createdAt)} ago)`,
      `Updated:   ${s.updatedAt.toISOString()}`,
    ];
    if (s.completedAt) lines.push(`Completed: ${s.completedAt.toISOString()}`);
    if (s.parentInstanceId) lines.push(`Parent:    ${s.parentInstanceId}`);
    if (s.serialized.input !== undefined) lines.push(`Input:     ${s.serialized.input}`);
    if (s.serialized.output !== undefined) lines.push(`Output:    ${s.serialized.output}`);
    if (s.serialized.customStatus !== undefined) lines.push(`Custom:    ${s.serialized.customStatus}`);
    if (s.failure) lines.push(`Failure:   ${s.failure.errorType}: ${s.failure.message}`);
    if (Object.keys(s.tags).length) lines.push(`Tags:      ${Object.entries(s.tags).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    process.stdout.write(lines.join('\n') + '\n');
  } else {
    printResult(ctx.output, s);
  }
  return EXIT.ok;
}

export async function list(ctx: CommandContext): Promise<number> {
  const filter = {
    statuses: statusesFlag(str(ctx, 'status')),
    name: str(ctx, 'name'),
    version: str(ctx, 'version'),
    instanceIdPrefix: str(ctx, 'prefix'),
    createdFrom: dateFlag('created-from', str(ctx, 'created-from')),
    createdTo: dateFlag('created-to', str(ctx, 'created-to')),
    pageSize: intFlag('page-size', str(ctx, 'page-size'), 1, 1000),
    withPayloads: ctx.output !== 'table',
  };
  const client = ctx.client();
  if (bool(ctx, 'all')) {
    const all: OrchestrationState[] = [];
    for await (const s of client.listAllInstances(filter)) all.push(s);
    printResult(ctx.output, all, all.map(stateRow));
    return EXIT.ok;
  }
  const page = await client.listInstances({ ...filter, continuationToken: str(ctx, 'continue') });
  printResult(ctx.output, page, page.instances.map(stateRow));
  if (ctx.output === 'table' && page.continuationToken) {
    process.stderr.write(`more: dtk list --continue ${page.continuationToken}\n`);
  }
  return EXIT.ok;
}

export async function history(ctx: CommandContext): Promise<number> {
  const events = await ctx.client().getOrchestrationHistory(arg(ctx, 0, 'instance-id'));
  const rows = events.map((e, seq) => {
    const { kind, timestamp, ...rest } = e;
    return { seq: String(seq), time: timestamp, event: kind, details: brief(rest, 80) };
  });
  printResult(ctx.output, events, rows);
  return EXIT.ok;
}

export async function raise(ctx: CommandContext): Promise<number> {
  const delivered = await ctx.client().raiseEvent(arg(ctx, 0, 'instance-id'), arg(ctx, 1, 'event-name'), jsonFlag('data', str(ctx, 'data')), {
    idempotencyKey: str(ctx, 'idempotency-key'),
  });
  process.stdout.write(delivered ? 'event raised\n' : 'event already raised with this idempotency key; nothing done\n');
  return EXIT.ok;
}

export async function suspend(ctx: CommandContext): Promise<number> {
  await ctx.client().suspendOrchestration(arg(ctx, 0, 'instance-id'), str(ctx, 'reason'));
  process.stdout.write('suspend requested\n');
  return EXIT.ok;
}

export async function resume(ctx: CommandContext): Promise<number> {
  await ctx.client().resumeOrchestration(arg(ctx, 0, 'instance-id'), str(ctx, 'reason'));
  process.stdout.write('resume requested\n');
  return EXIT.ok;
}

export async function terminate(ctx: CommandContext): Promise<number> {
  await ctx.client().terminateOrchestration(arg(ctx, 0, 'instance-id'), {
    output: jsonFlag('reason', str(ctx, 'reason')),
    recursive: bool(ctx, 'recursive'),
  });
  process.stdout.write('terminate requested\n');
  return EXIT.ok;
}

export async function purge(ctx: CommandContext): Promise<number> {
  const client = ctx.client();
  const id = ctx.args[0];
  let count: number;
  if (id) {
    count = await client.purgeOrchestration(id, { recursive: bool(ctx, 'recursive') });
  } else {
    const statuses = statusesFlag(str(ctx, 'status'));
    const createdTo = dateFlag('created-to', str(ctx, 'created-to'));
    const completedTo = dateFlag('completed-to', str(ctx, 'completed-to'));
    if (!statuses && !createdTo && !completedTo) {
      throw new UsageError('purge needs an <instance-id>, or a filter: --status Completed,Failed,Terminated and/or --created-to DATE or --completed-to DATE');
    }
    count = await client.purgeOrchestrations({
      statuses,
      createdTo,
      completedTo,
      createdFrom: dateFlag('created-from', str(ctx, 'created-from')),
      name: str(ctx, 'name'),
      instanceIdPrefix: str(ctx, 'prefix'),
      recursive: bool(ctx, 'recursive'),
    });
  }
  printResult(ctx.output, { purged: count }, [{ purged: String(count) }]);
  return EXIT.ok;
}

export async function wait(ctx: CommandContext): Promise<number> {
  const id = arg(ctx, 0, 'instance-id');
  const client = ctx.client();
  const forWhat = str(ctx, 'for') ?? 'completion';
  if (forWhat !== 'completion' && forWhat !== 'start') throw new UsageError(`--for: expected 'start' or 'completion', got '${forWhat}'`);
  const s =
    forWhat === 'start'
      ? await client.waitForOrchestrationStart(id, { timeoutMs: timeoutMs(ctx) })
      : await client.waitForOrchestrationCompletion(id, { timeoutMs: timeoutMs(ctx) });
  printState(ctx, s);
  return forWhat === 'start' ? EXIT.ok : finalCode(s);
}
