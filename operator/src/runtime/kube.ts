/**
 * A small Kubernetes REST client over node:https, authenticated by @kubernetes/client-node's KubeConfig (kubeconfig
 * file or in-cluster service account). The operator needs only get/list/create/patch/delete/watch on a handful of
 * resources; doing them directly keeps content types (server-side apply, merge and JSON patch), status codes and
 * watch streams explicit instead of guessed through a generated client.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { DtkError } from '../../../worker/src/errors.ts';
import { MANAGER } from '../crds/group.ts';

/** A resource type: where its objects live in the API. */
export interface Resource {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** The metadata every object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    finalizers?: string[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
  };
}

/** An ownerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A list response. */
export interface KubeList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

/** One event of a watch stream. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The API server answered with an error status; `reason` is the Status reason (NotFound, Conflict, ...). */
export class KubeApiError extends DtkError {
  readonly status: number;
  readonly reason: string;
  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super('DTK_KUBE_API', `${method} ${path}: ${status} ${reason}: ${message}`);
    this.status = status;
    this.reason = reason;
  }
}

/** True for a 409 Conflict (an optimistic-lock failure or an existing object): requeue quietly. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

/** True for a 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

/** Patch content types. */
export type PatchType = 'merge' | 'json' | 'apply';

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The path of a resource collection or object, optionally a subresource. */
export function resourcePath(res: Resource, namespace: string | undefined, name?: string, subresource?: string): string {
  const base = res.group === '' ? `/api/${res.version}` : `/apis/${res.group}/${res.version}`;
  let path = res.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${res.plural}` : `${base}/${res.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The Kubernetes API as the operator uses it. Every write goes out under one field manager. */
export class KubeClient {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly fieldManager: string;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, options: { fieldManager?: string; timeoutMs?: number } = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new DtkError('DTK_CONFIG', 'the kubeconfig has no current cluster; set KUBECONFIG or run in a pod');
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    this.fieldManager = options.fieldManager ?? MANAGER;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Sends one request and parses the JSON answer; non-2xx answers reject with KubeApiError. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.#open(method, path, options);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorFromResponse(method, path, status, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(res: Resource, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(res, namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object of a type (namespace undefined: all namespaces), following continue tokens. */
  async list<T extends KubeObject>(
    res: Resource,
    namespace: string | undefined,
    options: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<KubeList<T>>('GET', resourcePath(res, namespace), {
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: 500, continue: cont },
      });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  /** Creates an object; a 409 (AlreadyExists) rejects. */
  create<T extends KubeObject>(res: Resource, namespace: string | undefined, body: T): Promise<T> {
    return this.request<T>('POST', resourcePath(res, namespace), { body, query: { fieldManager: this.fieldManager } });
  }

  /**
   * Server-side apply under the operator's field manager, forcing ownership of the fields it sets: the operator is
   * the only writer of what it applies, and a conflict with a human edit should end with the declared state.
   */
  apply<T extends KubeObject>(res: Resource, namespace: string | undefined, name: string, body: KubeObject, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(res, namespace, name, subresource), {
      body,
      contentType: CONTENT_TYPES.apply,
      query: { fieldManager: this.fieldManager, force: true },
    });
  }

  /** A merge or JSON patch (used for finalizers and status, where apply would take ownership of whole lists). */
  patch<T extends KubeObject>(
    res: Resource,
    namespace: string | undefined,
    name: string,
    type: Exclude<PatchType, 'apply'>,
    body: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(res, namespace, name, subresource), {
      body,
      contentType: CONTENT_TYPES[type],
      query: { fieldManager: this.fieldManager },
    });
  }

  /** Deletes an object; false when it was already gone. `uid` makes the delete apply only to that incarnation. */
  async delete(res: Resource, namespace: string | undefined, name: string, options: { uid?: string; propagationPolicy?: string } = {}): Promise<boolean> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.uid) body.preconditions = { uid: options.uid };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    try {
      await this.request('DELETE', resourcePath(res, namespace, name), { body });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Watches a collection from `resourceVersion`, calling `onEvent` for each event, until the server ends the stream,
   * the signal aborts, or an error (410 Gone included, as KubeApiError) rejects.
   */
  async watch<T>(
    res: Resource,
    namespace: string | undefined,
    options: { resourceVersion?: string; labelSelector?: string; timeoutSeconds?: number },
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = resourcePath(res, namespace);
    const response = await this.#open('GET', path, {
      query: {
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion: options.resourceVersion,
        labelSelector: options.labelSelector,
        timeoutSeconds: options.timeoutSeconds ?? 300,
      },
      signal,
      timeoutMs: 0,
    });
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorFromResponse('WATCH', path, status, await readAll(response));
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (event.type === 'ERROR') {
            const st = event.object as { code?: number; reason?: string; message?: string };
            response.destroy();
            reject(new KubeApiError('WATCH', path, st.code ?? 500, st.reason ?? 'Error', st.message ?? 'watch error'));
            return;
          }
          onEvent(event);
        }
      });
      response.on('end', () => resolve());
      response.on('close', () => resolve());
      response.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    });
  }

  async #open(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    const opts: https.RequestOptions = { headers: {} };
    await this.#kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string>), Accept: 'application/json' };
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const isHttps = this.#server.protocol === 'https:';
    const basePath = this.#server.pathname.replace(/\/$/, '');
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(
        {
          ...opts,
          method,
          protocol: this.#server.protocol,
          hostname: this.#server.hostname,
          port: this.#server.port || (isHttps ? 443 : 80),
          path: `${basePath}${path}${queryString(options.query)}`,
          headers,
          signal: options.signal,
        },
        resolve,
      );
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function errorFromResponse(method: string, path: string, status: number, text: string): KubeApiError {
  let reason = http.STATUS_CODES[status] ?? 'Error';
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { reason?: string; message?: string };
    reason = body.reason ?? reason;
    message = body.message ?? message;
  } catch {
    // not a Status object
  }
  return new KubeApiError(method, path, status, reason, message);
}
