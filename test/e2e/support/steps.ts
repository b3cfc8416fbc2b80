/**
 * The user's steps and the assertions e2e stories are written with: deploy a hub and workers, start
 * orchestrations with the CLI or the client, change the template, and expect what the user would check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TaskHubClient } from '../../../worker/src/client/index.ts';
import type { VersionInfo } from '../../../worker/src/client/index.ts';
import type { TaskHubSpec, WorkflowDeploymentSpec } from '../../../operator/src/crds/index.ts';
import type { Deployment } from '../../../operator/src/runtime/objects.ts';
import { DEPLOYMENTS, TASKHUBS } from '../../../operator/src/runtime/resources.ts';
import { deploymentName } from '../../../operator/src/workflowdeployment/deployments.ts';
import { eventually, ROOT } from '../../../operator/test/support/cluster.ts';
import { connectionOf, createTaskHub, expectHubCondition, externalHub } from '../../../operator/test/support/hubs.ts';
import { createWorkflowDeployment, patchSpec } from '../../../operator/test/support/workflows.ts';
import type { WdRef } from '../../../operator/test/support/workflows.ts';
import type { E2e } from './env.ts';
import { IMAGES } from './env.ts';

/** A Ready hub and a client connected to it as the hub role. */
export interface Hub {
  name: string;
  uri: string;
  schema: string;
  client: TaskHubClient;
}

/** Creates a TaskHub on the test Postgres and waits (10 s at most) until it is Ready. */
export async function deployHub(e2e: E2e, name: string, spec: Partial<TaskHubSpec> = {}): Promise<Hub> {
  await createTaskHub(e2e.client, e2e.namespace, name, { ...externalHub('pg-admin'), deletionPolicy: 'Delete', ...spec });
  await expectHubCondition(e2e.client, e2e.namespace, name, { status: 'True' }, 10_000);
  const conn = await connectionOf(e2e.client, e2e.namespace, name);
  return { name, uri: conn.uri ?? '', schema: conn.schema ?? '', client: new TaskHubClient({ hubUrl: conn.uri, schema: conn.schema }) };
}

/** Deletes a hub (its deletionPolicy decides what happens to the data) and waits until it is gone. */
export async function deleteHub(e2e: E2e, hub: Hub | string): Promise<void> {
  const name = typeof hub === 'string' ? hub : hub.name;
  if (typeof hub !== 'string') await hub.client.close();
  await e2e.client.delete(TASKHUBS, e2e.namespace, name);
  await eventually(`TaskHub ${name} deleted`, async () => ((await e2e.client.get(TASKHUBS, e2e.namespace, name)) ? undefined : true), {
    timeoutMs: 20_000,
  });
}

/** The worker pod template of the e2e image, tagged `tag` (a new tag is a new template). */
export function workerTemplate(tag: string): WorkflowDeploymentSpec['template'] {
  return {
    spec: {
      terminationGracePeriodSeconds: 15,
      containers: [
        {
          name: 'worker',
          image: IMAGES.worker.replace(/:.*$/, `:${tag}`),
          env: [
            { name: 'DTK_POLL_INTERVAL_MS', value: '200' },
            { name: 'DTK_SHUTDOWN_GRACE_MS', value: '5000' },
            { name: 'DTK_LOG_LEVEL', value: 'warn' },
          ],
        },
      ],
    },
  };
}

/** Creates the WorkflowDeployment of `hub`. */
export function deployWorkers(e2e: E2e, hub: Hub, name: string, spec: Omit<WorkflowDeploymentSpec, 'hubRef'>): Promise<WdRef> {
  return createWorkflowDeployment(e2e.client, e2e.namespace, name, { hubRef: { name: hub.name }, ...spec });
}

/** Changes the template to a new version (what `kubectl apply` of an edited manifest does). */
export function rollOut(wd: WdRef, version: string, extra: Partial<WorkflowDeploymentSpec> = {}): Promise<void> {
  return patchSpec(wd, { version, template: workerTemplate(version), ...extra });
}

/** Waits until `count` worker processes of the version run and its Deployment reports them ready. */
export async function expectWorkersReady(e2e: E2e, wd: WdRef, version: string, count: number, timeoutMs = 30_000): Promise<void> {
  await eventually(`Deployment of ${version}`, () => e2e.client.get<Deployment>(DEPLOYMENTS, e2e.namespace, deploymentName(wd.name, version)), {
    timeoutMs,
  });
  await e2e.kubelet.waitForReady(e2e.namespace, deploymentName(wd.name, version), count, timeoutMs);
}

/** Runs the dtk CLI of this checkout against the hub. */
export function dtk(hub: Hub, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'cli/bin/dtk.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DTK_HUB_URL: hub.uri, DTK_HUB_SCHEMA: hub.schema, DTK_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The hub's routing table in one line, e.g. `v1:Draining(3) v2:Current`. */
export function describeRouting(versions: VersionInfo[]): string {
  return versions
    .map((v) => `${v.version}:${v.state}${v.state === 'Ramping' ? `@${v.rampPercent}` : ''}${v.runningInstances ? `(${v.runningInstances})` : ''}`)
    .join(' ');
}

/** Waits until the hub routes new starts to `version` (all of them). */
export async function expectNewStartsGoTo(hub: Hub, version: string, timeoutMs = 30_000): Promise<void> {
  let last = '';
  await eventually(
    `new starts to go to ${version}`,
    async () => {
      const versions = await hub.client.listVersions();
      last = describeRouting(versions);
      const current = versions.find((v) => v.state === 'Current')?.version;
      return current === version && !versions.some((v) => v.state === 'Ramping') ? true : undefined;
    },
    { timeoutMs, describe: () => last },
  );
}

/** Asserts every instance finished Completed on `version`. */
export async function expectAllCompletedOn(hub: Hub, ids: string[], version: string, timeoutMs = 60_000): Promise<void> {
  const states = await Promise.all(ids.map((id) => hub.client.waitForOrchestrationCompletion(id, { timeoutMs })));
  const wrong = states.filter((s) => s.status !== 'Completed' || s.version !== version);
  assert.deepEqual(
    wrong.map((s) => `${s.instanceId} ${s.status} on ${s.version}${s.failure ? `: ${s.failure.message}` : ''}`),
    [],
    `every instance must complete on ${version}`,
  );
}
