/**
 * Command-line flags of `npm run bench` and the sizes each mode runs with. Unknown flags and
 * scenario names are refused with the list of valid ones, before anything starts.
 */

/** Every scenario, in the order they run. */
export const SCENARIOS = ['hello', 'dbos', 'activities', 'fanout', 'latency', 'long-history', 'limit'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** How big each scenario is. */
export interface BenchSizes {
  /** Orchestrations (and DBOS workflows) kept in flight by the driver. */
  concurrency: number;
  hello: { total: number; runs: number };
  dbos: { total: number; runs: number };
  activities: { orchestrations: number; perOrchestration: number; runs: number };
  fanout: { width: number; runs: number };
  latency: { ratePerS: number; durationS: number };
  longHistory: { steps: number; probes: [number, number] };
  pgbench: { clients: number; threads: number; durationS: number };
}

/** Parsed flags. */
export interface BenchArgs {
  quick: boolean;
  only: ScenarioName[];
  sizes: BenchSizes;
  /** Directory for a V8 CPU profile of each dtk worker child (`--cpu-prof DIR`). */
  cpuProfDir?: string;
  /** Also run the hello chain with synchronous_commit=off, reported in its own row. */
  weak: boolean;
  help: boolean;
}

/** The full sizes. */
export const FULL_SIZES: BenchSizes = {
  concurrency: 100,
  hello: { total: 20000, runs: 3 },
  dbos: { total: 20000, runs: 3 },
  activities: { orchestrations: 50, perOrchestration: 1000, runs: 3 },
  fanout: { width: 1000, runs: 5 },
  latency: { ratePerS: 20, durationS: 30 },
  longHistory: { steps: 10000, probes: [100, 10000] },
  pgbench: { clients: 8, threads: 2, durationS: 10 },
};

/** The same scenarios, smaller, to finish in under three minutes on two cores. */
export const QUICK_SIZES: BenchSizes = {
  concurrency: 100,
  hello: { total: 2000, runs: 3 },
  dbos: { total: 2000, runs: 3 },
  activities: { orchestrations: 20, perOrchestration: 1000, runs: 1 },
  fanout: { width: 1000, runs: 3 },
  latency: { ratePerS: 20, durationS: 10 },
  longHistory: { steps: 2000, probes: [100, 2000] },
  pgbench: { clients: 8, threads: 2, durationS: 5 },
};

/** Usage text printed by --help and after a bad flag. */
export const USAGE = `usage: npm run bench -- [--quick] [--only ${SCENARIOS.join('|')}[,…]]
                         [--concurrency N] [--cpu-prof DIR] [--weak]

  --quick          smaller runs of every scenario (under 3 minutes)
  --only LIST      run only these scenarios (comma-separated)
  --concurrency N  orchestrations / DBOS workflows kept in flight (default 100)
  --cpu-prof DIR   write a V8 CPU profile of each dtk worker process into DIR
  --weak           add rows measured with synchronous_commit=off (not durable; never the headline)

  DTK_BENCH_PG_URL=postgres://…  use this server instead of an embedded one (needs rights to create databases)`;

/** Parses argv (without node and script); throws an Error naming the bad flag. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let quick = false;
  let weak = false;
  let help = false;
  let only: ScenarioName[] = [...SCENARIOS];
  let concurrency: number | undefined;
  let cpuProfDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--weak':
        weak = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter((s) => s !== '');
        const bad = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
        if (bad.length > 0 || names.length === 0) {
          const named = bad.join(', ') || '(none)';
          throw new Error(`--only: unknown scenario ${named}; choose from ${SCENARIOS.join(', ')}`);
        }
        only = SCENARIOS.filter((s) => names.includes(s));
        break;
      }
      case '--concurrency': {
        const raw = value();
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1 || n > 10000) {
          throw new Error(`--concurrency must be an integer from 1 to 10000, got ${raw}`);
        }
        concurrency = n;
        break;
      }
      case '--cpu-prof':
        cpuProfDir = value();
        break;
      default:
        throw new Error(`unknown flag ${arg}`);
    }
  }
  const base = quick ? QUICK_SIZES : FULL_SIZES;
  const sizes: BenchSizes = { ...base, concurrency: concurrency ?? base.concurrency };
  return { quick, only, sizes, cpuProfDir, weak, help };
}
