import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useControlPlane } from '../harness/cluster/index.ts';

describe('the test control plane', () => {
  it('answers /readyz within 30 s of start', async () => {
    const cp = await useControlPlane();
    process.stderr.write(`control plane ready in ${cp.readyMs} ms at ${cp.server}\n`);
    assert.ok(cp.readyMs < 30_000, `readyz took ${cp.readyMs} ms`);
    const readyz = await cp.kubectl(['get', '--raw', '/readyz']);
    assert.equal(readyz.stdout.trim(), 'ok', readyz.stderr);
  });

  it('is the pinned Kubernetes release, reached by the built kubectl', async () => {
    const cp = await useControlPlane();
    const version = await cp.kubectl(['version', '-o', 'json']);
    assert.equal(version.code, 0, version.stderr);
    const parsed = JSON.parse(version.stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    assert.equal(parsed.serverVersion.gitVersion, 'v1.37.2');
    assert.equal(parsed.clientVersion.gitVersion, 'v1.37.2');
  });

  it('authorizes with RBAC: the admin may do anything, a stranger nothing', async () => {
    const cp = await useControlPlane();
    const admin = await cp.kubectl(['auth', 'can-i', 'delete', 'secrets', '--all-namespaces']);
    assert.equal(admin.stdout.trim(), 'yes');
    const stranger = await cp.kubectl(['auth', 'can-i', 'get', 'secrets', '--as=someone']);
    assert.equal(stranger.stdout.trim(), 'no');
  });
});
