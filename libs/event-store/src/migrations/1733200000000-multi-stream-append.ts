import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * es.append_streams: several streams, each with its own expected version and command id, in one call and so in one
 * transaction (ADR 0012). Every part is checked as es.append_events checks one stream; the streams are locked in
 * stream id order, so two appends over overlapping streams wait for each other instead of deadlocking. The events
 * are inserted by one statement in the order given (parts in order, each part's events in order): one transaction
 * id, ascending positions, so they sit together in the "$all" order of ADR 0003 and a reader sees all or none.
 */
export class MultiStreamAppend1733200000000 implements MigrationInterface {
  name = 'MultiStreamAppend1733200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
-- Part i is p_stream_ids[i] with p_expected_versions[i] (NULL = any, 0 = no stream, n = exact) and, when not NULL,
-- p_command_ids[i]. Events are flattened: p_event_streams[j] names the part of event j, p_event_ords[j] its place in
-- that part (1, 2, ...). A conflict on any part raises RG409 and nothing is appended.
CREATE FUNCTION es.append_streams(p_stream_ids text[], p_stream_types text[], p_expected_versions bigint[],
  p_command_ids text[], p_command_types text[], p_request_hashes text[], p_event_counts int[],
  p_event_streams text[], p_event_ords int[], p_event_ids uuid[], p_event_types text[], p_schema_versions smallint[],
  p_data jsonb[], p_metadata jsonb[])
RETURNS TABLE (part_stream_id text, part_next_version bigint, part_first_position bigint, tx xid8)
LANGUAGE plpgsql AS $$
DECLARE
  n int := cardinality(p_stream_ids);
  v_base bigint[];
  v_cur bigint;
  v_count int;
  i int;
BEGIN
  IF n IS NULL OR n = 0 THEN RAISE EXCEPTION 'no streams' USING ERRCODE = 'invalid_parameter_value'; END IF;
  IF (SELECT count(DISTINCT s) FROM unnest(p_stream_ids) AS s) <> n THEN
    RAISE EXCEPTION 'a stream appears twice in one append' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF cardinality(p_event_ids) IS DISTINCT FROM (SELECT sum(c)::int FROM unnest(p_event_counts) AS c) THEN
    RAISE EXCEPTION 'event counts do not match the events' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_base := array_fill(0::bigint, ARRAY[n]);
  FOR i IN SELECT t.ord FROM unnest(p_stream_ids) WITH ORDINALITY AS t(s, ord) ORDER BY t.s LOOP
    v_count := p_event_counts[i];
    IF v_count IS NULL OR v_count < 1 THEN
      RAISE EXCEPTION 'no events for %', p_stream_ids[i] USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_expected_versions[i] = 0 THEN
      INSERT INTO es.streams (stream_id, stream_type, version) VALUES (p_stream_ids[i], p_stream_types[i], v_count)
      ON CONFLICT (stream_id) DO NOTHING;
      IF NOT FOUND THEN RAISE EXCEPTION 'wrong expected version for %: expected no stream', p_stream_ids[i]
        USING ERRCODE = 'RG409'; END IF;
      v_cur := 0;
    ELSIF p_expected_versions[i] IS NULL THEN
      INSERT INTO es.streams AS s (stream_id, stream_type, version) VALUES (p_stream_ids[i], p_stream_types[i], v_count)
      ON CONFLICT (stream_id) DO UPDATE SET version = s.version + v_count, updated_at = now()
      RETURNING s.version - v_count INTO v_cur;
    ELSE
      UPDATE es.streams SET version = version + v_count, updated_at = now()
       WHERE stream_id = p_stream_ids[i] AND version = p_expected_versions[i]
      RETURNING version - v_count INTO v_cur;
      IF NOT FOUND THEN RAISE EXCEPTION 'wrong expected version for %: expected %', p_stream_ids[i], p_expected_versions[i]
        USING ERRCODE = 'RG409'; END IF;
    END IF;
    v_base[i] := v_cur;
  END LOOP;
  RETURN QUERY
  WITH parts AS (
    SELECT p.stream_id, p.base, p.cnt, p.command_id, p.command_type, p.request_hash, p.ord
      FROM unnest(p_stream_ids, v_base, p_event_counts, p_command_ids, p_command_types, p_request_hashes)
           WITH ORDINALITY AS p(stream_id, base, cnt, command_id, command_type, request_hash, ord)),
  inserted AS (
    INSERT INTO es.events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata)
    SELECT e.stream_id, parts.base + e.ord_in_stream, e.event_id, e.event_type, e.schema_version, e.data,
           COALESCE(e.metadata, '{}'::jsonb)
      FROM unnest(p_event_streams, p_event_ords, p_event_ids, p_event_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS e(stream_id, ord_in_stream, event_id, event_type, schema_version, data, metadata, ord)
      JOIN parts USING (stream_id)
     ORDER BY e.ord
    RETURNING es.events.stream_id, es.events.global_position),
  firsts AS (SELECT inserted.stream_id, min(inserted.global_position) AS first_position FROM inserted GROUP BY inserted.stream_id),
  applied AS (
    INSERT INTO es.commands (command_id, command_type, stream_id, result_version, first_position, request_hash)
    SELECT parts.command_id, COALESCE(parts.command_type, ''), parts.stream_id, parts.base + parts.cnt, firsts.first_position,
           parts.request_hash
      FROM parts JOIN firsts USING (stream_id)
     WHERE parts.command_id IS NOT NULL)
  SELECT parts.stream_id, parts.base + parts.cnt, firsts.first_position, pg_current_xact_id()
    FROM parts JOIN firsts USING (stream_id)
   ORDER BY parts.ord;
END $$;
GRANT EXECUTE ON FUNCTION es.append_streams(text[], text[], bigint[], text[], text[], text[], int[], text[], int[], uuid[],
  text[], smallint[], jsonb[], jsonb[]) TO rollgate_app;
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP FUNCTION es.append_streams(text[], text[], bigint[], text[], text[], text[], int[], text[], int[], uuid[], text[], smallint[], jsonb[], jsonb[])',
    );
  }
}
