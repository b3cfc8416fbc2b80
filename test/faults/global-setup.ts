/**
 * `npm run test:faults` global setup: the run's shared Postgres (as for integration tests), the
 * Kubernetes control plane the operator scenario (10) runs against, a figures file every fault test
 * appends to, and at the very end the summary: instances run, faults injected by kind, invariant
 * violations and recovery time after worker kills.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cluster from '../harness/cluster/global-setup.ts';
import * as postgres from '../harness/postgres-setup.ts';
import { summarise } from './report.ts';

let dir: string | undefined;

export async function globalSetup(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'dtk-faults-report-'));
  process.env.DTK_FAULTS_REPORT = join(dir, 'figures.jsonl');
  await postgres.globalSetup();
  await cluster.globalSetup();
}

export async function globalTeardown(): Promise<void> {
  await Promise.allSettled([cluster.globalTeardown(), postgres.globalTeardown()]);
  if (!dir) return;
  process.stdout.write(`\n${summarise(join(dir, 'figures.jsonl')).join('\n')}\n`);
  rmSync(dir, { recursive: true, force: true });
}
