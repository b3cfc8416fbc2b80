/**
 * Names of what a TaskHub owns in Postgres and Kubernetes. Postgres names are `dtk_<namespace>_<hub>`, lower-case
 * with `-` and `.` turned into `_`. Because that mapping can merge two different pairs (`a-b`/`c` and `a`/`b-c`),
 * a short hash of `namespace/name` is appended whenever a name needed rewriting or shortening, so two hubs never
 * share a role, schema or database.
 */
import { createHash } from 'node:crypto';

/** Postgres identifiers of a hub. */
export interface HubNames {
  /** Login role of the hub (≤ 63 characters). */
  role: string;
  /** Schema holding the hub's tables (≤ 48 characters, the store's limit). */
  schema: string;
  /** Database: the admin URI's for schema isolation, a database of the hub's own for database isolation. */
  database: string | undefined;
}

function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `dtk_<ns>_<hub>` made a safe identifier of at most `max` characters. */
export function pgIdentifier(namespace: string, name: string, max: number): string {
  const raw = `dtk_${namespace}_${name}`;
  const clean = raw.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (clean === raw && clean.length <= max) return clean;
  const suffix = `_${shortHash(`${namespace}/${name}`)}`;
  return `${clean.slice(0, max - suffix.length).replace(/_+$/, '')}${suffix}`;
}

/** The Postgres names of a hub for its isolation mode. */
export function hubNames(namespace: string, name: string, isolation: 'schema' | 'database'): HubNames {
  const role = pgIdentifier(namespace, name, 63);
  if (isolation === 'database') return { role, schema: 'dtk', database: role };
  return { role, schema: pgIdentifier(namespace, name, 48), database: undefined };
}

/** The Secret the operator writes for workers: `<hub>-connection`. */
export function connectionSecretName(hub: string): string {
  return `${hub}-connection`;
}

/** Name of the managed Postgres StatefulSet, its Service and its admin Secret. */
export function managedPostgresName(hub: string): string {
  return `${hub}-postgres`;
}
