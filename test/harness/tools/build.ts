import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runChecked } from './run.ts';
import { componentDir, componentOf, readVersions, toolPath, toolsCacheDir, TOOLS_DIR } from './versions.ts';
import type { ToolName } from './versions.ts';

/** What one component's build did. */
export interface BuildOutcome {
  component: string;
  version: string;
  dir: string;
  /** False when the cache already had it. */
  built: boolean;
  seconds: number;
}

/** Progress sink; defaults to stderr so test output stays readable. */
export type Log = (line: string) => void;

const stderrLog: Log = (line) => process.stderr.write(`[tools] ${line}\n`);

/** Fails loudly when a go.mod drifted from versions.json, since the cache key would then lie about its content. */
export function checkGoModPins(): void {
  for (const [name, component] of Object.entries(readVersions().go)) {
    const goMod = readFileSync(join(TOOLS_DIR, name, 'go.mod'), 'utf8');
    const pinned = new RegExp(`^\\s*(require\\s+)?${component.module.replaceAll('.', '\\.')}\\s+(\\S+)`, 'm').exec(goMod);
    if (pinned?.[2] !== component.version) {
      throw new Error(
        `test/harness/tools/${name}/go.mod requires ${component.module} ${pinned?.[2] ?? '(nothing)'} but versions.json ` +
          `pins ${component.version}; update both together (then run go mod tidy in that folder)`,
      );
    }
  }
}

/**
 * What decides a component's binaries besides the version in the folder name: the module, packages and stamps.
 * Recorded beside the binaries so a changed recipe rebuilds instead of silently reusing an old cache entry.
 */
function recipe(component: string): string {
  const go = readVersions().go[component];
  if (!go) throw new Error(`unknown Go component ${component}`);
  return `${JSON.stringify({ ...go, ldflags: ldflags(component) })}\n`;
}

function ldflags(component: string): string {
  const go = readVersions().go[component];
  if (!go) throw new Error(`unknown Go component ${component}`);
  const stamps = (go.stamps ?? []).map((stamp) => `-X ${stamp.replaceAll('{version}', go.version)}`);
  return ['-s', '-w', ...stamps].join(' ');
}

function goComplete(component: string): boolean {
  const go = readVersions().go[component];
  if (!go) throw new Error(`unknown Go component ${component}`);
  const dir = componentDir(component);
  const marker = join(dir, '.recipe.json');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== recipe(component)) return false;
  return Object.keys(go.binaries).every((binary) => existsSync(join(dir, binary)));
}

/**
 * Serialises builds of one component across processes (test files run in parallel and may all find the cache cold).
 * A lock whose owner died is taken over.
 */
async function withLock<T>(name: string, body: () => Promise<T>): Promise<T> {
  const lockDir = join(toolsCacheDir(), `.lock-${name}`);
  mkdirSync(toolsCacheDir(), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch {
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
      } catch {
        // The owner has made the folder but not yet written its pid.
      }
      if (Number.isInteger(owner) && !isAlive(owner)) rmSync(lockDir, { recursive: true, force: true });
      else await sleep(1000);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds one Go component into its cache folder unless it is already there. Binaries are built into a temporary
 * folder and moved into place whole, so an interrupted build never leaves a half-filled cache entry.
 */
export async function buildGoComponent(component: string, log: Log = stderrLog): Promise<BuildOutcome> {
  const go = readVersions().go[component];
  if (!go) throw new Error(`unknown Go component ${component}`);
  const dir = componentDir(component);
  if (goComplete(component)) return { component, version: go.version, dir, built: false, seconds: 0 };
  return withLock(component, async () => {
    if (goComplete(component)) return { component, version: go.version, dir, built: false, seconds: 0 };
    checkGoModPins();
    const started = Date.now();
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    // Static binaries: no cgo toolchain needed, and they run anywhere on this machine kind.
    const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly -p=2`.trim() };
    for (const [binary, pkg] of Object.entries(go.binaries)) {
      const slow = binary === 'kube-apiserver' ? ' (a cold build takes several minutes on 2 cores)' : '';
      log(`building ${binary} from ${go.module}@${go.version}${slow}`);
      const t0 = Date.now();
      await runChecked('go', ['build', '-trimpath', `-ldflags=${ldflags(component)}`, '-o', join(tmp, binary), pkg], {
        cwd: join(TOOLS_DIR, component),
        env,
        echo: true,
      }).catch((err: unknown) => {
        if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') {
          throw new Error(
            `building ${binary} needs the go command (Go 1.26 or newer) on PATH; for kube-apiserver, etcd and ` +
              'kubectl you may instead point KUBEBUILDER_ASSETS at a folder that has them',
          );
        }
        throw err;
      });
      log(`built ${binary} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
    writeFileSync(join(tmp, '.recipe.json'), recipe(component));
    // An older partial folder (e.g. from a killed manual build) is replaced, never merged into.
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { component, version: go.version, dir, built: true, seconds: (Date.now() - started) / 1000 };
  });
}

/** Creates the pinned Python virtual environment (yamllint and yamale for ct) unless it exists. */
export async function buildPythonComponent(component: string, log: Log = stderrLog): Promise<BuildOutcome> {
  const py = readVersions().python[component];
  if (!py) throw new Error(`unknown Python component ${component}`);
  const dir = componentDir(component);
  const version = Object.entries(py.packages)
    .map(([name, v]) => `${name}==${v}`)
    .join(' ');
  const complete = () => existsSync(join(dir, '.complete'));
  if (complete()) return { component, version, dir, built: false, seconds: 0 };
  return withLock(component, async () => {
    if (complete()) return { component, version, dir, built: false, seconds: 0 };
    const started = Date.now();
    log(`creating Python venv ${dir} with ${version}`);
    rmSync(dir, { recursive: true, force: true });
    const python = process.env.DTK_PYTHON || 'python3';
    await runChecked(python, ['-m', 'venv', dir]);
    await runChecked(join(dir, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--quiet', ...version.split(' ')], {
      echo: true,
    });
    writeFileSync(join(dir, '.complete'), `${version}\n`);
    return { component, version, dir, built: true, seconds: (Date.now() - started) / 1000 };
  });
}

/** Builds every component in versions.json that the cache lacks, one at a time (the machine has 2 cores). */
export async function buildAll(log: Log = stderrLog): Promise<BuildOutcome[]> {
  checkGoModPins();
  const outcomes: BuildOutcome[] = [];
  for (const component of Object.keys(readVersions().go)) outcomes.push(await buildGoComponent(component, log));
  for (const component of Object.keys(readVersions().python)) outcomes.push(await buildPythonComponent(component, log));
  return outcomes;
}

/**
 * Returns the path of each tool, building what is missing first. Tools found through KUBEBUILDER_ASSETS are used
 * as they are.
 */
export async function ensureTools<T extends ToolName>(tools: readonly T[], log: Log = stderrLog): Promise<Record<T, string>> {
  const paths = {} as Record<T, string>;
  for (const tool of tools) {
    if (!existsSync(toolPath(tool))) await buildGoComponent(componentOf(tool), log);
    paths[tool] = toolPath(tool);
  }
  return paths;
}

/** PATH entries that ct needs: helm beside it, and yamllint/yamale from the pinned venv. */
export async function ensureCtPath(log: Log = stderrLog): Promise<string> {
  const { helm, ct } = await ensureTools(['helm', 'ct'], log);
  const venv = await buildPythonComponent('ct-python', log);
  return [dirname(ct), dirname(helm), join(venv.dir, 'bin'), process.env.PATH ?? ''].join(':');
}
