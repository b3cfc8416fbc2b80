/**
 * Scenario 3, activity throughput: no-op activities/s with one worker process. A few
 * orchestrations each fan out a thousand activities at once, so the activity queue stays full
 * and the orchestration side does little besides collecting results.
 */
import { DTK_DATABASE, withDtkHub, type DtkHub } from '../dtk/hub.ts';
import { measured } from '../measure.ts';
import { emptyOutcome, type Profile, type ScenarioOutcome } from '../report.ts';
import { median, perSecond } from '../stats.ts';
import { expectCompleted, hubOptions, type BenchContext, type Scenario } from './context.ts';
import { medianRun } from './hello.ts';

/** Starts `count` fan-outs of `width` at once and waits for all; returns the elapsed time. */
async function fanOutBatch(hub: DtkHub, count: number, width: number, prefix: string): Promise<{ elapsedMs: number }> {
  const started = performance.now();
  const start = (i: number) => hub.client.scheduleNewOrchestration('fanOut', width, { instanceId: `${prefix}-${i}` });
  const ids = await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
  const finish = async (id: string) => {
    expectCompleted(await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 120000 }), width);
  };
  await Promise.all(ids.map(finish));
  return { elapsedMs: performance.now() - started };
}

interface ActivitiesRun {
  perS: number;
  profile: Profile;
}

export const activities: Scenario = {
  name: 'activities',
  title: 'activity throughput',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const { orchestrations, perOrchestration, runs } = ctx.args.sizes.activities;
    const results: ActivitiesRun[] = [];
    for (let r = 1; r <= runs; r++) {
      const res = await withDtkHub(ctx.server, hubOptions(ctx, 'activities'), async (hub) => {
        await fanOutBatch(hub, 1, Math.min(perOrchestration, 500), 'warmup');
        const s0 = await hub.stats();
        const batch = () => fanOutBatch(hub, orchestrations, perOrchestration, 'act');
        const m = await measured(ctx.server, DTK_DATABASE, batch);
        const s1 = await hub.stats();
        const done = s1.activities - s0.activities;
        return {
          perS: perSecond(done, m.value.elapsedMs),
          profile: {
            label: `dtk activities, run ${r}`,
            elapsedMs: m.value.elapsedMs,
            workflows: orchestrations,
            workItems: done + (s1.turns - s0.turns),
            server: m.server,
            contenderCpuSeconds: s1.cpuSeconds - s0.cpuSeconds,
            driverCpuSeconds: m.driverCpuSeconds,
          },
        };
      });
      ctx.log(`  activities run ${r}/${runs}: ${res.perS.toFixed(0)} activities/s`);
      results.push(res);
    }
    const out = emptyOutcome();
    const perS = median(results.map((r) => r.perS));
    out.rows.push({
      scenario: 'activities',
      metric: `no-op activities/s, one worker process (${orchestrations} × ${perOrchestration})`,
      value: perS,
      unit: '/s',
      target: { op: '>=', value: 5000 },
      note: runs > 1 ? `median of ${runs}: ${results.map((r) => r.perS.toFixed(0)).join(', ')}` : 'one run',
    });
    out.json.activities_per_s = perS;
    const mid = medianRun(results, (r) => r.perS);
    out.profiles.push(mid.profile);
    return out;
  },
};
