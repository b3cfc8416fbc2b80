/**
 * Builds the test tools pinned in test/harness/tools/versions.json (kube-apiserver, kubectl, etcd, helm, ct and the
 * Python venv ct needs) into the cache, skipping whatever is already there. Safe to run again at any time.
 *
 *   npm run tools:build            # everything missing
 *   npm run tools:build -- etcd    # only the named components
 */
import { buildAll, buildGoComponent, buildPythonComponent } from '../test/harness/tools/build.ts';
import type { BuildOutcome } from '../test/harness/tools/build.ts';
import { readVersions, toolsCacheDir } from '../test/harness/tools/versions.ts';

const log = (line: string) => process.stderr.write(`[tools] ${line}\n`);
const wanted = process.argv.slice(2);
const versions = readVersions();
const started = Date.now();
log(`cache: ${toolsCacheDir()}`);

let outcomes: BuildOutcome[];
try {
  if (wanted.length === 0) {
    outcomes = await buildAll(log);
  } else {
    outcomes = [];
    for (const name of wanted) {
      if (name in versions.go) outcomes.push(await buildGoComponent(name, log));
      else if (name in versions.python) outcomes.push(await buildPythonComponent(name, log));
      else throw new Error(`unknown component ${name}; known: ${[...Object.keys(versions.go), ...Object.keys(versions.python)].join(', ')}`);
    }
  }
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
}

for (const o of outcomes) {
  log(`${o.component.padEnd(12)} ${o.version.padEnd(30)} ${o.built ? `built in ${o.seconds.toFixed(1)}s` : 'cached'}  ${o.dir}`);
}
log(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
