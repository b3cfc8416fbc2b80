/**
 * Helpers for testing charts/dtk with the pinned helm and ct: lint, render with values, parse the rendered
 * objects. `npm run lint:chart` (test/chart/lint.ts) and the chart tests under test/cluster/ share them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { renderCrds } from '../../operator/src/crds/generate.ts';
import { chartCrdPaths } from '../../scripts/sync-chart-crds.ts';
import { ensureCtPath, ensureTools } from '../harness/tools/build.ts';
import { run } from '../harness/tools/run.ts';
import type { RunResult } from '../harness/tools/run.ts';
import { TOOLS_DIR } from '../harness/tools/versions.ts';
import { REPO_ROOT } from './images.ts';

/** The chart under test. */
export const CHART_DIR = join(REPO_ROOT, 'charts', 'dtk');

/** A rendered Kubernetes object, loosely typed: tests narrow what they look at. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** How to render: a release name and namespace, values files and inline values. */
export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Paths of values files, applied in order. */
  valuesFiles?: string[];
  /** Values given inline; written to a temporary file applied after valuesFiles. */
  values?: Record<string, unknown>;
  /** Also render the CRDs in crds/ (helm template --include-crds). */
  includeCrds?: boolean;
  chart?: string;
}

/** The `ci/*-values.yaml` files, each a configuration that must lint, render and be accepted by an API server. */
export function ciValuesFiles(chart = CHART_DIR): string[] {
  return readdirSync(join(chart, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => join(chart, 'ci', f));
}

/** Path of the pinned helm, built on first use. */
export async function helmPath(): Promise<string> {
  return (await ensureTools(['helm'])).helm;
}

async function withValuesFile<T>(values: Record<string, unknown> | undefined, body: (args: string[]) => Promise<T>): Promise<T> {
  if (!values) return body([]);
  const dir = mkdtempSync(join(tmpdir(), 'dtk-values-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    return await body(['-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template`, returning what helm printed; callers check `code`. */
export async function helmTemplate(options: RenderOptions = {}): Promise<RunResult> {
  const helm = await helmPath();
  return withValuesFile(options.values, (inline) =>
    run(helm, [
      'template',
      options.release ?? 'dtk',
      options.chart ?? CHART_DIR,
      '--namespace',
      options.namespace ?? 'dtk-system',
      ...(options.includeCrds ? ['--include-crds'] : []),
      ...(options.valuesFiles ?? []).flatMap((f) => ['-f', f]),
      ...inline,
    ]),
  );
}

/** Renders the chart and parses every object; throws with helm's message when rendering fails. */
export async function renderObjects(options: RenderOptions = {}): Promise<K8sObject[]> {
  const result = await helmTemplate(options);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseObjects(result.stdout);
}

/** Parses a multi-document YAML stream into objects, skipping empty documents. */
export function parseObjects(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** The one object of a kind (and name, when given); throws listing what there is otherwise. */
export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${matches.length} among: ${have}`);
  }
  return matches[0] as K8sObject;
}

/** `helm lint --strict`, with an optional values file. */
export async function helmLint(valuesFile?: string, chart = CHART_DIR): Promise<RunResult> {
  return run(await helmPath(), ['lint', '--strict', chart, ...(valuesFile ? ['-f', valuesFile] : [])]);
}

/**
 * `ct lint` with the repository's ct configuration: Chart.yaml against the chart schema (yamale), Chart.yaml and
 * values.yaml through yamllint, and helm lint once per ci/*-values.yaml.
 */
export async function ctLint(chart = CHART_DIR): Promise<RunResult> {
  const PATH = await ensureCtPath();
  const ctDir = join(TOOLS_DIR, 'ct');
  return run(
    'ct',
    [
      'lint',
      '--config', join(ctDir, 'ct.yaml'),
      '--lint-conf', join(ctDir, 'lintconf.yaml'),
      '--chart-yaml-schema', join(ctDir, 'chart_schema.yaml'),
      '--charts', chart,
    ],
    { env: { ...process.env, PATH }, timeoutMs: 180_000, cwd: REPO_ROOT },
  );
}

/** Whether the chart's CRDs are what the operator's generator renders, as a command-like result. */
function crdCopiesResult(): RunResult {
  const rendered = renderCrds();
  const stale = (Object.entries(chartCrdPaths()) as [keyof typeof rendered, string][])
    .filter(([key, path]) => !existsSync(path) || readFileSync(path, 'utf8') !== rendered[key])
    .map(([, path]) => path);
  const stderr = stale.length ? `stale: ${stale.join(', ')}; run npm run crds:generate && npm run chart:sync-crds\n` : '';
  return { code: stale.length ? 1 : 0, signal: null, stdout: '', stderr };
}

/** One check of `lintChart`, for the report. */
export interface LintStep {
  name: string;
  ok: boolean;
  output: string;
  ms: number;
}

/**
 * Everything `npm run lint:chart` checks: helm lint --strict with the defaults and with each CI values file,
 * ct lint, helm template with each CI values file, and that the chart's CRDs are the generator's.
 */
export async function lintChart(chart = CHART_DIR): Promise<LintStep[]> {
  const steps: LintStep[] = [];
  const step = async (name: string, body: () => Promise<RunResult>) => {
    const t0 = Date.now();
    const result = await body();
    steps.push({ name, ok: result.code === 0, output: `${result.stdout}${result.stderr}`, ms: Date.now() - t0 });
  };
  await step('helm lint --strict (default values)', () => helmLint(undefined, chart));
  for (const file of ciValuesFiles(chart)) {
    const rel = file.slice(chart.length + 1);
    await step(`helm lint --strict -f ${rel}`, () => helmLint(file, chart));
    await step(`helm template -f ${rel}`, () => helmTemplate({ chart, valuesFiles: [file], includeCrds: true }));
  }
  await step('ct lint (yamale, yamllint, helm lint per ci values)', () => ctLint(chart));
  if (chart === CHART_DIR) await step('charts/dtk/crds equal the CRD generator', async () => crdCopiesResult());
  return steps;
}
