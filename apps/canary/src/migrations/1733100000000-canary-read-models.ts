import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The canary service's read model, rebuildable from es.events. Owned by the owner role; the service role
 * (rollgate_app) writes it, and may empty it for a rebuild, but owns nothing.
 */
export class CanaryReadModels1733100000000 implements MigrationInterface {
  name = 'CanaryReadModels1733100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE SCHEMA IF NOT EXISTS canary;

-- Current state per canary, written in the append's transaction (read-your-writes). An upsert only moves a row
-- forward (WHERE version < new), so replaying the log over it changes nothing.
CREATE TABLE canary.canaries (
  id            text        PRIMARY KEY,
  flag_key      text        NOT NULL,
  status        text        NOT NULL,
  active        boolean     NOT NULL,
  version       integer     NOT NULL CHECK (version >= 1),
  state         jsonb       NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  last_position bigint      NOT NULL);
-- At most one active canary per flag: the inline projection checks it under a per-flag lock, and this index makes
-- a missed check fail the append rather than leave two.
CREATE UNIQUE INDEX canaries_one_active_per_flag ON canary.canaries (flag_key) WHERE active;
CREATE INDEX canaries_created_idx ON canary.canaries (created_at DESC);

GRANT USAGE ON SCHEMA canary TO rollgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON canary.canaries TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP SCHEMA IF EXISTS canary CASCADE');
  }
}
