/**
 * `npm run chart:sync-crds`: copies the CRDs into charts/dtk/crds/, rendered by the same generator that writes
 * crds/ (`npm run crds:generate`), so the chart installs exactly the CRDs the operator validates against.
 * test/cluster/chart-crds.test.ts fails while the copies differ.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CRD_FILES, renderCrds } from '../operator/src/crds/generate.ts';

/** Folder of the chart's CRDs; Helm installs them before the templates and never upgrades them. */
export const CHART_CRDS_DIR = join(import.meta.dirname, '..', 'charts', 'dtk', 'crds');

/** Path in the chart of each generated CRD file, keyed like CRD_FILES. */
export function chartCrdPaths(): Record<keyof typeof CRD_FILES, string> {
  const entries = Object.entries(CRD_FILES).map(([key, file]) => [key, join(CHART_CRDS_DIR, basename(file))]);
  return Object.fromEntries(entries) as Record<keyof typeof CRD_FILES, string>;
}

/** Writes every chart CRD whose content differs from the generator's; returns the paths written. */
export function syncChartCrds(): string[] {
  const rendered = renderCrds();
  const written: string[] = [];
  mkdirSync(CHART_CRDS_DIR, { recursive: true });
  for (const [key, path] of Object.entries(chartCrdPaths()) as [keyof typeof CRD_FILES, string][]) {
    let before = '';
    try {
      before = readFileSync(path, 'utf8');
    } catch {
      // Not copied yet.
    }
    if (before === rendered[key]) continue;
    writeFileSync(path, rendered[key]);
    written.push(path);
  }
  return written;
}

if (import.meta.main) {
  const written = syncChartCrds();
  for (const path of Object.values(chartCrdPaths())) {
    process.stdout.write(`${path.slice(join(import.meta.dirname, '..').length + 1)}: ${written.includes(path) ? 'written' : 'unchanged'}\n`);
  }
}
