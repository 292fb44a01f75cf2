-- 0010_monthly_partitions.sql - the append-only tables are partitioned by
-- month (issue 12), so that retention is dropping a month, not a DELETE that
-- rewrites indexes and leaves the table to vacuum (docs/operations.md,
-- "Retention"):
--
--   sla.ticket_events      by occurred_at  (the event's own time)
--   sla.violation_history  by changed_at   (when the status changed)
--   sla.dead_letters       by received_at  (when slad refused the message)
--
-- Months are cut at 00:00 UTC. Each table has a DEFAULT partition, so an
-- insert never fails for want of a month; sla.ensure_months creates the
-- months a batch needs before its transaction (daemon/store.c) and moves
-- rows that reached the default partition into their month. The primary
-- and unique keys carry the partition column, as PostgreSQL requires:
-- ticket_events (ticket_id, event_id, occurred_at), where a re-delivered
-- event has the same occurred_at, and dead_letters (id, received_at).
-- violation_history's id was a primary key no query reads; its natural key
-- (violation_id, status, changed_at) holds the partition column already.
--
-- sla.escalations stays one table: the outbox updates published_at, and its
-- key (ticket_id, milestone, occurrence, level) has no time in it.
--
-- An existing database is converted in place: the rows move into the new
-- tables inside this migration's transaction (about the time of a COPY of
-- them; the daemon is stopped while slad migrates).

-- Creates, for each partitioned table, the month partitions that cover
-- [p_from, p_to] (at most 1,200 months) and moves rows of those months out
-- of the default partition. Runs as the schema owner (SECURITY DEFINER):
-- sla_writer has no DDL. One caller at a time (an advisory lock); returns
-- the number of partitions created.
CREATE OR REPLACE FUNCTION sla.ensure_months(p_from timestamptz, p_to timestamptz)
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	spec  text[] := ARRAY['ticket_events', 'occurred_at', 'violation_history', 'changed_at',
			      'dead_letters', 'received_at'];
	first timestamptz;
	last  timestamptz;
	m     timestamptz;
	tbl   text;
	col   text;
	part  text;
	made  integer := 0;
BEGIN
	IF p_from IS NULL OR p_to IS NULL OR p_to < p_from
	   OR p_from < '1970-01-01 00:00:00+00' OR p_to >= '10000-01-01 00:00:00+00' THEN
		RETURN 0;
	END IF;
	first := date_trunc('month', p_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	last := date_trunc('month', p_to AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	IF last > first + interval '1199 months' THEN
		last := first + interval '1199 months';
	END IF;
	-- "slad.mnth": one creator at a time, across instances and replays.
	PERFORM pg_advisory_xact_lock(7237284170683491432);
	FOR i IN 1 .. array_length(spec, 1) / 2 LOOP
		tbl := spec[2 * i - 1];
		col := spec[2 * i];
		m := first;
		WHILE m <= last LOOP
			part := tbl || '_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM');
			IF to_regclass('sla.' || part) IS NULL THEN
				EXECUTE format('CREATE TABLE sla.%I (LIKE sla.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, tbl);
				EXECUTE format('WITH moved AS (DELETE FROM sla.%I WHERE %I >= $1 AND %I < $2 RETURNING *)'
					       ' INSERT INTO sla.%I SELECT * FROM moved',
					       tbl || '_default', col, col, part)
					USING m, m + interval '1 month';
				EXECUTE format('ALTER TABLE sla.%I ATTACH PARTITION sla.%I FOR VALUES FROM (%L) TO (%L)',
					       tbl, part, m, m + interval '1 month');
				made := made + 1;
			END IF;
			m := m + interval '1 month';
		END LOOP;
	END LOOP;
	RETURN made;
END
$$;
REVOKE ALL ON FUNCTION sla.ensure_months(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sla.ensure_months(timestamptz, timestamptz) TO sla_writer;

-- Retention (docs/operations.md): drops every month partition that ends on
-- or before p_before (UTC months), of the tables named (default: all
-- three), and returns the names dropped. For the schema owner only.
CREATE OR REPLACE FUNCTION sla.drop_months_before(p_before timestamptz,
	p_tables text[] DEFAULT ARRAY['ticket_events', 'violation_history', 'dead_letters'])
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT c.relname, p.relname AS parent,
		       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upto
		  FROM pg_inherits i
		  JOIN pg_class c ON c.oid = i.inhrelid
		  JOIN pg_class p ON p.oid = i.inhparent
		  JOIN pg_namespace n ON n.oid = p.relnamespace
		 WHERE n.nspname = 'sla' AND p.relname = ANY (p_tables)
		   AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
		 ORDER BY 1
	LOOP
		IF r.upto <= p_before THEN
			EXECUTE format('DROP TABLE sla.%I', r.relname);
			RETURN NEXT r.relname;
		END IF;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION sla.drop_months_before(timestamptz, text[]) FROM PUBLIC;

DO $$
BEGIN
	IF (SELECT relkind FROM pg_class WHERE oid = 'sla.ticket_events'::regclass) = 'p' THEN
		RETURN; -- converted already
	END IF;

	-- The old tables step aside; their sequences stay (the new tables use them).
	ALTER TABLE sla.ticket_events RENAME TO ticket_events_unpartitioned;
	ALTER TABLE sla.violation_history RENAME TO violation_history_unpartitioned;
	ALTER TABLE sla.dead_letters RENAME TO dead_letters_unpartitioned;
	ALTER INDEX IF EXISTS sla.ticket_events_pkey RENAME TO ticket_events_unpartitioned_pkey;
	ALTER INDEX IF EXISTS sla.violation_history_pkey RENAME TO violation_history_unpartitioned_pkey;
	ALTER INDEX IF EXISTS sla.violation_history_violation_id_status_changed_at_key
		RENAME TO violation_history_unpartitioned_key;
	ALTER INDEX IF EXISTS sla.dead_letters_pkey RENAME TO dead_letters_unpartitioned_pkey;
	ALTER INDEX IF EXISTS sla.dead_letters_received_idx RENAME TO dead_letters_unpartitioned_received_idx;
	ALTER INDEX IF EXISTS sla.dead_letters_offset_idx RENAME TO dead_letters_unpartitioned_offset_idx;
	ALTER SEQUENCE sla.violation_history_id_seq OWNED BY NONE;
	ALTER SEQUENCE sla.dead_letters_id_seq OWNED BY NONE;

	CREATE TABLE sla.ticket_events (
		ticket_id    text NOT NULL,
		event_id     text NOT NULL,
		type         text NOT NULL,
		occurred_at  timestamptz NOT NULL,
		applied_at   timestamptz,            -- the processing clock when applied
		topic        text,
		partition    integer,
		kafka_offset bigint,
		payload      bytea,
		written_at   timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (ticket_id, event_id, occurred_at)
	) PARTITION BY RANGE (occurred_at);

	CREATE TABLE sla.violation_history (
		id             bigint NOT NULL DEFAULT nextval('sla.violation_history_id_seq'),
		violation_id   bigint NOT NULL,
		status         text NOT NULL CHECK (status IN ('PROVISIONAL', 'CONFIRMED', 'RETRACTED')),
		changed_at     timestamptz NOT NULL,
		cause_event_id text, -- null: the processing clock moved
		written_at     timestamptz NOT NULL DEFAULT now(),
		UNIQUE (violation_id, status, changed_at)
	) PARTITION BY RANGE (changed_at);

	CREATE TABLE sla.dead_letters (
		id           bigint NOT NULL DEFAULT nextval('sla.dead_letters_id_seq'),
		topic        text NOT NULL,
		partition    integer NOT NULL,
		kafka_offset bigint NOT NULL,
		reason       text NOT NULL,
		detail       text,
		payload      bytea,
		received_at  timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (id, received_at)
	) PARTITION BY RANGE (received_at);
	-- The daemon skips a message it dead-lettered already (a restart
	-- re-applies the events since the last state checkpoint).
	CREATE INDEX dead_letters_offset_idx ON sla.dead_letters (topic, partition, kafka_offset);

	ALTER SEQUENCE sla.violation_history_id_seq OWNED BY sla.violation_history.id;
	ALTER SEQUENCE sla.dead_letters_id_seq OWNED BY sla.dead_letters.id;

	CREATE TABLE sla.ticket_events_default PARTITION OF sla.ticket_events DEFAULT;
	CREATE TABLE sla.violation_history_default PARTITION OF sla.violation_history DEFAULT;
	CREATE TABLE sla.dead_letters_default PARTITION OF sla.dead_letters DEFAULT;

	-- The months the existing rows need, this month and the next.
	PERFORM sla.ensure_months(least(now(), (SELECT min(occurred_at) FROM sla.ticket_events_unpartitioned),
					(SELECT min(changed_at) FROM sla.violation_history_unpartitioned),
					(SELECT min(received_at) FROM sla.dead_letters_unpartitioned)),
				  greatest(now() + interval '1 month',
					   (SELECT max(occurred_at) FROM sla.ticket_events_unpartitioned),
					   (SELECT max(changed_at) FROM sla.violation_history_unpartitioned),
					   (SELECT max(received_at) FROM sla.dead_letters_unpartitioned)));

	INSERT INTO sla.ticket_events SELECT * FROM sla.ticket_events_unpartitioned;
	INSERT INTO sla.violation_history SELECT * FROM sla.violation_history_unpartitioned;
	INSERT INTO sla.dead_letters SELECT * FROM sla.dead_letters_unpartitioned;
	DROP TABLE sla.ticket_events_unpartitioned;
	DROP TABLE sla.violation_history_unpartitioned;
	DROP TABLE sla.dead_letters_unpartitioned;
END
$$;

GRANT SELECT, INSERT, UPDATE ON sla.ticket_events, sla.violation_history, sla.dead_letters TO sla_writer;
GRANT SELECT ON sla.ticket_events, sla.violation_history, sla.dead_letters TO sla_reader;
