import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rollback service's read models, all rebuildable from es.events and written in the append's transaction.
 * rollback.active_targets is also the store's guarantee of one active execution per target: its primary key is
 * checked in the same transaction that appends ExecutionStarted, so two starts on one target cannot both commit.
 */
export class RollbackReadModels1733000000000 implements MigrationInterface {
  name = 'RollbackReadModels1733000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE SCHEMA IF NOT EXISTS rollback;

CREATE TABLE rollback.plans (
  id            text        PRIMARY KEY,
  version       integer     NOT NULL CHECK (version >= 1),
  archived      boolean     NOT NULL,
  rollback_type text        NOT NULL,
  scope         text        NOT NULL,
  target_id     text        NOT NULL,
  definition    jsonb       NOT NULL,
  last_position bigint      NOT NULL,
  updated_at    timestamptz NOT NULL);
CREATE INDEX plans_target_idx ON rollback.plans (scope, target_id);

-- One row per execution: the folded saga state (the same evolveExecution as the aggregate) plus the columns lists
-- filter and metrics aggregate on.
CREATE TABLE rollback.executions (
  id            text        PRIMARY KEY,
  version       integer     NOT NULL CHECK (version >= 1),
  status        text        NOT NULL,
  type          text        NOT NULL,
  scope         text        NOT NULL,
  target_id     text        NOT NULL,
  plan_id       text,
  cause_kind    text        NOT NULL,
  reason        text,
  state         jsonb       NOT NULL,
  requested_at  timestamptz NOT NULL,
  scheduled_for timestamptz,
  started_at    timestamptz,
  finished_at   timestamptz,
  recovery_ms   integer,
  consistency   text,
  last_position bigint      NOT NULL,
  updated_at    timestamptz NOT NULL);
-- The executor's work list: unfinished executions, and the durable timers of scheduled ones.
CREATE INDEX executions_unfinished_idx ON rollback.executions (scheduled_for) WHERE status IN ('scheduled', 'running');
CREATE INDEX executions_requested_idx ON rollback.executions (requested_at);
CREATE INDEX executions_target_idx ON rollback.executions (scope, target_id, requested_at);

-- The target lock: one row per target with an active execution. An emergency moves the row to itself (UPDATE ...
-- WHERE execution_id = the preempted one); any other start INSERTs, and a held target is a unique violation.
CREATE TABLE rollback.active_targets (
  scope        text        NOT NULL,
  target_id    text        NOT NULL,
  execution_id text        NOT NULL UNIQUE,
  priority     integer     NOT NULL,
  since        timestamptz NOT NULL,
  PRIMARY KEY (scope, target_id));

REVOKE ALL ON SCHEMA rollback FROM PUBLIC;
GRANT USAGE ON SCHEMA rollback TO rollgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rollback TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP SCHEMA rollback CASCADE');
  }
}
