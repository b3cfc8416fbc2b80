/**
 * `node --test --test-global-setup=test/harness/cluster/global-setup.ts ...` starts one control plane for the
 * whole run before any test file, hands its state path to the test processes through the environment (they
 * inherit it), and stops it after the last file.
 */
import { startControlPlane } from './controlplane.ts';
import type { ControlPlane } from './controlplane.ts';
import { SHARED_STATE_ENV, sharedStatePath } from './testing.ts';

let cp: ControlPlane | undefined;

/** Called once by the test runner before the test files start. */
export async function globalSetup(): Promise<void> {
  cp = await startControlPlane();
  process.env[SHARED_STATE_ENV] = sharedStatePath(cp);
  process.stderr.write(`[cluster] control plane ${cp.server} ready in ${cp.readyMs} ms (${cp.dir})\n`);
}

/** Called once by the test runner after the last test file. */
export async function globalTeardown(): Promise<void> {
  await cp?.stop();
}
