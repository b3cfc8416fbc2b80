import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig, V1Container, V1Deployment } from '@kubernetes/client-node';
import { commandForImage, loadKubeletConfig, validateKubeletConfig } from './config.ts';
import type { KubeletConfig } from './config.ts';
import { EnvResolutionError, expandReferences, resolveContainerEnv } from './env.ts';
import { Replica } from './replica.ts';
import type { Backoff, Launch, ReplicaInfo } from './replica.ts';
import { deploymentStatus, statusChanged } from './status.ts';
import type { ReplicaFailure } from './status.ts';

/** Label selector of the Deployments the local kubelet runs unless told otherwise. */
export const DEFAULT_SELECTOR = 'app.kubernetes.io/part-of=dtk';

/** Options for {@link LocalKubelet}. */
export interface LocalKubeletOptions {
  kubeConfig: KubeConfig;
  /** Image → command mapping, as an object or a path to a JSON/YAML file. */
  config: KubeletConfig | string;
  /** Deployments to run; default {@link DEFAULT_SELECTOR}. */
  labelSelector?: string;
  /** Only this namespace; all namespaces by default. */
  namespace?: string;
  /**
   * Root of replica logs. By default a fresh temporary folder, removed by stop() unless DTK_KEEP_KUBELET_LOGS=1
   * (set it to read the logs of a failed run).
   */
  logDir?: string;
  /**
   * Environment every process starts from, standing in for what a container runtime and the cluster would provide
   * (e.g. KUBECONFIG pointing at the test control plane instead of an in-cluster service account). Pod env wins.
   */
  baseEnv?: Record<string, string>;
  /** Host variables passed through to processes; default PATH, HOME, TMPDIR, LANG, TZ. */
  inheritEnv?: string[];
  /** Crash-loop back-off; default 500 ms doubling to 10 s, reset after 30 s of running. */
  backoff?: Partial<Backoff>;
  /** Full relist period, so a silently dead watch is noticed; default 10 s. */
  resyncMs?: number;
  /** Readiness probes run at most this often whatever periodSeconds says; default 1000 ms. */
  maxProbePeriodMs?: number;
  log?: (line: string) => void;
}

const NODE_NAME = 'local-kubelet';
const FIELD_MANAGER = 'dtk-local-kubelet';

interface Tracked {
  deployment: V1Deployment;
  templateHash: string;
  failure: ReplicaFailure | undefined;
}

/**
 * Runs labelled Deployments as local processes: our stand-in for controller-manager plus kubelet in e2e tests.
 * One process per replica (first container only), environment from the pod template with Secret/ConfigMap/field
 * references resolved, status written to the Deployment's status subresource, SIGTERM with the grace period on
 * scale-down, restart with back-off on exit. A changed template starts all new replicas first and stops the old
 * ones once the new ones are ready (a 100% surge rollout). No Pod objects are created in the API.
 */
export class LocalKubelet extends EventEmitter {
  /** Root folder of replica logs: `<logDir>/<namespace>/<deployment>/<replica>.log`. */
  readonly logDir: string;
  private readonly kubeConfig: KubeConfig;
  private readonly config: KubeletConfig;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly options: LocalKubeletOptions;
  private readonly backoff: Backoff;
  private readonly tracked = new Map<string, Tracked>();
  private readonly replicas = new Map<string, Replica[]>();
  private readonly queue = new Map<string, { running: boolean; again: boolean }>();
  private watchAbort: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private watchGeneration = 0;
  private stopped = false;
  private readonly exitHook = () => this.killAllNow();

  constructor(options: LocalKubeletOptions) {
    super();
    this.options = options;
    this.kubeConfig = options.kubeConfig;
    this.config =
      typeof options.config === 'string' ? loadKubeletConfig(options.config) : validateKubeletConfig(options.config);
    this.apps = this.kubeConfig.makeApiClient(AppsV1Api);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'dtk-kubelet-'));
    this.backoff = { initialMs: 500, maxMs: 10_000, resetAfterMs: 30_000, ...options.backoff };
  }

  /** Lists and starts watching; resolves after the first list has been reconciled. */
  async start(): Promise<void> {
    process.once('exit', this.exitHook);
    await this.relist();
    this.resyncTimer = setInterval(() => void this.relist().catch((err: unknown) => this.log(`relist failed: ${err}`)), this.options.resyncMs ?? 10_000);
  }

  /** Stops watching and terminates every replica (SIGTERM, SIGKILL after each one's grace period). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchAbort?.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.relistTimer) clearTimeout(this.relistTimer);
    await Promise.all([...this.replicas.values()].flat().map((r) => r.terminate()));
    process.removeListener('exit', this.exitHook);
    if (this.options.logDir === undefined && process.env.DTK_KEEP_KUBELET_LOGS !== '1') {
      rmSync(this.logDir, { recursive: true, force: true });
    }
  }

  /** Path of a replica's log (`name` as in {@link replicaInfo}: `<deployment>-<hash>-<index>`). */
  logPath(namespace: string, deployment: string, replica: string): string {
    return join(this.logDir, namespace, deployment, `${replica}.log`);
  }

  /** The replicas the kubelet currently has for a Deployment, including terminating ones, by index. */
  replicaInfo(namespace: string, deployment: string): ReplicaInfo[] {
    return (this.replicas.get(`${namespace}/${deployment}`) ?? []).map((r) => r.info()).sort((a, b) => a.index - b.index);
  }

  /**
   * Resolves when exactly `count` replicas of the Deployment's current template are ready, no other replica is
   * left running, and the status saying so has been written. Rejects after timeoutMs with what it saw.
   */
  waitForReady(namespace: string, deployment: string, count: number, timeoutMs = 30_000): Promise<void> {
    const key = `${namespace}/${deployment}`;
    return this.waitFor(
      () => {
        const tracked = this.tracked.get(key);
        if (!tracked) return count === 0;
        const all = this.replicaInfo(namespace, deployment);
        const current = all.filter((r) => r.templateHash === tracked.templateHash && r.ready && r.phase === 'running');
        const others = all.filter((r) => r.phase !== 'stopped' && !current.includes(r));
        return current.length === count && others.length === 0 && tracked.deployment.status?.readyReplicas === (count || undefined);
      },
      timeoutMs,
      () => `${key}: ${JSON.stringify(this.replicaInfo(namespace, deployment).map((r) => ({ name: r.name, phase: r.phase, ready: r.ready, restarts: r.restarts, lastError: r.lastError })))}`,
    );
  }

  /**
   * Resolves with a replica log's text once it matches `pattern`. A replica is ready when its process runs (unless
   * it has a readiness probe), which is before it has printed anything; tests that read output wait with this.
   */
  async waitForLog(logPath: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in ${logPath}:\n${text}`);
      await sleep(50);
    }
  }

  /** Resolves once `predicate` holds, re-checking on every kubelet change; rejects after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs = 30_000, describe: () => string = () => ''): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting on the local kubelet ${describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('change', check);
      };
      this.on('change', check);
      check();
    });
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stderr.write(`[local-kubelet] ${l}\n`)))(line);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    const labelSelector = this.options.labelSelector ?? DEFAULT_SELECTOR;
    const list = this.options.namespace
      ? await this.apps.listNamespacedDeployment({ namespace: this.options.namespace, labelSelector })
      : await this.apps.listDeploymentForAllNamespaces({ labelSelector });
    const seen = new Set<string>();
    for (const deployment of list.items) {
      const key = keyOf(deployment);
      seen.add(key);
      this.observe(deployment);
    }
    for (const key of this.tracked.keys()) {
      if (!seen.has(key)) this.forget(key);
    }
    // Restart the watch from this list's version; an older watch that is still alive is replaced.
    this.watchAbort?.abort();
    const generation = ++this.watchGeneration;
    const path = this.options.namespace
      ? `/apis/apps/v1/namespaces/${this.options.namespace}/deployments`
      : '/apis/apps/v1/deployments';
    const watch = new Watch(this.kubeConfig);
    this.watchAbort = await watch.watch(
      path,
      { labelSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (phase: string, object: unknown) => {
        const deployment = object as V1Deployment;
        if (phase === 'ADDED' || phase === 'MODIFIED') this.observe(deployment);
        else if (phase === 'DELETED') this.forget(keyOf(deployment));
      },
      (err: unknown) => {
        // Our own abort of a replaced watch also lands here; only the current watch may schedule a relist.
        if (this.stopped || generation !== this.watchGeneration) return;
        if (err) this.log(`watch ended: ${err instanceof Error ? err.message : String(err)}; relisting`);
        if (this.relistTimer) clearTimeout(this.relistTimer);
        this.relistTimer = setTimeout(() => void this.relist().catch((e: unknown) => this.log(`relist failed: ${e}`)), 1_000);
      },
    );
  }

  private observe(deployment: V1Deployment): void {
    const key = keyOf(deployment);
    const previous = this.tracked.get(key);
    this.tracked.set(key, {
      deployment,
      templateHash: templateHash(deployment),
      failure: previous?.templateHash === templateHash(deployment) ? previous.failure : undefined,
    });
    this.enqueue(key);
  }

  private forget(key: string): void {
    this.tracked.delete(key);
    this.enqueue(key);
  }

  /** One reconcile at a time per Deployment; a change during a run schedules exactly one more run. */
  private enqueue(key: string): void {
    const entry = this.queue.get(key) ?? { running: false, again: false };
    this.queue.set(key, entry);
    if (entry.running) {
      entry.again = true;
      return;
    }
    entry.running = true;
    void (async () => {
      do {
        entry.again = false;
        try {
          await this.reconcile(key);
        } catch (err) {
          this.log(`reconcile ${key} failed: ${err instanceof Error ? err.message : String(err)}; retrying`);
          setTimeout(() => {
            if (!this.stopped) this.enqueue(key);
          }, 1_000);
        }
      } while (entry.again && !this.stopped);
      entry.running = false;
      this.emit('change');
    })();
  }

  private async reconcile(key: string): Promise<void> {
    const tracked = this.tracked.get(key);
    const replicas = this.replicas.get(key) ?? [];
    this.replicas.set(key, replicas);
    if (!tracked || this.stopped) {
      // Deleted (or no longer labelled): stop everything it had, as garbage collection of its Pods would.
      await Promise.all(replicas.map((r) => r.terminate()));
      this.replicas.delete(key);
      return;
    }
    const { deployment, templateHash: hash } = tracked;
    const desired = deployment.spec?.replicas ?? 1;
    const live = replicas.filter((r) => !r.terminating);
    const current = live.filter((r) => r.id.templateHash === hash);

    for (const r of current.filter((r) => r.id.index >= desired)) void r.terminate();
    const present = new Set(current.map((r) => r.id.index));
    tracked.failure = undefined;
    for (let index = 0; index < desired; index++) {
      if (present.has(index)) continue;
      const replica = this.createReplica(deployment, hash, index);
      if (!replica) break;
      replicas.push(replica);
      replica.start();
    }
    const currentReady = replicas.filter((r) => r.id.templateHash === hash && !r.terminating && r.info().ready).length;
    if (currentReady >= desired) {
      for (const r of live.filter((r) => r.id.templateHash !== hash)) void r.terminate();
    }
    // Stopped replicas have nothing left to report.
    this.replicas.set(key, replicas.filter((r) => r.info().phase !== 'stopped'));
    await this.writeStatus(key);
  }

  private createReplica(deployment: V1Deployment, hash: string, index: number): Replica | undefined {
    const key = keyOf(deployment);
    const tracked = this.tracked.get(key);
    const container = deployment.spec?.template?.spec?.containers?.[0];
    const image = container?.image ?? '';
    const mapping = container ? commandForImage(this.config, image) : undefined;
    if (!container || !mapping) {
      if (tracked) {
        tracked.failure = {
          reason: 'FailedCreate',
          message: container
            ? `local kubelet: no command configured for image "${image}"`
            : 'local kubelet: the pod template has no container',
        };
      }
      return undefined;
    }
    const namespace = deployment.metadata?.namespace ?? 'default';
    const name = `${deployment.metadata?.name}-${hash}-${index}`;
    const replica = new Replica(
      {
        namespace,
        deployment: deployment.metadata?.name ?? '',
        name,
        index,
        templateHash: hash,
        logPath: this.logPath(namespace, deployment.metadata?.name ?? '', name),
        graceMs: (deployment.spec?.template?.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
      },
      () => this.launchFor(deployment, container, name),
      this.backoff,
    );
    replica.on('change', () => {
      this.enqueue(key);
      this.emit('change');
    });
    return replica;
  }

  /** Builds the process launch for a replica; called on every start so Secrets and ConfigMaps are read fresh. */
  private async launchFor(deployment: V1Deployment, container: V1Container, podName: string): Promise<Launch> {
    const mapping = commandForImage(this.config, container.image ?? '');
    if (!mapping) throw new EnvResolutionError(`no command configured for image "${container.image}"`);
    const namespace = deployment.metadata?.namespace ?? 'default';
    const template = deployment.spec?.template;
    const inherited: Record<string, string> = {};
    for (const name of this.options.inheritEnv ?? ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
      const value = process.env[name];
      if (value !== undefined) inherited[name] = value;
    }
    const base = {
      ...inherited,
      ...this.options.baseEnv,
      ...mapping.env,
      HOSTNAME: podName,
      POD_NAME: podName,
      POD_NAMESPACE: namespace,
    };
    const env = await resolveContainerEnv(
      this.core,
      namespace,
      container,
      {
        meta: { ...template?.metadata, name: podName, namespace, uid: randomUUID() },
        spec: template?.spec ?? { containers: [] },
        nodeName: NODE_NAME,
      },
      base,
    );
    // Kubernetes semantics: `command` replaces the image's entry point and its default args; `args` only the latter.
    const argv = container.command
      ? [...container.command, ...(container.args ?? [])]
      : [...mapping.command, ...(container.args ?? mapping.args ?? [])];
    const [command, ...args] = argv.map((part) => expandReferences(part, env));
    const probe = container.readinessProbe?.httpGet;
    let readiness: Launch['readiness'];
    if (probe) {
      const port = typeof probe.port === 'number' ? probe.port : (container.ports?.find((p) => p.name === probe.port)?.containerPort ?? Number(probe.port));
      const maxPeriod = this.options.maxProbePeriodMs ?? 1_000;
      readiness = {
        url: `http://127.0.0.1:${port}${probe.path ?? '/'}`,
        periodMs: Math.min((container.readinessProbe?.periodSeconds ?? 10) * 1000, maxPeriod),
        initialDelayMs: Math.min((container.readinessProbe?.initialDelaySeconds ?? 0) * 1000, maxPeriod),
      };
    }
    return { command: command ?? '', args, cwd: mapping.cwd, env, readiness };
  }

  private async writeStatus(key: string): Promise<void> {
    const tracked = this.tracked.get(key);
    if (!tracked) return;
    const replicas = (this.replicas.get(key) ?? []).map((r) => r.info());
    // A replica that cannot even start (missing Secret key...) is what the kubelet calls CreateContainerConfigError.
    const blocked = replicas.find((r) => r.phase === 'waiting' && r.lastError !== undefined);
    const failure =
      tracked.failure ?? (blocked ? { reason: 'CreateContainerConfigError', message: `${blocked.name}: ${blocked.lastError}` } : undefined);
    const status = deploymentStatus(tracked.deployment, tracked.templateHash, replicas, failure, new Date());
    if (!statusChanged(tracked.deployment.status, status)) return;
    const { namespace, name } = tracked.deployment.metadata ?? {};
    try {
      const updated = await this.apps.patchNamespacedDeploymentStatus(
        { name: name ?? '', namespace: namespace ?? '', body: { status }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      // Keep what we wrote as the baseline, unless a newer spec arrived through the watch meanwhile.
      const latest = this.tracked.get(key);
      if (latest && (latest.deployment.metadata?.generation ?? 0) <= (updated.metadata?.generation ?? 0)) {
        latest.deployment = { ...latest.deployment, status: updated.status };
      }
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 404) return;
      throw err;
    }
  }

  private killAllNow(): void {
    for (const replica of [...this.replicas.values()].flat()) replica.killNow();
  }
}

function keyOf(deployment: V1Deployment): string {
  return `${deployment.metadata?.namespace}/${deployment.metadata?.name}`;
}

/** Like the pod-template-hash label: a change to the template means new replicas. */
function templateHash(deployment: V1Deployment): string {
  return createHash('sha256').update(canonicalJson(deployment.spec?.template ?? {})).digest('hex').slice(0, 8);
}

/** JSON with object keys sorted, so a list and a watch of the same template hash alike. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
