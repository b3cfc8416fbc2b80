import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { attachControlPlane, startControlPlane } from './controlplane.ts';
import type { ControlPlane } from './controlplane.ts';

/**
 * Set by global-setup.ts to the state.json of the control plane shared by a whole `node --test` run. node --test
 * runs every test file in its own process; the variable is how those processes find the one control plane.
 */
export const SHARED_STATE_ENV = 'DTK_TEST_CLUSTER_STATE';

let current: Promise<ControlPlane> | undefined;

/**
 * The control plane for this test process. Under `--test-global-setup=test/harness/cluster/global-setup.ts` (what
 * `npm run test:cluster` does) it is the run's shared one, which this process must not stop. A test file run on its
 * own starts a private one on first use and stops it when the process is about to exit.
 */
export function useControlPlane(): Promise<ControlPlane> {
  current ??= open();
  return current;
}

async function open(): Promise<ControlPlane> {
  const shared = process.env[SHARED_STATE_ENV];
  if (shared) return attachControlPlane(shared, false);
  const cp = await startControlPlane();
  let stopping = false;
  process.on('beforeExit', () => {
    if (stopping) return;
    stopping = true;
    void cp.stop();
  });
  return cp;
}

/** Options for {@link withNamespace}. */
export interface NamespaceOptions {
  /** Prefix of the generated name; the rest is random. Default `t`. */
  prefix?: string;
  /** Keep the namespace afterwards (to look at it with kubectl while debugging). */
  keep?: boolean;
}

/**
 * Runs `body` with a fresh namespace of its own, deleted afterwards. Without a controller-manager the namespace
 * only moves to Terminating and its objects stay in etcd, which is harmless: the control plane is thrown away.
 */
export async function withNamespace<T>(
  cp: ControlPlane,
  body: (namespace: string) => Promise<T>,
  options: NamespaceOptions = {},
): Promise<T> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const name = `${options.prefix ?? 't'}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'dtk.test/namespace': 'true' } } } });
  try {
    return await body(name);
  } finally {
    if (!options.keep) await core.deleteNamespace({ name }).catch(() => undefined);
  }
}

/** Path of the shared control plane's state file, for tools that want to attach from outside node --test. */
export function sharedStatePath(cp: ControlPlane): string {
  return join(cp.dir, 'state.json');
}
