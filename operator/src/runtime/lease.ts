/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it: try to acquire or renew every
 * `retryPeriodMs`; a lease is free when its holder is empty or when its record has not changed for
 * `leaseDurationMs` as measured by *our* clock since we last saw it change (so clock skew between processes does not
 * matter); every write is an update locked to the resourceVersion read, so two candidates cannot both win. A leader
 * that cannot renew for `renewDeadlineMs` stops leading. A clean shutdown releases the lease so a standby takes over
 * at once instead of waiting for expiry.
 */
import type { Logger } from 'pino';
import { toError } from '../../../worker/src/errors.ts';
import { isConflict, resourcePath } from './kube.ts';
import type { KubeClient, KubeObject } from './kube.ts';
import { LEASES } from './resources.ts';

/** Options of a {@link LeaderElector}. */
export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per process (a restarted process must not inherit its predecessor's lease). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Should carry the identity in its bindings (main.ts binds it for every record). */
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** RFC 3339 with microseconds, as MicroTime fields require. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Campaigns for and holds one Lease. */
export class LeaderElector {
  readonly #client: KubeClient;
  readonly #o: LeaderElectionOptions;
  #leading = false;
  #lastRenew = 0;
  #observedRecord = '';
  #observedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.#client = client;
    this.#o = options;
  }

  /** True while this process holds the lease. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** Time of the last successful acquire or renew (for /healthz). */
  get lastRenewAt(): number {
    return this.#lastRenew;
  }

  /** Starts campaigning; returns at once. */
  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      this.#running = this.#tick();
      await this.#running;
      if (!this.#stopped) this.#timer = setTimeout(() => void tick(), this.#o.retryPeriodMs);
    };
    void tick();
  }

  /**
   * Stops campaigning and, when leading, releases the lease. `release: false` leaves the lease to expire, which is
   * what a killed process amounts to.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    if (!this.#leading || options.release === false) return;
    this.#leading = false;
    try {
      const lease = await this.#client.get<LeaseObject>(LEASES, this.#o.namespace, this.#o.name);
      if (lease?.spec?.holderIdentity !== this.#o.identity) return;
      await this.#client.request('PUT', resourcePath(LEASES, this.#o.namespace, this.#o.name), {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(new Date()) } },
      });
      this.#o.logger.info({ lease: this.#o.name }, 'released leader lease');
    } catch (err) {
      this.#o.logger.warn({ err: toError(err).message }, 'could not release leader lease; a standby takes over when it expires');
    }
  }

  async #tick(): Promise<void> {
    let acquired = false;
    try {
      acquired = await this.#tryAcquireOrRenew();
    } catch (err) {
      if (!isConflict(err)) this.#o.logger.warn({ err: toError(err).message }, 'leader lease request failed');
    }
    const now = Date.now();
    if (acquired) {
      this.#lastRenew = now;
      if (!this.#leading) {
        this.#leading = true;
        this.#o.logger.info({ lease: this.#o.name }, 'became leader');
        this.#o.onStartedLeading();
      }
    } else if (this.#leading && now - this.#lastRenew > this.#o.renewDeadlineMs) {
      this.#leading = false;
      this.#o.logger.error({ lease: this.#o.name }, 'could not renew the leader lease in time; stopping leading');
      this.#o.onStoppedLeading();
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#o;
    const now = new Date();
    const durationSeconds = Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000));
    const lease = await this.#client.get<LeaseObject>(LEASES, namespace, name);
    if (!lease) {
      await this.#client.create<LeaseObject>(LEASES, namespace, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${spec.leaseDurationSeconds ?? ''}`;
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = now.getTime();
    }
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const expiresAt = this.#observedAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && now.getTime() < expiresAt) return false;
    const taking = holder !== identity;
    const body: LeaseObject = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now),
        acquireTime: taking ? microTime(now) : spec.acquireTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && holder !== '' ? 1 : 0),
      },
    };
    const updated = await this.#client.request<LeaseObject>('PUT', resourcePath(LEASES, namespace, name), { body });
    const u = updated.spec ?? {};
    this.#observedRecord = `${u.holderIdentity ?? ''}|${u.renewTime ?? ''}|${u.leaseDurationSeconds ?? ''}`;
    this.#observedAt = now.getTime();
    return true;
  }
}
