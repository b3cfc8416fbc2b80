/**
 * What an image built from one of our Dockerfiles would contain, worked out from the Dockerfile, .dockerignore and
 * the sources: which repository paths land where, and which files and packages the entry point imports.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { copyPaths, finalStage, workdirAt } from './dockerfile.ts';
import type { Dockerfile } from './dockerfile.ts';

/** Root of the dtk checkout: the build context of every image. */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** The Dockerfiles we ship, by image. */
export const DOCKERFILES = {
  operator: join(REPO_ROOT, 'images', 'operator', 'Dockerfile'),
  worker: join(REPO_ROOT, 'images', 'worker', 'Dockerfile'),
  examples: join(REPO_ROOT, 'images', 'examples', 'Dockerfile'),
} as const;

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of folders, including none.
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The patterns of a .dockerignore: comments and blank lines dropped, `!` kept as a flag. */
export function readDockerignore(path = join(REPO_ROOT, '.dockerignore')): { pattern: RegExp; allow: boolean }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const allow = l.startsWith('!');
      const glob = posix.normalize((allow ? l.slice(1) : l).replace(/^\/+/, ''));
      return { pattern: globToRegExp(glob), allow };
    });
}

/**
 * Whether a path of the build context is sent to the builder. As in Docker, a pattern matches a path or any of its
 * parent folders, and the last matching pattern decides.
 */
export function contextIncludes(rules: { pattern: RegExp; allow: boolean }[], path: string): boolean {
  const parts = posix.normalize(path).split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.pattern.test(p))) included = rule.allow;
  }
  return included;
}

/** A path of the image's file system that came from the build context. */
export interface ContextCopy {
  /** Absolute path in the image. */
  imagePath: string;
  /** Path in the repository, relative to its root. */
  repoPath: string;
  line: number;
}

/** Everything the final stage copies from the build context (not from other stages or images). */
export function contextCopies(file: Dockerfile): ContextCopy[] {
  const stage = finalStage(file);
  const out: ContextCopy[] = [];
  for (const ins of stage.instructions) {
    if ((ins.keyword !== 'COPY' && ins.keyword !== 'ADD') || ins.flags.from) continue;
    const { sources, dest } = copyPaths(ins);
    const base = dest.startsWith('/') ? dest : posix.join(workdirAt(stage, ins), dest);
    for (const source of sources) {
      const repoPath = posix.normalize(source.replace(/\/+$/, ''));
      // `COPY dir ./dir` puts the folder's content at dest; `COPY a b ./` puts files inside dest.
      const intoFolder = dest.endsWith('/') && sources.length >= 1 && !isDirectory(repoPath);
      out.push({ imagePath: intoFolder ? posix.join(base, posix.basename(repoPath)) : posix.normalize(base), repoPath, line: ins.line });
    }
  }
  return out;
}

function isDirectory(repoPath: string): boolean {
  const full = join(REPO_ROOT, repoPath);
  return existsSync(full) && statSync(full).isDirectory();
}

/** Maps a path in the image back to the repository file it came from, or undefined if no COPY put it there. */
export function repoPathOf(copies: ContextCopy[], imagePath: string): string | undefined {
  for (const c of [...copies].reverse()) {
    if (imagePath === c.imagePath) return c.repoPath;
    if (imagePath.startsWith(`${c.imagePath}/`)) return posix.join(c.repoPath, imagePath.slice(c.imagePath.length + 1));
  }
  return undefined;
}

/** Files an entry point loads, and the packages it imports by name, following static imports only. */
export interface ImportClosure {
  /** Repository-relative paths of every local module reached. */
  files: string[];
  /** Package names imported statically (node: built-ins left out), with a file that imports each. */
  packages: Map<string, string>;
  /** Local imports that do not resolve to a file. */
  missing: string[];
}

// Static `import ... from`, `export ... from` and side-effect imports; type-only ones are erased at load time.
const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm;

/** Follows the static imports of `entry` (repository-relative) through the repository. */
export function importClosure(entry: string): ImportClosure {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const missing: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() ?? '';
    if (files.has(file)) continue;
    const full = join(REPO_ROOT, file);
    if (!existsSync(full)) {
      missing.push(file);
      continue;
    }
    files.add(file);
    for (const m of readFileSync(full, 'utf8').matchAll(IMPORT)) {
      if (m[2]) continue;
      const spec = m[3] ?? '';
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) queue.push(relative(REPO_ROOT, resolve(dirname(full), spec)));
      else {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
        if (!packages.has(name)) packages.set(name, file);
      }
    }
  }
  return { files: [...files].sort(), packages, missing };
}

/** The package.json of the checkout. */
export function packageJson(): { dependencies: Record<string, string>; devDependencies: Record<string, string> } {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
}
