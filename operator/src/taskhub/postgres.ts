/**
 * Connections the TaskHub reconciler makes: short-lived admin clients for provisioning, the URIs it writes for the
 * hub role, and the translation of connection and SQL errors into condition reasons that say what to fix.
 */
import pg from 'pg';
import { DtkError } from '../../../worker/src/errors.ts';

/** Provisioning cannot proceed; `reason` is the condition reason and the message says what to fix. */
export class ProvisioningError extends DtkError {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super('DTK_HUB_PROVISIONING', message, options);
    this.reason = reason;
  }
}

/** A parsed admin URI. */
export interface AdminTarget {
  url: URL;
  host: string;
  port: string;
  database: string;
}

/** Parses and checks an admin URI; `sslMode` (from the spec) replaces the URI's own. */
export function parseAdminUri(uri: string, where: string, sslMode?: string): AdminTarget {
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch {
    throw new ProvisioningError('AdminUriInvalid', `${where} is not a URI; expected postgres://user:password@host:5432/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ProvisioningError('AdminUriInvalid', `${where} has scheme '${url.protocol}'; expected postgres://user:password@host:5432/database`);
  }
  if (!url.hostname) throw new ProvisioningError('AdminUriInvalid', `${where} names no host; expected postgres://user:password@host:5432/database`);
  if (sslMode) url.searchParams.set('sslmode', sslMode);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  return { url, host: url.hostname, port: url.port || '5432', database };
}

/** The admin URI pointed at another database. */
export function withDatabase(target: AdminTarget, database: string): string {
  const url = new URL(target.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The URI workers use: the hub role's credentials, the admin's host, port and TLS settings. */
export function hubUri(target: AdminTarget, user: string, password: string, database: string): string {
  const url = new URL(target.url);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Runs `body` on a fresh client and always disconnects. */
export async function withClient<T>(uri: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 5000, statement_timeout: 60_000 });
  // An error on an idle client (server restart) must not crash the operator; the pending query rejects anyway.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A condition reason and a message that says what to fix, for an error from Postgres or the network. */
export function describePgError(err: unknown, target: string, secretHint: string): ProvisioningError {
  if (err instanceof ProvisioningError) return err;
  // The store wraps driver errors (StoreUnavailableError); the driver's code is on the cause.
  const wrapped = err as { code?: string; cause?: unknown };
  const unavailable = wrapped.code === 'DTK_STORE_UNAVAILABLE';
  const e = (unavailable && wrapped.cause ? wrapped.cause : err) as { code?: string; message?: string };
  const message = e.message ?? String(err);
  switch (unavailable && !e.code ? 'ECONNREFUSED' : e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return new ProvisioningError(
        'PostgresUnreachable',
        `cannot reach Postgres at ${target} (${e.code}); check the host and port in ${secretHint} and that the server accepts connections`,
        { cause: err },
      );
    case '28P01':
    case '28000':
      return new ProvisioningError('PostgresAuthFailed', `Postgres at ${target} refused the credentials in ${secretHint}: ${message}`, { cause: err });
    case '42501':
      return new ProvisioningError(
        'AdminNotPrivileged',
        `the admin user in ${secretHint} lacks a privilege: ${message}; it needs CREATEROLE and CREATEDB (or superuser)`,
        { cause: err },
      );
    case '3D000':
      return new ProvisioningError('AdminUriInvalid', `the database named in ${secretHint} does not exist: ${message}`, { cause: err });
    case '57P03':
      return new ProvisioningError('PostgresUnreachable', `Postgres at ${target} is starting up or shutting down: ${message}`, { cause: err });
    default:
      if (/timeout|terminated unexpectedly|Connection terminated/i.test(message)) {
        return new ProvisioningError(
          'PostgresUnreachable',
          `cannot reach Postgres at ${target} (${message}); check the host and port in ${secretHint} and that the server accepts connections`,
          { cause: err },
        );
      }
      return new ProvisioningError('ProvisioningFailed', `provisioning on ${target} failed: ${message}`, { cause: err });
  }
}
