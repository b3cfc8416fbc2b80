import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandForImage, validateKubeletConfig } from '../harness/kubelet/index.ts';
import { expandReferences } from '../harness/kubelet/env.ts';

describe('local kubelet configuration', () => {
  const config = validateKubeletConfig({
    images: {
      'dtk/operator:*': { command: ['node', 'operator/src/main.ts'] },
      'dtk/worker:v?': { command: ['node', 'examples/worker.ts'], args: ['--fast'] },
      '*': { command: ['false'] },
    },
  });

  it('maps an image to the first glob that matches all of it', () => {
    assert.deepEqual(commandForImage(config, 'dtk/operator:0.1.0')?.command, ['node', 'operator/src/main.ts']);
    assert.deepEqual(commandForImage(config, 'dtk/worker:v2')?.args, ['--fast']);
    assert.deepEqual(commandForImage(config, 'dtk/worker:v10')?.command, ['false'], '? is exactly one character');
    assert.deepEqual(commandForImage(config, 'registry.example/dtk/operator:1')?.command, ['false'], 'globs match the whole reference');
  });

  it('lists every problem of a bad config at once', () => {
    assert.throws(
      () => validateKubeletConfig({ images: { a: { command: [] }, b: { command: ['x'], env: { N: 1 } }, c: 'nope' } }),
      (err: Error) =>
        /images\["a"\]\.command/.test(err.message) && /images\["b"\]\.env/.test(err.message) && /images\["c"\]/.test(err.message),
    );
  });

  it('expands $(NAME) like Kubernetes: known names, unknown ones kept, $$ escapes', () => {
    const env = { A: 'one', B: 'two' };
    assert.equal(expandReferences('$(A)-$(B)', env), 'one-two');
    assert.equal(expandReferences('$(MISSING)', env), '$(MISSING)');
    assert.equal(expandReferences('$$(A)', env), '$(A)');
  });
});
