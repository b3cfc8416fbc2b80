import { join } from 'node:path';

/**
 * Where cluster:up records the running control plane for cluster:down: `.dtk/cluster.json` in the repository
 * (git-ignored), or DTK_CLUSTER_STATE. It holds a copy of the control plane's state.json.
 */
export function clusterStateFile(): string {
  return process.env.DTK_CLUSTER_STATE || join(import.meta.dirname, '..', '.dtk', 'cluster.json');
}
