/**
 * An informer: list, then watch from the list's resourceVersion, keeping a cache and telling handlers what changed.
 * Every `relistMs` it stops the watch and lists again, so a watch that died silently (a dropped connection the
 * server never closed) costs at most one period, and handlers get a `resync` for every unchanged object, which is
 * what drives periodic reconciles. A 410 Gone (resourceVersion too old) relists at once; other errors back off.
 */
import type { Logger } from 'pino';
import { toError } from '../../../worker/src/errors.ts';
import { KubeApiError } from './kube.ts';
import type { KubeClient, KubeObject, Resource, WatchEvent } from './kube.ts';

/** What happened to an object. */
export type InformerEventType = 'add' | 'update' | 'delete' | 'resync';

/** Called for every change; `obj` is the new state (the last known one for deletes), `old` the cached one before. */
export type InformerHandler<T> = (type: InformerEventType, obj: T, old: T | undefined) => void;

/** Options of an {@link Informer}. */
export interface InformerOptions {
  resource: Resource;
  /** Watch one namespace; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  /** Full relist period; default 5 minutes. */
  relistMs?: number;
  logger: Logger;
  /** Called after every list (for metrics). */
  onList?: (resource: Resource, count: number) => void;
}

/** The cache key of an object: `namespace/name`. */
export function objectKey(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

const MAX_BACKOFF_MS = 30_000;

/** A cache of one resource type kept current by list + watch + periodic relist. */
export class Informer<T extends KubeObject> {
  readonly resource: Resource;
  readonly #client: KubeClient;
  readonly #options: InformerOptions;
  readonly #log: Logger;
  readonly #cache = new Map<string, T>();
  readonly #handlers: InformerHandler<T>[] = [];
  #resourceVersion: string | undefined;
  #needList = true;
  #stopped = false;
  #watchAbort: AbortController | undefined;
  #relistTimer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #synced = false;
  #firstSync: { promise: Promise<void>; resolve: () => void };
  #wake: (() => void) | undefined;

  constructor(client: KubeClient, options: InformerOptions) {
    this.#client = client;
    this.#options = options;
    this.resource = options.resource;
    this.#log = options.logger.child({ informer: options.resource.plural });
    let resolve: () => void = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstSync = { promise, resolve };
  }

  /** Adds a handler; handlers run synchronously in registration order and must not throw. */
  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  /** True once the first list has filled the cache. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Starts listing and watching; resolves after the first successful list. */
  async start(): Promise<void> {
    if (this.#loop) return this.#firstSync.promise;
    this.#loop = this.#run();
    this.#relistTimer = setInterval(() => this.relist(), this.#options.relistMs ?? 300_000);
    this.#relistTimer.unref();
    return this.#firstSync.promise;
  }

  /** Ends the watch; the cache stays readable. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#relistTimer) clearInterval(this.#relistTimer);
    this.#watchAbort?.abort();
    this.#wake?.();
    await this.#loop;
  }

  /** Forces a full list now (the periodic relist calls this). */
  relist(): void {
    this.#needList = true;
    this.#watchAbort?.abort();
    this.#wake?.();
  }

  /** The cached object, if any. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`);
  }

  /** Cached objects, optionally of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  async #run(): Promise<void> {
    let backoffMs = 0;
    while (!this.#stopped) {
      try {
        if (this.#needList) await this.#list();
        const abort = new AbortController();
        this.#watchAbort = abort;
        // Jitter the server-side timeout so many watches do not reconnect at the same instant.
        const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
        await this.#client.watch<T>(
          this.resource,
          this.#options.namespace,
          { resourceVersion: this.#resourceVersion, labelSelector: this.#options.labelSelector, timeoutSeconds },
          (event) => this.#onWatchEvent(event),
          abort.signal,
        );
        backoffMs = 0;
      } catch (err) {
        if (this.#stopped) break;
        if (this.#watchAbort?.signal.aborted) continue;
        if (err instanceof KubeApiError && err.status === 410) {
          this.#log.debug('watch expired (410 Gone); relisting');
          this.#needList = true;
          continue;
        }
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs === 0 ? 500 : backoffMs * 2);
        this.#log.warn({ err: toError(err).message, retryInMs: backoffMs }, 'list/watch failed; retrying');
        this.#needList = true;
        await this.#sleep(backoffMs);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #list(): Promise<void> {
    const list = await this.#client.list<T>(this.resource, this.#options.namespace, { labelSelector: this.#options.labelSelector });
    this.#needList = false;
    this.#resourceVersion = list.metadata.resourceVersion;
    const seen = new Set<string>();
    for (const obj of list.items) {
      // Lists of a kind omit apiVersion/kind on items; restore them so handlers can build ownerReferences.
      obj.apiVersion ??= this.resource.group ? `${this.resource.group}/${this.resource.version}` : this.resource.version;
      obj.kind ??= this.resource.kind;
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (!old) this.#emit('add', obj, undefined);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit('update', obj, old);
      else this.#emit('resync', obj, old);
    }
    for (const [key, old] of this.#cache) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#emit('delete', old, old);
    }
    this.#options.onList?.(this.resource, list.items.length);
    if (!this.#synced) {
      this.#synced = true;
      this.#firstSync.resolve();
    }
  }

  #onWatchEvent(event: WatchEvent<T>): void {
    const obj = event.object;
    if (obj.metadata?.resourceVersion) this.#resourceVersion = obj.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    if (event.type === 'DELETED') {
      this.#cache.delete(key);
      this.#emit('delete', obj, old);
      return;
    }
    this.#cache.set(key, obj);
    this.#emit(old ? 'update' : 'add', obj, old);
  }

  #emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const handler of this.#handlers) {
      try {
        handler(type, obj, old);
      } catch (err) {
        this.#log.error({ err: toError(err).message }, 'informer handler threw');
      }
    }
  }
}
