/**
 * The replay engine must stay pure: no Node built-ins, no packages, nothing from the store,
 * runtime or client, and no ambient clocks, randomness or timers. Replay is only deterministic
 * if the code it runs cannot see the outside world. This test scans the folder's source.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const folder = join(import.meta.dirname, '../../../worker/src/orchestration');

/** Files below the folder, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Drops comments and string contents, so prose about `Date.now()` does not trip the check. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/`(?:[^`\\]|\\.)*`/g, '``');
}

/** Import specifiers (static, re-export and dynamic) in a file. */
function imports(text: string): string[] {
  const found: string[] = [];
  const fromClause = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(fromClause)) found.push(m[1] ?? '');
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  for (const m of text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  for (const m of text.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  return found;
}

/** Imports allowed from worker/src/orchestration: its own files and the shared error classes. */
function allowed(specifier: string): boolean {
  return /^\.\/[\w./-]+\.ts$/.test(specifier) || specifier === '../errors.ts';
}

const FORBIDDEN_CALLS: [RegExp, string][] = [
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/\bnew Date\s*\(\s*\)/, 'new Date() without arguments'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, 'timers'],
  [/\bprocess\./, 'process'],
  [/\bperformance\./, 'performance'],
  [/\bcrypto\./, 'crypto'],
  [/\bfetch\s*\(/, 'fetch'],
  [/\bimport\s*\(/, 'dynamic import'],
  [/\brequire\s*\(/, 'require'],
];

test('worker/src/orchestration imports only its own files and ../errors.ts', () => {
  const files = sources(folder);
  assert.ok(files.length >= 10, `expected the engine sources, found ${files.length}`);
  const problems: string[] = [];
  for (const file of files) {
    for (const specifier of imports(readFileSync(file, 'utf8'))) {
      if (!allowed(specifier)) problems.push(`${file.slice(folder.length + 1)} imports '${specifier}'`);
    }
  }
  assert.deepEqual(problems, [], 'the engine must not import Node built-ins, packages, store, runtime or client');
});

test('worker/src/orchestration uses no ambient time, randomness, timers or I/O', () => {
  const problems: string[] = [];
  for (const file of sources(folder)) {
    const text = code(readFileSync(file, 'utf8'));
    for (const [pattern, what] of FORBIDDEN_CALLS) {
      if (pattern.test(text)) problems.push(`${file.slice(folder.length + 1)} uses ${what}`);
    }
  }
  assert.deepEqual(problems, [], 'take time, ids and randomness from the orchestration context');
});

test('the scanner itself catches what it should', () => {
  const sample = [
    "import { x } from 'node:fs';",
    "import type { Y } from '../store/types.ts';",
    "const m = await import('pg');",
  ].join('\n');
  assert.deepEqual(imports(sample), [
    'node:fs',
    '../store/types.ts',
    'pg',
  ]);
  assert.equal(allowed('node:crypto'), false);
  assert.equal(allowed('../runtime/loop.ts'), false);
  assert.equal(allowed('./tasks.ts'), true);
  assert.ok(FORBIDDEN_CALLS.some(([p]) => p.test(code('const t = Date.now();'))));
  assert.ok(!FORBIDDEN_CALLS.some(([p]) => p.test(code('// never call Date.now() here'))));
  assert.ok(!FORBIDDEN_CALLS.some(([p]) => p.test(code("throw new Error('no Math.random() please')"))));
});
