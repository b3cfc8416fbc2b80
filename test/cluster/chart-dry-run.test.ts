/**
 * The test API server accepts what charts/dtk renders, for each CI configuration, in a namespace that enforces
 * Pod Security "restricted": `helm template | kubectl apply --dry-run=server`, so schema validation and admission
 * run on every object while nothing is stored.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ciValuesFiles, findObject, helmTemplate, parseObjects } from '../chart/chart.ts';
import { dryRunApply, enforceRestricted, ensureChartCrds, heredocs, installNotes } from '../chart/cluster.ts';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';

/** A bare Pod made from a Deployment's template: Pod Security enforces on Pods, and only warns on Deployments. */
function podFromTemplate(deployment: Record<string, unknown>, namespace: string): string {
  const template = (deployment.spec as { template: { metadata: Record<string, unknown>; spec: Record<string, unknown> } })
    .template;
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...template.metadata, name: 'operator-pod-check', namespace },
    spec: template.spec,
  });
}

describe('charts/dtk on the test API server', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await useControlPlane();
    await ensureChartCrds(cp, { serviceMonitor: true });
  });

  it('refuses a root pod in a namespace enforcing "restricted" (so the acceptances below mean something)', async () => {
    await withNamespace(cp, async (ns) => {
      await enforceRestricted(cp, ns);
      const pod = stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'careless', namespace: ns },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      });
      const result = await dryRunApply(cp, pod);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /violates PodSecurity "restricted/);
    });
  });

  for (const file of ciValuesFiles()) {
    it(`accepts every object rendered with ${basename(file)}, without a Pod Security warning`, async () => {
      await withNamespace(cp, async (ns) => {
        await enforceRestricted(cp, ns);
        const rendered = await helmTemplate({ release: 'dtk', namespace: ns, valuesFiles: [file] });
        assert.equal(rendered.code, 0, rendered.stderr);
        const applied = await dryRunApply(cp, rendered.stdout);
        assert.equal(applied.code, 0, applied.stderr);
        assert.doesNotMatch(applied.stderr, /would violate PodSecurity/);
        const objects = parseObjects(rendered.stdout);
        const lines = applied.stdout.trim().split('\n');
        assert.equal(lines.length, objects.length, applied.stdout);
        assert.ok(lines.every((l) => l.endsWith('(server dry run)')), applied.stdout);

        const pod = podFromTemplate(findObject(objects, 'Deployment'), ns);
        const podResult = await dryRunApply(cp, pod);
        assert.equal(podResult.code, 0, `the operator pod must pass "restricted" enforcement:\n${podResult.stderr}`);
      });
    });
  }

  it('prints NOTES whose TaskHub the API server accepts, and which name the commands to run next', async () => {
    await withNamespace(cp, async (ns) => {
      const notes = await installNotes(cp, ns);
      assert.match(notes, new RegExp(`kubectl -n ${ns} rollout status deployment/dtk`));
      assert.match(notes, /get secret orders-connection/);
      const manifests = heredocs(notes);
      assert.equal(manifests.length, 1, notes);
      const manifest = `${manifests[0]}\n`.replace(/^metadata:\n/m, `metadata:\n  namespace: ${ns}\n`);
      const applied = await dryRunApply(cp, manifest);
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stdout, /taskhub\.durabletask\.dev\/orders created \(server dry run\)/);

      const sample = await installNotes(cp, ns, ['sampleHub.enabled=true', 'sampleHub.name=play']);
      assert.match(sample, new RegExp(`kubectl -n ${ns} wait taskhub/play --for=condition=Ready`));
      assert.match(sample, /get secret play-connection/);
      assert.equal(heredocs(sample).length, 0, 'the sample hub needs no manifest');
    });
  });
});
