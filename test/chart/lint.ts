/**
 * `npm run lint:chart`: helm lint --strict and ct lint (yamale + yamllint) on charts/dtk, a render of each
 * ci/*-values.yaml, and a check that charts/dtk/crds are the generator's. Prints one line per check and the output
 * of the ones that failed; exits 1 if any failed.
 */
import { lintChart } from './chart.ts';

const started = Date.now();
const steps = await lintChart();
for (const step of steps) {
  process.stdout.write(`${step.ok ? 'ok  ' : 'FAIL'} ${step.name} (${step.ms} ms)\n`);
  if (!step.ok) process.stdout.write(`${step.output.trimEnd().replace(/^/gm, '     ')}\n`);
}
const failed = steps.filter((s) => !s.ok).length;
process.stdout.write(`${steps.length - failed}/${steps.length} chart checks passed in ${Date.now() - started} ms\n`);
process.exitCode = failed === 0 ? 0 : 1;
