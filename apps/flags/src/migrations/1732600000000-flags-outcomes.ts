import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outcome telemetry from SDKs (`rg.obs.<env>.<flagKey>`): rollups per flag, environment, cohort and minute, and the
 * batches already counted. Unlike the other read models these come from the bus, not the log, so a rebuild leaves
 * them alone.
 */
export class FlagsOutcomes1732600000000 implements MigrationInterface {
  name = 'FlagsOutcomes1732600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
-- Sums over every batch whose window starts in the bucket's minute. error_units adds each client's distinct count:
-- exact when a unit is served by one client per window, an upper bound otherwise.
CREATE TABLE flags.outcome_counts (
  flag_key           text             NOT NULL,
  environment        text             NOT NULL,
  variant            text             NOT NULL,
  bucket             timestamptz      NOT NULL,
  exposures          bigint           NOT NULL CHECK (exposures >= 0),
  requests           bigint           NOT NULL CHECK (requests >= 0),
  errors             bigint           NOT NULL CHECK (errors >= 0),
  error_units        bigint           NOT NULL CHECK (error_units >= 0),
  error_units_capped boolean          NOT NULL,
  -- per LATENCY_BUCKETS_MS bound plus the overflow bucket (libs/contracts outcomes.ts)
  latency_buckets    bigint[]         NOT NULL,
  latency_sum_ms     double precision NOT NULL,
  batches            bigint           NOT NULL,
  PRIMARY KEY (flag_key, environment, variant, bucket));
CREATE INDEX outcome_counts_bucket_idx ON flags.outcome_counts (bucket);

-- A batch id is inserted in the transaction that adds the batch's counts: a redelivered batch finds its row and
-- adds nothing. Rows older than the retention are pruned (a batch is never redelivered that late).
CREATE TABLE flags.outcome_batches (
  batch_id    text        PRIMARY KEY,
  client_id   text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX outcome_batches_received_at_idx ON flags.outcome_batches (received_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON flags.outcome_counts, flags.outcome_batches TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE flags.outcome_batches; DROP TABLE flags.outcome_counts;');
  }
}
