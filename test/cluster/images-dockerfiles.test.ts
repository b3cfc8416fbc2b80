/**
 * The Dockerfiles keep their promises: multi-stage builds on an exact Node 24 slim release, a non-root numeric
 * user, production dependencies only, and an entry point whose whole import graph is copied into the image.
 * No Docker here: the files are parsed and checked against the sources they copy.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { entrypoint, finalStage, parseDockerfile, stageByRef, stageEnv } from '../chart/dockerfile.ts';
import type { Dockerfile, Stage } from '../chart/dockerfile.ts';
import {
  contextCopies,
  contextIncludes,
  DOCKERFILES,
  importClosure,
  packageJson,
  readDockerignore,
  REPO_ROOT,
  repoPathOf,
} from '../chart/images.ts';

const files = Object.fromEntries(
  Object.entries(DOCKERFILES).map(([image, path]) => [image, parseDockerfile(readFileSync(path, 'utf8'))]),
) as Record<keyof typeof DOCKERFILES, Dockerfile>;

/** An exact Node 24 release on Debian slim, optionally also pinned by digest. */
const PINNED_NODE = /^node:24\.\d+\.\d+-[a-z]+-slim(@sha256:[a-f0-9]{64})?$/;

/** Bases that are our own images, with the Dockerfile that builds each. */
const OWN_BASES: Record<string, keyof typeof DOCKERFILES> = { 'dtk/worker': 'worker' };

function externalBases(file: Dockerfile): string[] {
  return file.stages.map((s) => s.base).filter((base) => !stageByRef(file, base));
}

/** The user the image runs as: its final stage's last USER, or the one its base image (if ours) runs as. */
function effectiveUser(file: Dockerfile): string | undefined {
  const stage = finalStage(file);
  const user = stage.instructions.filter((i) => i.keyword === 'USER').at(-1);
  if (user) return user.args.trim();
  const own = OWN_BASES[stage.base.split(':')[0] ?? ''];
  return own ? effectiveUser(files[own]) : undefined;
}

function npmInstalls(stage: Stage) {
  return stage.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\s+(ci|install|i)\b/.test(i.args));
}

describe('images/*/Dockerfile', () => {
  it('build the operator and the worker base in stages, on an exact Node 24 slim release', () => {
    for (const image of ['operator', 'worker'] as const) {
      const file = files[image];
      assert.ok(file.stages.length >= 2, `${image}: a dependencies stage and a runtime stage`);
      for (const base of externalBases(file)) assert.match(base, PINNED_NODE, `${image}: base ${base} must be pinned`);
    }
  });

  it('start the examples image from the worker base image at a fixed tag, never latest', () => {
    const bases = externalBases(files.examples);
    assert.deepEqual(bases, ['dtk/worker:0.1.0']);
    const chart = readFileSync(join(REPO_ROOT, 'charts', 'dtk', 'Chart.yaml'), 'utf8');
    assert.match(chart, /^appVersion: "0\.1\.0"$/m, 'the worker tag follows the chart appVersion');
  });

  it('run every image as a numeric non-root user, so runAsNonRoot can verify it', () => {
    for (const [image, file] of Object.entries(files)) {
      const user = effectiveUser(file);
      assert.ok(user, `${image}: no USER in the final stage or its base`);
      const [uid, gid] = user.split(':');
      assert.match(uid ?? '', /^[1-9]\d*$/, `${image}: USER ${user} must be a numeric uid other than 0`);
      if (gid !== undefined) assert.match(gid, /^[1-9]\d*$/, `${image}: group ${gid} must be numeric and not 0`);
    }
  });

  it('put only production dependencies in the final stage', () => {
    const { dependencies, devDependencies } = packageJson();
    for (const image of ['operator', 'worker'] as const) {
      const file = files[image];
      const final = finalStage(file);
      assert.equal(stageEnv(final).NODE_ENV, 'production', `${image}: NODE_ENV=production in the final stage`);
      assert.deepEqual(npmInstalls(final), [], `${image}: the final stage installs nothing itself`);
      const moduleCopies = final.instructions.filter((i) => i.keyword === 'COPY' && /node_modules/.test(i.args));
      assert.equal(moduleCopies.length, 1, `${image}: node_modules comes from one place`);
      const from = moduleCopies[0]?.flags.from;
      assert.ok(from, `${image}: node_modules must come from the dependencies stage, not the build context`);
      const deps = stageByRef(file, from);
      assert.ok(deps, `${image}: no stage ${from}`);
      const installs = npmInstalls(deps);
      assert.equal(installs.length, 1, `${image}: one npm install in stage ${from}`);
      assert.match(installs[0]?.args ?? '', /\bnpm ci\b.*--omit=dev/, `${image}: npm ci --omit=dev from the lock file`);
      assert.match(installs[0]?.args ?? '', /--ignore-scripts/, `${image}: no install scripts run`);
      // The lock file decides what `npm ci --omit=dev` installs: prove no dev-only package would be needed.
      for (const name of Object.keys(devDependencies)) assert.ok(!(name in dependencies), `${name} is both`);
    }
  });

  it('copy every module their entry point imports, and import only production packages', () => {
    const { dependencies } = packageJson();
    const entries: [keyof typeof DOCKERFILES, string][] = [];
    for (const image of ['operator', 'worker'] as const) {
      const ep = entrypoint(finalStage(files[image]));
      assert.ok(ep, `${image}: ENTRYPOINT in exec form, so the process gets SIGTERM directly`);
      assert.equal(ep[0], 'node');
      entries.push([image, ep[1] ?? '']);
    }
    const examplesModule = stageEnv(finalStage(files.examples)).DTK_WORKER_MODULE;
    assert.ok(examplesModule, 'the examples image names its worker module');
    entries.push(['examples', examplesModule]);
    // The worker image also carries the `dtk` CLI, for `kubectl run` or `kubectl exec` against a hub.
    entries.push(['worker', '/opt/dtk/cli/bin/dtk.ts']);

    for (const [image, imagePath] of entries) {
      // The examples image inherits the worker image's files.
      const copies = [...(image === 'examples' ? contextCopies(files.worker) : []), ...contextCopies(files[image])];
      const entry = repoPathOf(copies, imagePath);
      assert.ok(entry, `${image}: nothing copies ${imagePath} into the image`);
      const closure = importClosure(entry);
      assert.deepEqual(closure.missing, [], `${image}: imports that resolve to no file`);
      for (const file of closure.files) {
        const inImage = copies.some((c) => file === c.repoPath || file.startsWith(`${c.repoPath}/`));
        assert.ok(inImage, `${image}: ${entry} imports ${file}, which the Dockerfile does not copy`);
      }
      for (const [name, importer] of closure.packages) {
        assert.ok(name in dependencies, `${image}: ${importer} imports ${name}, which is not a production dependency`);
      }
    }
  });

  it('copy only paths that exist and that .dockerignore lets into the build context', () => {
    const rules = readDockerignore();
    for (const [image, file] of Object.entries(files)) {
      const sources = [
        ...contextCopies(file).map((c) => c.repoPath),
        ...file.stages.flatMap((s) =>
          s.instructions
            .filter((i) => i.keyword === 'COPY' && !i.flags.from)
            .flatMap((i) => i.args.trim().split(/\s+/).slice(0, -1)),
        ),
      ];
      for (const source of new Set(sources)) {
        assert.ok(existsSync(join(REPO_ROOT, source)), `${image}: COPY ${source} names nothing in the repository`);
        assert.ok(contextIncludes(rules, source), `${image}: .dockerignore keeps ${source} out of the build context`);
      }
    }
  });

  it('keep dependencies, tests and local state out of the build context', () => {
    const rules = readDockerignore();
    for (const path of ['node_modules', 'node_modules/pg/package.json', '.git', '.dtk', 'test/unit', 'bench', 'worker/src/x.test.ts']) {
      assert.ok(!contextIncludes(rules, path), `.dockerignore must keep ${path} out`);
    }
    for (const path of ['package.json', 'package-lock.json', 'worker/src/main.ts', 'examples/all.ts']) {
      assert.ok(contextIncludes(rules, path), `.dockerignore must let ${path} in`);
    }
  });
});
