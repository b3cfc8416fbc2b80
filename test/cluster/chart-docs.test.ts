/**
 * The user's reading path holds together: every relative link in the README and the Kubernetes docs points at a
 * file that exists and, when it names a section, at a heading that exists (GitHub's anchor rules).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../chart/images.ts';

const PAGES = [
  'README.md',
  'charts/dtk/README.md',
  'docs/concepts.md',
  'docs/rollouts.md',
  'docs/operations.md',
  'docs/troubleshooting.md',
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(path: string): Set<string> {
  const text = readFileSync(path, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
}

describe('links in the README and the Kubernetes docs', () => {
  for (const page of PAGES) {
    it(`resolve from ${page}`, () => {
      const full = join(REPO_ROOT, page);
      const text = readFileSync(full, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] ?? '';
        if (/^[a-z]+:/.test(link)) continue;
        const [file = '', section] = link.split('#');
        const target = file === '' ? full : join(dirname(full), file);
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(REPO_ROOT, target)}`);
          continue;
        }
        if (section && target.endsWith('.md') && !anchorsOf(target).has(section)) broken.push(`${link}: no such heading`);
      }
      assert.deepEqual(broken, []);
    });
  }
});
