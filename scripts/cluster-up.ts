/**
 * npm run cluster:up — starts etcd and kube-apiserver on loopback (built on demand), leaves them running after
 * this command exits, records their pids for cluster:down and prints how to use the kubeconfig.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startControlPlane } from '../test/harness/cluster/controlplane.ts';
import type { ControlPlaneState } from '../test/harness/cluster/controlplane.ts';
import { isAlive } from '../test/harness/cluster/process.ts';
import { clusterStateFile } from './cluster-state.ts';

const stateFile = clusterStateFile();
if (existsSync(stateFile)) {
  const old = JSON.parse(readFileSync(stateFile, 'utf8')) as ControlPlaneState;
  if (isAlive(old.apiserver.pid) && isAlive(old.etcd.pid)) {
    process.stdout.write(`A control plane is already up at ${old.server}.\n\n  export KUBECONFIG=${old.kubeconfigPath}\n\n`);
    process.exit(0);
  }
}

try {
  const cp = await startControlPlane({ persistent: true });
  const state: ControlPlaneState = {
    dir: cp.dir,
    server: cp.server,
    kubeconfigPath: cp.kubeconfigPath,
    etcd: cp.etcd,
    apiserver: cp.apiserver,
    kubectlPath: cp.kubectlPath,
    readyMs: cp.readyMs,
  };
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  process.stdout.write(
    [
      `Control plane ready at ${cp.server} in ${(cp.readyMs / 1000).toFixed(1)}s (etcd pid ${cp.etcd.pid}, kube-apiserver pid ${cp.apiserver.pid}).`,
      '',
      `  export KUBECONFIG=${cp.kubeconfigPath}`,
      `  ${cp.kubectlPath} get namespaces`,
      '',
      `Logs: ${cp.etcd.log}, ${cp.apiserver.log}`,
      'There is no controller-manager, scheduler or kubelet: Deployments get no Pods unless the local kubelet',
      '(test/harness/kubelet) runs, and owned objects are not garbage-collected.',
      'Stop it with: npm run cluster:down',
      '',
    ].join('\n'),
  );
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
