/**
 * Kubernetes Events for every transition the reconcilers make (`kubectl describe` shows them). A repeat of the same
 * reason and message on the same object within ten minutes bumps the existing Event's count instead of creating
 * another. Recording is best effort: a failure is logged and never fails a reconcile.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { toError } from '../../../worker/src/errors.ts';
import { MANAGER } from '../crds/group.ts';
import type { KubeClient, KubeObject } from './kube.ts';
import { EVENTS } from './resources.ts';

/** Normal for progress, Warning for something a human should look at. */
export type EventType = 'Normal' | 'Warning';

/** Records events about objects. */
export interface EventRecorder {
  record(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

const AGGREGATE_MS = 10 * 60_000;

/** Writes core/v1 Events through the API. */
export class KubeEventRecorder implements EventRecorder {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(client: KubeClient, logger: Logger, instance: string) {
    this.#client = client;
    this.#log = logger;
    this.#instance = instance;
  }

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    void this.#write(obj, type, reason, message).catch((err: unknown) =>
      this.#log.warn({ err: toError(err).message, reason }, 'could not record event'),
    );
  }

  async #write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const now = new Date();
    const key = `${meta.uid}/${type}/${reason}/${message}`;
    const recent = this.#recent.get(key);
    if (recent && now.getTime() - recent.at < AGGREGATE_MS) {
      recent.count += 1;
      recent.at = now.getTime();
      await this.#client.patch(EVENTS, recent.namespace, recent.name, 'merge', { count: recent.count, lastTimestamp: now.toISOString() });
      return;
    }
    this.#prune(now.getTime());
    const name = `${meta.name}.${randomBytes(8).toString('hex')}`;
    await this.#client.create(EVENTS, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: MANAGER },
      reportingComponent: MANAGER,
      reportingInstance: this.#instance,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      count: 1,
    } as KubeObject);
    this.#recent.set(key, { name, namespace, count: 1, at: now.getTime() });
    this.#log.info({ object: `${namespace}/${meta.name}`, kind: obj.kind, type, reason }, message);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#recent) if (now - entry.at >= AGGREGATE_MS) this.#recent.delete(key);
  }
}

/** Keeps events in memory (unit tests). */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: { name: string; type: EventType; reason: string; message: string }[] = [];

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.events.push({ name: obj.metadata?.name ?? '', type, reason, message });
  }
}
