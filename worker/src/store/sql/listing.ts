/**
 * Listing instances with filters and keyset pagination on (created_at, instance_id). The cursor
 * carries created_at as Postgres prints it, so microseconds survive the round trip.
 */
import type { Queryable } from '../db.ts';
import { ValidationError } from '../../errors.ts';
import type { InstanceRow } from '../schema.ts';
import type { InstanceFilter, ListPage, ListRequest } from '../types.ts';
import { stateColumns, toState } from './instances.ts';

type Q = Queryable;

/** WHERE clauses for a filter, appending parameters to `values`. */
export function filterClauses(filter: InstanceFilter, values: unknown[]): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  if (filter.statuses?.length) add((p) => `status = ANY(${p}::text[])`, filter.statuses);
  if (filter.name !== undefined) add((p) => `name = ${p}`, filter.name);
  if (filter.version !== undefined) add((p) => `version = ${p}`, filter.version);
  if (filter.createdFrom) add((p) => `created_at >= ${p}`, filter.createdFrom);
  if (filter.createdTo) add((p) => `created_at < ${p}`, filter.createdTo);
  if (filter.instanceIdPrefix !== undefined) {
    // Escape LIKE wildcards so a prefix is a prefix.
    add((p) => `instance_id LIKE ${p}`, `${filter.instanceIdPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  return where;
}

function decodeToken(token: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string') return [parsed[0], parsed[1]];
  } catch {
    // fall through
  }
  throw new ValidationError('continuationToken', 'is not a token returned by a previous list call; start again without it');
}

export async function listInstances(db: Q, S: string, req: ListRequest): Promise<ListPage> {
  const pageSize = req.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new ValidationError('pageSize', `must be an integer from 1 to 1000, got ${pageSize}`);
  const values: unknown[] = [];
  const where = filterClauses(req, values);
  if (req.continuationToken) {
    const [created, id] = decodeToken(req.continuationToken);
    values.push(created, id);
    where.push(`(created_at, instance_id) > ($${values.length - 1}::timestamptz, $${values.length})`);
  }
  values.push(pageSize + 1);
  const r = await db.query<InstanceRow & { cursor: string }>(
    `SELECT ${stateColumns(req.withPayloads ?? false)}, created_at::text AS cursor FROM ${S}.instances
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, instance_id
      LIMIT $${values.length}`,
    values,
  );
  const rows = r.rows.slice(0, pageSize);
  const last = rows[rows.length - 1];
  const more = r.rows.length > pageSize && last !== undefined;
  return {
    instances: rows.map(toState),
    continuationToken: more ? Buffer.from(JSON.stringify([last.cursor, last.instance_id])).toString('base64url') : undefined,
  };
}
