/**
 * Payload limits for what a turn writes. An oversize payload is refused before anything is
 * written: the runtime fails the instance with a clear reason instead of storing it.
 */
import type { FailureDetails } from '../orchestration/history.ts';
import type { OrchestrationTurn } from '../store/types.ts';

/** Bytes of a JSON text as stored (UTF-8). */
export function payloadBytes(text: string | undefined | null): number {
  return text == null ? 0 : Buffer.byteLength(text, 'utf8');
}

/** The failure to record when a payload is over the limit, or undefined when all fit. */
export function checkTurnPayloads(turn: OrchestrationTurn, limit: number, customStatusLimit = limit): FailureDetails | undefined {
  const over = (field: string, text: string | undefined | null, max = limit): FailureDetails | undefined => {
    const size = payloadBytes(text);
    if (size <= max) return undefined;
    const setting = max === limit ? 'maxPayloadBytes (DTK_MAX_PAYLOAD_BYTES)' : 'maxCustomStatusBytes (DTK_MAX_CUSTOM_STATUS_BYTES)';
    return {
      errorType: 'PayloadTooLargeError',
      message:
        `${field} is ${size} bytes, over the limit of ${max} bytes; store large data elsewhere and pass a ` +
        `reference, or raise ${setting}`,
      nonRetriable: true,
    };
  };
  return (
    over('orchestration output', turn.output) ??
    over('custom status', turn.customStatus, customStatusLimit) ??
    turn.activities.map((a) => over(`input of activity '${a.name}'`, a.input)).find(Boolean) ??
    turn.subOrchestrations.map((s) => over(`input of sub-orchestration '${s.name}'`, s.input)).find(Boolean) ??
    turn.messages.map((m) => over(`event sent to '${m.instanceId}'`, 'input' in m.event ? m.event.input : undefined)).find(Boolean) ??
    over('continue-as-new input', turn.continueAsNew?.input)
  );
}
