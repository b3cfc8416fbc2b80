/**
 * Claiming orchestration work: instances of one version whose inbox has a visible message and
 * whose lease is free. One statement claims, a second reads the claimed instances' inboxes and
 * history lengths, and a third reads history only for instances whose history the worker does not
 * hold in memory.
 */
import type { Queryable } from '../db.ts';
import type { HistoryEvent, RuntimeStatus } from '../../orchestration/history.ts';
import type { InboxMessage, OrchestrationWorkItem } from '../types.ts';
import type { Unreadable } from './dead-letters.ts';

type Q = Queryable;

interface ClaimedRow {
  instance_id: string;
  execution_id: string;
  name: string;
  version: string;
  status: RuntimeStatus;
  /** Highest history seq of the claimed execution, or null when it has none yet. */
  last_seq: number | null;
}
interface InboxRead {
  id: string;
  instance_id: string;
  execution_id: string | null;
  event: string;
}

/** What a claim hands back: the claimed instances and their visible inbox messages. */
export interface Claim {
  claimed: ClaimedRow[];
  inbox: InboxRead[];
}

/**
 * Claims instances, then reads their visible inbox messages and history length.
 *
 * Locking: the claim's `ready` CTE takes row locks with SKIP LOCKED, so concurrent claimers never
 * wait on each other and never get the same row; the UPDATE writes a fresh token and a lease end in
 * database time. The lock itself lasts only that statement: the lease is logical.
 *
 * The read is a second statement on purpose. A row lock taken in READ COMMITTED returns the row's
 * newest version even when another transaction committed it after the statement began (a turn of
 * the same instance that committed just then), while every other read in that statement still sees
 * the statement's older snapshot: the inbox would then show messages that turn already consumed,
 * and the history length would be short. Read in a new statement, after the claim committed and
 * under the lease it took, inbox and history are exactly what the claimed row says.
 *
 * The inbox is read without locks, in the order messages became visible (a timer that fired before
 * an event arrived comes first, whenever it was scheduled), ties in insertion order: the lease keeps
 * other workers away, and a message committed after the read waits for the next turn (the turn's
 * commit recomputes `next_visible_at` from the inbox, so it is not stranded). `last_seq` lets the
 * caller skip the history read when it holds the history already.
 */
export async function claimInstances(
  db: Q,
  S: string,
  version: string,
  max: number,
  leaseMs: number,
  workerId: string,
  token: string,
): Promise<Claim> {
  const claim = await db.query<Omit<ClaimedRow, 'last_seq'>>(
    `WITH ready AS (
       SELECT instance_id FROM ${S}.instances
        WHERE version = $1 AND next_visible_at <= now() AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_visible_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
     UPDATE ${S}.instances i
        SET lock_token = $3, locked_until = now() + make_interval(secs => $4::float8 / 1000), locked_by = $5
       FROM ready WHERE i.instance_id = ready.instance_id
     RETURNING i.instance_id, i.execution_id, i.name, i.version, i.status`,
    [version, max, token, leaseMs, workerId],
  );
  if (claim.rows.length === 0) return { claimed: [], inbox: [] };
  const r = await db.query<{ instance_id: string; last_seq: number | null; message_id: string | null; message_execution_id: string | null; event: string | null }>(
    `SELECT k.instance_id,
            (SELECT max(h.seq) FROM ${S}.history h WHERE h.instance_id = k.instance_id AND h.execution_id = k.execution_id) AS last_seq,
            m.id::text AS message_id, m.execution_id AS message_execution_id, m.event
       FROM unnest($1::text[], $2::text[]) AS k(instance_id, execution_id)
       LEFT JOIN LATERAL (
         SELECT x.id, x.execution_id, x.event, x.visible_at FROM ${S}.inbox x
          WHERE x.instance_id = k.instance_id AND x.visible_at <= now()) m ON true
      ORDER BY k.instance_id, m.visible_at, m.id`,
    [claim.rows.map((c) => c.instance_id), claim.rows.map((c) => c.execution_id)],
  );
  const lastSeq = new Map<string, number | null>();
  const inbox: InboxRead[] = [];
  for (const row of r.rows) {
    lastSeq.set(row.instance_id, row.last_seq);
    if (row.message_id !== null && row.event !== null) {
      inbox.push({ id: row.message_id, instance_id: row.instance_id, execution_id: row.message_execution_id, event: row.event });
    }
  }
  return { claimed: claim.rows.map((c) => ({ ...c, last_seq: lastSeq.get(c.instance_id) ?? null })), inbox };
}

/** History of each claimed execution from a per-instance offset (what the worker already holds). */
export async function readHistorySince(
  db: Q,
  S: string,
  ids: string[],
  executions: string[],
  fromSeqs: number[],
): Promise<{ instance_id: string; event: string }[]> {
  const r = await db.query<{ instance_id: string; event: string }>(
    `SELECT h.instance_id, h.event
       FROM unnest($1::text[], $2::text[], $3::int[]) AS k(instance_id, execution_id, from_seq)
       JOIN ${S}.history h ON h.instance_id = k.instance_id AND h.execution_id = k.execution_id AND h.seq >= k.from_seq
      ORDER BY h.instance_id, h.seq`,
    [ids, executions, fromSeqs],
  );
  return r.rows;
}

/** Deletes messages addressed to an execution that has since ended (continue-as-new). */
export async function dropStaleMessages(db: Q, S: string, ids: string[]): Promise<void> {
  if (ids.length > 0) await db.query(`DELETE FROM ${S}.inbox WHERE id = ANY($1::bigint[])`, [ids]);
}

/**
 * Parses a stored event. Rows are written only by dtk, but a bug, a hand edit or a foreign writer
 * can leave one that is not JSON or not an event; it is reported, never thrown, so one bad row
 * cannot fail every claim that picks it up.
 */
export function readEvent(text: string): { event: HistoryEvent } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { reason: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'not a history event: not a JSON object' };
  if (typeof (value as { kind?: unknown }).kind !== 'string') return { reason: 'not a history event: no string "kind"' };
  return { event: value as HistoryEvent };
}

/** Assembles work items from the three reads; unreadable inbox rows are returned for parking. */
export function assembleWorkItems(
  claimed: ClaimedRow[],
  inbox: InboxRead[],
  history: Awaited<ReturnType<typeof readHistorySince>>,
  offsets: Map<string, number>,
  token: string,
): { items: OrchestrationWorkItem[]; stale: string[]; unreadable: Unreadable[] } {
  const byId = new Map<string, OrchestrationWorkItem>();
  const stale: string[] = [];
  const unreadable: Unreadable[] = [];
  const problems = new Map<string, string[]>();
  const report = (instanceId: string, problem: string) => problems.set(instanceId, [...(problems.get(instanceId) ?? []), problem]);
  for (const c of claimed) {
    byId.set(c.instance_id, {
      instanceId: c.instance_id,
      executionId: c.execution_id,
      name: c.name,
      version: c.version,
      status: c.status,
      lockToken: token,
      history: [],
      historyOffset: offsets.get(c.instance_id) ?? 0,
      messages: [],
    });
  }
  for (const m of inbox) {
    const item = byId.get(m.instance_id);
    if (!item) continue;
    if (m.execution_id !== null && m.execution_id !== item.executionId) {
      stale.push(m.id);
      continue;
    }
    const read = readEvent(m.event);
    if ('reason' in read) {
      unreadable.push({ id: m.id, reason: read.reason });
      report(m.instance_id, `inbox message ${m.id} cannot be read (${read.reason}); it was moved to the hub's dead_letters table`);
      continue;
    }
    item.messages.push({ id: m.id, event: read.event } satisfies InboxMessage);
  }
  const rowsRead = new Map<string, number>();
  for (const h of history) {
    const item = byId.get(h.instance_id);
    if (!item) continue;
    const seq = item.historyOffset + (rowsRead.get(h.instance_id) ?? 0);
    rowsRead.set(h.instance_id, seq - item.historyOffset + 1);
    const read = readEvent(h.event);
    if ('reason' in read) report(h.instance_id, `history event ${seq} of execution ${item.executionId} cannot be read (${read.reason})`);
    else item.history.push(read.event);
  }
  for (const [id, list] of problems) {
    const item = byId.get(id);
    if (!item) continue;
    item.unreadable = list.join('; ');
    // Keep offset + history.length equal to the stored length when history rows were skipped.
    item.historyOffset += (rowsRead.get(id) ?? 0) - item.history.length;
  }
  // An execution begins with its ExecutionStarted even when an event raised before a scheduled
  // start became visible earlier (sort is stable: everything else keeps its order).
  const rank = (m: InboxMessage) => (m.event.kind === 'ExecutionStarted' ? 0 : 1);
  for (const item of byId.values()) item.messages.sort((a, b) => rank(a) - rank(b));
  return { items: [...byId.values()], stale, unreadable };
}

/**
 * Releases leases of instances that turned out to have nothing to do (their only messages were
 * stale) and recomputes `next_visible_at` from the inbox while holding the row lock (rows locked
 * in instance-id order, like every multi-row writer of `instances`).
 */
export async function releaseIdle(db: Q, S: string, ids: string[], token: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE ${S}.instances i
        SET lock_token = NULL, locked_until = NULL, locked_by = NULL,
            next_visible_at = (SELECT min(m.visible_at) FROM ${S}.inbox m WHERE m.instance_id = i.instance_id)
       FROM (SELECT x.instance_id FROM ${S}.instances x WHERE x.instance_id = ANY($1::text[]) AND x.lock_token = $2
              ORDER BY x.instance_id FOR UPDATE) k
      WHERE i.instance_id = k.instance_id`,
    [ids, token],
  );
}
