import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The append-only log (design.md §3; DDL tested in research/eventstore-nats-probes/eventstore-ddl.sql).
 * Runs as the owner role. The service role `rollgate_app` owns nothing here and may only INSERT into the log, so it
 * can neither rewrite history nor disable the triggers that reject UPDATE, DELETE and TRUNCATE.
 */
export class EventStoreSchema1732400000000 implements MigrationInterface {
  name = 'EventStoreSchema1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE SCHEMA IF NOT EXISTS es;

-- One row per stream: the optimistic-concurrency point (UPDATE ... WHERE version = expected).
CREATE TABLE es.streams (
  stream_id    text        PRIMARY KEY CHECK (length(stream_id) BETWEEN 1 AND 200),
  stream_type  text        NOT NULL,
  version      bigint      NOT NULL CHECK (version >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now());

CREATE SEQUENCE es.events_global_position_seq AS bigint;
CREATE TABLE es.events (
  global_position bigint      NOT NULL DEFAULT nextval('es.events_global_position_seq'),
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text        NOT NULL REFERENCES es.streams (stream_id),
  stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL CHECK (event_type ~ '^[A-Z][A-Za-z0-9]*$'),
  schema_version  smallint    NOT NULL DEFAULT 1 CHECK (schema_version >= 1),
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT events_pk                PRIMARY KEY (global_position),
  CONSTRAINT events_stream_version_uq UNIQUE (stream_id, stream_version),
  CONSTRAINT events_event_id_uq       UNIQUE (event_id));
ALTER SEQUENCE es.events_global_position_seq OWNED BY es.events.global_position;
-- The gap-free "$all" order.
CREATE INDEX events_all_order_idx ON es.events (transaction_id, global_position);
CREATE INDEX events_recorded_at_idx ON es.events (stream_id, recorded_at);

CREATE FUNCTION es.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'es.% is append-only: % rejected', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON es.events
  FOR EACH ROW EXECUTE FUNCTION es.reject_mutation();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON es.events
  FOR EACH STATEMENT EXECUTE FUNCTION es.reject_mutation();

-- Applied commands: a repeated command id returns the first result and appends nothing.
CREATE TABLE es.commands (
  command_id     text        PRIMARY KEY CHECK (length(command_id) BETWEEN 1 AND 200),
  command_type   text        NOT NULL,
  stream_id      text        NOT NULL,
  result_version bigint      NOT NULL,
  first_position bigint      NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now());
CREATE TRIGGER commands_append_only BEFORE UPDATE OR DELETE ON es.commands
  FOR EACH ROW EXECUTE FUNCTION es.reject_mutation();
CREATE TRIGGER commands_no_truncate BEFORE TRUNCATE ON es.commands
  FOR EACH STATEMENT EXECUTE FUNCTION es.reject_mutation();

-- p_expected_version NULL = any, 0 = the stream must not exist, n = exact.
-- A conflict raises SQLSTATE RG409; a concurrent duplicate command raises RG409 or 23505 and the caller then
-- reads es.commands for the first result.
CREATE FUNCTION es.append_events(p_stream_id text, p_stream_type text, p_expected_version bigint,
  p_command_id text, p_command_type text, p_event_ids uuid[], p_event_types text[], p_schema_versions smallint[],
  p_data jsonb[], p_metadata jsonb[])
RETURNS TABLE (next_version bigint, first_position bigint, tx xid8) LANGUAGE plpgsql AS $$
DECLARE n int := cardinality(p_event_ids); v_cur bigint; v_first bigint;
BEGIN
  IF n IS NULL OR n = 0 THEN RAISE EXCEPTION 'no events' USING ERRCODE = 'invalid_parameter_value'; END IF;
  IF p_expected_version = 0 THEN
    INSERT INTO es.streams (stream_id, stream_type, version) VALUES (p_stream_id, p_stream_type, n)
    ON CONFLICT (stream_id) DO NOTHING;
    IF NOT FOUND THEN RAISE EXCEPTION 'wrong expected version for %: expected no stream', p_stream_id
      USING ERRCODE = 'RG409'; END IF;
    v_cur := 0;
  ELSIF p_expected_version IS NULL THEN
    INSERT INTO es.streams AS s (stream_id, stream_type, version) VALUES (p_stream_id, p_stream_type, n)
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version + n, updated_at = now()
    RETURNING s.version - n INTO v_cur;
  ELSE
    UPDATE es.streams SET version = version + n, updated_at = now()
     WHERE stream_id = p_stream_id AND version = p_expected_version
    RETURNING version - n INTO v_cur;
    IF NOT FOUND THEN RAISE EXCEPTION 'wrong expected version for %: expected %', p_stream_id, p_expected_version
      USING ERRCODE = 'RG409'; END IF;
  END IF;
  WITH inserted AS (
    INSERT INTO es.events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata)
    SELECT p_stream_id, v_cur + e.ord, e.event_id, e.event_type, e.schema_version, e.data, COALESCE(e.metadata, '{}'::jsonb)
      FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS e(event_id, event_type, schema_version, data, metadata, ord)
     ORDER BY e.ord
    RETURNING global_position)
  SELECT min(global_position) INTO v_first FROM inserted;
  IF p_command_id IS NOT NULL THEN
    INSERT INTO es.commands (command_id, command_type, stream_id, result_version, first_position)
    VALUES (p_command_id, COALESCE(p_command_type, ''), p_stream_id, v_cur + n, v_first);
  END IF;
  RETURN QUERY SELECT v_cur + n, v_first, pg_current_xact_id();
END $$;

-- Checkpoints of async readers (projections, the JetStream publisher); a pair, never a position alone.
CREATE TABLE es.checkpoints (
  name          text        PRIMARY KEY,
  last_tx       xid8        NOT NULL DEFAULT '0'::xid8,
  last_position bigint      NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now());

-- Only rows whose writing transaction is older than every running one, in (transaction_id, global_position)
-- order: a slow transaction holding an earlier position delays readers instead of being skipped.
CREATE FUNCTION es.read_all_after(p_tx xid8, p_pos bigint, p_limit int)
RETURNS SETOF es.events LANGUAGE sql STABLE AS $$
  SELECT * FROM es.events
   WHERE (transaction_id, global_position) > (p_tx, p_pos)
     AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY transaction_id, global_position
   LIMIT p_limit $$;

CREATE FUNCTION es.advance_checkpoint(p_name text, p_old_tx xid8, p_old_pos bigint, p_new_tx xid8, p_new_pos bigint)
RETURNS boolean LANGUAGE sql AS $$
  WITH u AS (UPDATE es.checkpoints SET last_tx = p_new_tx, last_position = p_new_pos, updated_at = now()
              WHERE name = p_name AND last_tx = p_old_tx AND last_position = p_old_pos RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM u) $$;

REVOKE ALL ON SCHEMA es FROM PUBLIC;
GRANT USAGE ON SCHEMA es TO rollgate_app;
GRANT SELECT ON ALL TABLES IN SCHEMA es TO rollgate_app;
GRANT INSERT ON es.events, es.commands TO rollgate_app;
GRANT INSERT, UPDATE ON es.streams, es.checkpoints TO rollgate_app;
GRANT USAGE ON SEQUENCE es.events_global_position_seq TO rollgate_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA es TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP SCHEMA es CASCADE');
  }
}
