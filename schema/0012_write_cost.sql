-- What a written row costs PostgreSQL (issue 12).
--
-- 1. Room for HOT updates. A ticket's row and its saved state are rewritten
--    at every batch that touches the ticket; with full pages each new version
--    goes to another page and adds an entry to every index of the table. A
--    fifth of each page kept free lets the new version stay on its page
--    without index entries (no indexed column of either row changes after
--    the first write). Pages already full keep their rows as they are.
ALTER TABLE sla.tickets SET (fillfactor = 80);
ALTER TABLE sla.ticket_state SET (fillfactor = 80);

-- 2. escalations.id orders the outbox among rows of the same instant and
--    nothing looks a row up by it (the outbox marks rows by their natural
--    key): the column stays, its index goes.
ALTER TABLE sla.escalations DROP CONSTRAINT IF EXISTS escalations_pkey;

-- 3. Where the daemon's results are written up to. Between checkpoints a
--    work-order or clock-in offset stays where the saved states are, while
--    every batch writes its results: after a restart the messages up to
--    written_offset are applied again and their rows exist, those after it
--    are new. The daemon writes the events of a batch with none of the
--    former by COPY instead of INSERT ... ON CONFLICT (a copied row that is
--    there after all rolls the batch back, and it runs again the usual way).
--    NULL (a row of an older slad): as next_offset.
ALTER TABLE sla.consumer_offsets ADD COLUMN IF NOT EXISTS written_offset bigint;

-- 4. The escalation outbox found an instance's unpublished rows by joining
--    every unpublished row to its ticket's state for the partition: after a
--    backlog, tens of thousands of index lookups per read (180 ms for 14,000
--    rows). Each row now carries its ticket's partition; rows without one
--    (written before, or by an older slad during an upgrade) are still found
--    through the state.
ALTER TABLE sla.escalations ADD COLUMN IF NOT EXISTS partition integer;
UPDATE sla.escalations e SET partition = s.partition
  FROM sla.ticket_state s
 WHERE e.published_at IS NULL AND e.partition IS NULL AND s.ticket_id = e.ticket_id;

-- 5. sla.evaluate_engineer (0011) in PL/pgSQL, its statement unchanged. As
--    a LANGUAGE sql function that is not inlined, its one large statement
--    was parsed and planned again at every call: 1.8 ms a call, of which
--    sla.evaluate_pending makes one per engineer with pending clock-ins at
--    every batch. PL/pgSQL keeps the plan: 0.25 ms a call. The statement is
--    taken from the function itself, so that it is written once (0011).
DO $$
DECLARE
	body text;
BEGIN
	SELECT prosrc INTO STRICT body FROM pg_proc
	 WHERE oid = 'sla.evaluate_engineer(text, text, timestamptz, timestamptz)'::regprocedure
	   AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql');
	EXECUTE format('CREATE OR REPLACE FUNCTION sla.evaluate_engineer(p_engineer text, p_policy text,'
		       ' p_watermark timestamptz, p_from timestamptz) RETURNS void LANGUAGE plpgsql AS %L',
		       'BEGIN ' || rtrim(rtrim(body, E' \n\t'), ';') || '; END;');
EXCEPTION WHEN no_data_found THEN
	NULL; -- already PL/pgSQL
END;
$$;

-- 6. Secondary indexes built after a replay instead of row by row. Replay
--    into empty tables (slactl replay) drops the indexes below, which no
--    statement of the write path reads, and builds them again once its last
--    batch is committed: a built index costs a fraction of the WAL and time
--    of one maintained row by row. The keys (every ON CONFLICT needs one)
--    and the indexes sla.evaluate_pending reads stay. A dropped index's
--    definition is recorded here in the transaction that drops it, so an
--    interrupted replay leaves a record: sla.restore_indexes() (called by
--    slactl replay at its start and end, and by slad migrate) builds what is
--    recorded. The daemon warns at start while a record is there.
CREATE TABLE IF NOT EXISTS sla.deferred_indexes (
	name        text PRIMARY KEY,
	definition  text NOT NULL,
	deferred_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON sla.deferred_indexes TO sla_writer, sla_reader;

-- Drops the deferrable indexes of the results tables, recording each;
-- returns how many it dropped. Only the owner of the tables may.
CREATE OR REPLACE FUNCTION sla.defer_indexes()
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	idx text;
	dropped integer := 0;
BEGIN
	FOREACH idx IN ARRAY ARRAY['escalations_unpublished_idx', 'milestones_open_idx', 'milestones_partner_due_idx',
				   'ticket_state_partition_idx', 'tickets_partner_idx', 'violations_partner_idx']
	LOOP
		CONTINUE WHEN to_regclass(format('sla.%I', idx)) IS NULL;
		INSERT INTO sla.deferred_indexes (name, definition)
			VALUES (idx, pg_get_indexdef(format('sla.%I', idx)::regclass))
			ON CONFLICT (name) DO NOTHING;
		EXECUTE format('DROP INDEX sla.%I', idx);
		dropped := dropped + 1;
	END LOOP;
	RETURN dropped;
END;
$$;

-- Builds every recorded index that is missing and clears the record;
-- returns the names of those it built.
CREATE OR REPLACE FUNCTION sla.restore_indexes()
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN DELETE FROM sla.deferred_indexes RETURNING name, definition
	LOOP
		CONTINUE WHEN to_regclass(format('sla.%I', r.name)) IS NOT NULL;
		EXECUTE r.definition;
		RETURN NEXT r.name;
	END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION sla.defer_indexes(), sla.restore_indexes() FROM PUBLIC;
