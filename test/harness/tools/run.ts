import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';

/** What a finished command printed and how it ended. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Text written to the command's standard input, which is closed afterwards. */
  input?: string;
  /** Copy the command's output to our own stderr as it arrives (for long builds). */
  echo?: boolean;
  timeoutMs?: number;
}

/**
 * Runs a command to completion and collects its output. Never throws for a non-zero exit: callers decide what
 * failure means (a rejected CRD object is an expected outcome in the tests). Throws only if it cannot start.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // No stdin pipe unless there is input: ending a pipe to a process that already exited (openssl is that quick)
    // raises EPIPE on the socket, which would crash the whole test process.
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] };
    const child = spawn(command, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (child.stdin) {
      // A command may exit without reading its input (kubectl rejecting flags); that is its answer, not our error.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
  });
}

/** Like {@link run}, but throws with the command line and its stderr when it does not exit 0. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-30).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}:\n${tail}`);
  }
  return result.stdout;
}
