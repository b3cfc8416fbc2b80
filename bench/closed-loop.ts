/**
 * Drivers that keep a fixed number of workflows in flight (closed loop) or start them at a
 * fixed rate regardless of completions (open loop), the two ways the scenarios load a system.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `one(0) … one(total - 1)` with at most `concurrency` in flight: each lane starts the next
 * index as soon as its previous one finished. Rejects with the first failure once lanes stop.
 */
export async function closedLoop(
  total: number,
  concurrency: number,
  one: (index: number) => Promise<void>,
): Promise<{ elapsedMs: number }> {
  let next = 0;
  let failure: unknown;
  const started = performance.now();
  const lane = async () => {
    while (failure === undefined) {
      const index = next++;
      if (index >= total) return;
      try {
        await one(index);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  if (failure !== undefined) throw failure;
  return { elapsedMs: performance.now() - started };
}

/**
 * Starts `one(i)` every 1000/ratePerS ms for `durationS` seconds, on a schedule fixed in
 * advance (a slow completion never delays the next start), and resolves when all have finished.
 * Each call receives the scheduled start time so latency is measured from when it was due.
 */
export async function openLoop(
  ratePerS: number,
  durationS: number,
  one: (index: number, dueAt: number) => Promise<void>,
): Promise<{ started: number; failures: unknown[] }> {
  const count = Math.round(ratePerS * durationS);
  const interval = 1000 / ratePerS;
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  const failures: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const dueAt = t0 + i * interval;
    const wait = dueAt - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(one(i, dueAt).catch((err: unknown) => void failures.push(err)));
  }
  await Promise.all(inFlight);
  return { started: count, failures };
}
