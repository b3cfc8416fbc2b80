import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** How one image (or a glob of images) runs on this machine. */
export interface ImageCommand {
  /** The image's entry point as a local command, e.g. `[process.execPath, 'operator/src/main.ts']`. */
  command: string[];
  /** The image's default arguments (its CMD); a container's `args` replace them. */
  args?: string[];
  /** Working directory of the process; the kubelet's own by default. */
  cwd?: string;
  /** Environment the image would bake in; the pod's own env wins over it. */
  env?: Record<string, string>;
}

/**
 * Local kubelet configuration, passed as an object or a JSON/YAML file:
 * `{ images: { 'dtk/operator:*': { command: ['node', 'operator/src/main.ts'], cwd: '/work/main' } } }`.
 * Keys are globs over the whole image reference (`*` any run of characters, `?` one character); the first
 * matching key in insertion order wins, so list specific keys before broad ones.
 */
export interface KubeletConfig {
  images: Record<string, ImageCommand>;
}

/** Reads a kubelet config from a .json, .yaml or .yml file. */
export function loadKubeletConfig(path: string): KubeletConfig {
  const text = readFileSync(path, 'utf8');
  const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parse(text);
  return validateKubeletConfig(parsed, path);
}

/** Checks the shape of a config and lists every problem at once, so a bad file fails before anything runs. */
export function validateKubeletConfig(value: unknown, source = 'kubelet config'): KubeletConfig {
  const problems: string[] = [];
  const images = isRecord(value) ? value.images : undefined;
  if (!isRecord(images)) {
    throw new Error(`${source}: expected an object with an "images" map of image glob → { command, args?, cwd?, env? }`);
  }
  for (const [glob, entry] of Object.entries(images)) {
    if (!isRecord(entry)) {
      problems.push(`images["${glob}"] must be an object`);
      continue;
    }
    if (!isStringArray(entry.command) || entry.command.length === 0) {
      problems.push(`images["${glob}"].command must be a non-empty array of strings`);
    }
    if (entry.args !== undefined && !isStringArray(entry.args)) problems.push(`images["${glob}"].args must be strings`);
    if (entry.cwd !== undefined && typeof entry.cwd !== 'string') problems.push(`images["${glob}"].cwd must be a string`);
    if (entry.env !== undefined && !(isRecord(entry.env) && Object.values(entry.env).every((v) => typeof v === 'string'))) {
      problems.push(`images["${glob}"].env must map names to strings`);
    }
  }
  if (problems.length > 0) throw new Error(`${source}:\n  ${problems.join('\n  ')}`);
  return value as unknown as KubeletConfig;
}

/** The command for an image, or undefined when no glob matches (the Deployment then reports ReplicaFailure). */
export function commandForImage(config: KubeletConfig, image: string): ImageCommand | undefined {
  for (const [glob, entry] of Object.entries(config.images)) {
    if (globToRegExp(glob).test(image)) return entry;
  }
  return undefined;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()|{}[\]]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
