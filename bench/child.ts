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
  readonly #signals: { key: string; resolve: (v: Reply) => void }[] = [];
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
      if (typeof msg.id !== 'number') {
        for (const s of this.#signals.filter((w) => msg[w.key])) s.resolve(msg);
        return;
      }
      const waiter = this.#pending.get(msg.id);
      if (!waiter) return;
      this.#pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(msg.error));
      else waiter.resolve(msg);
    });
    this.#exited = new Promise((resolve) => {
      this.process.on('exit', (code) => {
        const err = new Error(`child ${modulePath} exited with ${code}\n${this.#stderr}`);
        for (const w of this.#pending.values()) w.reject(err);
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

  /** Resolves with the first unsolicited message carrying `key` (such as `ready`); rejects if the child exits first. */
  signal(key: string, timeoutMs = 60000): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child sent no ${key} within ${timeoutMs} ms\n${this.#stderr}`)),
        timeoutMs,
      );
      this.#signals.push({
        key,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      });
      void this.#exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`child exited with ${code} before ${key}\n${this.#stderr}`));
      });
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
