/**
 * The chart's RBAC, applied to the test API server, grants the operator's ServiceAccount each call its reconcilers
 * make and nothing around them. The user-path e2e test runs the operator under this ServiceAccount too; this table
 * also covers the calls that path does not reach (managed Postgres, deletion with deletionPolicy Delete).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { helmTemplate } from '../chart/chart.ts';
import { ensureChartCrds } from '../chart/cluster.ts';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';

/** [verb, resource] the operator needs in a watched namespace. */
const NEEDED: [string, string][] = [
  ...['get', 'list', 'watch', 'patch'].flatMap((v) => [
    [v, 'taskhubs.durabletask.dev'] as [string, string],
    [v, 'workflowdeployments.durabletask.dev'] as [string, string],
  ]),
  ['patch', 'taskhubs.durabletask.dev/status'],
  ['patch', 'workflowdeployments.durabletask.dev/status'],
  ['update', 'taskhubs.durabletask.dev/finalizers'],
  ['update', 'workflowdeployments.durabletask.dev/finalizers'],
  ...['list', 'watch', 'create', 'patch', 'delete'].map((v) => [v, 'deployments.apps'] as [string, string]),
  ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => [v, 'statefulsets.apps'] as [string, string]),
  ...['get', 'create', 'patch', 'delete'].map((v) => [v, 'services'] as [string, string]),
  ['delete', 'persistentvolumeclaims'],
  ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => [v, 'secrets'] as [string, string]),
  ['create', 'events'],
  ['patch', 'events'],
];

/** Calls the operator never makes: granting them would widen what a compromised operator could do. */
const REFUSED: [string, string][] = [
  ['create', 'taskhubs.durabletask.dev'],
  ['delete', 'workflowdeployments.durabletask.dev'],
  ['update', 'taskhubs.durabletask.dev'],
  ['get', 'pods'],
  ['create', 'pods/exec'],
  ['get', 'configmaps'],
  ['update', 'secrets'],
  ['create', 'persistentvolumeclaims'],
  ['create', 'roles.rbac.authorization.k8s.io'],
  ['create', 'rolebindings.rbac.authorization.k8s.io'],
  ['create', 'leases.coordination.k8s.io'],
  ['delete', 'namespaces'],
];

describe('charts/dtk RBAC for the operator ServiceAccount', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await useControlPlane();
    // kubectl resolves resource names through discovery, so the dtk kinds must be served.
    await ensureChartCrds(cp);
  });

  async function canI(as: string, verb: string, resource: string, namespace: string, name?: string): Promise<boolean> {
    const [kind = '', subresource] = resource.split('/');
    const args = ['auth', 'can-i', verb, name ? `${kind}/${name}` : kind, '--as', as, '-n', namespace];
    if (subresource) args.push(`--subresource=${subresource}`);
    const result = await cp.kubectl(args);
    if (result.code !== 0 && result.stdout.trim() !== 'no') throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim() === 'yes';
  }

  it('grants every call of the reconcilers in any namespace, and the Lease only in its own', async () => {
    await withNamespace(cp, async (release) => {
      await withNamespace(cp, async (apps) => {
        const rendered = await helmTemplate({ release: 'rbac', namespace: release });
        assert.equal(rendered.code, 0, rendered.stderr);
        const applied = await cp.kubectl(['apply', '-f', '-'], { input: rendered.stdout });
        assert.equal(applied.code, 0, applied.stderr);
        const sa = `system:serviceaccount:${release}:rbac-dtk`;
        try {
          const missing: string[] = [];
          for (const [verb, resource] of NEEDED) if (!(await canI(sa, verb, resource, apps))) missing.push(`${verb} ${resource}`);
          assert.deepEqual(missing, [], 'needed and not granted');
          const granted: string[] = [];
          for (const [verb, resource] of REFUSED) if (await canI(sa, verb, resource, apps)) granted.push(`${verb} ${resource}`);
          assert.deepEqual(granted, [], 'granted and never used');

          assert.ok(await canI(sa, 'create', 'leases.coordination.k8s.io', release));
          for (const verb of ['get', 'update']) {
            assert.ok(await canI(sa, verb, 'leases.coordination.k8s.io', release, 'rbac-dtk-leader'), `${verb} its Lease`);
            assert.ok(!(await canI(sa, verb, 'leases.coordination.k8s.io', release, 'someone-elses')), `${verb} another Lease`);
          }
        } finally {
          await cp.kubectl(['delete', 'clusterrole,clusterrolebinding', 'rbac-dtk', '--ignore-not-found']);
        }
      });
    });
  });

  it('with operator.watchNamespace, grants the same calls in that namespace and none elsewhere', async () => {
    await withNamespace(cp, async (release) => {
      await withNamespace(cp, async (apps) => {
        const rendered = await helmTemplate({ release: 'scoped', namespace: release, values: { operator: { watchNamespace: apps } } });
        assert.equal(rendered.code, 0, rendered.stderr);
        const applied = await cp.kubectl(['apply', '-f', '-'], { input: rendered.stdout });
        assert.equal(applied.code, 0, applied.stderr);
        const sa = `system:serviceaccount:${release}:scoped-dtk`;
        for (const [verb, resource] of NEEDED) assert.ok(await canI(sa, verb, resource, apps), `${verb} ${resource} in ${apps}`);
        for (const [verb, resource] of [['get', 'secrets'], ['patch', 'deployments.apps'], ['list', 'taskhubs.durabletask.dev']]) {
          assert.ok(!(await canI(sa, verb ?? '', resource ?? '', 'default')), `${verb} ${resource} outside the watched namespace`);
        }
      });
    });
  });
});
