/**
 * Runs a command the way a kubelet runs a pod's container: with the identity of the pod's ServiceAccount. The
 * local kubelet maps the operator image to this wrapper in the user-path e2e test, so the operator talks to the
 * API server with a token of the chart's ServiceAccount and every RBAC rule it lacks shows up as a failure.
 *
 *   node test/chart/as-serviceaccount.ts --namespace NS --service-account SA [--free-port VAR ...] -- command args...
 *
 * KUBECONFIG must point at an admin kubeconfig (the kubelet's baseEnv); it is used only to request the token.
 * `--free-port VAR` sets VAR=0 (any free port) in every replica but the first: the local kubelet runs all replicas
 * in one network namespace, where a real cluster gives each pod its own, so fixed ports would collide. The
 * readiness probe of later replicas then reaches the first replica's port, which is the most the host can offer.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

const separator = process.argv.indexOf('--');
if (separator < 0 || separator === process.argv.length - 1) {
  process.stderr.write('usage: as-serviceaccount.ts --namespace NS --service-account SA [--free-port VAR] -- command...\n');
  process.exit(2);
}
const { values } = parseArgs({
  args: process.argv.slice(2, separator),
  options: {
    namespace: { type: 'string' },
    'service-account': { type: 'string' },
    'free-port': { type: 'string', multiple: true },
  },
});
const namespace = values.namespace ?? '';
const serviceAccount = values['service-account'] ?? '';
const [command = '', ...args] = process.argv.slice(separator + 1);

const admin = new KubeConfig();
admin.loadFromDefault();
const cluster = admin.getCurrentCluster();
if (!cluster) throw new Error('the admin kubeconfig has no current cluster');

// The same request a kubelet makes for a projected service-account token.
const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
  name: serviceAccount,
  namespace,
  body: { spec: { audiences: [], expirationSeconds: 3600 } },
});
const token = request.status?.token;
if (!token) throw new Error(`no token for ${namespace}/${serviceAccount}`);

const dir = mkdtempSync(join(tmpdir(), 'dtk-sa-'));
const kubeconfigPath = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfigPath,
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster: { server: cluster.server, 'certificate-authority-data': caData() } }],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'cluster', user: serviceAccount, namespace } }],
    'current-context': 'sa',
  }),
  { mode: 0o600 },
);

function caData(): string {
  if (cluster?.caData) return cluster.caData;
  if (cluster?.caFile) return readFileSync(cluster.caFile).toString('base64');
  throw new Error('the admin kubeconfig names no certificate authority');
}

const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfigPath };
const replicaIndex = Number(/-(\d+)$/.exec(process.env.POD_NAME ?? '')?.[1] ?? '0');
if (replicaIndex > 0) for (const name of values['free-port'] ?? []) env[name] = '0';

const child = spawn(command, args, { env, stdio: 'inherit' });
// The kubelet signals the whole process group, so the child gets SIGTERM itself; the wrapper only waits for it.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => {});
child.on('exit', (code, signal) => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(code ?? (signal ? 128 + 15 : 1));
});
