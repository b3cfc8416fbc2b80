/** Chart helpers that need an API server: installing the chart's CRDs, dry-running rendered objects. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ControlPlane } from '../harness/cluster/index.ts';
import type { RunResult } from '../harness/tools/run.ts';
import { CHART_DIR } from './chart.ts';

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
