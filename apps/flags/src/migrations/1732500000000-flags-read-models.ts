import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The flags service's read models, all rebuildable from es.events. Owned by the owner role; the service role
 * (rollgate_app) writes them, and may empty them for a rebuild, but owns nothing.
 */
export class FlagsReadModels1732500000000 implements MigrationInterface {
  name = 'FlagsReadModels1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE SCHEMA IF NOT EXISTS flags;

-- Current definition per flag, written in the append's transaction (read-your-writes). An upsert only moves a row
-- forward (WHERE version < new), so replaying the log over it changes nothing.
CREATE TABLE flags.flag_state (
  key           text        PRIMARY KEY,
  version       integer     NOT NULL CHECK (version >= 1),
  archived      boolean     NOT NULL,
  tags          text[]      NOT NULL DEFAULT '{}',
  definition    jsonb       NOT NULL,
  last_position bigint      NOT NULL,
  updated_at    timestamptz NOT NULL);
CREATE INDEX flag_state_tags_idx ON flags.flag_state USING gin (tags);

-- Segments; a removed one keeps its row (definition NULL) so that its version guard still holds.
CREATE TABLE flags.segment_state (
  key           text        PRIMARY KEY,
  version       integer     NOT NULL CHECK (version >= 1),
  definition    jsonb,
  last_position bigint      NOT NULL,
  updated_at    timestamptz NOT NULL);

-- Audit trail: one row per flag event, with the definition before and after it.
CREATE TABLE flags.audit (
  global_position bigint      PRIMARY KEY,
  key             text        NOT NULL,
  version         integer     NOT NULL,
  event_type      text        NOT NULL,
  actor           text,
  reason          text,
  command_id      text,
  correlation_id  text,
  recorded_at     timestamptz NOT NULL,
  change          jsonb       NOT NULL,
  before          jsonb,
  after           jsonb,
  UNIQUE (key, version));
CREATE INDEX audit_recorded_at_idx ON flags.audit (recorded_at);
CREATE INDEX audit_actor_idx ON flags.audit (actor, global_position);

-- Evaluation rollups: counts per flag, environment, variant, value and minute (never a row per evaluation).
CREATE TABLE flags.evaluation_counts (
  flag_key    text        NOT NULL,
  environment text        NOT NULL,
  variant     text        NOT NULL DEFAULT '',
  value       text        NOT NULL,
  -- on for the unit: a boolean-like flag served true, or an experiment served a variant other than its off one
  enabled     boolean     NOT NULL,
  bucket      timestamptz NOT NULL,
  count       bigint      NOT NULL CHECK (count >= 0),
  PRIMARY KEY (flag_key, environment, variant, value, enabled, bucket));
CREATE INDEX evaluation_counts_bucket_idx ON flags.evaluation_counts (bucket);

REVOKE ALL ON SCHEMA flags FROM PUBLIC;
GRANT USAGE ON SCHEMA flags TO rollgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA flags TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP SCHEMA flags CASCADE');
  }
}
