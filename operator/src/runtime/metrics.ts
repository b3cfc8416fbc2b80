/**
 * A tiny metrics registry rendering the Prometheus text exposition format (version 0.0.4): counters, gauges
 * (set directly or computed at scrape time) and histograms, each with labels. Enough for the operator's
 * `/metrics`, without a dependency.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function renderLabels(labels: Labels, extra?: Labels): string {
  const all = { ...labels, ...extra };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function renderNumber(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return Number.isNaN(n) ? 'NaN' : String(n);
}

interface Metric {
  readonly name: string;
  render(): string[];
}

/** A monotonically increasing count. */
export class Counter implements Metric {
  readonly name: string;
  readonly #help: string;
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(name: string, help: string) {
    this.name = name;
    this.#help = help;
  }

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const entry = this.#values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.#values.set(key, entry);
  }

  /** The current value for a label set (tests, health checks). */
  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.#help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#values.values()) lines.push(`${this.name}${renderLabels(labels)} ${renderNumber(value)}`);
    return lines;
  }
}

/** A value that goes up and down; either set directly or computed by a collector at scrape time. */
export class Gauge implements Metric {
  readonly name: string;
  readonly #help: string;
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  #collector: (() => { labels: Labels; value: number }[]) | undefined;

  constructor(name: string, help: string) {
    this.name = name;
    this.#help = help;
  }

  set(labels: Labels, value: number): void {
    this.#values.set(labelKey(labels), { labels, value });
  }

  /** Removes a label set (an object that no longer exists). */
  remove(labels: Labels): void {
    this.#values.delete(labelKey(labels));
  }

  /** Computes the values at scrape time instead (replaces directly set values). */
  collect(collector: () => { labels: Labels; value: number }[]): void {
    this.#collector = collector;
  }

  get(labels: Labels = {}): number | undefined {
    const key = labelKey(labels);
    if (this.#collector) return this.#collector().find((v) => labelKey(v.labels) === key)?.value;
    return this.#values.get(key)?.value;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.#help}`, `# TYPE ${this.name} gauge`];
    const values = this.#collector ? this.#collector() : [...this.#values.values()];
    for (const { labels, value } of values) lines.push(`${this.name}${renderLabels(labels)} ${renderNumber(value)}`);
    return lines;
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram implements Metric {
  readonly name: string;
  readonly #help: string;
  readonly #buckets: number[];
  readonly #values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(name: string, help: string, buckets: number[]) {
    this.name = name;
    this.#help = help;
    this.#buckets = [...buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let entry = this.#values.get(key);
    if (!entry) {
      entry = { labels, counts: this.#buckets.map(() => 0), sum: 0, count: 0 };
      this.#values.set(key, entry);
    }
    this.#buckets.forEach((le, i) => {
      if (value <= le) entry.counts[i] = (entry.counts[i] ?? 0) + 1;
    });
    entry.sum += value;
    entry.count += 1;
  }

  /** Observations so far for a label set. */
  count(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels))?.count ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.#help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.#values.values()) {
      this.#buckets.forEach((le, i) => lines.push(`${this.name}_bucket${renderLabels(labels, { le: renderNumber(le) })} ${counts[i] ?? 0}`));
      lines.push(`${this.name}_bucket${renderLabels(labels, { le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${renderLabels(labels)} ${renderNumber(sum)}`);
      lines.push(`${this.name}_count${renderLabels(labels)} ${count}`);
    }
    return lines;
  }
}

/** A set of metrics rendered together. */
export class Registry {
  readonly #metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  /** The exposition text, ending with a newline. */
  render(): string {
    return `${this.#metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }

  #add<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.#metrics.push(metric);
    return metric;
  }
}

/** The operator's metrics, created once per process. */
export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter;
  reconcileErrors: Counter;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  relists: Counter;
  leader: Gauge;
  versions: Gauge;
  drainSeconds: Histogram;
  hubInstances: Gauge;
}

/** Creates the operator's metric set on a fresh registry. */
export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  return {
    registry,
    reconciles: registry.counter('dtk_operator_reconcile_total', 'Reconcile passes by controller and result (done, requeue, conflict, error).'),
    reconcileErrors: registry.counter('dtk_operator_reconcile_errors_total', 'Reconcile passes that failed, by controller.'),
    reconcileDuration: registry.histogram(
      'dtk_operator_reconcile_duration_seconds',
      'Duration of reconcile passes, by controller.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    queueDepth: registry.gauge('dtk_operator_workqueue_depth', 'Keys waiting in each controller queue.'),
    relists: registry.counter('dtk_operator_informer_lists_total', 'Full lists made by informers, by resource.'),
    leader: registry.gauge('dtk_operator_leader', '1 while this process holds the leader lease.'),
    versions: registry.gauge('dtk_operator_versions', 'Worker versions by WorkflowDeployment and state.'),
    drainSeconds: registry.histogram(
      'dtk_operator_version_drain_seconds',
      'Time from a version starting to drain until its last instance finished.',
      [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600],
    ),
    hubInstances: registry.gauge('dtk_operator_hub_instances', 'Instances per TaskHub by runtime status (refreshed periodically).'),
  };
}
