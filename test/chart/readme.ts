/**
 * Reads the README's "Run it on Kubernetes" section as a script: its numbered steps, the shell commands of each
 * and the YAML files it shows. The e2e user-path test runs exactly these commands, so the README cannot drift
 * from what works.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './images.ts';

/** One numbered step of the section: `**3. Deploy workers** ...`. */
export interface UserPathStep {
  number: number;
  title: string;
  /** Shell command lines, in order, from every `sh` block of the step. */
  commands: string[];
  /** The same lines, block by block (prose between blocks says what to look at). */
  blocks: string[][];
}

/** The section, parsed. */
export interface UserPath {
  steps: UserPathStep[];
  /** YAML blocks whose first line is `# <file name>`, by file name, without that line. */
  files: Map<string, string>;
}

/** Title of the README section the e2e test follows. */
export const USER_PATH_HEADING = '## Run it on Kubernetes';

/** Parses the section out of README text. Throws when the section or its steps are missing. */
export function parseUserPath(readme: string): UserPath {
  const start = readme.indexOf(`\n${USER_PATH_HEADING}\n`);
  if (start < 0) throw new Error(`README has no "${USER_PATH_HEADING}" section`);
  const rest = readme.slice(start + USER_PATH_HEADING.length + 2);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);

  const steps: UserPathStep[] = [];
  const files = new Map<string, string>();
  const token = /^\*\*(\d+)\. ([^*]+?)\.?\*\*|^```(\w+)\n([\s\S]*?)^```$/gm;
  for (const m of section.matchAll(token)) {
    if (m[1] !== undefined) {
      steps.push({ number: Number(m[1]), title: (m[2] ?? '').trim(), commands: [], blocks: [] });
      continue;
    }
    const lang = m[3];
    const body = m[4] ?? '';
    if (lang === 'yaml') {
      const name = /^# (\S+\.ya?ml)\n/.exec(body);
      if (name?.[1]) files.set(name[1], body.slice(name[0].length));
    } else if (lang === 'sh') {
      const step = steps.at(-1);
      if (!step) throw new Error('a shell block before the first numbered step');
      const lines = body.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      step.commands.push(...lines);
      step.blocks.push(lines);
    }
  }
  return { steps, files };
}

/** The user path of the repository's README. */
export function readUserPath(): UserPath {
  return parseUserPath(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
}

/** The step with this number; throws when the README lacks it. */
export function stepOf(path: UserPath, number: number): UserPathStep {
  const step = path.steps.find((s) => s.number === number);
  if (!step) throw new Error(`README "${USER_PATH_HEADING}" has no step ${number}`);
  return step;
}
