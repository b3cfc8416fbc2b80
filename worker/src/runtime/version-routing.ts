/**
 * Resolves the version a continue-as-new moves to. `'current'` means the hub's current
 * routing version, which is how eternal orchestrations leave a draining version. The routing
 * table is read at most every few seconds.
 */
import type { HubStore } from '../store/types.ts';

const REFRESH_MS = 5000;

export class VersionRouting {
  readonly #store: HubStore;
  #current: string | undefined;
  #readAt = 0;

  constructor(store: HubStore) {
    this.#store = store;
  }

  /** Refreshes the cached current version when it is older than a few seconds. */
  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.#readAt < REFRESH_MS) return;
    const versions = await this.#store.listVersions();
    this.#current = versions.find((v) => v.state === 'Current')?.version;
    this.#readAt = Date.now();
  }

  /** Unset → own version; 'current' → the hub's current version (own when no routing is set); else as given. */
  resolve(requested: string | undefined, own: string): string {
    if (requested === undefined || requested === '') return own;
    if (requested === 'current') return this.#current ?? own;
    return requested;
  }
}
