/**
 * Notification channels of a hub. `work` carries `o:<version>` (orchestration work visible) and
 * `a:<version>` (activity work); `status` carries the id of an instance whose status changed.
 * Channel names include the schema so hubs sharing a database do not wake each other.
 */
export interface Channels {
  work: string;
  status: string;
}

export function CHANNELS(schema: string): Channels {
  return { work: `${schema}_work`, status: `${schema}_status` };
}
