/**
 * Notification channels of a hub. `work` carries `o:<version>` (orchestration work visible) and
 * `a:<version>` (activity work); `status` carries `<instance id>\t<new status>` for an instance whose
 * status changed (ids cannot contain control characters), so a waiter reads the instance only
 * when the new status is one it waits for.
 * Channel names include the schema so hubs sharing a database do not wake each other.
 */
export interface Channels {
  work: string;
  status: string;
}

export function CHANNELS(schema: string): Channels {
  return { work: `${schema}_work`, status: `${schema}_status` };
}

/** The `status` channel's payload for an instance that changed to `status`. */
export function statusPayload(instanceId: string, status: string): string {
  return `${instanceId}\t${status}`;
}

/**
 * Reads a `status` payload: the instance id and, when the sender included it, the new status (a
 * bare id, as older senders wrote, means "changed to something").
 */
export function parseStatusPayload(payload: string): { instanceId: string; status: string | undefined } {
  const tab = payload.lastIndexOf('\t');
  return tab < 0 ? { instanceId: payload, status: undefined } : { instanceId: payload.slice(0, tab), status: payload.slice(tab + 1) };
}
