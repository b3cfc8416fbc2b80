/**
 * Migration 2: indexes for listing by name and by status (with the id tie-breaker the keyset cursor
 * pages on), and autovacuum settings for the queue tables.
 *
 * `inbox` and `activity_tasks` are queues: every row is inserted, updated a few times and deleted
 * within seconds, so dead tuples pile up far faster than the default 20%-of-table trigger notices
 * on a small, hot table. Vacuuming them after ~1% (or a few hundred rows) keeps claims scanning
 * live rows; `instances` rows are rewritten on every turn, so it gets a lower trigger too.
 */
export const name = 'listing-and-queue-upkeep';

export const sql = `
CREATE INDEX instances_name_created ON S.instances (name, created_at, instance_id);
DROP INDEX S.instances_status_created;
CREATE INDEX instances_status_created ON S.instances (status, created_at, instance_id);

ALTER TABLE S.inbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200,
                         autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE S.activity_tasks SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200,
                                  autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE S.instances SET (autovacuum_vacuum_scale_factor = 0.05);
`;
