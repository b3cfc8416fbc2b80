/**
 * Scenario 6, long history: one orchestration running thousands of sequential no-op
 * activities. Each activity notes when it ran (in the worker process), so the period of one
 * step (an orchestration turn plus one activity) is read near step 100 and near the last step;
 * if a turn re-read or re-replayed the whole history, the second would grow with it.
 */
import { withDtkHub } from '../dtk/hub.ts';
import { emptyOutcome, type ScenarioOutcome } from '../report.ts';
import { median } from '../stats.ts';
import { expectCompleted, hubOptions, type BenchContext, type Scenario } from './context.ts';

/** Steps either side of a probe point whose periods are pooled. */
const HALF_WINDOW = 25;

/**
 * The median step period (ms) around `step`: the gaps between consecutive probe times for the
 * steps in a window of 2×HALF_WINDOW+1 centred on `step`, shifted to fit inside 2..last.
 */
export function stepPeriodAround(times: ReadonlyMap<number, number>, step: number, last: number): number {
  const lo = Math.max(2, Math.min(step - HALF_WINDOW, last - 2 * HALF_WINDOW));
  const hi = Math.min(last, lo + 2 * HALF_WINDOW);
  const gaps: number[] = [];
  for (let s = lo; s <= hi; s++) {
    const a = times.get(s - 1);
    const b = times.get(s);
    if (a !== undefined && b !== undefined) gaps.push(b - a);
  }
  return median(gaps);
}

export const longHistory: Scenario = {
  name: 'long-history',
  title: 'long history',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const { steps, probes } = ctx.args.sizes.longHistory;
    const [early, late] = probes;
    const { times, elapsedMs } = await withDtkHub(ctx.server, hubOptions(ctx, 'long-history'), async (hub) => {
      const run = async (id: string, n: number) => {
        await hub.client.scheduleNewOrchestration('longChain', n, { instanceId: id });
        const timeoutMs = Math.max(120000, n * 50);
        expectCompleted(await hub.client.waitForOrchestrationCompletion(id, { timeoutMs }), n);
      };
      // Warm the worker up first, so step 100 of the measured chain is not paying for JIT.
      await run('warmup', 300);
      await hub.probes();
      const started = performance.now();
      await run('long', steps);
      return { times: await hub.probes(), elapsedMs: performance.now() - started };
    });
    const atEarly = stepPeriodAround(times, early, steps);
    const atLate = stepPeriodAround(times, late, steps);
    ctx.log(`  long history: ${atEarly.toFixed(2)} ms/step near ${early}, ${atLate.toFixed(2)} ms/step near ${late}`);
    const out = emptyOutcome();
    out.rows.push(
      {
        scenario: 'long history',
        metric: `step period near step ${early} (turn + activity)`,
        value: atEarly,
        unit: 'ms',
      },
      {
        scenario: 'long history',
        metric: `step period near step ${late}`,
        value: atLate,
        unit: 'ms',
        target: { op: '<=', value: 2 * atEarly },
        note: `${(atLate / atEarly).toFixed(2)}× step ${early}; whole chain ${(elapsedMs / 1000).toFixed(1)} s`,
      },
    );
    out.json.turn_ms_at_100 = atEarly;
    out.json.turn_ms_at_10000 = atLate;
    return out;
  },
};
