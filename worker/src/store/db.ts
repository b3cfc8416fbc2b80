/**
 * Connection handling: a pool, transactions retried on serialization failures and deadlocks,
 * and connection errors turned into StoreUnavailableError naming the host to check.
 */
import pg from 'pg';
import { DtkError, SchemaVersionError, StoreUnavailableError } from '../errors.ts';

/**
 * How long a transaction may sit idle between statements before the server ends it. Our transactions
 * run their statements back to back, so an idle one belongs to a client that is paused (SIGSTOP, a
 * long GC, a frozen VM) while holding row locks: without this bound, the instances it locked could not
 * be claimed by anyone until it woke, long after its lease ran out. When it wakes, its commit fails.
 */
const IDLE_IN_TRANSACTION_MS = 5000;
const BEGIN = `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_MS}`;

/** SQLSTATEs that mean "run the transaction again": serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P03', '08006', '08001', '08003']);

/** Anything that runs a parameterised query: the pool wrapper, or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Where a URL points, without its password, for error messages. */
export function describeTarget(url: string | undefined): string {
  if (!url) return 'the configured pool';
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'an unparseable URL';
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(message);
}

function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

/** A short random pause before attempt `attempt + 1`, so colliding callers do not collide again. */
function retryPause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
}

/** The pool plus helpers every query module uses. */
const ARRAY_JOIN = /unnest\(|=\s*ANY\(|<>\s*ALL\(/i;

/**
 * Names a statement by a hash of its text, so node-pg prepares it once per connection and every
 * later call skips parsing and planning (generic plans). Hot paths run the same few statements
 * thousands of times a second; planning was a tenth of Postgres's time before this.
 */
export function prepared(text: string, values: unknown[] | undefined): pg.QueryConfig<unknown[]> {
  // Statements that join parameter arrays to the hub's tables stay unnamed: a generic plan made while
  // the tables were small (hash joins over sequential scans) is kept for the connection's lifetime and
  // turns into full scans as they grow; planned per call they use the primary keys (474 → 877 hello
  // chains/s at 20,000 in docs/benchmarks.md).
  if (values === undefined || ARRAY_JOIN.test(text)) return { text, values };
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return { name: `dtk_${h1.toString(36)}${h2.toString(36)}`, text, values };
}

/** A transaction's client as the query modules see it: every statement prepared by name. */
function preparedClient(client: pg.PoolClient): Queryable {
  return {
    query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => client.query<R>(prepared(text, values)),
  };
}

export class Database {
  readonly pool: pg.Pool;
  readonly target: string;

  constructor(pool: pg.Pool, target: string) {
    this.pool = pool;
    this.target = target;
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => {});
  }

  /** Maps driver errors to typed ones; DtkErrors pass through. */
  translate(err: unknown): unknown {
    if (err instanceof DtkError) return err;
    if (isConnectionError(err)) return new StoreUnavailableError(this.target, err);
    const code = (err as { code?: unknown } | null)?.code;
    // undefined_table / invalid_schema_name: the hub was never migrated (or the schema name is wrong).
    if (code === '42P01' || code === '3F000') {
      const detail = err instanceof Error ? err.message : String(err);
      const wrapped = new SchemaVersionError(
        `the task hub at ${this.target} is not set up (${detail}); run \`dtk hub migrate\` with the same URL and schema, or check the schema name`,
      );
      (wrapped as Error).cause = err;
      return wrapped;
    }
    return err;
  }

  /**
   * Runs one statement on its own (autocommit). A serialization failure or deadlock undid all of it,
   * so it is run again, like a transaction: claims, renewals and releases are single statements that
   * lock rows, and their callers must not see these either.
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], attempts = 5): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(prepared(text, values));
      } catch (err) {
        if (isRetryable(err) && attempt < attempts) {
          await retryPause(attempt);
          continue;
        }
        throw this.translate(err);
      }
    }
  }

  /**
   * Runs `body` in a READ COMMITTED transaction; serialization failures and deadlocks are
   * retried a few times with jitter, so callers never see them.
   */
  async transaction<T>(body: (client: Queryable) => Promise<T>, attempts = 5): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw this.translate(err);
      }
      let broken = false;
      // The pool listens for errors only on idle clients. A checked-out one can still get one between
      // statements (the server ended the session: idle timeout, pg_terminate_backend, a restart); unheard,
      // it would crash the process. The next statement fails anyway, so only remember not to reuse it.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query(BEGIN);
        const result = await body(preparedClient(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (isRetryable(err) && attempt < attempts) {
          await retryPause(attempt);
          continue;
        }
        if (isConnectionError(err)) broken = true;
        throw this.translate(err);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
