/**
 * Helpers shared by the operator's cluster and e2e tests: apply the generated CRDs, apply objects with kubectl,
 * and poll until a condition holds with a message that says what was last seen.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { ControlPlane } from '../../../test/harness/cluster/index.ts';

/** Repository root. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');

let crdsApplied: Promise<void> | undefined;

/** Applies crds/ (once per process) and waits until both CRDs are Established. */
export function applyCrds(cp: ControlPlane): Promise<void> {
  crdsApplied ??= (async () => {
    const applied = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'crds')]);
    assert.equal(applied.code, 0, applied.stderr);
    const established = await cp.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/taskhubs.durabletask.dev',
      'crd/workflowdeployments.durabletask.dev',
    ]);
    assert.equal(established.code, 0, established.stderr);
  })();
  return crdsApplied;
}

/** `kubectl apply -f -` of one object; returns the exit code and output. */
export async function kubectlApply(cp: ControlPlane, obj: object, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await cp.kubectl(['apply', '-f', '-', ...extra], { input: stringify(obj) });
  return { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Polls `probe` until it returns a value other than undefined; fails after `timeoutMs` with `what` and the last
 * thing `describe` said (so a timeout explains itself).
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> | string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = options.describe ? await options.describe() : '';
      const error = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      assert.fail(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what}${error}${seen ? `; last seen: ${seen}` : ''}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}
