/**
 * The chart installs exactly the CRDs the operator is generated from: charts/dtk/crds/ must equal what the CRD
 * generator renders (and what it wrote to crds/). When this fails, run `npm run crds:generate` and
 * `npm run chart:sync-crds`, and commit both.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { CRD_FILES, renderCrds } from '../../operator/src/crds/generate.ts';
import { CHART_CRDS_DIR, chartCrdPaths } from '../../scripts/sync-chart-crds.ts';
import { REPO_ROOT } from '../chart/images.ts';

describe('charts/dtk/crds', () => {
  it('holds one file per generated CRD and nothing else', () => {
    const expected = Object.values(CRD_FILES).map((f) => basename(f)).sort();
    assert.deepEqual(readdirSync(CHART_CRDS_DIR).sort(), expected);
  });

  it('equals the generator output byte for byte (run npm run chart:sync-crds after npm run crds:generate)', () => {
    const rendered = renderCrds();
    for (const [key, path] of Object.entries(chartCrdPaths()) as [keyof typeof CRD_FILES, string][]) {
      assert.equal(readFileSync(path, 'utf8'), rendered[key], `${path} is stale`);
    }
  });

  it('equals the CRDs in crds/ that the operator and its tests apply', () => {
    for (const [key, file] of Object.entries(CRD_FILES) as [keyof typeof CRD_FILES, string][]) {
      const source = join(REPO_ROOT, file);
      assert.ok(existsSync(source), `${file} is missing; run npm run crds:generate`);
      assert.equal(readFileSync(chartCrdPaths()[key], 'utf8'), readFileSync(source, 'utf8'), `${file} and the chart differ`);
    }
  });
});
