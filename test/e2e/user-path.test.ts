/**
 * The README's "Run it on Kubernetes", step by step, on a real API server: the commands are read from the README
 * and run in bash with the built helm and kubectl, the CLI of this checkout, and the local kubelet running the
 * operator image (as the chart's ServiceAccount, so its RBAC is what is tested) and the examples image.
 *
 * What differs from a user's cluster, and why:
 * - images are not built (step 0): the local kubelet maps `dtk/operator:*` and `dtk/examples:*` to local commands;
 * - namespaces get a random suffix, and the admin URI is the test Postgres;
 * - `helm install` also gets `--set` flags: the operator watches only this test's namespace (other test files run
 *   operators of their own against the same API server) and listens on free ports (every local process shares the
 *   host's network);
 * - `--watch` commands are not run; the test waits for what the user would watch for.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { TaskHubClient } from '../../worker/src/client/index.ts';
import { ensureTools } from '../harness/tools/build.ts';
import { useControlPlane } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';
import { LocalKubelet } from '../harness/kubelet/index.ts';
import { adminQuery, testPostgresUrl } from '../harness/postgres.ts';
import {
  conditionOf,
  expectDeploymentReady,
  expectReleaseGone,
  expectVersionRemoved,
  expectVersionState,
  getObject,
  listObjects,
  versionsOf,
  waitFor,
} from '../chart/expect.ts';
import { REPO_ROOT } from '../chart/images.ts';
import { readUserPath, stepOf } from '../chart/readme.ts';
import { prepareWorkdir, runBlock, toolPath } from '../chart/shell.ts';
import type { LineResult, ShellOptions } from '../chart/shell.ts';

const README_URI = 'postgres://dtk_admin:PASSWORD@pg.example.com:5432/postgres';
const suffix = randomBytes(3).toString('hex');
const OPERATOR_NS = `dtk-system-${suffix}`;
const APP_NS = `demo-${suffix}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The output of the line that contains `fragment`. */
function outputOf(results: LineResult[], fragment: string): string {
  const found = results.find((r) => r.line.includes(fragment));
  assert.ok(found?.ran, `the README line with ${fragment} did not run`);
  return found.output;
}

describe('README "Run it on Kubernetes", run as written', { timeout: 480_000 }, () => {
  const path = readUserPath();
  let cp: ControlPlane;
  let workdir: string;
  let shell: ShellOptions;
  const kubelets: LocalKubelet[] = [];
  let broken = false;

  /** Runs one README step's block; a failed step skips the rest, which could only fail for the same reason. */
  async function step(t: TestContext, number: number, block = 0): Promise<LineResult[] | undefined> {
    if (broken) {
      t.skip('an earlier step failed');
      return undefined;
    }
    const lines = stepOf(path, number).blocks[block];
    assert.ok(lines, `step ${number} has no shell block ${block}`);
    try {
      return await runBlock(lines, shell);
    } catch (err) {
      broken = true;
      throw err;
    }
  }

  /** A client of the hub with the credentials a user reads from the connection Secret. */
  async function hubClient(): Promise<TaskHubClient> {
    const secret = await getObject(cp, 'secret', APP_NS, 'orders-connection');
    const read = (key: string) => Buffer.from(secret?.data?.[key] ?? '', 'base64').toString();
    return new TaskHubClient({ hubUrl: read('uri'), schema: read('schema') });
  }

  before(async () => {
    cp = await useControlPlane();
    const adminUri = await testPostgresUrl();
    const { helm, kubectl } = await ensureTools(['helm', 'kubectl']);
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    workdir = mkdtempSync(join(tmpdir(), 'dtk-user-path-'));
    const { binDir } = prepareWorkdir(workdir, path.files);
    const installFlags = [
      // Through the environment rather than operator.watchNamespace, so the README's cluster-wide RBAC is what runs.
      '--set operator.extraEnv[0].name=DTK_OPERATOR_WATCH_NAMESPACE',
      `--set operator.extraEnv[0].value=${APP_NS}`,
      `--set operator.healthPort=${healthPort}`,
      `--set operator.metricsPort=${metricsPort}`,
      // Seconds instead of the default minutes-scale polls keep the drain visible within the test's time.
      '--set operator.pollSeconds=1',
    ].join(' ');
    shell = {
      cwd: workdir,
      env: { ...process.env, PATH: toolPath(binDir, [helm, kubectl]), KUBECONFIG: cp.kubeconfigPath, HOME: workdir },
      rewrite: (line) => {
        let out = line
          .replaceAll('dtk-system', OPERATOR_NS)
          .replace(/(-n |create namespace )demo\b/g, `$1${APP_NS}`)
          .replaceAll(README_URI, adminUri);
        if (/^helm install /.test(out)) out = `${out} ${installFlags}`;
        if (/^helm uninstall /.test(out)) out = `${out} --timeout 120s`;
        return out;
      },
      skip: (line) => line.includes('--watch'),
    };

    const node = process.execPath;
    const operatorKubelet = new LocalKubelet({
      kubeConfig: cp.kubeConfig,
      namespace: OPERATOR_NS,
      baseEnv: { KUBECONFIG: cp.kubeconfigPath },
      config: {
        images: {
          'dtk/operator:*': {
            command: [
              node,
              'test/chart/as-serviceaccount.ts',
              '--namespace', OPERATOR_NS,
              '--service-account', 'dtk',
              '--free-port', 'DTK_OPERATOR_HEALTH_PORT',
              '--free-port', 'DTK_OPERATOR_METRICS_PORT',
              '--',
              node,
              'operator/src/main.ts',
            ],
            cwd: REPO_ROOT,
          },
        },
      },
    });
    const workerKubelet = new LocalKubelet({
      kubeConfig: cp.kubeConfig,
      namespace: APP_NS,
      config: { images: { 'dtk/examples:*': { command: [node, 'worker/src/main.ts', 'examples/all.ts'], cwd: REPO_ROOT } } },
    });
    kubelets.push(operatorKubelet, workerKubelet);
    await Promise.all(kubelets.map((k) => k.start()));
  });

  after(async () => {
    await Promise.allSettled(kubelets.map((k) => k.stop()));
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('0. shows how to build the three images (the local kubelet stands in for them here)', () => {
    const commands = stepOf(path, 0).commands.join('\n');
    for (const image of ['operator', 'worker', 'examples']) {
      assert.match(commands, new RegExp(`docker build -f images/${image}/Dockerfile -t dtk/${image}:0\\.1\\.0 \\.`));
    }
  });

  it('1. helm install: the CRDs, and two operator replicas of which one holds the leader Lease', async (t) => {
    if (!(await step(t, 1))) return;
    for (const crd of ['taskhubs.durabletask.dev', 'workflowdeployments.durabletask.dev']) {
      assert.ok(await getObject(cp, 'crd', undefined, crd), `${crd} installed from the chart's crds/`);
    }
    await expectDeploymentReady(cp, OPERATOR_NS, 'dtk', 2);
    const lease = await waitFor('a leader to hold the Lease', async () => {
      const l = await getObject(cp, 'lease', OPERATOR_NS, 'dtk-leader');
      return l?.spec?.holderIdentity ? l : undefined;
    });
    assert.match(String(lease.spec?.holderIdentity), /^dtk-/);
  });

  it('2. a TaskHub on the admin Secret becomes Ready and writes the connection Secret for workers', async (t) => {
    if (!(await step(t, 2))) return;
    const hub = await getObject(cp, 'taskhub', APP_NS, 'orders');
    assert.equal(conditionOf(hub, 'Ready')?.status, 'True');
    const secret = await getObject(cp, 'secret', APP_NS, 'orders-connection');
    for (const key of ['uri', 'host', 'port', 'database', 'schema', 'user', 'password']) {
      assert.ok(secret?.data?.[key], `orders-connection has ${key}`);
    }
  });

  it('3. a WorkflowDeployment runs version v1 as a Deployment of two ready workers', async (t) => {
    const results = await step(t, 3);
    if (!results) return;
    await expectDeploymentReady(cp, APP_NS, 'examples-v1', 2);
    const wd = await getObject(cp, 'workflowdeployment', APP_NS, 'examples');
    assert.equal(conditionOf(wd, 'Available')?.status, 'True');
    assert.equal(wd?.status?.currentVersion, 'v1');
    assert.match(outputOf(results, 'get workflowdeployments,deployments'), /examples-v1/);
  });

  it('4. the CLI starts an orchestration that completes, and one that waits for approval on v1', async (t) => {
    const results = await step(t, 4);
    if (!results) return;
    assert.match(outputOf(results, '["Tokyo","Lagos"]'), /Hello, Tokyo!.*Hello, Lagos!/s);
    const status = outputOf(results, 'dtk status order-1');
    assert.match(status, /Status: +(Pending|Running)/);
    assert.match(status, /Version: +v1\b/);
    // A moment later, what the README promises: Running on v1, waiting for approval.
    const client = await hubClient();
    try {
      const state = await waitFor('order-1 to wait for approval', async () => {
        const s = await client.getOrchestrationState('order-1');
        return s?.customStatus === 'waiting for approval' ? s : undefined;
      });
      assert.equal(state.status, 'Running');
      assert.equal(state.version, 'v1');
    } finally {
      await client.close();
    }
  });

  it('5. v2 rolls out: new starts run on v2 while v1 drains for order-1, then scales to zero and goes away', async (t) => {
    const rollout = await step(t, 5, 0);
    if (!rollout) return;
    assert.match(outputOf(rollout, '["Oslo"]'), /Hello, Oslo!/);
    assert.match(outputOf(rollout, 'dtk versions'), /v1[\s\S]*Draining|Draining[\s\S]*v1/);
    const v1 = await expectVersionState(cp, APP_NS, 'examples', 'v1', 'Draining');
    assert.equal(v1.runningInstances, 1, 'order-1 keeps v1 alive');
    assert.equal((await getObject(cp, 'deployment', APP_NS, 'examples-v1'))?.status?.readyReplicas, 2, 'v1 keeps its workers');
    await expectDeploymentReady(cp, APP_NS, 'examples-v2', 2);

    const approval = await step(t, 5, 1);
    if (!approval) return;
    assert.match(outputOf(approval, 'dtk wait order-1'), /approved by ana/);
    await expectVersionState(cp, APP_NS, 'examples', 'v1', 'Drained');
    await waitFor('examples-v1 scaled to zero', async () => {
      const d = await getObject(cp, 'deployment', APP_NS, 'examples-v1');
      return d === undefined || d.spec?.replicas === 0 ? true : undefined;
    });
    await expectVersionRemoved(cp, APP_NS, 'examples', 'v1', 'examples-v1');
    assert.deepEqual(versionsOf(await getObject(cp, 'workflowdeployment', APP_NS, 'examples')).map((v) => [v.version, v.state]), [
      ['v2', 'Current'],
    ]);
  });

  it('the operator did all of that as the chart\'s ServiceAccount, without one Forbidden answer', async (t) => {
    if (broken) return t.skip('an earlier step failed');
    const kubelet = kubelets[0];
    assert.ok(kubelet);
    const replicas = kubelet.replicaInfo(OPERATOR_NS, 'dtk');
    assert.equal(replicas.length, 2);
    for (const replica of replicas) {
      const log = readFileSync(replica.logPath, 'utf8');
      assert.doesNotMatch(log, /403 Forbidden|is forbidden/, `${replica.name} was refused a call:\n${log}`);
    }
    const leader = replicas.map((r) => readFileSync(r.logPath, 'utf8')).filter((log) => /controllers started/.test(log));
    assert.equal(leader.length, 1, 'exactly one replica led');
  });

  it('6. helm upgrade: a new release revision, the operator still leading and the hub and workers untouched', async (t) => {
    if (!(await step(t, 6))) return;
    assert.ok(await getObject(cp, 'secret', OPERATOR_NS, 'sh.helm.release.v1.dtk.v2'), 'helm recorded revision 2');
    await expectDeploymentReady(cp, OPERATOR_NS, 'dtk', 2);
    assert.equal(conditionOf(await getObject(cp, 'taskhub', APP_NS, 'orders'), 'Ready')?.status, 'True');
    assert.equal(conditionOf(await getObject(cp, 'workflowdeployment', APP_NS, 'examples'), 'Available')?.status, 'True');
  });

  it('7. cleanup: helm uninstall leaves only what the docs list as kept', async (t) => {
    if (!(await step(t, 7))) return;
    await expectReleaseGone(cp, 'dtk');
    await waitFor('the operator processes to stop', async () =>
      kubelets[0]?.replicaInfo(OPERATOR_NS, 'dtk').length === 0 ? true : undefined,
    );
    assert.equal(await getObject(cp, 'taskhub', APP_NS, 'orders'), undefined, 'the TaskHub finished deleting');
    assert.equal(await getObject(cp, 'workflowdeployment', APP_NS, 'examples'), undefined);
    // Worker Deployments go with their WorkflowDeployment through their owner reference: a real cluster's garbage
    // collector deletes them (this control plane has none, so they are checked for the reference instead).
    for (const d of await listObjects(cp, 'deployments', APP_NS)) {
      const owner = d.metadata.ownerReferences?.find((o) => o.kind === 'WorkflowDeployment');
      assert.equal(owner?.name, 'examples', `${d.metadata.name} is not owned by the deleted WorkflowDeployment`);
    }

    // What docs/operations.md says stays: the CRDs, the Lease, and what the default deletionPolicy Retain keeps.
    assert.ok(await getObject(cp, 'crd', undefined, 'taskhubs.durabletask.dev'), 'CRDs stay');
    assert.ok(await getObject(cp, 'secret', APP_NS, 'orders-connection'), 'Retain keeps the connection Secret');
    const secret = await getObject(cp, 'secret', APP_NS, 'orders-connection');
    const schema = Buffer.from(secret?.data?.schema ?? '', 'base64').toString();
    const user = Buffer.from(secret?.data?.user ?? '', 'base64').toString();
    const kept = await adminQuery('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    assert.equal(kept.rowCount, 1, `Retain keeps the hub schema ${schema}`);
    const role = await adminQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    assert.equal(role.rowCount, 1, `Retain keeps the hub role ${user}`);
    assert.ok(await getObject(cp, 'lease', OPERATOR_NS, 'dtk-leader'), 'the leader Lease stays (the operator made it)');
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await adminQuery(`DROP ROLE IF EXISTS "${user}"`);
  });
});
