/**
 * Global setup for `npm test`: one Postgres and one Kubernetes control plane for the whole run,
 * shared by every test file through the environment (the runner starts test processes after
 * this, with its environment). Layers run alone use their own setup modules.
 */
import * as cluster from './cluster/global-setup.ts';
import * as postgres from './postgres-setup.ts';

export async function globalSetup(): Promise<void> {
  await postgres.globalSetup();
  await cluster.globalSetup();
}

export async function globalTeardown(): Promise<void> {
  await Promise.allSettled([cluster.globalTeardown(), postgres.globalTeardown()]);
}
