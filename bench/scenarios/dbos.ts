/**
 * Scenario 2: the same hello chain in DBOS Transact (three no-op steps), on the same server in
 * its own database, at the same concurrency; workflows/s and the ratio dtk/DBOS. DBOS runs
 * workflows in the process that starts them, so its one child process is both driver and
 * executor; each run gets a fresh database and process, warmed up like dtk's.
 */
import { join } from 'node:path';
import { ChildHandle } from '../child.ts';
import type { DbosChildRequest, DbosRunReport } from '../dbos/child.ts';
import { measured } from '../measure.ts';
import { emptyOutcome, type Profile, type ScenarioOutcome } from '../report.ts';
import { dropDatabase, freshDatabase } from '../server.ts';
import { median, perSecond } from '../stats.ts';
import { warmupCount, type BenchContext, type Scenario } from './context.ts';
import { medianRun } from './hello.ts';

const DATABASE = 'dtk_bench_dbos';

interface DbosRun {
  perS: number;
  profile: Profile;
}

async function runDbosOnce(ctx: BenchContext, label: string): Promise<DbosRun> {
  const { total } = ctx.args.sizes.dbos;
  const concurrency = ctx.args.sizes.concurrency;
  const url = await freshDatabase(ctx.server, DATABASE);
  const request: DbosChildRequest = { systemDatabaseUrl: url };
  const child = new ChildHandle(join(import.meta.dirname, '..', 'dbos', 'child.ts'), [JSON.stringify(request)]);
  try {
    await child.signal('ready', 120000);
    await child.request('run', { total: warmupCount(total), concurrency, offset: 1_000_000 });
    const run = () => child.request<DbosRunReport>('run', { total, concurrency, offset: 0 });
    const m = await measured(ctx.server, DATABASE, run);
    return {
      perS: perSecond(total, m.value.elapsedMs),
      profile: {
        label,
        elapsedMs: m.value.elapsedMs,
        workflows: total,
        server: m.server,
        contenderCpuSeconds: m.value.cpuSeconds,
        driverCpuSeconds: m.driverCpuSeconds,
      },
    };
  } finally {
    await child.request('stop', {}, 60000).catch(() => child.process.kill('SIGKILL'));
    await child.exited();
    await dropDatabase(ctx.server, DATABASE);
  }
}

export const dbos: Scenario = {
  name: 'dbos',
  title: 'DBOS Transact, same workflow',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const { total, runs } = ctx.args.sizes.dbos;
    const results: DbosRun[] = [];
    for (let r = 1; r <= runs; r++) {
      const res = await runDbosOnce(ctx, `DBOS hello chain, run ${r}`);
      ctx.log(`  DBOS run ${r}/${runs}: ${res.perS.toFixed(0)} workflows/s`);
      results.push(res);
    }
    const perS = median(results.map((r) => r.perS));
    ctx.shared.dbosPerS = perS;
    const out = emptyOutcome();
    const c = `${total.toLocaleString('en-US')} at concurrency ${ctx.args.sizes.concurrency}`;
    out.rows.push({
      scenario: 'DBOS Transact 5.3.0',
      metric: `workflows/s (${c})`,
      value: perS,
      unit: '/s',
      note: `median of ${runs}: ${results.map((r) => r.perS.toFixed(0)).join(', ')}`,
    });
    out.json.dbos_per_s = perS;
    const ratio = ctx.shared.hello ? ctx.shared.hello.perS / perS : Number.NaN;
    out.rows.push({
      scenario: 'DBOS Transact 5.3.0',
      metric: 'ratio dtk / DBOS (hello chain)',
      value: ratio,
      unit: '×',
      target: { op: '>=', value: 1.5 },
      note: ctx.shared.hello ? 'same server, same run' : 'needs the hello scenario in the same run',
    });
    out.json.ratio_vs_dbos = ratio;
    const mid = medianRun(results, (r) => r.perS);
    out.profiles.push({ ...mid.profile, label: `${mid.profile.label} (median)` });
    return out;
  },
};
