/**
 * Forking bench children (the DBOS runner, the dtk worker) with the same Node binary, and
 * talking to them over IPC with request/response messages.
 */
import { fork, type ChildProcess } from 'node:child_process';

/** A message from a child: a reply to request `id`, or an unsolicited report. */
interface Reply {
  id?: number;
  error?: string;
  [key: string]: unknown;
}

/** A long-lived child answering `request(cmd)` messages. */
export class ChildHandle {
  readonly process: ChildProcess;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: Reply) => void; reject: (e: Error) => void }>();
  readonly #exited: Promise<number | null>;
  #stderr = '';

  constructor(modulePath: string, args: string[], options: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {}) {
    this.process = fork(modulePath, args, {
      env: options.env ?? process.env,
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      // Keep the tail only: enough to explain a crash without holding a chatty log.
      this.#stderr = (this.#stderr + chunk.toString()).slice(-8000);
    });
    this.process.on('message', (msg: Reply) => {
      if (typeof msg.id !== 'number') return;
      const waiter = this.#pending.get(msg.id);
      if (!waiter) return;
      this.#pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(msg.error));
      else waiter.resolve(msg);
    });
    this.#exited = new Promise((resolve) => {
      this.process.on('exit', (code) => {
        for (const w of this.#pending.values()) w.reject(new Error(`child ${modulePath} exited with ${code}\n${this.#stderr}`));
        this.#pending.clear();
        resolve(code);
      });
    });
  }

  /** Sends `{ cmd, ...body }` and resolves with the child's reply. */
  request<T>(cmd: string, body: Record<string, unknown> = {}, timeoutMs = 600000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`child did not answer ${cmd} within ${timeoutMs} ms\n${this.#stderr}`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.process.send({ id, cmd, ...body });
    });
  }

  /** The last lines the child wrote to stderr. */
  get stderrTail(): string {
    return this.#stderr;
  }

  /** Resolves with the exit code once the child has exited. */
  exited(): Promise<number | null> {
    return this.#exited;
  }
}

/**
 * Forks a one-shot child with `arg` as JSON in argv[2] and resolves with the one report it
 * sends before exiting; rejects with its error or its stderr tail.
 */
export async function runOnce<T>(modulePath: string, arg: unknown, timeoutMs = 900000): Promise<T> {
  const child = fork(modulePath, [JSON.stringify(arg)], { execArgv: [], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  let report: Reply | undefined;
  child.on('message', (msg: Reply) => {
    report ??= msg;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (report?.error) throw new Error(`${modulePath}: ${report.error}`);
  if (!report) throw new Error(`${modulePath} exited with ${code} and no report\n${stderr}`);
  return report as T;
}
