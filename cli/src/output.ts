/** Output of the `dtk` command: a table for people, JSON or YAML for scripts. */
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** Prints rows as an aligned table, or the raw value as JSON/YAML. */
export function printResult(format: OutputFormat, value: unknown, rows?: Record<string, string>[]): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  } else if (format === 'yaml') {
    process.stdout.write(stringify(value));
  } else if (rows) {
    process.stdout.write(formatTable(rows));
  } else {
    process.stdout.write(`${typeof value === 'string' ? value : stringify(value)}\n`.replace(/\n\n$/, '\n'));
  }
}

/** Aligns columns; the header is the keys of the first row, upper-cased. */
export function formatTable(rows: Record<string, string>[]): string {
  if (rows.length === 0) return 'No resources found.\n';
  const headers = Object.keys(rows[0] ?? {});
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => (r[h] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map((r) => line(headers.map((h) => r[h] ?? '')))].join('\n') + '\n';
}

/** "3m12s"-style age of a date relative to now. */
export function age(date: Date | undefined): string {
  if (!date) return '';
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

/** A payload shortened for a table cell. */
export function brief(value: unknown, max = 40): string {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
