import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Folder of the tools modules (go.mod per component), versions.json and the ct config. */
export const TOOLS_DIR = import.meta.dirname;

/** A Go component: one module at one version, building one or more binaries. */
export interface GoComponent {
  module: string;
  version: string;
  /** Binary name → Go package path that builds it. */
  binaries: Record<string, string>;
  /** `-X pkg.var=value` linker assignments; `{version}` stands for `version`. */
  stamps?: string[];
}

/** A Python virtual environment with pinned packages. */
export interface PythonComponent {
  /** Package name → exact version. */
  packages: Record<string, string>;
}

/** The parsed test/harness/tools/versions.json. */
export interface ToolVersions {
  go: Record<string, GoComponent>;
  python: Record<string, PythonComponent>;
}

/** Binaries the harness knows how to find. */
export type ToolName = 'kube-apiserver' | 'kubectl' | 'etcd' | 'helm' | 'ct';

/** The tools a KUBEBUILDER_ASSETS folder may supply (the envtest set). */
export const KUBEBUILDER_TOOLS: readonly ToolName[] = ['kube-apiserver', 'etcd', 'kubectl'];

let cached: ToolVersions | undefined;

/** Reads versions.json once per process. */
export function readVersions(): ToolVersions {
  cached ??= JSON.parse(readFileSync(join(TOOLS_DIR, 'versions.json'), 'utf8')) as ToolVersions;
  return cached;
}

/**
 * Root of the binary cache. It lives outside the work tree so that a fresh clone reuses what an older one built;
 * DTK_TOOLS_CACHE moves it.
 */
export function toolsCacheDir(): string {
  return process.env.DTK_TOOLS_CACHE || join(homedir(), '.cache', 'dtk', 'tools');
}

/** Cache folder of one component at its pinned version, e.g. `~/.cache/dtk/tools/etcd-v3.6.16`. */
export function componentDir(component: string): string {
  const go = readVersions().go[component];
  if (go) return join(toolsCacheDir(), `${component}-${go.version}`);
  const python = readVersions().python[component];
  if (python) {
    const key = Object.entries(python.packages)
      .map(([name, version]) => `${name}${version}`)
      .join('-');
    return join(toolsCacheDir(), `${component}-${key}`);
  }
  throw new Error(`unknown tool component ${component}; see ${join(TOOLS_DIR, 'versions.json')}`);
}

/** Which Go component builds a binary. */
export function componentOf(tool: ToolName): string {
  for (const [name, component] of Object.entries(readVersions().go)) {
    if (tool in component.binaries) return name;
  }
  throw new Error(`no component in versions.json builds ${tool}`);
}

/**
 * Where a tool is taken from: KUBEBUILDER_ASSETS first for the envtest set (a user who already has them skips the
 * long build), else our cache. The path may not exist yet; see ensureTools.
 */
export function toolPath(tool: ToolName): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && KUBEBUILDER_TOOLS.includes(tool) && existsSync(join(assets, tool))) return join(assets, tool);
  return join(componentDir(componentOf(tool)), tool);
}
