import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Watch } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';

const CRD = join(import.meta.dirname, 'fixtures', 'widget-crd.yaml');

function widget(namespace: string, name: string, minReplicas: number, maxReplicas: number): string {
  return stringify({
    apiVersion: 'harness.dtk.test/v1',
    kind: 'Widget',
    metadata: { name, namespace },
    spec: { minReplicas, maxReplicas },
  });
}

describe('a CRD with a CEL rule, applied with the built kubectl', () => {
  it('rejects an object that breaks the rule with its message, and stores and watches a valid one', async () => {
    const cp = await useControlPlane();
    const applied = await cp.kubectl(['apply', '-f', CRD]);
    assert.equal(applied.code, 0, applied.stderr);
    const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.harness.dtk.test']);
    assert.equal(established.code, 0, established.stderr);

    await withNamespace(cp, async (namespace) => {
      const seen: string[] = [];
      let sawValid: () => void = () => {};
      const watched = new Promise<void>((resolve) => (sawValid = resolve));
      // A just-established CRD's watch cache may still be initialising; the server then answers 429 and clients
      // retry, as kubectl and informers do.
      let watch: AbortController | undefined;
      let closed = false;
      const startWatch = async (): Promise<void> => {
        watch = await new Watch(cp.kubeConfig).watch(
          `/apis/harness.dtk.test/v1/namespaces/${namespace}/widgets`,
          {},
          (phase: string, object: { metadata?: { name?: string } }) => {
            seen.push(`${phase} ${object.metadata?.name}`);
            if (phase === 'ADDED' && object.metadata?.name === 'good') sawValid();
          },
          (err: unknown) => {
            if (!closed && err) setTimeout(() => void startWatch(), 200);
          },
        );
      };
      await startWatch();
      try {
        const bad = await cp.kubectl(['apply', '-f', '-'], { input: widget(namespace, 'bad', 5, 1) });
        assert.notEqual(bad.code, 0, 'an object breaking the CEL rule must be rejected');
        assert.match(bad.stderr, /minReplicas must not exceed maxReplicas/);

        const good = await cp.kubectl(['apply', '-f', '-'], { input: widget(namespace, 'good', 1, 5) });
        assert.equal(good.code, 0, good.stderr);
        await Promise.race([
          watched,
          new Promise((_, reject) => setTimeout(() => reject(new Error(`watch saw only ${seen.join(', ')}`)), 10_000)),
        ]);
        assert.deepEqual(seen, ['ADDED good'], 'the rejected object must never have been stored');

        const got = await cp.kubectl(['get', 'wdg', 'good', '-n', namespace, '-o', 'jsonpath={.spec.maxReplicas}']);
        assert.equal(got.stdout, '5');
      } finally {
        closed = true;
        watch?.abort();
      }
    });
  });
});
