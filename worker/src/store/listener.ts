/**
 * One LISTEN connection per store, shared by every waiter. If it dies it reconnects with
 * back-off; while it is down, waiters still wake on their poll interval, so a lost
 * notification costs latency, never progress.
 */
import pg from 'pg';
import type { Logger } from 'pino';

type Handler = (payload: string) => void;

export class NotificationListener {
  readonly #config: pg.ClientConfig;
  readonly #channels: string[];
  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #log: Logger | undefined;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #failures = 0;

  constructor(config: pg.ClientConfig, channels: string[], log?: Logger) {
    this.#config = config;
    this.#channels = channels;
    this.#log = log;
  }

  /** Subscribes to a channel; returns the unsubscribe function. Connects lazily. */
  on(channel: string, handler: Handler): () => void {
    let set = this.#handlers.get(channel);
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    void this.ensureConnected();
    return () => set.delete(handler);
  }

  /** Resolves once listening (or after a failed attempt; polling covers the gap). */
  ensureConnected(): Promise<void> {
    if (this.#closed || this.#client) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on('notification', (msg) => {
      const handlers = this.#handlers.get(msg.channel);
      if (handlers) for (const h of [...handlers]) h(msg.payload ?? '');
    });
    const lost = (err?: Error) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.removeAllListeners('error');
      client.on('error', () => {});
      void client.end().catch(() => {});
      if (this.#closed) return;
      this.#log?.warn({ err }, 'notification connection lost; reconnecting (polling meanwhile)');
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      for (const channel of this.#channels) await client.query(`LISTEN "${channel}"`);
      if (this.#closed) {
        await client.end();
        return;
      }
      this.#client = client;
      this.#failures = 0;
    } catch (err) {
      client.on('error', () => {});
      void client.end().catch(() => {});
      this.#log?.debug({ err }, 'could not LISTEN; retrying (polling meanwhile)');
      this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    this.#failures++;
    const delay = Math.min(10000, 100 * 2 ** Math.min(this.#failures, 7));
    setTimeout(() => void this.ensureConnected(), delay).unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
