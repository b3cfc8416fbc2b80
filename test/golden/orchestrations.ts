/**
 * Orchestrations whose recorded histories are kept as golden files (test/golden/*.json). Do not
 * edit these functions: a golden history is a promise that instances recorded by an older engine
 * keep replaying. Add a new orchestration (and a new golden) instead.
 */
import type { OrchestrationContext, Task } from '../../worker/src/orchestration/api.ts';
import { EventTimeoutError, TaskFailedError } from '../../worker/src/orchestration/failure.ts';
import { Registry } from '../../worker/src/orchestration/registry.ts';

function* chain(ctx: OrchestrationContext, city: string) {
  const hello = yield* ctx.callActivity<string>('greet', city);
  const shout = yield* ctx.callActivity<string>('upper', hello);
  const final = yield* ctx.callActivity<string>('exclaim', shout);
  return { hello, final };
}

function* fanOut(ctx: OrchestrationContext, files: string[]) {
  ctx.setCustomStatus({ phase: 'counting', files: files.length });
  const counts = yield* ctx.whenAll(files.map((f) => ctx.callActivity<number>('countWords', f)));
  ctx.setCustomStatus({ phase: 'summing' });
  const total = yield* ctx.callActivity<number>('sum', counts);
  return { files: files.length, total };
}

function* reminder(ctx: OrchestrationContext, input: { user: string; delayMs: number }) {
  const due = new Date(ctx.currentUtcDateTime.getTime() + input.delayMs);
  yield* ctx.createTimer(due);
  const sent = yield* ctx.callActivity<string>('sendReminder', input.user);
  return { sent, at: ctx.currentUtcDateTime.toISOString() };
}

function* approval(ctx: OrchestrationContext, request: { id: string; timeoutMs: number }) {
  yield* ctx.callActivity('requestApproval', request.id);
  try {
    type Answer = { approved: boolean; by: string };
    const answer = yield* ctx.waitForExternalEvent<Answer>('ApprovalResult', request.timeoutMs);
    return answer.approved ? `approved by ${answer.by}` : `rejected by ${answer.by}`;
  } catch (err) {
    if (!(err instanceof EventTimeoutError)) throw err;
    const escalatedTo = yield* ctx.callActivity<string>('escalate', request.id);
    return `escalated to ${escalatedTo}`;
  }
}

function* retryPayment(ctx: OrchestrationContext, amount: number) {
  const receipt = yield* ctx.callActivity<string>('charge', amount, {
    retry: { maxAttempts: 5, firstRetryIntervalMs: 2000, backoffCoefficient: 2, maxRetryIntervalMs: 5000 },
  });
  return receipt;
}

function* shipOrders(ctx: OrchestrationContext, orders: string[]) {
  const shipments: Task<string>[] = orders.map((o) => ctx.callSubOrchestrator<string>('shipment', o));
  const results: string[] = [];
  for (const shipment of shipments) {
    try {
      results.push(yield* shipment);
    } catch (err) {
      if (!(err instanceof TaskFailedError)) throw err;
      results.push(`failed: ${err.details.message}`);
    }
  }
  return results;
}

function* shipment(ctx: OrchestrationContext, order: string) {
  const label = yield* ctx.callActivity<string>('printLabel', order);
  return `${order} shipped with ${label}`;
}

function* counter(ctx: OrchestrationContext, state: { total: number }) {
  const delta = yield* ctx.waitForExternalEvent<number>('add');
  ctx.continueAsNew({ total: state.total + delta });
}

function* monitor(ctx: OrchestrationContext, target: string) {
  const child = ctx.callSubOrchestrator('probe', target);
  for (let round = 1; ; round++) {
    const healthy = yield* ctx.callActivity<boolean>('check', target);
    ctx.setCustomStatus({ round, healthy });
    if (!healthy) ctx.sendEvent(target, 'restart', { round });
    const winner = yield* ctx.whenAny<unknown>([child, ctx.createTimer(60_000)]);
    if (winner === child) return 'probe finished';
  }
}

function* probe(ctx: OrchestrationContext) {
  yield* ctx.waitForExternalEvent('stop');
}

/** The registry the golden histories replay against. */
export function goldenRegistry(): Registry {
  return new Registry()
    .addOrchestrator(chain)
    .addOrchestrator(fanOut)
    .addOrchestrator(reminder)
    .addOrchestrator(approval)
    .addOrchestrator(retryPayment)
    .addOrchestrator(shipOrders)
    .addOrchestrator(shipment)
    .addOrchestrator(counter)
    .addOrchestrator(monitor)
    .addOrchestrator(probe);
}
