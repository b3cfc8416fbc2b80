import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureTools } from '../tools/build.ts';
import type { Log } from '../tools/build.ts';
import { run } from '../tools/run.ts';
import type { RunOptions, RunResult } from '../tools/run.ts';
import { generatePki } from './certs.ts';
import type { Pki } from './certs.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { freePort, isAlive, runsBinary, signalGroup, spawnDaemon, stopProcessGroup, tailFile } from './process.ts';

/**
 * Everything needed to reach a running control plane again from another process (cluster:down, test files
 * started by node --test after a global setup). Written as JSON to `<dir>/state.json`.
 */
export interface ControlPlaneState {
  dir: string;
  server: string;
  kubeconfigPath: string;
  etcd: { pid: number; binary: string; url: string; log: string };
  apiserver: { pid: number; binary: string; log: string };
  kubectlPath: string;
  /** Milliseconds from the first spawn until /readyz answered ok. */
  readyMs: number;
}

/** A running etcd + kube-apiserver pair (no controller-manager, no scheduler, no kubelet). */
export interface ControlPlane extends ControlPlaneState {
  /** A client-node KubeConfig loaded from kubeconfigPath. */
  kubeConfig: KubeConfig;
  /** Runs the built kubectl against this control plane. */
  kubectl(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Stops both processes (SIGTERM, then SIGKILL) and removes the directory. A no-op for borrowed handles. */
  stop(): Promise<void>;
}

/** Options for {@link startControlPlane}. */
export interface StartOptions {
  /** Folder for data, certificates, logs and kubeconfig; a fresh temporary one by default. */
  dir?: string;
  /** How long to wait for /readyz before failing with the log tails. Default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Leave the processes running when this process exits (cluster:up). By default an exit hook kills them, so a
   * test run that dies without reaching stop() leaves nothing behind.
   */
  persistent?: boolean;
  log?: Log;
}

/** Service CIDR; its first address (10.0.0.1) is in the serving certificate. */
const SERVICE_CIDR = '10.0.0.0/24';

/**
 * Starts etcd and kube-apiserver on free loopback ports with generated certificates, RBAC on and an admin
 * identity in system:masters, writes a kubeconfig, and waits for /readyz. Binaries are built first if the cache
 * lacks them. The processes are detached group leaders: they keep running if this process exits without stop().
 */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[cluster] ${line}\n`));
  const tools = await ensureTools(['etcd', 'kube-apiserver', 'kubectl'], log);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dtk-cluster-'));
  mkdirSync(dir, { recursive: true });
  const pki = await generatePki(join(dir, 'pki'));

  // A port can be taken between our probe and the daemon's bind; one more attempt covers that rare race.
  for (let attempt = 1; ; attempt++) {
    try {
      const cp = await startOnce(dir, pki, tools, options.readyTimeoutMs ?? 60_000);
      if (!options.persistent) killOnExit(cp);
      return cp;
    } catch (err) {
      if (attempt >= 2 || !(err instanceof PortInUseError)) {
        throw err;
      }
      log(`retrying after a port clash: ${err.message}`);
    }
  }
}

class PortInUseError extends Error {}

/** Synchronous last resort: 'exit' handlers cannot await, so SIGKILL both groups and drop the folder. */
function killOnExit(cp: ControlPlaneState): void {
  process.once('exit', () => {
    for (const proc of [cp.apiserver, cp.etcd]) {
      if (isAlive(proc.pid) && runsBinary(proc.pid, proc.binary)) signalGroup(proc.pid, 'SIGKILL');
    }
    rmSync(cp.dir, { recursive: true, force: true });
  });
}

async function startOnce(
  dir: string,
  pki: Pki,
  tools: Record<'etcd' | 'kube-apiserver' | 'kubectl', string>,
  readyTimeoutMs: number,
): Promise<ControlPlane> {
  const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcdLog = join(dir, 'etcd.log');
  const apiserverLog = join(dir, 'kube-apiserver.log');
  const dataDir = join(dir, 'etcd-data');
  rmSync(dataDir, { recursive: true, force: true });
  const started = Date.now();

  const etcdPid = spawnDaemon(
    tools.etcd,
    [
      '--name=dtk',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=dtk=${peerUrl}`,
      // Throw-away data: durability costs seconds of fsync per test run for nothing.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    etcdLog,
  );
  const stopEtcd = () => stopProcessGroup(etcdPid, 5_000);
  try {
    await waitFor('etcd', etcdLog, etcdPid, readyTimeoutMs, async () => (await httpGet(`${etcdUrl}/health`)).includes('"true"'));
  } catch (err) {
    await stopEtcd();
    throw err;
  }

  const server = `https://127.0.0.1:${securePort}`;
  const apiserverPid = spawnDaemon(
    tools['kube-apiserver'],
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      // Without a controller-manager no ServiceAccount token controller runs; the plugin would block pods.
      '--disable-admission-plugins=ServiceAccount',
      // No kubelets or other apiservers to reconcile the `kubernetes` Endpoints against.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
    ],
    apiserverLog,
  );
  const readyz = async () => (await httpGet(`${server}/readyz`, pki)) === 'ok';
  try {
    await waitFor('kube-apiserver', apiserverLog, apiserverPid, readyTimeoutMs - (Date.now() - started), readyz);
  } catch (err) {
    await stopProcessGroup(apiserverPid, 5_000);
    await stopEtcd();
    if (/address already in use/.test(tailFile(apiserverLog) + tailFile(etcdLog))) {
      throw new PortInUseError(String(err));
    }
    throw err;
  }
  const readyMs = Date.now() - started;

  const kubeconfigPath = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, server, pki);
  const state: ControlPlaneState = {
    dir,
    server,
    kubeconfigPath,
    etcd: { pid: etcdPid, binary: tools.etcd, url: etcdUrl, log: etcdLog },
    apiserver: { pid: apiserverPid, binary: tools['kube-apiserver'], log: apiserverLog },
    kubectlPath: tools.kubectl,
    readyMs,
  };
  writeFileSync(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  return handle(state, true);
}

/**
 * Builds a handle for a control plane another process started, from its state.json path. `owned` decides whether
 * stop() really stops it (cluster:down) or does nothing (a test file borrowing the run's shared control plane).
 */
export function attachControlPlane(statePath: string, owned: boolean): ControlPlane {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as ControlPlaneState;
  return handle(state, owned);
}

function handle(state: ControlPlaneState, owned: boolean): ControlPlane {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfigPath);
  let stopped = false;
  return {
    ...state,
    kubeConfig,
    kubectl: (args, options = {}) =>
      run(state.kubectlPath, ['--kubeconfig', state.kubeconfigPath, ...args], { timeoutMs: 60_000, ...options }),
    async stop() {
      if (!owned || stopped) return;
      stopped = true;
      await stopControlPlaneProcesses(state);
    },
  };
}

/** Stops the processes named in a state (only if they still run the recorded binary) and removes its folder. */
export async function stopControlPlaneProcesses(state: ControlPlaneState): Promise<void> {
  // The API server first, so it does not spend its shutdown retrying a vanished etcd.
  for (const proc of [state.apiserver, state.etcd]) {
    if (isAlive(proc.pid) && runsBinary(proc.pid, proc.binary)) await stopProcessGroup(proc.pid, 10_000);
  }
  rmSync(state.dir, { recursive: true, force: true });
}

async function waitFor(
  name: string,
  logFile: string,
  pid: number,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new Error(`${name} exited during start-up; last lines of ${logFile}:\n${tailFile(logFile)}`);
    }
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${name} was not ready within ${Math.round(timeoutMs / 1000)}s; last lines of ${logFile}:\n${tailFile(logFile)}`);
}

/** A GET that resolves to the body (any status), with the admin client certificate when pki is given. */
function httpGet(url: string, pki?: Pki): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = pki
      ? httpsRequest(url, {
          ca: readFileSync(pki.caCert),
          cert: readFileSync(pki.adminCert),
          key: readFileSync(pki.adminKey),
          timeout: 2_000,
        })
      : httpRequest(url, { timeout: 2_000 });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
