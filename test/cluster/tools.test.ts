import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkGoModPins } from '../harness/tools/build.ts';
import { componentDir, readVersions, toolPath, toolsCacheDir } from '../harness/tools/versions.ts';

describe('tool pins and lookup', () => {
  it('keeps every tools go.mod on the version versions.json pins', () => {
    assert.doesNotThrow(() => checkGoModPins());
  });

  it('caches each component under <cache>/<component>-<version>', () => {
    const { version } = readVersions().go.kubernetes!;
    assert.equal(componentDir('kubernetes'), join(toolsCacheDir(), `kubernetes-${version}`));
    assert.equal(toolPath('helm'), join(componentDir('helm'), 'helm'));
  });

  it('takes kube-apiserver, etcd and kubectl from KUBEBUILDER_ASSETS when it has them, and nothing else', () => {
    const assets = mkdtempSync(join(tmpdir(), 'dtk-assets-'));
    const saved = process.env.KUBEBUILDER_ASSETS;
    try {
      writeFileSync(join(assets, 'etcd'), '');
      writeFileSync(join(assets, 'helm'), '');
      process.env.KUBEBUILDER_ASSETS = assets;
      assert.equal(toolPath('etcd'), join(assets, 'etcd'));
      assert.equal(toolPath('kube-apiserver'), join(componentDir('kubernetes'), 'kube-apiserver'), 'absent there: use ours');
      assert.equal(toolPath('helm'), join(componentDir('helm'), 'helm'), 'helm is not an envtest asset');
    } finally {
      if (saved === undefined) delete process.env.KUBEBUILDER_ASSETS;
      else process.env.KUBEBUILDER_ASSETS = saved;
      rmSync(assets, { recursive: true, force: true });
    }
  });
});
