/** `npm run crds:generate`: writes crds/*.yaml from the schema sources and says which files changed. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CRD_FILES, renderCrds } from './generate.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const rendered = renderCrds();
for (const [key, file] of Object.entries(CRD_FILES) as [keyof typeof CRD_FILES, string][]) {
  const path = join(root, file);
  let before = '';
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    // first generation
  }
  if (before === rendered[key]) {
    process.stdout.write(`${file}: unchanged\n`);
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, rendered[key]);
  process.stdout.write(`${file}: written\n`);
}
