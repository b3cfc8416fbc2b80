/**
 * Server-side counters read before and after a run: committed transactions of one database
 * (pg_stat_database), WAL writes and syncs (pg_stat_wal), statements per query
 * (pg_stat_statements, when the server has it loaded), and Postgres CPU time from /proc.
 *
 * Backends publish pg_stat_database and pg_stat_wal counters when they go idle, at most once
 * a second, and at exit; so the "after" reading is taken once the contender's connections are
 * closed, and counts everything they did. pg_stat_statements is updated as each statement ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { readSystemCpu, systemCpuDelta, treeCpuSeconds, type SystemCpu } from './proc-cpu.ts';
import type { BenchServer } from './server.ts';
import { withClient } from './server.ts';

/** One statement's counters in pg_stat_statements. */
export interface StatementCounters {
  query: string;
  calls: number;
  /** Execution time inside the server. */
  totalMs: number;
  /** Planning time (0 unless pg_stat_statements.track_planning is on). */
  planMs: number;
  rows: number;
  walBytes: number;
  /** Full-page images written to WAL (first change of a page after a checkpoint). */
  walFpi: number;
}

/** Counters at one instant. */
export interface ServerSnapshot {
  atMs: number;
  xactCommit: number;
  xactRollback: number;
  /** The next transaction id to be assigned, cluster-wide: only writing transactions take one. */
  nextXid: number;
  /** Cluster-wide; undefined when the server does not expose the column. */
  walRecords?: number;
  walBytes?: number;
  walFpi?: number;
  walSyncs?: number;
  walSyncMs?: number;
  statements?: Map<string, StatementCounters>;
  /** CPU seconds of the postmaster and every backend (embedded server only). */
  pgCpuSeconds?: number;
  system?: SystemCpu;
}

/** What happened between two snapshots. */
export interface ServerDelta {
  elapsedMs: number;
  /** Every committed transaction of the database, read-only ones (polls, waits) included. */
  commits: number;
  rollbacks: number;
  /** Transactions that wrote (took a transaction id), cluster-wide. */
  writeTransactions: number;
  walRecords?: number;
  walBytes?: number;
  walFpi?: number;
  walSyncs?: number;
  walSyncMs?: number;
  /** Statements executed (round trips, as near as the server can tell). */
  statementCalls?: number;
  /** Summed over every statement of the database. */
  statementTotals?: { execMs: number; planMs: number; walBytes: number };
  /** The statements that took the most server time, most first. */
  topStatements?: StatementCounters[];
  pgCpuSeconds?: number;
  system?: SystemCpu;
}

/** Reads every counter for `database`. */
export async function snapshot(server: BenchServer, database: string): Promise<ServerSnapshot> {
  return withClient(server.adminUrl, async (c) => {
    await c.query('SELECT pg_stat_clear_snapshot()');
    const db = await c.query<{ xact_commit: string; xact_rollback: string }>(
      'SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    const snap: ServerSnapshot = {
      atMs: performance.now(),
      xactCommit: Number(db.rows[0]?.xact_commit ?? 0),
      xactRollback: Number(db.rows[0]?.xact_rollback ?? 0),
      // Reading the snapshot's xmax does not itself assign a transaction id.
      nextXid: await nextXid(c),
      ...(await readWal(c)),
      statements: await readStatements(c, database),
      pgCpuSeconds: server.postmasterPid === undefined ? undefined : treeCpuSeconds(server.postmasterPid),
      system: readSystemCpu(),
    };
    return snap;
  });
}

/** The next transaction id to be assigned (reading it assigns none). */
async function nextXid(c: pg.Client): Promise<number> {
  const r = await c.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x');
  return Number(r.rows[0]?.x ?? 0);
}

async function readWal(c: pg.Client): Promise<Partial<ServerSnapshot>> {
  try {
    const r = await c.query<Record<string, string | null>>('SELECT * FROM pg_stat_wal');
    const row = r.rows[0] ?? {};
    const n = (k: string) => (row[k] === undefined || row[k] === null ? undefined : Number(row[k]));
    // Postgres 18 moved write/sync counts to pg_stat_io; those columns are then simply absent.
    return {
      walRecords: n('wal_records'),
      walBytes: n('wal_bytes'),
      walFpi: n('wal_fpi'),
      walSyncs: n('wal_sync'),
      walSyncMs: n('wal_sync_time'),
    };
  } catch {
    return {};
  }
}

interface StatementRow {
  id: string;
  query: string;
  calls: string;
  total: number;
  plan: number;
  rows: string;
  wal_bytes: string;
  wal_fpi: string;
}

async function readStatements(c: pg.Client, database: string): Promise<Map<string, StatementCounters> | undefined> {
  try {
    const r = await c.query<StatementRow>(
      `SELECT s.queryid::text || ':' || s.userid::text || ':' || s.toplevel::text AS id, s.query, s.calls,
              s.total_exec_time AS total, s.total_plan_time AS plan, s.rows, s.wal_bytes, s.wal_fpi
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = $1`,
      [database],
    );
    return new Map(
      r.rows.map((row) => [
        row.id,
        {
          query: row.query,
          calls: Number(row.calls),
          totalMs: Number(row.total),
          planMs: Number(row.plan),
          rows: Number(row.rows),
          walBytes: Number(row.wal_bytes),
          walFpi: Number(row.wal_fpi),
        },
      ]),
    );
  } catch {
    // Not loaded (an external server without shared_preload_libraries=pg_stat_statements).
    return undefined;
  }
}

/** The difference between two snapshots. */
export function delta(before: ServerSnapshot, after: ServerSnapshot, topN = 8): ServerDelta {
  const sub = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  let statementCalls: number | undefined;
  let statementTotals: ServerDelta['statementTotals'];
  let topStatements: StatementCounters[] | undefined;
  if (before.statements && after.statements) {
    const changed: StatementCounters[] = [];
    for (const [id, now] of after.statements) {
      const was = before.statements.get(id);
      const d: StatementCounters = {
        query: now.query,
        calls: now.calls - (was?.calls ?? 0),
        totalMs: now.totalMs - (was?.totalMs ?? 0),
        planMs: now.planMs - (was?.planMs ?? 0),
        rows: now.rows - (was?.rows ?? 0),
        walBytes: now.walBytes - (was?.walBytes ?? 0),
        walFpi: now.walFpi - (was?.walFpi ?? 0),
      };
      if (d.calls > 0) changed.push(d);
    }
    statementCalls = changed.reduce((sum, s) => sum + s.calls, 0);
    statementTotals = {
      execMs: changed.reduce((sum, s) => sum + s.totalMs, 0),
      planMs: changed.reduce((sum, s) => sum + s.planMs, 0),
      walBytes: changed.reduce((sum, s) => sum + s.walBytes, 0),
    };
    topStatements = changed.sort((a, b) => b.totalMs + b.planMs - (a.totalMs + a.planMs)).slice(0, topN);
  }
  return {
    elapsedMs: after.atMs - before.atMs,
    commits: after.xactCommit - before.xactCommit,
    rollbacks: after.xactRollback - before.xactRollback,
    writeTransactions: after.nextXid - before.nextXid,
    walRecords: sub(before.walRecords, after.walRecords),
    walBytes: sub(before.walBytes, after.walBytes),
    walFpi: sub(before.walFpi, after.walFpi),
    walSyncs: sub(before.walSyncs, after.walSyncs),
    walSyncMs: sub(before.walSyncMs, after.walSyncMs),
    statementCalls,
    statementTotals,
    topStatements,
    pgCpuSeconds: sub(before.pgCpuSeconds, after.pgCpuSeconds),
    system: systemCpuDelta(before.system, after.system),
  };
}

/**
 * Waits until backends of the measured database have published their counters: closed
 * connections publish at exit, idle ones within about a second.
 */
export async function settleCounters(): Promise<void> {
  await sleep(1100);
}
