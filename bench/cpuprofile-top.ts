/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): self time by function
 * and by area (dtk engine, store, runtime, the pg driver, Node internals, GC, idle), so the
 * profile in docs/benchmarks.md can say where the worker's CPU goes without a browser.
 *
 *   node bench/cpuprofile-top.ts DIR/worker-hello-….cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
/** The parts of a .cpuprofile this summary reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Names the area a frame belongs to, by its script URL. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native';
  if (url.includes('/node_modules/pg') || url.includes('/node_modules/pg-')) return 'pg driver';
  if (/\/node_modules\/(pino|thread-stream|sonic-boom)/.test(url)) return 'logging';
  if (url.includes('/node_modules/')) return 'other packages';
  const m = /\/worker\/src\/([a-z-]+)\//.exec(url);
  if (m) return `dtk ${m[1]}`;
  if (url.includes('/worker/src/')) return 'dtk worker';
  if (url.includes('/bench/')) return 'bench';
  if (url.startsWith('node:') || url === '') return 'Node internals';
  return 'other';
}

/** Self time in milliseconds by function and by area, largest first. */
export function summarise(profile: CpuProfile): {
  total: number;
  byArea: [string, number][];
  byFunction: [string, number][];
} {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = nodes.get(id);
    if (!node) return;
    total += ms;
    const area = areaOf(node.callFrame);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
    const where = node.callFrame.url.replace(/^.*\/(node_modules\/|worker\/src\/|bench\/)/, '$1');
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  });
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { total, byArea: sorted(byArea), byFunction: sorted(byFunction) };
}

if (import.meta.main) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/cpuprofile-top.ts FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const busy = s.total - (s.byArea.find(([a]) => a === 'idle')?.[1] ?? 0);
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)}%`.padStart(6);
  const head = `${file}: ${(s.total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(2)} s busy`;
  process.stdout.write(`${head}\n\nby area (share of busy time)\n`);
  for (const [area, ms] of s.byArea) if (area !== 'idle') process.stdout.write(`  ${pct(ms)}  ${area}\n`);
  process.stdout.write('\nby function (self time)\n');
  for (const [fn, ms] of s.byFunction.filter(([f]) => !f.startsWith('(idle)')).slice(0, Number(topArg ?? 25))) {
    process.stdout.write(`  ${pct(ms)}  ${fn}\n`);
  }
}
