/** Public entry of the local kubelet: runs labelled Deployments as local processes for e2e tests. */
export { DEFAULT_SELECTOR, LocalKubelet } from './kubelet.ts';
export type { LocalKubeletOptions } from './kubelet.ts';
export { commandForImage, loadKubeletConfig, validateKubeletConfig } from './config.ts';
export type { ImageCommand, KubeletConfig } from './config.ts';
export type { Backoff, ReplicaInfo, ReplicaPhase } from './replica.ts';
