/**
 * Migration 3: `dead_letters`, where a claim parks inbox messages it cannot read (corrupt JSON, or
 * JSON that is no history event), so one bad row fails its instance with a reason instead of failing
 * every claim that picks it up. Rows keep the message byte for byte for inspection.
 */
export const name = 'dead-letters';

export const sql = `
CREATE TABLE S.dead_letters (
  id            bigint PRIMARY KEY,
  instance_id   text NOT NULL,
  execution_id  text,
  event         text NOT NULL,
  visible_at    timestamptz NOT NULL,
  reason        text NOT NULL,
  parked_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_instance ON S.dead_letters (instance_id);
`;
