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
/**
 * Every statement in a hub transaction is driven by keys: a primary key, an index, or a small array
 * of parameters joined to a table. Its plan is cached per connection (statements are named) and is
 * often made while the hub's tables are nearly empty, when a sequential scan or a hash join looks
 * cheapest; such a plan then stays while the tables grow, and each call turns into a full scan
 * (474 hello chains/s instead of 877 in docs/benchmarks.md). Without scans and hash or merge joins
 * to choose from, the planner makes the index-driven plan at any table size. A statement with no
 * usable index still gets its scan: disabling only penalises a path that has an alternative.
 */
const INDEX_DRIVEN_PLANS = 'SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off';
/** The same as session settings, for the pools the store makes itself, whose statements are all keyed too. */
export const INDEX_DRIVEN_SESSION = '-c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off';
const BEGIN = `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_MS}; ${INDEX_DRIVEN_PLANS}`;

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

/** Statements whose generic plan depends on table sizes: joins to parameter arrays, or to a lateral subquery. */
const PLAN_SENSITIVE = /unnest\(|=\s*ANY\(|<>\s*ALL\(|\bLATERAL\b/i;

/**
 * Names a statement by a hash of its text, so node-pg prepares it once per connection and every
 * later call skips parsing and planning (generic plans). Hot paths run the same few statements
 * thousands of times a second; planning was a tenth of Postgres's time before this.
 */
export function prepared(text: string, values: unknown[] | undefined, indexDriven = false): pg.QueryConfig<unknown[]> {
  // Where plans are not index-driven (see BEGIN, and the store's own pools), statements that join
  // parameter arrays or lateral subqueries to the hub's tables stay unnamed: a generic plan made while
  // the tables were small (hash joins, sequential scans) would be kept for the connection's lifetime
  // and turn into full scans as they grow; planned per call they use the keys. This is the path of a
  // pool the user passes in.
  if (values === undefined || (!indexDriven && PLAN_SENSITIVE.test(text))) return { text, values };
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
    query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => client.query<R>(prepared(text, values, true)),
  };
}

export class Database {
  readonly pool: pg.Pool;
  readonly target: string;
  /**
   * Runs single statements whose commit need not wait for the WAL to reach disk: claims, lease
   * renewals and releases. Losing one in a database crash is harmless — the lease simply was
   * never taken, and every write that matters is fenced by the lease's token and committed
   * durably — and a later durable commit flushes the WAL up to itself, so an asynchronous commit
   * followed by a durable one is never lost. On the main pool when no lease pool was given.
   */
  readonly leases: Queryable;
  readonly #leasePool: pg.Pool | undefined;

  /** Whether the main pool's sessions plan index-driven (pools the store made), so every statement may be named. */
  readonly #indexDriven: boolean;

  constructor(pool: pg.Pool, target: string, leasePool?: pg.Pool, indexDrivenPool = false) {
    this.pool = pool;
    this.target = target;
    this.#leasePool = leasePool;
    this.#indexDriven = indexDrivenPool;
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    leasePool?.on('error', () => {});
    this.leases = leasePool ? { query: (text, values) => this.#run(leasePool, text, values, 5, true) } : this;
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
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], attempts = 5): Promise<pg.QueryResult<R>> {
    return this.#run(this.pool, text, values, attempts, this.#indexDriven);
  }

  async #run<R extends pg.QueryResultRow>(
    pool: pg.Pool,
    text: string,
    values: unknown[] | undefined,
    attempts: number,
    indexDrivenSession: boolean,
  ): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await pool.query<R>(prepared(text, values, indexDrivenSession));
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
    await Promise.all([this.pool.end(), this.#leasePool?.end()]);
  }
}
