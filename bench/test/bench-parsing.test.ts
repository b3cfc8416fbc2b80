/**
 * The bench's pure parts: flags, statistics, pgbench's report, /proc/<pid>/stat lines, step
 * periods of the long-history scenario, and the report's table and JSON line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FULL_SIZES, parseBenchArgs, QUICK_SIZES, SCENARIOS } from '../args.ts';
import { parsePgbenchOutput } from '../pgbench.ts';
import { parseProcStat } from '../proc-cpu.ts';
import { finalJson, JSON_KEYS, neighbourNotes, renderProfile, renderTable, verdict, type Target } from '../report.ts';
import { stepPeriodAround } from '../scenarios/long-history.ts';
import { median, percentile, perSecond } from '../stats.ts';

describe('bench flags', () => {
  it('runs every scenario at the issue sizes by default', () => {
    const a = parseBenchArgs([]);
    assert.deepEqual(a.only, [...SCENARIOS]);
    assert.equal(a.quick, false);
    assert.equal(a.sizes.hello.total, 20000);
    assert.equal(a.sizes.fanout.width, 1000);
    assert.equal(a.sizes.longHistory.steps, 10000);
    assert.equal(a.sizes.pgbench.durationS, 10);
  });

  it('--quick shrinks the runs but keeps the fan-out at a thousand and pgbench at -T 5', () => {
    const a = parseBenchArgs(['--quick']);
    assert.ok(a.sizes.hello.total < FULL_SIZES.hello.total);
    assert.equal(a.sizes.fanout.width, 1000);
    assert.equal(a.sizes.pgbench.durationS, 5);
    assert.deepEqual(a.sizes.longHistory.probes, QUICK_SIZES.longHistory.probes);
  });

  it('--only keeps the run order and refuses unknown names, listing the valid ones', () => {
    assert.deepEqual(parseBenchArgs(['--only', 'limit,hello']).only, ['hello', 'limit']);
    assert.deepEqual(parseBenchArgs(['--only=dbos']).only, ['dbos']);
    assert.throws(() => parseBenchArgs(['--only', 'helo']), /unknown scenario helo; choose from hello, dbos/);
  });

  it('takes a concurrency and refuses nonsense', () => {
    assert.equal(parseBenchArgs(['--concurrency', '32']).sizes.concurrency, 32);
    assert.throws(() => parseBenchArgs(['--concurrency', '0']), /--concurrency must be an integer/);
    assert.throws(() => parseBenchArgs(['--concurrency']), /--concurrency needs a value/);
    assert.throws(() => parseBenchArgs(['--fast']), /unknown flag --fast/);
  });
});

describe('bench statistics', () => {
  it('takes medians of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('reports nearest-rank percentiles, which are always observed values', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3], 100), 3);
  });

  it('turns counts and milliseconds into rates', () => {
    assert.equal(perSecond(500, 250), 2000);
    assert.ok(Number.isNaN(perSecond(1, 0)));
  });
});

describe('pgbench output', () => {
  it('reads tps without connection time, latency and counts from pgbench 15', () => {
    const text = [
      'transaction type: <builtin: TPC-B (sort of)>',
      'scaling factor: 1',
      'number of clients: 8',
      'number of transactions actually processed: 13755',
      'number of failed transactions: 0 (0.000%)',
      'latency average = 2.906 ms',
      'initial connection time = 12.345 ms',
      'tps = 2752.519942 (without initial connection time)',
    ].join('\n');
    const expected = { tps: 2752.519942, latencyAvgMs: 2.906, transactions: 13755, failed: 0 };
    assert.deepEqual(parsePgbenchOutput(text), expected);
  });

  it('prefers the figure excluding connections from older pgbench', () => {
    const text = [
      'tps = 100.5 (including connections establishing)',
      'tps = 110.25 (excluding connections establishing)',
    ].join('\n');
    assert.equal(parsePgbenchOutput(text)?.tps, 110.25);
  });

  it('says nothing when there is no tps line', () => {
    assert.equal(parsePgbenchOutput('connection to server failed'), undefined);
  });
});

describe('/proc/<pid>/stat', () => {
  it('reads parent, own and reaped CPU ticks even when the name has spaces and parentheses', () => {
    const line = '4242 (postgres: x (y)) S 100 4242 4242 0 -1 4194560 500 0 0 0 70 30 5 6 20 0 1 0 100 1000 200';
    assert.deepEqual(parseProcStat(line), { ppid: 100, own: 100, reaped: 11 });
  });
});

describe('long-history step periods', () => {
  it('pools the gaps around a step, and shifts the window inside the chain at its ends', () => {
    // Steps 1..200 run 2 ms apart up to 150, then 5 ms apart.
    const times = new Map<number, number>();
    let t = 0;
    for (let s = 1; s <= 200; s++) {
      t += s <= 150 ? 2 : 5;
      times.set(s, t);
    }
    assert.equal(stepPeriodAround(times, 100, 200), 2);
    assert.equal(stepPeriodAround(times, 200, 200), 5);
    assert.equal(stepPeriodAround(times, 1, 200), 2);
  });
});

describe('the report', () => {
  it('marks targets met or missed and leaves rows without a target alone', () => {
    const row = (value: number, target?: Target) => ({ scenario: 's', metric: 'm', value, unit: '', target });
    assert.equal(verdict(row(1200, { op: '>=', value: 1000 })), 'met');
    assert.equal(verdict(row(40, { op: '<=', value: 30 })), 'MISSED');
    assert.equal(verdict(row(Number.NaN, { op: '<=', value: 30 })), '');
    assert.equal(verdict(row(3)), '');
  });

  it('aligns the table and prints n/a for figures not measured', () => {
    const target: Target = { op: '>=', value: 1000 };
    const table = renderTable([
      { scenario: 'hello chain', metric: 'orchestrations/s', value: 1234.5, unit: '/s', target },
      { scenario: 'limit', metric: 'pgbench tps', value: Number.NaN, unit: 'tps', note: 'skipped' },
    ]);
    const lines = table.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[2] as string, /1,235 \/s\s+>= 1,000\s+met/);
    assert.match(lines[3] as string, /n\/a tps.*skipped/);
  });

  it('ends with every issue key, null when a scenario did not run', () => {
    const line = finalJson({ hello_chain_per_s: 1500.123, pgbench_tps: Number.NaN }, { mode: 'quick' });
    const obj = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(obj).slice(0, JSON_KEYS.length), [...JSON_KEYS]);
    assert.equal(obj.hello_chain_per_s, 1500.12);
    assert.equal(obj.pgbench_tps, null);
    assert.equal(obj.dbos_per_s, null);
    assert.equal(obj.mode, 'quick');
  });
});

describe('the noisy-neighbour note', () => {
  const profile = (busy: number, pg: number, contender: number) => ({
    label: 'run',
    elapsedMs: 10000,
    workflows: 1,
    contenderCpuSeconds: contender,
    driverCpuSeconds: 1,
    server: {
      elapsedMs: 10000,
      commits: 1,
      rollbacks: 0,
      writeTransactions: 1,
      pgCpuSeconds: pg,
      system: { busy, idle: 20 - busy, iowait: 0 },
    },
  });

  it('flags a run during which other processes took more than a quarter of a core', () => {
    // 10 s busy − 5 Postgres − 2 worker − 1 driver = 2 s in 10 s: 20 %, no note.
    assert.deepEqual(neighbourNotes([profile(10, 5, 2)]), []);
    const notes = neighbourNotes([profile(12, 5, 2)]);
    assert.equal(notes.length, 1);
    assert.match(notes[0] as string, /other processes took 40% of a core during "run"/);
  });
});

describe('a rendered profile', () => {
  const base = {
    label: 'dtk hello chain',
    elapsedMs: 2000,
    workflows: 1000,
    workItems: 7000,
    contenderCpuSeconds: 0.5,
    driverCpuSeconds: 0.4,
  };
  const server = {
    elapsedMs: 2000,
    commits: 5000,
    rollbacks: 0,
    writeTransactions: 1750,
    walBytes: 16 * 1024 * 1000,
    walSyncs: 1600,
  };

  it('gives per-workflow costs and how much of the run the WAL syncs took', () => {
    const text = renderProfile({ ...base, server: { ...server, walSyncMs: 800, pgCpuSeconds: 1.4 } });
    assert.match(text, /^dtk hello chain: 1,000 workflows in 2 s, 7,000 work items/);
    assert.match(text, /of which writing 1,750 \(875\/s, 1.75 per workflow\); 4 work items per writing commit/);
    assert.match(text, /WAL 15.6 MiB \(16 KiB per workflow\), 1,600 fsyncs/);
    assert.match(text, /taking 800 ms \(0.5 ms each, 40% of the time\)/);
    assert.match(text, /CPU: postgres 1.4 s \(70% of a core\), contender 0.5 s \(25% of a core\)/);
  });

  it('says so when the server does not time its WAL syncs, rather than printing zero', () => {
    const text = renderProfile({ ...base, server: { ...server, walSyncMs: 0 } });
    assert.match(text, /1,600 fsyncs \(sync time not tracked: track_wal_io_timing is off\)/);
    assert.match(text, /CPU: postgres n\/a/);
  });
});
