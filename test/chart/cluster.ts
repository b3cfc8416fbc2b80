/** Chart helpers that need an API server: installing the chart's CRDs, dry-running rendered objects. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ControlPlane } from '../harness/cluster/index.ts';
import { run } from '../harness/tools/run.ts';
import type { RunResult } from '../harness/tools/run.ts';
import { CHART_DIR, helmPath } from './chart.ts';

/** The stand-in ServiceMonitor CRD (see the file for why). */
export const SERVICEMONITOR_CRD = join(import.meta.dirname, 'fixtures', 'servicemonitor-crd.yaml');

/**
 * Creates the chart's CRDs (and, optionally, the ServiceMonitor stand-in) unless they exist, and waits until they
 * are served. Existing CRDs are left alone: other test files of the same run may be using them, and
 * test/cluster/chart-crds.test.ts already proves the chart's copies equal the generator's.
 */
export async function ensureChartCrds(cp: ControlPlane, options: { serviceMonitor?: boolean } = {}): Promise<void> {
  const files = [join(CHART_DIR, 'crds'), ...(options.serviceMonitor ? [SERVICEMONITOR_CRD] : [])];
  for (const file of files) {
    const created = await cp.kubectl(['create', '-f', file]);
    const onlyExisting = created.stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .every((l) => /AlreadyExists|already exists/.test(l));
    assert.ok(created.code === 0 || onlyExisting, `creating ${file}: ${created.stderr}`);
  }
  const names = ['crd/taskhubs.durabletask.dev', 'crd/workflowdeployments.durabletask.dev'];
  if (options.serviceMonitor) names.push('crd/servicemonitors.monitoring.coreos.com');
  const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
  assert.equal(established.code, 0, established.stderr);
}

/** Labels a namespace so Pod Security admission enforces (and warns about) the "restricted" level. */
export async function enforceRestricted(cp: ControlPlane, namespace: string): Promise<void> {
  const labelled = await cp.kubectl([
    'label',
    'namespace',
    namespace,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/warn=restricted',
    '--overwrite',
  ]);
  assert.equal(labelled.code, 0, labelled.stderr);
}

/** `kubectl apply --dry-run=server` of a YAML stream: every admission step runs, nothing is stored. */
export function dryRunApply(cp: ControlPlane, yaml: string): Promise<RunResult> {
  return cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: yaml });
}

/**
 * `helm install --dry-run=server`: what `helm install` would print, NOTES included (helm template leaves NOTES out),
 * with the API server validating every object. Returns the NOTES text.
 */
export async function installNotes(cp: ControlPlane, namespace: string, set: string[] = []): Promise<string> {
  const result = await run(
    await helmPath(),
    ['install', 'dtk', CHART_DIR, '--namespace', namespace, '--dry-run=server', ...set.flatMap((s) => ['--set', s])],
    { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath } },
  );
  assert.equal(result.code, 0, result.stderr);
  const at = result.stdout.indexOf('\nNOTES:\n');
  assert.ok(at >= 0, `no NOTES in:\n${result.stdout}`);
  return result.stdout.slice(at + '\nNOTES:\n'.length);
}

/** The YAML documents NOTES shows as `kubectl apply -f - <<'YAML' ... YAML`, without their indentation. */
export function heredocs(notes: string): string[] {
  return [...notes.matchAll(/<<'YAML'\n([\s\S]*?)\n\s*YAML\n/g)].map((m) => {
    const lines = (m[1] ?? '').split('\n');
    const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)?.[0].length ?? 0));
    return lines.map((l) => l.slice(indent)).join('\n');
  });
}
