/**
 * Migration 1: the task hub's tables. `S` is replaced by the quoted hub schema.
 * Column comments live in ../schema.ts, next to the TypeScript row shapes.
 */
export const name = 'initial';

export const sql = `
CREATE TABLE S.instances (
  instance_id          text PRIMARY KEY,
  execution_id         text NOT NULL,
  name                 text NOT NULL,
  version              text NOT NULL,
  status               text NOT NULL,
  input                text,
  output               text,
  custom_status        text,
  failure              jsonb,
  parent_instance_id   text,
  parent_execution_id  text,
  parent_task_id       integer,
  tags                 jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  completed_at         timestamptz,
  next_visible_at      timestamptz,
  lock_token           uuid,
  locked_until         timestamptz,
  locked_by            text
);
CREATE INDEX instances_ready ON S.instances (version, next_visible_at) WHERE next_visible_at IS NOT NULL;
CREATE INDEX instances_created ON S.instances (created_at, instance_id);
CREATE INDEX instances_status_created ON S.instances (status, created_at);
CREATE INDEX instances_running_by_version ON S.instances (version) WHERE status NOT IN ('Completed', 'Failed', 'Terminated');
CREATE INDEX instances_parent ON S.instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;

CREATE TABLE S.history (
  instance_id   text NOT NULL,
  execution_id  text NOT NULL,
  seq           integer NOT NULL,
  kind          text NOT NULL,
  event         text NOT NULL,
  PRIMARY KEY (instance_id, execution_id, seq)
);

CREATE TABLE S.inbox (
  id            bigserial PRIMARY KEY,
  instance_id   text NOT NULL,
  execution_id  text,
  event         text NOT NULL,
  visible_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_instance ON S.inbox (instance_id, id);

CREATE TABLE S.event_keys (
  instance_id   text NOT NULL,
  key           text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (instance_id, key)
);

CREATE TABLE S.activity_tasks (
  id              bigserial PRIMARY KEY,
  instance_id     text NOT NULL,
  execution_id    text NOT NULL,
  task_id         integer NOT NULL,
  name            text NOT NULL,
  version         text NOT NULL,
  input           text,
  delivery_count  integer NOT NULL DEFAULT 0,
  visible_at      timestamptz NOT NULL DEFAULT now(),
  lock_token      uuid,
  locked_by       text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_tasks_ready ON S.activity_tasks (version, visible_at, id);
CREATE INDEX activity_tasks_instance ON S.activity_tasks (instance_id);

CREATE TABLE S.versions (
  version        text PRIMARY KEY,
  state          text NOT NULL CHECK (state IN ('Current', 'Ramping', 'Draining', 'Drained')),
  ramp_percent   integer NOT NULL DEFAULT 0 CHECK (ramp_percent BETWEEN 0 AND 100),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  drained_since  timestamptz
);
`;
