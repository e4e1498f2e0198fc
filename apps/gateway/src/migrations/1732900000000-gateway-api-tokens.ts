import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The gateway's read models over its `token-<id>` streams. `api_tokens` is rebuildable from es.events and holds no
 * token hash (those stay in the events); `api_token_usage` is the batched last use of each token, written by the
 * gateway and not derived from the log, so a rebuild leaves it alone. Owned by the owner role; rollgate_app writes
 * both and may empty `api_tokens` for a rebuild.
 */
export class GatewayApiTokens1732900000000 implements MigrationInterface {
  name = 'GatewayApiTokens1732900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE SCHEMA IF NOT EXISTS gateway;

-- One row per token, written in the append's transaction (a list right after an issue shows it). Listed by
-- issued_position (the Issued event's global position: immutable, unique, about the order of issue).
CREATE TABLE gateway.api_tokens (
  id              text        PRIMARY KEY,
  name            text        NOT NULL,
  role            text        NOT NULL,
  issued_at       timestamptz NOT NULL,
  expires_at      timestamptz,
  issued_by       text        NOT NULL,
  revoked_at      timestamptz,
  revoked_by      text,
  version         integer     NOT NULL CHECK (version >= 1),
  issued_position bigint      NOT NULL UNIQUE);

CREATE TABLE gateway.api_token_usage (
  token_id     text        PRIMARY KEY,
  last_used_at timestamptz NOT NULL);

REVOKE ALL ON SCHEMA gateway FROM PUBLIC;
GRANT USAGE ON SCHEMA gateway TO rollgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA gateway TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP SCHEMA gateway CASCADE');
  }
}
