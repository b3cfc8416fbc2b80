/**
 * Runs README shell blocks the way a user would paste them into bash: one shell per block, so `export`s carry to
 * the next line, stopping at the first failing command. Each line's output is kept apart for the assertions.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../harness/tools/run.ts';
import { REPO_ROOT } from './images.ts';

/** What one command line printed. */
export interface LineResult {
  line: string;
  output: string;
  /** False when the line was not run (see ShellOptions.skip). */
  ran: boolean;
}

/** Where and with what the shell runs. */
export interface ShellOptions {
  cwd: string;
  /** The environment; variables a block exports are added to it, as they would stay in a user's terminal. */
  env: NodeJS.ProcessEnv;
  /** Text replacements applied to every line before it runs (namespace names, the Postgres URI, extra flags). */
  rewrite: (line: string) => string;
  /** Lines that are not run, such as `--watch`, which never ends; the test checks their effect itself. */
  skip?: (line: string) => boolean;
  timeoutMs?: number;
}

const MARK = '@@dtk-line@@';

// Variables bash sets for itself, which must not leak from one block into the next.
const SHELL_OWN = new Set(['_', 'PWD', 'OLDPWD', 'SHLVL', 'BASH_EXECUTION_STRING']);

/**
 * Runs a block of lines in one bash process with `set -eo pipefail`, so exported variables persist and the first
 * failure stops the block. Throws naming the failing line and its output.
 */
export async function runBlock(lines: string[], options: ShellOptions): Promise<LineResult[]> {
  const script = ['set -eo pipefail'];
  lines.forEach((line, i) => {
    if (options.skip?.(line)) return;
    script.push(`printf '\\n${MARK}%d\\n' ${i}`, options.rewrite(line));
  });
  const envFile = join(options.cwd, '.env-after-block');
  script.push(`env -0 > '${envFile}'`);
  const result = await run('bash', ['-c', script.join('\n')], {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs ?? 300_000,
  });
  if (result.code === 0) {
    for (const entry of readFileSync(envFile, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      const name = entry.slice(0, eq);
      if (eq > 0 && !SHELL_OWN.has(name)) options.env[name] = entry.slice(eq + 1);
    }
    rmSync(envFile, { force: true });
  }
  const outputs = new Map<number, string>();
  for (const part of result.stdout.split(`\n${MARK}`).slice(1)) {
    const newline = part.indexOf('\n');
    outputs.set(Number(part.slice(0, newline)), part.slice(newline + 1));
  }
  const results = lines.map((line, i) => ({ line, output: outputs.get(i) ?? '', ran: outputs.has(i) }));
  if (result.code !== 0) {
    const last = results.filter((r) => r.ran).at(-1);
    throw new Error(
      `README command failed (exit ${result.code ?? result.signal}): ${last ? options.rewrite(last.line) : '(before the first line)'}\n` +
        `stdout:\n${last?.output ?? result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return results;
}

/**
 * A folder for running the README from: its YAML files written out, `charts` linked to the checkout's, and a bin
 * folder where `node` is the repository's Node 24 and `npx dtk` runs this checkout's CLI (what `npx dtk` does
 * inside the checkout, without asking the registry).
 */
export function prepareWorkdir(dir: string, files: Map<string, string>): { binDir: string } {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  symlinkSync(join(REPO_ROOT, 'charts'), join(dir, 'charts'));
  const binDir = join(dir, '.bin');
  mkdirSync(binDir);
  symlinkSync(process.execPath, join(binDir, 'node'));
  const npx = [
    '#!/bin/sh',
    '# Test stand-in for `npx dtk` in the dtk checkout.',
    'if [ "$1" != dtk ]; then echo "npx stand-in: only dtk is available" >&2; exit 127; fi',
    'shift',
    `exec "${process.execPath}" "${join(REPO_ROOT, 'cli', 'bin', 'dtk.ts')}" "$@"`,
    '',
  ].join('\n');
  writeFileSync(join(binDir, 'npx'), npx, { mode: 0o755 });
  return { binDir };
}

/** PATH with the stand-ins first, then the folders of the given tools, then the host's. */
export function toolPath(binDir: string, tools: string[]): string {
  return [binDir, ...tools.map((t) => dirname(t)), process.env.PATH ?? ''].join(':');
}
