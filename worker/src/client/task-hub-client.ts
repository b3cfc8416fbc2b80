/**
 * `TaskHubClient`: start, query, wait for, signal and purge orchestration instances. It talks
 * to the hub's Postgres directly; waits are woken by notifications, not busy polling.
 */
import { randomUUID } from 'node:crypto';
import { InstanceNotFoundError, ValidationError } from '../errors.ts';
import { createPostgresStore } from '../store/index.ts';
import type { FailureDetails, HistoryEvent, RuntimeStatus } from '../orchestration/history.ts';
import { isTerminal } from '../orchestration/history.ts';
import type { HubStore, InstanceFilter, InstanceState, ListRequest, PurgeFilter, VersionInfo } from '../store/types.ts';
import { parsePayload, serializePayload } from './serialize.ts';

export interface TaskHubClientOptions {
  /** postgres:// URL of the hub (default: DTK_HUB_URL). */
  hubUrl?: string;
  /** Hub schema (default: DTK_HUB_SCHEMA or 'dtk'). */
  schema?: string;
  /** Use an existing store instead of connecting. */
  store?: HubStore;
  /** Version for starts when the hub has no routing (default: DTK_VERSION or 'v1'). */
  defaultVersion?: string;
  /** Largest payload accepted, in bytes (default 262144). */
  maxPayloadBytes?: number;
}

export interface StartOptions {
  /** Default: a random UUID. */
  instanceId?: string;
  /** Default: the hub's routing (current or ramping version), else the client's default version. */
  version?: string;
  /** Delay the first turn until this time. */
  startAt?: Date;
  tags?: Record<string, string>;
  /** Replace a finished instance with the same id instead of failing with DTK_INSTANCE_EXISTS. */
  reuseIfFinished?: boolean;
}

/** How `restartOrchestration` starts the instance again. */
export interface RestartOptions {
  /** true (default): a random new id; a string: that id; false: the same id, replacing the finished instance. */
  newInstanceId?: boolean | string;
  /** Default: the hub's routing, as for any new start. */
  version?: string;
}

/** How `rewindOrchestration` records the rewind. */
export interface RewindOptions {
  /** Why the instance is rewound; written to the store's log (history has no event for it). */
  reason?: string;
}

/** An instance's state with payloads parsed. */
export interface OrchestrationState {
  instanceId: string;
  executionId: string;
  name: string;
  version: string;
  status: RuntimeStatus;
  createdAt: Date;
  updatedAt: Date;
  completedAt?: Date;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
  failure?: FailureDetails;
  parentInstanceId?: string;
  tags: Record<string, string>;
  /** The raw JSON text of input/output/custom status, as stored. */
  serialized: { input?: string; output?: string; customStatus?: string };
}

export interface WaitOptions {
  /** Default 60 s. */
  timeoutMs?: number;
  /** Default true. */
  withPayloads?: boolean;
}

export interface ListOptions extends InstanceFilter {
  pageSize?: number;
  continuationToken?: string;
  withPayloads?: boolean;
}

/** The client of a task hub. */
export class TaskHubClient {
  readonly #store: HubStore;
  readonly #ownsStore: boolean;
  readonly #defaultVersion: string;
  readonly #maxPayloadBytes: number;

  constructor(options: TaskHubClientOptions = {}) {
    if (options.store) {
      this.#store = options.store;
      this.#ownsStore = false;
    } else {
      const url = options.hubUrl ?? process.env.DTK_HUB_URL;
      if (!url) throw new ValidationError('hubUrl', 'no task hub URL; pass hubUrl or set DTK_HUB_URL to a postgres:// URL');
      this.#store = createPostgresStore({
        url,
        schema: options.schema ?? process.env.DTK_HUB_SCHEMA ?? 'dtk',
        maxPayloadBytes: options.maxPayloadBytes,
      });
      this.#ownsStore = true;
    }
    this.#defaultVersion = options.defaultVersion ?? process.env.DTK_VERSION ?? 'v1';
    this.#maxPayloadBytes = options.maxPayloadBytes ?? 262144;
  }

  /** The store underneath (for tools such as the CLI). */
  get store(): HubStore {
    return this.#store;
  }

  /** Starts a new instance; returns its id. Duplicate ids fail with InstanceAlreadyExistsError. */
  async scheduleNewOrchestration(name: string, input?: unknown, options: StartOptions = {}): Promise<string> {
    if (typeof name !== 'string' || name.trim() === '') throw new ValidationError('name', 'the orchestration name must be a non-empty string');
    const instanceId = options.instanceId ?? randomUUID();
    await this.#store.createInstance({
      instanceId,
      name,
      version: options.version,
      defaultVersion: this.#defaultVersion,
      input: serializePayload('input', input, this.#maxPayloadBytes),
      scheduledStartTime: options.startAt?.toISOString(),
      tags: options.tags,
      ifExists: options.reuseIfFinished ? 'reuseIfFinished' : 'fail',
    });
    return instanceId;
  }

  /** The instance's state, or undefined when there is no such instance. */
  async getOrchestrationState(instanceId: string, options: { withPayloads?: boolean } = {}): Promise<OrchestrationState | undefined> {
    const state = await this.#store.getInstance(instanceId, options.withPayloads ?? true);
    return state && toState(state);
  }

  /**
   * Starts an instance again from the beginning, with its orchestration name, its input and its tags
   * (after continue-as-new, the input of its latest execution). By default under a new id (returned; any instance can be restarted that way); with
   * `newInstanceId: false` under the same id, replacing it, which only a finished instance allows
   * (otherwise InstanceAlreadyExistsError). The version is chosen as for any new start (the hub's
   * routing, so a restart after a rollout runs the new code) unless `version` names one. A restarted
   * instance has no parent. Fails with InstanceNotFoundError when there is no such instance.
   */
  async restartOrchestration(instanceId: string, options: RestartOptions = {}): Promise<string> {
    const old = await this.#store.getInstance(instanceId, true);
    if (!old) throw new InstanceNotFoundError(instanceId);
    const sameId = options.newInstanceId === false;
    const id = sameId ? instanceId : typeof options.newInstanceId === 'string' ? options.newInstanceId : randomUUID();
    await this.#store.createInstance({
      instanceId: id,
      name: old.name,
      version: options.version,
      defaultVersion: this.#defaultVersion,
      input: old.input,
      tags: Object.keys(old.tags).length > 0 ? old.tags : undefined,
      ifExists: sameId ? 'reuseIfFinished' : 'fail',
    });
    return id;
  }

  /**
   * Rewinds a Failed instance: undoes the failure that ended it and runs the failed work again (failed
   * activities are scheduled anew, Failed sub-orchestrations are rewound too), after which the
   * orchestration continues as if that work had not failed. Work that had succeeded is not repeated. A
   * failure the orchestrator code raised on its own is rewound the same way: its last turn runs again
   * with the same messages, and fails again if the code does. Resolves once the rewind is committed (not
   * when the instance ends) with the ids rewound, this one first. Throws InstanceNotFoundError for an
   * unknown id and InvalidInstanceStateError (DTK_INVALID_STATE) when the instance is not Failed.
   */
  async rewindOrchestration(instanceId: string, options: RewindOptions = {}): Promise<string[]> {
    return this.#store.rewindInstance(instanceId, options.reason);
  }

  /** Resolves once the instance has started running (or finished). */
  async waitForOrchestrationStart(instanceId: string, options: WaitOptions = {}): Promise<OrchestrationState> {
    const state = await this.#store.waitForInstance(
      instanceId,
      (s) => s.status !== 'Pending',
      options.timeoutMs ?? 60000,
      options.withPayloads ?? true,
      (status) => status !== 'Pending',
    );
    return toState(state);
  }

  /** Resolves once the instance is Completed, Failed or Terminated. */
  async waitForOrchestrationCompletion(instanceId: string, options: WaitOptions = {}): Promise<OrchestrationState> {
    const state = await this.#store.waitForInstance(
      instanceId,
      (s) => isTerminal(s.status),
      options.timeoutMs ?? 60000,
      options.withPayloads ?? true,
      isTerminal,
    );
    return toState(state);
  }

  /**
   * Delivers an external event. With an idempotency key, a second raise with the same key is
   * a no-op and returns false.
   */
  async raiseEvent(instanceId: string, eventName: string, data?: unknown, options: { idempotencyKey?: string } = {}): Promise<boolean> {
    if (typeof eventName !== 'string' || eventName.trim() === '') throw new ValidationError('eventName', 'must be a non-empty string');
    return this.#store.sendControl(instanceId, {
      kind: 'raise',
      name: eventName,
      input: serializePayload('data', data, this.#maxPayloadBytes),
      idempotencyKey: options.idempotencyKey,
    });
  }

  /** Pauses the instance: events are kept but not processed until resumed. */
  async suspendOrchestration(instanceId: string, reason?: string): Promise<void> {
    await this.#store.sendControl(instanceId, { kind: 'suspend', reason });
  }

  async resumeOrchestration(instanceId: string, reason?: string): Promise<void> {
    await this.#store.sendControl(instanceId, { kind: 'resume', reason });
  }

  /** Terminates the instance (and with `recursive`, its running sub-orchestrations). `output` becomes its output. */
  async terminateOrchestration(instanceId: string, options: { output?: unknown; recursive?: boolean } = {}): Promise<void> {
    await this.#store.sendControl(instanceId, {
      kind: 'terminate',
      reason: serializePayload('output', options.output, this.#maxPayloadBytes),
      recurse: options.recursive ?? false,
    });
  }

  /** Deletes a finished instance with its history; returns how many instances were removed. */
  async purgeOrchestration(instanceId: string, options: { recursive?: boolean } = {}): Promise<number> {
    return this.#store.purgeInstance(instanceId, options.recursive ?? false);
  }

  /** Deletes finished instances matching the filter (non-terminal ones are skipped). */
  async purgeOrchestrations(filter: PurgeFilter): Promise<number> {
    return this.#store.purgeInstances(filter);
  }

  /** One page of instances matching the filter. */
  async listInstances(options: ListOptions = {}): Promise<{ instances: OrchestrationState[]; continuationToken?: string }> {
    const page = await this.#store.listInstances(options satisfies ListRequest);
    return { instances: page.instances.map(toState), continuationToken: page.continuationToken };
  }

  /** Every instance matching the filter, page by page. */
  async *listAllInstances(options: Omit<ListOptions, 'continuationToken'> = {}): AsyncGenerator<OrchestrationState> {
    let token: string | undefined;
    do {
      const page = await this.listInstances({ ...options, continuationToken: token });
      yield* page.instances;
      token = page.continuationToken;
    } while (token);
  }

  /** The current execution's history, oldest first. */
  async getOrchestrationHistory(instanceId: string): Promise<HistoryEvent[]> {
    return this.#store.getHistory(instanceId);
  }

  /** Routing and drain state of each version. */
  async listVersions(): Promise<VersionInfo[]> {
    return this.#store.listVersions();
  }

  async close(): Promise<void> {
    if (this.#ownsStore) await this.#store.close();
  }
}

function toState(s: InstanceState): OrchestrationState {
  return {
    instanceId: s.instanceId,
    executionId: s.executionId,
    name: s.name,
    version: s.version,
    status: s.status,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    completedAt: s.completedAt,
    input: parsePayload(s.input),
    output: parsePayload(s.output),
    customStatus: parsePayload(s.customStatus),
    failure: s.failure,
    parentInstanceId: s.parentInstanceId,
    tags: s.tags,
    serialized: { input: s.input, output: s.output, customStatus: s.customStatus },
  };
}
