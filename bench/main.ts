/**
 * `npm run bench`: dtk side by side with DBOS Transact and with pgbench, on one Postgres
 * server (embedded unless DTK_BENCH_PG_URL is set), in one process tree. Progress goes to
 * stderr; stdout gets the machine, the table, the profiles and, as its last line, one JSON
 * object with the issue's keys. `--quick` runs a smaller version of every scenario.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseBenchArgs, USAGE } from './args.ts';
import { readMachine } from './machine.ts';
import {
  emptyOutcome,
  finalJson,
  neighbourNotes,
  renderMachine,
  renderProfile,
  renderTable,
  type ScenarioOutcome,
} from './report.ts';
import { activities } from './scenarios/activities.ts';
import type { BenchContext, Scenario } from './scenarios/context.ts';
import { dbos } from './scenarios/dbos.ts';
import { fanout } from './scenarios/fanout.ts';
import { hello } from './scenarios/hello.ts';
import { latency } from './scenarios/latency.ts';
import { limit } from './scenarios/limit.ts';
import { longHistory } from './scenarios/long-history.ts';
import { enableStatementStats, openServer } from './server.ts';

const ALL: Scenario[] = [hello, dbos, activities, fanout, latency, longHistory, limit];
const out = (text: string) => process.stdout.write(`${text}\n`);
const log = (text: string) => process.stderr.write(`${text}\n`);

let args;
try {
  args = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  log(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  out(USAGE);
  process.exit(0);
}
if (args.cpuProfDir) {
  args.cpuProfDir = resolve(args.cpuProfDir);
  mkdirSync(args.cpuProfDir, { recursive: true });
}

const began = performance.now();
log(process.env.DTK_BENCH_PG_URL ? 'connecting to DTK_BENCH_PG_URL…' : 'starting embedded Postgres…');
const server = await openServer();
let failed = 0;
try {
  const statementStats = await enableStatementStats(server);
  const machine = await readMachine(server, resolve(import.meta.dirname, '..'));
  out(`dtk bench${args.quick ? ' --quick' : ''}`);
  out(renderMachine(machine));
  if (!statementStats) out('pg_stat_statements is not loaded on this server: the profile has no per-statement figures');
  const ctx: BenchContext = { server, args, log, shared: {} };
  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of ALL.filter((s) => args.only.includes(s.name))) {
    const t0 = performance.now();
    log(`▶ ${scenario.title}`);
    try {
      outcomes.push(await scenario.run(ctx));
    } catch (err) {
      failed++;
      const outcome = emptyOutcome();
      const why = err instanceof Error ? (err.stack ?? err.message) : String(err);
      outcome.notes.push(`${scenario.title} failed: ${why}`);
      outcome.rows.push({ scenario: scenario.title, metric: 'FAILED (see notes)', value: Number.NaN, unit: '' });
      outcomes.push(outcome);
    }
    log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  out('');
  out(renderTable(outcomes.flatMap((o) => o.rows)));
  const profiles = outcomes.flatMap((o) => o.profiles);
  const notes = [...outcomes.flatMap((o) => o.notes), ...neighbourNotes(profiles)];
  if (notes.length > 0) out(`\n${notes.map((n) => `note: ${n}`).join('\n')}`);
  if (profiles.length > 0) out(`\nwhere the time goes\n${profiles.map(renderProfile).join('\n')}`);
  out(`\ntotal ${((performance.now() - began) / 1000).toFixed(0)} s`);
  const json = Object.assign({}, ...outcomes.map((o) => o.json));
  out(
    finalJson(json, {
      mode: args.quick ? 'quick' : 'full',
      concurrency: args.sizes.concurrency,
      long_history_steps: args.sizes.longHistory.steps,
      commit: machine.commit,
      date: machine.date,
    }),
  );
} finally {
  await server.stop();
}
process.exit(failed === 0 ? 0 : 1);
