/**
 * Scenario 5, latency: one-activity orchestrations started open-loop at a light fixed rate;
 * start-to-completion p50 and p99 as the client sees them, measured from when each start was
 * due (so a stall delays the clock, not the schedule). The server-side figure (instance
 * created → completed, database clock) is printed beside it.
 */
import { openLoop } from '../closed-loop.ts';
import { withDtkHub } from '../dtk/hub.ts';
import { emptyOutcome, type ScenarioOutcome } from '../report.ts';
import { percentile } from '../stats.ts';
import { hubOptions, type BenchContext, type Scenario } from './context.ts';
import { driveHelloChains } from './hello.ts';

export const latency: Scenario = {
  name: 'latency',
  title: 'latency',
  async run(ctx: BenchContext): Promise<ScenarioOutcome> {
    const { ratePerS, durationS } = ctx.args.sizes.latency;
    const { client, server, failures } = await withDtkHub(ctx.server, hubOptions(ctx, 'latency'), async (hub) => {
      await driveHelloChains(hub, 100, 10, 1_000_000);
      const clientMs: number[] = [];
      const serverMs: number[] = [];
      const res = await openLoop(ratePerS, durationS, async (i, dueAt) => {
        const id = await hub.client.scheduleNewOrchestration('single', i, { instanceId: `lat-${i}` });
        const s = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 60000 });
        clientMs.push(performance.now() - dueAt);
        if (s.status !== 'Completed') throw new Error(`latency instance ${id} ended ${s.status}`);
        if (s.completedAt) serverMs.push(s.completedAt.getTime() - s.createdAt.getTime());
      });
      return { client: clientMs, server: serverMs, failures: res.failures };
    });
    if (failures.length > 0) throw failures[0];
    const out = emptyOutcome();
    const count = `${client.length} at ${ratePerS}/s for ${durationS} s`;
    const p50 = percentile(client, 50);
    const p99 = percentile(client, 99);
    out.rows.push(
      {
        scenario: 'latency',
        metric: `start→completion p50, client (${count})`,
        value: p50,
        unit: 'ms',
        target: { op: '<=', value: 10 },
      },
      {
        scenario: 'latency',
        metric: 'start→completion p99, client',
        value: p99,
        unit: 'ms',
        target: { op: '<=', value: 30 },
        note: `max ${Math.max(...client).toFixed(1)} ms`,
      },
      {
        scenario: 'latency',
        metric: 'created→completed p50 / p99, database clock',
        value: percentile(server, 50),
        unit: 'ms',
        note: `p99 ${percentile(server, 99).toFixed(1)} ms`,
      },
    );
    out.json.latency_p50_ms = p50;
    out.json.latency_p99_ms = p99;
    ctx.log(`  latency: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    return out;
  },
};
