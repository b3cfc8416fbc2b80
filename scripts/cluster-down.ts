/** npm run cluster:down — stops the control plane cluster:up started and removes its folder. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { stopControlPlaneProcesses } from '../test/harness/cluster/controlplane.ts';
import type { ControlPlaneState } from '../test/harness/cluster/controlplane.ts';
import { clusterStateFile } from './cluster-state.ts';

const stateFile = clusterStateFile();
if (!existsSync(stateFile)) {
  process.stdout.write(`No control plane recorded in ${stateFile}; nothing to stop.\n`);
  process.exit(0);
}
const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ControlPlaneState;
await stopControlPlaneProcesses(state);
rmSync(stateFile, { force: true });
process.stdout.write(`Stopped the control plane at ${state.server} and removed ${state.dir}.\n`);
