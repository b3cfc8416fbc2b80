/** Argument helpers for `dtk`: JSON flags, tags, dates and status lists with errors that name the flag. */
import { DtkError } from '../../worker/src/errors.ts';
import type { RuntimeStatus } from '../../worker/src/orchestration/history.ts';

/** A command-line mistake; exits with code 2. */
export class UsageError extends DtkError {
  constructor(message: string) {
    super('DTK_USAGE', message);
  }
}

const STATUSES: readonly RuntimeStatus[] = ['Pending', 'Running', 'Suspended', 'Completed', 'Failed', 'Terminated', 'ContinuedAsNew'];

/** Parses a JSON flag value; a bare word that is not JSON is taken as a string. */
export function jsonFlag(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    if (/^[\w.\-:/ ]*$/.test(text)) return text;
    throw new UsageError(`--${flag}: not valid JSON: ${text}; quote strings as '"text"' or pass an object like '{"a":1}'`);
  }
}

export function dateFlag(flag: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${flag}: not a date: ${text}; use ISO-8601 like 2026-01-31T12:00:00Z`);
  return d;
}

export function intFlag(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag}: must be an integer from ${min} to ${max}, got ${text}`);
  return n;
}

export function statusesFlag(text: string | undefined): RuntimeStatus[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((raw) => {
    const s = STATUSES.find((x) => x.toLowerCase() === raw.trim().toLowerCase());
    if (!s) throw new UsageError(`--status: unknown status '${raw}'; use one or more of ${STATUSES.join(', ')}`);
    return s;
  });
}

export function tagsFlag(values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`--tag: expected key=value, got '${v}'`);
    tags[v.slice(0, i)] = v.slice(i + 1);
  }
  return tags;
}
