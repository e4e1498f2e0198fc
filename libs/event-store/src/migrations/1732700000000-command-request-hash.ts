import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Binds a command id to its request: es.commands keeps a fingerprint of the command it applied (`request_hash`,
 * NULL for rows written before this migration and for appends that send none), and es.append_events records it.
 * The function gets one more parameter, last and defaulted, so existing 10-argument calls resolve unchanged; a new
 * parameter list is a new function, so the old one is dropped and the service role's EXECUTE granted again.
 */
export class CommandRequestHash1732700000000 implements MigrationInterface {
  name = 'CommandRequestHash1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
ALTER TABLE es.commands ADD COLUMN request_hash text CHECK (length(request_hash) BETWEEN 1 AND 200);

DROP FUNCTION es.append_events(text, text, bigint, text, text, uuid[], text[], smallint[], jsonb[], jsonb[]);
${appendEvents(true)}
GRANT EXECUTE ON FUNCTION es.append_events(text, text, bigint, text, text, uuid[], text[], smallint[], jsonb[], jsonb[], text)
  TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
DROP FUNCTION es.append_events(text, text, bigint, text, text, uuid[], text[], smallint[], jsonb[], jsonb[], text);
${appendEvents(false)}
GRANT EXECUTE ON FUNCTION es.append_events(text, text, bigint, text, text, uuid[], text[], smallint[], jsonb[], jsonb[])
  TO rollgate_app;
ALTER TABLE es.commands DROP COLUMN request_hash;
`);
  }
}

/** es.append_events as in EventStoreSchema1732400000000, with (or, for down, without) the request hash. */
const appendEvents = (withHash: boolean): string => `
-- p_expected_version NULL = any, 0 = the stream must not exist, n = exact.
-- A conflict raises SQLSTATE RG409; a concurrent duplicate command raises RG409 or 23505 and the caller then
-- reads es.commands for the first result.
CREATE FUNCTION es.append_events(p_stream_id text, p_stream_type text, p_expected_version bigint,
  p_command_id text, p_command_type text, p_event_ids uuid[], p_event_types text[], p_schema_versions smallint[],
  p_data jsonb[], p_metadata jsonb[]${withHash ? ', p_request_hash text DEFAULT NULL' : ''})
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
    ${
      withHash
        ? `INSERT INTO es.commands (command_id, command_type, stream_id, result_version, first_position, request_hash)
    VALUES (p_command_id, COALESCE(p_command_type, ''), p_stream_id, v_cur + n, v_first, p_request_hash);`
        : `INSERT INTO es.commands (command_id, command_type, stream_id, result_version, first_position)
    VALUES (p_command_id, COALESCE(p_command_type, ''), p_stream_id, v_cur + n, v_first);`
    }
  END IF;
  RETURN QUERY SELECT v_cur + n, v_first, pg_current_xact_id();
END $$;`;
