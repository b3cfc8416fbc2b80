/**
 * Worker modules: how application code hands its orchestrations and activities to a worker
 * process it does not start itself (`dtk dev`, the worker image, the demo). A module exports
 * either `register(worker)` or `orchestrations` / `activities` maps of name → function.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ValidationError } from './errors.ts';
import type { ActivityFunction, OrchestratorFunction } from './orchestration/api.ts';
import type { Worker } from './worker.ts';

/** The shape of a worker module. */
export interface WorkerModule {
  register?: (worker: Worker) => void | Promise<void>;
  orchestrations?: Record<string, OrchestratorFunction<never, unknown>>;
  activities?: Record<string, ActivityFunction<never, unknown>>;
}

/** Registers everything a worker module exports on `worker`. */
export async function applyWorkerModule(worker: Worker, mod: WorkerModule, source = 'worker module'): Promise<void> {
  if (typeof mod.register !== 'function' && !mod.orchestrations && !mod.activities) {
    throw new ValidationError(source, 'exports nothing dtk can use; export `register(worker)` or `orchestrations` and `activities` maps');
  }
  for (const [name, fn] of Object.entries(mod.orchestrations ?? {})) worker.addOrchestrator(name, fn as OrchestratorFunction);
  for (const [name, fn] of Object.entries(mod.activities ?? {})) worker.addActivity(name, fn as ActivityFunction);
  await mod.register?.(worker);
}

/** Imports a worker module from a file path and registers it on `worker`. */
export async function loadWorkerModule(worker: Worker, path: string): Promise<void> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: WorkerModule;
  try {
    mod = (await import(url)) as WorkerModule;
  } catch (err) {
    throw new ValidationError('worker module', `cannot import ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  await applyWorkerModule(worker, mod, path);
}
