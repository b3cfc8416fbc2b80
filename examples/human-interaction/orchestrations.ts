/**
 * Human interaction: ask for an approval, then wait for the `approval` event, racing it
 * against a durable timeout. The event can arrive before the orchestration starts waiting;
 * it is kept until the wait consumes it.
 */
import type { ActivityContext, OrchestrationContext, Task } from '../../worker/src/orchestration/index.ts';

export interface ApprovalRequest {
  requestId: string;
  amount: number;
  /** How long an approver has, in milliseconds. */
  timeoutMs: number;
}

export interface ApprovalDecision {
  approved: boolean;
  by: string;
}

/** Sends the approval request (an e-mail or chat message in a real system). */
export async function requestApproval(_ctx: ActivityContext, request: ApprovalRequest): Promise<void> {
  void request;
}

export async function escalate(_ctx: ActivityContext, request: ApprovalRequest): Promise<string> {
  return `escalated ${request.requestId} to a manager`;
}

export function* approvalWorkflow(ctx: OrchestrationContext, request: ApprovalRequest): Generator<Task<unknown>, string, unknown> {
  yield ctx.callActivity(requestApproval, request);
  ctx.setCustomStatus('waiting for approval');
  const approval = ctx.waitForExternalEvent<ApprovalDecision>('approval');
  const timeout = ctx.createTimer(request.timeoutMs);
  const winner = yield* ctx.whenAny<unknown>([approval, timeout]);
  if (winner === approval) {
    const decision = yield* approval;
    return decision.approved ? `approved by ${decision.by}` : `rejected by ${decision.by}`;
  }
  return yield* ctx.callActivity(escalate, request);
}

export const orchestrations = { approvalWorkflow };
export const activities = { requestApproval, escalate };
