/** Public entry of the control-plane harness: start/attach/stop a real etcd + kube-apiserver for tests. */
export { attachControlPlane, startControlPlane, stopControlPlaneProcesses } from './controlplane.ts';
export type { ControlPlane, ControlPlaneState, StartOptions } from './controlplane.ts';
export { SHARED_STATE_ENV, useControlPlane, withNamespace } from './testing.ts';
export type { NamespaceOptions } from './testing.ts';
export { ADMIN_USER } from './certs.ts';
