/** The routing table: which version new starts go to, and each version's drain state. */
import type { Queryable } from '../db.ts';
import { ValidationError } from '../../errors.ts';
import type { VersionInfo } from '../types.ts';

type C = Queryable;

/**
 * Marks Draining versions with no unfinished instances Drained (recording when), then reads the
 * table with running counts. The count uses the partial index on unfinished instances.
 */
export async function listVersions(client: C, S: string): Promise<VersionInfo[]> {
  await client.query(
    `UPDATE ${S}.versions v SET state = 'Drained', drained_since = now(), updated_at = now()
      WHERE v.state = 'Draining'
        AND NOT EXISTS (SELECT 1 FROM ${S}.instances i WHERE i.version = v.version AND i.status NOT IN ('Completed', 'Failed', 'Terminated'))`,
  );
  const r = await client.query<{ version: string; state: VersionInfo['state']; ramp_percent: number; drained_since: Date | null; running: string }>(
    `SELECT v.version, v.state, v.ramp_percent, v.drained_since,
            (SELECT count(*) FROM ${S}.instances i WHERE i.version = v.version AND i.status NOT IN ('Completed', 'Failed', 'Terminated')) AS running
       FROM ${S}.versions v ORDER BY v.created_at, v.version`,
  );
  return r.rows.map((row) => ({
    version: row.version,
    state: row.state,
    rampPercent: row.ramp_percent,
    runningInstances: Number(row.running),
    drainedSince: row.drained_since ?? undefined,
  }));
}

/**
 * Makes `current` the Current version and optionally `ramping` the Ramping one; every other
 * version that was Current or Ramping starts draining. Re-promoting a draining version is allowed.
 */
export async function setRouting(client: C, S: string, current: string, ramping?: { version: string; percent: number }): Promise<void> {
  if (!current) throw new ValidationError('current', 'a version name is required');
  if (ramping) {
    if (!Number.isInteger(ramping.percent) || ramping.percent < 0 || ramping.percent > 100) {
      throw new ValidationError('ramping.percent', `must be an integer from 0 to 100, got ${ramping.percent}`);
    }
    if (ramping.version === current) throw new ValidationError('ramping.version', 'must differ from the current version');
  }
  await client.query(`LOCK TABLE ${S}.versions IN SHARE ROW EXCLUSIVE MODE`);
  const keep = ramping ? [current, ramping.version] : [current];
  await client.query(
    `UPDATE ${S}.versions SET state = 'Draining', ramp_percent = 0, updated_at = now()
      WHERE state IN ('Current', 'Ramping') AND version <> ALL($1::text[])`,
    [keep],
  );
  await client.query(
    `INSERT INTO ${S}.versions (version, state, ramp_percent) VALUES ($1, 'Current', 0)
     ON CONFLICT (version) DO UPDATE SET state = 'Current', ramp_percent = 0, drained_since = NULL, updated_at = now()
      WHERE ${S}.versions.state <> 'Current'`,
    [current],
  );
  if (ramping) {
    await client.query(
      `INSERT INTO ${S}.versions (version, state, ramp_percent) VALUES ($1, 'Ramping', $2)
       ON CONFLICT (version) DO UPDATE SET state = 'Ramping', ramp_percent = $2, drained_since = NULL, updated_at = now()`,
      [ramping.version, ramping.percent],
    );
  }
}
