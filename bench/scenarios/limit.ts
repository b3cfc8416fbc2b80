/**
 * Scenario 7, the limit: pgbench (TPC-B-like) on the same server in the same run, beside dtk's
 * committed transactions/s and work items per transaction in the hello chain. pgbench says how
 * many durable commits this machine can make; dtk's figures say how close it comes and how
 * much work each of its commits carries.
 */
import { measured } from '../measure.ts';
import { findPgbench, runPgbench } from '../pgbench.ts';
import { emptyOutcome, type ScenarioOutcome } from '../report.ts';
import { dropDatabase, freshDatabase } from '../server.ts';
import { type BenchContext, type Scenario } from './context.ts';
import { runHelloOnce } from './hello.ts';

const DATABASE = 'dtk_bench_pgbench';

export const limit: Scenario = {
  name: 'limit',
  title: 'the Postgres limit',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const out = emptyOutcome();
    const opts = ctx.args.sizes.pgbench;
    const where = findPgbench();
    let pgbenchTps = Number.NaN;
    if (!where.found) {
      out.notes.push(where.reason);
      out.rows.push({ scenario: 'limit', metric: 'pgbench TPC-B-like tps', value: Number.NaN, unit: '', note: 'skipped: pgbench not installed' });
    } else {
      await freshDatabase(ctx.server, DATABASE);
      try {
        const m = await measured(ctx.server, DATABASE, () => runPgbench(where.path, ctx.server, DATABASE, opts));
        pgbenchTps = m.value.tps;
        ctx.log(`  pgbench: ${pgbenchTps.toFixed(0)} tps`);
        out.rows.push({
          scenario: 'limit',
          metric: `pgbench TPC-B-like tps (-c ${opts.clients} -j ${opts.threads} -T ${opts.durationS}, scale 1)`,
          value: pgbenchTps,
          unit: 'tps',
          note: m.value.latencyAvgMs === undefined ? undefined : `latency avg ${m.value.latencyAvgMs} ms`,
        });
        out.profiles.push({
          label: 'pgbench TPC-B-like',
          elapsedMs: m.server.elapsedMs,
          workflows: m.value.transactions ?? 0,
          server: m.server,
          driverCpuSeconds: m.driverCpuSeconds,
        });
      } finally {
        await dropDatabase(ctx.server, DATABASE);
      }
    }
    out.json.pgbench_tps = pgbenchTps;
    // The dtk side comes from the hello chain's median run; run one now if it was not selected.
    const helloRun = ctx.shared.hello ?? (await runHelloOnce(ctx, 'dtk hello chain (for the limit)'));
    const p = helloRun.profile;
    const commitsPerS = (p.server.commits * 1000) / p.elapsedMs;
    out.rows.push(
      { scenario: 'limit', metric: 'dtk committed transactions/s (hello chain)', value: commitsPerS, unit: '/s', note: `${(commitsPerS / pgbenchTps * 100).toFixed(0)}% of pgbench tps` },
      { scenario: 'limit', metric: 'dtk work items per transaction', value: (p.workItems ?? 0) / p.server.commits, unit: '' },
    );
    if (!Number.isFinite(pgbenchTps)) (out.rows.at(-2) as { note?: string }).note = undefined;
    return out;
  },
};
