/**
 * The names a worker serves. Orchestrations and activities live in separate namespaces; names
 * are case-sensitive and registered once, so a typo or a double registration fails at start-up
 * rather than as a stuck instance later.
 */
import { ValidationError } from '../errors.ts';
import type { ActivityFunction, OrchestratorFunction } from './api.ts';
import type { OrchestratorRegistry } from './executor.ts';

/** Orchestrations and activities by name. Implements what the executor needs. */
export class Registry implements OrchestratorRegistry {
  readonly #orchestrators = new Map<string, OrchestratorFunction>();
  readonly #activities = new Map<string, ActivityFunction>();

  /** Registers an orchestration under `name`, or under the function's own name. */
  addOrchestrator<TIn, TOut>(fn: OrchestratorFunction<TIn, TOut>): this;
  addOrchestrator<TIn, TOut>(name: string, fn: OrchestratorFunction<TIn, TOut>): this;
  addOrchestrator<TIn, TOut>(
    nameOrFn: string | OrchestratorFunction<TIn, TOut>,
    maybeFn?: OrchestratorFunction<TIn, TOut>,
  ): this {
    const [name, fn] = nameAndFunction('orchestration', nameOrFn, maybeFn);
    add(this.#orchestrators, 'orchestration', name, fn as unknown as OrchestratorFunction);
    return this;
  }

  /** Registers an activity under `name`, or under the function's own name. */
  addActivity<TIn, TOut>(fn: ActivityFunction<TIn, TOut>): this;
  addActivity<TIn, TOut>(name: string, fn: ActivityFunction<TIn, TOut>): this;
  addActivity<TIn, TOut>(nameOrFn: string | ActivityFunction<TIn, TOut>, maybeFn?: ActivityFunction<TIn, TOut>): this {
    const [name, fn] = nameAndFunction('activity', nameOrFn, maybeFn);
    add(this.#activities, 'activity', name, fn as unknown as ActivityFunction);
    return this;
  }

  getOrchestrator(name: string): OrchestratorFunction | undefined {
    return this.#orchestrators.get(name);
  }

  getActivity(name: string): ActivityFunction | undefined {
    return this.#activities.get(name);
  }

  /** Registered orchestration names, sorted. */
  orchestratorNames(): string[] {
    return [...this.#orchestrators.keys()].sort();
  }

  /** Registered activity names, sorted. */
  activityNames(): string[] {
    return [...this.#activities.keys()].sort();
  }
}

function nameAndFunction<F>(what: string, nameOrFn: string | F, maybeFn: F | undefined): [string, F] {
  if (typeof nameOrFn === 'string') {
    if (nameOrFn === '') throw new ValidationError(`${what} name`, 'must not be empty');
    if (typeof maybeFn !== 'function') throw new ValidationError(what, `'${nameOrFn}' needs a function`);
    return [nameOrFn, maybeFn];
  }
  if (typeof nameOrFn !== 'function') {
    throw new ValidationError(what, 'expected a name and a function, or a named function');
  }
  const name = (nameOrFn as { name?: unknown }).name;
  if (typeof name !== 'string' || name === '') {
    throw new ValidationError(
      what,
      'the function has no name (an anonymous or arrow function); pass a name as the first argument',
    );
  }
  return [name, nameOrFn];
}

function add<F>(map: Map<string, F>, what: string, name: string, fn: F): void {
  if (map.has(name)) throw new ValidationError(`${what} name`, `'${name}' is already registered; names must be unique`);
  map.set(name, fn);
}
