/**
 * Scenario 4, fan-out/fan-in: one orchestration schedules a thousand no-op activities in one
 * turn and awaits them all; wall time from the start call to the client seeing completion,
 * median of runs on one warmed-up hub.
 */
import { withDtkHub } from '../dtk/hub.ts';
import { emptyOutcome, type ScenarioOutcome } from '../report.ts';
import { median } from '../stats.ts';
import { expectCompleted, hubOptions, type BenchContext, type Scenario } from './context.ts';

export const fanout: Scenario = {
  name: 'fanout',
  title: 'fan-out/fan-in',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const { width, runs } = ctx.args.sizes.fanout;
    const times = await withDtkHub(ctx.server, hubOptions(ctx, 'fanout'), async (hub) => {
      const once = async (id: string) => {
        const started = performance.now();
        await hub.client.scheduleNewOrchestration('fanOut', width, { instanceId: id });
        expectCompleted(await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 60000 }), width);
        return performance.now() - started;
      };
      await once('warmup');
      const out: number[] = [];
      for (let r = 1; r <= runs; r++) {
        out.push(await once(`fanout-${r}`));
        ctx.log(`  fan-out ${width} run ${r}/${runs}: ${(out.at(-1) as number).toFixed(0)} ms`);
      }
      return out;
    });
    const out = emptyOutcome();
    const ms = median(times);
    out.rows.push({
      scenario: 'fan-out/fan-in',
      metric: `${width} no-op activities, start to completion`,
      value: ms,
      unit: 'ms',
      target: width === 1000 ? { op: '<=', value: 1000 } : undefined,
      note: `median of ${runs}: ${times.map((t) => t.toFixed(0)).join(', ')}`,
    });
    if (width === 1000) out.json.fanout_1000_ms = ms;
    return out;
  },
};
