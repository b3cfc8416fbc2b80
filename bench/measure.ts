/**
 * Wraps a timed run with server counters and CPU readings, so each figure comes with the
 * profile that explains it.
 */
import { delta, settleCounters, snapshot, type ServerDelta } from './pg-stats.ts';
import type { BenchServer } from './server.ts';

/** A timed run and what it cost. */
export interface Measured<T> {
  value: T;
  server: ServerDelta;
  /** CPU seconds of the bench (driver) process during the run. */
  driverCpuSeconds: number;
}

/**
 * Lets pending counters settle, reads them, runs `fn`, lets them settle again and reads them
 * again. The settle pauses sit outside `fn`'s own timing; only commits made by the idle
 * contender while settling (its fallback polls) leak into the window.
 */
export async function measured<T>(server: BenchServer, database: string, fn: () => Promise<T>): Promise<Measured<T>> {
  await settleCounters();
  const before = await snapshot(server, database);
  const cpu0 = process.cpuUsage();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  await settleCounters();
  const after = await snapshot(server, database);
  return { value, server: delta(before, after), driverCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}
