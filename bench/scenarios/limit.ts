/**
 * Scenario 7, the limit: pgbench on the same server in the same run, beside dtk's committed
 * transactions/s and work items per transaction in the hello chain. pgbench's TPC-B-like script
 * is the reference; its simple-update script (no hot rows) is printed beside it as the
 * nearer ceiling of durable write commits on this machine.
 */
import { measured } from '../measure.ts';
import { findPgbench, initPgbench, runPgbench, type PgbenchScript } from '../pgbench.ts';
import { reapedChildrenCpuSeconds } from '../proc-cpu.ts';
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
    const tps: Partial<Record<PgbenchScript, number>> = {};
    if (!where.found) {
      out.notes.push(where.reason);
      const note = 'skipped: pgbench not installed';
      out.rows.push({ scenario: 'limit', metric: 'pgbench TPC-B-like tps', value: Number.NaN, unit: 'tps', note });
    } else {
      await freshDatabase(ctx.server, DATABASE);
      try {
        await initPgbench(where.path, ctx.server, DATABASE);
        for (const script of ['tpcb-like', 'simple-update'] as const) {
          const cpu0 = reapedChildrenCpuSeconds();
          const bench = () => runPgbench(where.path, ctx.server, DATABASE, { ...opts, script });
          const m = await measured(ctx.server, DATABASE, bench);
          const cpu1 = reapedChildrenCpuSeconds();
          tps[script] = m.value.tps;
          ctx.log(`  pgbench ${script}: ${m.value.tps.toFixed(0)} tps`);
          out.rows.push({
            scenario: 'limit',
            metric:
              script === 'tpcb-like'
                ? `pgbench TPC-B-like tps (scale 1, ${m.value.command.replace('pgbench -b tpcb-like ', '')})`
                : 'pgbench simple-update tps (no hot rows)',
            value: m.value.tps,
            unit: 'tps',
            note: m.value.latencyAvgMs === undefined ? undefined : `latency avg ${m.value.latencyAvgMs} ms`,
          });
          out.profiles.push({
            label: `pgbench ${script}`,
            elapsedMs: opts.durationS * 1000,
            workflows: m.value.transactions ?? 0,
            unitName: 'transaction',
            server: m.server,
            // pgbench is a child of this process: once reaped, its CPU shows in our children's total.
            contenderCpuSeconds: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
          });
        }
      } finally {
        await dropDatabase(ctx.server, DATABASE);
      }
    }
    out.json.pgbench_tps = tps['tpcb-like'] ?? Number.NaN;
    // The dtk side comes from the hello chain's median run; run one now if it was not selected.
    const helloRun = ctx.shared.hello ?? (await runHelloOnce(ctx, 'dtk hello chain (for the limit)'));
    if (!ctx.shared.hello) out.profiles.push(helloRun.profile);
    const p = helloRun.profile;
    const secs = p.elapsedMs / 1000;
    const writes = p.server.writeTransactions / secs;
    const share = (x: number, of: number | undefined) =>
      of ? `${((x / of) * 100).toFixed(0)}% of pgbench simple-update` : undefined;
    out.rows.push(
      {
        scenario: 'limit',
        metric: 'dtk writing transactions/s (hello chain)',
        value: writes,
        unit: '/s',
        note: share(writes, tps['simple-update']),
      },
      {
        scenario: 'limit',
        metric: 'dtk committed transactions/s, reads included',
        value: p.server.commits / secs,
        unit: '/s',
        note: 'worker polls and client waits',
      },
      {
        scenario: 'limit',
        metric: 'dtk work items per writing transaction',
        value: (p.workItems ?? 0) / p.server.writeTransactions,
        unit: '',
      },
    );
    return out;
  },
};
