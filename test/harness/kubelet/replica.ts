import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { dirname } from 'node:path';

/** Everything needed to launch the process once; re-prepared on every restart so env sources are re-read. */
export interface Launch {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  /** HTTP readiness probe on localhost; without one a replica is ready as soon as its process runs. */
  readiness?: { url: string; periodMs: number; initialDelayMs: number };
}

/** Crash-loop back-off: the delay doubles from initialMs to maxMs, and resets after a run of resetAfterMs. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

/** Fixed facts about one replica (one local "pod"). */
export interface ReplicaIdentity {
  namespace: string;
  deployment: string;
  /** Pod-like name: `<deployment>-<template hash>-<index>`; also the log file's name. */
  name: string;
  index: number;
  templateHash: string;
  logPath: string;
  /** terminationGracePeriodSeconds in milliseconds. */
  graceMs: number;
}

/**
 * waiting: not started yet or env could not be prepared; running: process alive; backoff: crashed, restart
 * scheduled; terminating: SIGTERM sent; stopped: gone for good.
 */
export type ReplicaPhase = 'waiting' | 'running' | 'backoff' | 'terminating' | 'stopped';

/** A snapshot of a replica for tests and status. */
export interface ReplicaInfo extends ReplicaIdentity {
  phase: ReplicaPhase;
  pid: number | undefined;
  ready: boolean;
  readySince: number | undefined;
  restarts: number;
  lastExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Why the last start failed before a process ran (e.g. a Secret is missing). */
  lastError: string | undefined;
}

/**
 * Supervises one replica's process: starts it with output appended to its log, restarts it with back-off when it
 * exits (Deployments always restart), probes readiness, and on terminate() sends SIGTERM then SIGKILL after the
 * grace period. Emits 'change' on every state change.
 */
export class Replica extends EventEmitter {
  readonly id: ReplicaIdentity;
  private readonly prepare: () => Promise<Launch>;
  private readonly backoff: Backoff;
  private child: ChildProcess | undefined;
  private phaseValue: ReplicaPhase = 'waiting';
  private readyValue = false;
  private readySinceValue: number | undefined;
  private restartsValue = 0;
  private failures = 0;
  private lastExitValue: ReplicaInfo['lastExit'];
  private lastErrorValue: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private terminated: Promise<void> | undefined;

  constructor(id: ReplicaIdentity, prepare: () => Promise<Launch>, backoff: Backoff) {
    super();
    this.id = id;
    this.prepare = prepare;
    this.backoff = backoff;
    mkdirSync(dirname(id.logPath), { recursive: true });
  }

  /** The replica's current state. */
  info(): ReplicaInfo {
    return {
      ...this.id,
      phase: this.phaseValue,
      pid: this.child?.pid,
      ready: this.readyValue,
      readySince: this.readySinceValue,
      restarts: this.restartsValue,
      lastExit: this.lastExitValue,
      lastError: this.lastErrorValue,
    };
  }

  /** True once terminate() was called. */
  get terminating(): boolean {
    return this.phaseValue === 'terminating' || this.phaseValue === 'stopped';
  }

  /** Starts the first process; later starts are the replica's own business. */
  start(): void {
    void this.launch();
  }

  private async launch(): Promise<void> {
    this.timer = undefined;
    if (this.terminating) return;
    let launch: Launch;
    try {
      launch = await this.prepare();
    } catch (err) {
      this.lastErrorValue = err instanceof Error ? err.message : String(err);
      this.note(`cannot start: ${this.lastErrorValue}`);
      this.scheduleRestart('waiting');
      return;
    }
    if (this.terminating) return;
    this.lastErrorValue = undefined;
    const fd = openSync(this.id.logPath, 'a');
    let child: ChildProcess;
    try {
      // Own process group, so SIGKILL reaches anything the command forked, and a terminal's Ctrl-C does not.
      child = spawn(launch.command, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    const startedAt = Date.now();
    child.once('error', (err) => {
      // spawn failures (ENOENT) arrive here and are followed by 'close'; say what failed in the log.
      this.note(`spawn failed: ${err.message}`);
    });
    child.once('spawn', () => {
      this.note(`started pid ${child.pid}: ${[launch.command, ...launch.args].join(' ')}`);
      this.phaseValue = 'running';
      if (launch.readiness) this.probe(launch.readiness, child);
      else this.setReady(true);
      this.emit('change');
    });
    child.once('close', (code, signal) => {
      this.clearProbe();
      this.child = undefined;
      this.lastExitValue = { code, signal };
      this.note(`exited with ${signal ?? `code ${code}`}`);
      this.setReady(false);
      if (this.terminating) {
        this.phaseValue = 'stopped';
        this.emit('change');
        return;
      }
      if (Date.now() - startedAt >= this.backoff.resetAfterMs) this.failures = 0;
      this.restartsValue++;
      this.scheduleRestart('backoff');
    });
  }

  private scheduleRestart(phase: 'waiting' | 'backoff'): void {
    const delay = Math.min(this.backoff.initialMs * 2 ** this.failures, this.backoff.maxMs);
    this.failures++;
    this.phaseValue = phase;
    this.timer = setTimeout(() => void this.launch(), delay);
    this.emit('change');
  }

  private probe(readiness: NonNullable<Launch['readiness']>, child: ChildProcess): void {
    const tick = () => {
      if (this.child !== child) return;
      httpOk(readiness.url)
        .then((ok) => {
          if (this.child !== child) return;
          this.setReady(ok);
          this.emit('change');
        })
        .finally(() => {
          if (this.child === child) this.probeTimer = setTimeout(tick, readiness.periodMs);
        });
    };
    this.probeTimer = setTimeout(tick, readiness.initialDelayMs);
  }

  private clearProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private setReady(ready: boolean): void {
    if (ready && !this.readyValue) this.readySinceValue = Date.now();
    if (!ready) this.readySinceValue = undefined;
    this.readyValue = ready;
  }

  /** SIGTERM, then SIGKILL after the grace period; no restart afterwards. Resolves when the process is gone. */
  terminate(): Promise<void> {
    this.terminated ??= this.doTerminate();
    return this.terminated;
  }

  private async doTerminate(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.clearProbe();
    const child = this.child;
    this.phaseValue = 'terminating';
    this.setReady(false);
    this.emit('change');
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.phaseValue = 'stopped';
      this.emit('change');
      return;
    }
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.note(`sending SIGTERM (grace ${this.id.graceMs} ms)`);
    signal(child, 'SIGTERM');
    const timeout = setTimeout(() => {
      this.note('grace period over, sending SIGKILL');
      signal(child, 'SIGKILL');
    }, this.id.graceMs);
    await gone;
    clearTimeout(timeout);
  }

  /** Synchronous SIGKILL for process exit hooks, where nothing can be awaited. */
  killNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.phaseValue = 'stopped';
    if (this.child) signal(this.child, 'SIGKILL');
  }

  /** Kubelet lines go into the replica's log too, so a test reading it sees starts, exits and signals in order. */
  private note(message: string): void {
    appendFileSync(this.id.logPath, `[local-kubelet ${new Date().toISOString()}] ${this.id.name}: ${message}\n`);
  }
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    child.kill(sig);
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1_000 }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
