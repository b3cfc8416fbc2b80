/**
 * Scenario 1, the hello chain: orchestrations of three sequential no-op activities, with the
 * driver keeping a fixed number in flight; orchestrations/s and work items/s, median of runs.
 * Each run gets a fresh hub and worker process, warmed up before the timed part.
 */
import { closedLoop } from '../closed-loop.ts';
import { DTK_DATABASE, withDtkHub, type DtkHub } from '../dtk/hub.ts';
import { measured } from '../measure.ts';
import { emptyOutcome, type Profile, type ScenarioOutcome } from '../report.ts';
import { median, perSecond } from '../stats.ts';
import {
  expectCompleted,
  hubOptions,
  warmupCount,
  type BenchContext,
  type HelloSummary,
  type Scenario,
} from './context.ts';

/** Starts `count` hello chains (inputs from `offset`) at `concurrency`, each awaited to completion and checked. */
export async function driveHelloChains(
  hub: DtkHub,
  count: number,
  concurrency: number,
  offset: number,
): Promise<{ elapsedMs: number }> {
  return closedLoop(count, concurrency, async (i) => {
    const value = offset + i;
    const id = await hub.client.scheduleNewOrchestration('helloChain', value, { instanceId: `hello-${value}` });
    expectCompleted(await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 60000 }), value);
  });
}

/** One run of the hello chain on a fresh hub. */
export async function runHelloOnce(
  ctx: BenchContext,
  label: string,
  databaseSettings?: Record<string, string>,
): Promise<HelloSummary> {
  const { total } = ctx.args.sizes.hello;
  const concurrency = ctx.args.sizes.concurrency;
  return withDtkHub(ctx.server, { ...hubOptions(ctx, 'hello'), databaseSettings }, async (hub) => {
    await driveHelloChains(hub, warmupCount(total), concurrency, 1_000_000);
    const s0 = await hub.stats();
    const m = await measured(ctx.server, DTK_DATABASE, () => driveHelloChains(hub, total, concurrency, 0));
    const s1 = await hub.stats();
    const workItems = s1.turns - s0.turns + (s1.activities - s0.activities);
    const profile: Profile = {
      label,
      elapsedMs: m.value.elapsedMs,
      workflows: total,
      workItems,
      server: m.server,
      contenderCpuSeconds: s1.cpuSeconds - s0.cpuSeconds,
      driverCpuSeconds: m.driverCpuSeconds,
    };
    const ms = m.value.elapsedMs;
    return { perS: perSecond(total, ms), workItemsPerS: perSecond(workItems, ms), profile };
  });
}

/** The run whose figure is the median (the middle run of an odd count, else the lower middle). */
export function medianRun<T>(runs: readonly T[], key: (r: T) => number): T {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1] as T;
}

export const hello: Scenario = {
  name: 'hello',
  title: 'hello chain',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const { total, runs } = ctx.args.sizes.hello;
    const results: HelloSummary[] = [];
    for (let r = 1; r <= runs; r++) {
      const res = await runHelloOnce(ctx, `dtk hello chain, run ${r}`);
      const items = res.workItemsPerS.toFixed(0);
      ctx.log(`  hello chain run ${r}/${runs}: ${res.perS.toFixed(0)} orchestrations/s, ${items} work items/s`);
      results.push(res);
    }
    const mid = medianRun(results, (r) => r.perS);
    ctx.shared.hello = { ...mid, perS: median(results.map((r) => r.perS)) };
    const out = emptyOutcome();
    const spread = `median of ${runs}: ${results.map((r) => r.perS.toFixed(0)).join(', ')}`;
    const c = `${total.toLocaleString('en-US')} at concurrency ${ctx.args.sizes.concurrency}`;
    out.rows.push(
      {
        scenario: 'hello chain',
        metric: `orchestrations/s (${c})`,
        value: ctx.shared.hello.perS,
        unit: '/s',
        target: { op: '>=', value: 1000 },
        note: spread,
      },
      {
        scenario: 'hello chain',
        metric: 'work items/s (turns + activities)',
        value: median(results.map((r) => r.workItemsPerS)),
        unit: '/s',
      },
    );
    out.json.hello_chain_per_s = ctx.shared.hello.perS;
    out.profiles.push({ ...mid.profile, label: `${mid.profile.label} (median)` });
    if (ctx.args.weak) {
      const weak = await runHelloOnce(ctx, 'dtk hello chain, synchronous_commit=off', { synchronous_commit: 'off' });
      out.rows.push({
        scenario: 'hello chain (weak)',
        metric: 'orchestrations/s, synchronous_commit=off: NOT durable',
        value: weak.perS,
        unit: '/s',
        note: 'one run; a crash may lose the last few hundred ms of commits',
      });
      out.profiles.push(weak.profile);
    }
    return out;
  },
};
