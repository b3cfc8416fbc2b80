import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ADMIN_USER, pemBase64 } from './certs.ts';
import type { Pki } from './certs.ts';

/** Name of the cluster, user and context in the kubeconfig we write. */
export const CONTEXT = 'dtk-test';

/**
 * Writes a self-contained kubeconfig (certificates embedded, not referenced) so it keeps working when copied,
 * and so processes started by the local kubelet can use it as their in-cluster identity.
 */
export function writeKubeconfig(path: string, server: string, pki: Pki): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT, cluster: { server, 'certificate-authority-data': pemBase64(pki.caCert) } }],
    users: [
      {
        name: ADMIN_USER,
        user: {
          'client-certificate-data': pemBase64(pki.adminCert),
          'client-key-data': pemBase64(pki.adminKey),
        },
      },
    ],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: ADMIN_USER, namespace: 'default' } }],
    'current-context': CONTEXT,
    preferences: {},
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}
