-- 0013_event_log.sql - the event archive as one row per ticket, month and
-- batch (issue 12).
--
-- sla.ticket_events held one row per applied event: a 200-byte row and a
-- 115-byte entry of its three-column key per event, half of what a replay
-- wrote to the WAL. Nothing reads one event alone: `slactl ticket`,
-- `slactl whatif --from-db` and the daemon's re-derivation of a ticket
-- read all of a ticket's events. So a batch now writes one row per ticket
-- and UTC month of its events into sla.event_log, each column an array
-- with one element per event, in the order the events were applied:
--
--   first_at       the earliest occurred_at of the row's events, all of one
--                  UTC month: the partition column (monthly, as 0010)
--   event_ids ...  an event's id, type, times, Kafka position and protobuf
--                  bytes at the same index of each array
--
-- The arrays are compressed in the row (STORAGE MAIN, lz4, and each
-- partition's toast_tuple_target of 128 bytes, so that rows of a few
-- events are compressed too): the ids, types and topics of a ticket repeat
-- from event to event. One index, on ticket_id, serves every reader.
--
-- sla.ticket_events is now a view of the same columns as before, one row
-- per event, for readers and dashboards. No key makes an event unique any
-- more: the daemon writes only the events of messages after its
-- written_offset by COPY (0012, 3.), and the statement for the others
-- leaves out an event the ticket's rows already hold.
--
-- An existing database is converted in place: each ticket's events of a
-- month become one row (written_at: the latest of theirs).

CREATE TABLE sla.event_log (
	ticket_id     text NOT NULL,
	first_at      timestamptz NOT NULL,
	event_ids     text[] COMPRESSION lz4 NOT NULL,
	types         text[] COMPRESSION lz4 NOT NULL,
	occurred_at   timestamptz[] COMPRESSION lz4 NOT NULL,
	applied_at    timestamptz[] COMPRESSION lz4 NOT NULL,
	topics        text[] COMPRESSION lz4 NOT NULL,
	partitions    integer[] COMPRESSION lz4 NOT NULL,
	kafka_offsets bigint[] COMPRESSION lz4 NOT NULL,
	payloads      bytea[] COMPRESSION lz4 NOT NULL,
	written_at    timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (first_at);
ALTER TABLE sla.event_log ALTER event_ids SET STORAGE MAIN, ALTER types SET STORAGE MAIN,
	ALTER occurred_at SET STORAGE MAIN, ALTER applied_at SET STORAGE MAIN, ALTER topics SET STORAGE MAIN,
	ALTER partitions SET STORAGE MAIN, ALTER kafka_offsets SET STORAGE MAIN, ALTER payloads SET STORAGE MAIN;
CREATE INDEX event_log_ticket_idx ON sla.event_log (ticket_id);
CREATE TABLE sla.event_log_default PARTITION OF sla.event_log DEFAULT WITH (toast_tuple_target = 128);

GRANT SELECT, INSERT ON sla.event_log TO sla_writer;
GRANT SELECT ON sla.event_log TO sla_reader;

-- 0010's functions, for sla.event_log in place of sla.ticket_events: a new
-- month of event_log takes the parent's storage and compression and the
-- small toast_tuple_target (a partitioned table has no storage parameters).
CREATE OR REPLACE FUNCTION sla.ensure_months(p_from timestamptz, p_to timestamptz)
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	spec  text[] := ARRAY['event_log', 'first_at', 'violation_history', 'changed_at',
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
				EXECUTE format('CREATE TABLE sla.%I (LIKE sla.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
					       ' INCLUDING STORAGE INCLUDING COMPRESSION)', part, tbl);
				IF tbl = 'event_log' THEN
					EXECUTE format('ALTER TABLE sla.%I SET (toast_tuple_target = 128)', part);
				END IF;
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

-- 'ticket_events' in p_tables still names the events (docs/operations.md).
DROP FUNCTION sla.drop_months_before(timestamptz, text[]);
CREATE FUNCTION sla.drop_months_before(p_before timestamptz,
	p_tables text[] DEFAULT ARRAY['event_log', 'violation_history', 'dead_letters'])
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
		 WHERE n.nspname = 'sla' AND p.relname = ANY (array_replace(p_tables, 'ticket_events', 'event_log'))
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

-- 0012's deferred indexes, with event_log's: replay reads no ticket's
-- events back. A partitioned index's definition says ON ONLY, which
-- would build it for the parent alone.
CREATE OR REPLACE FUNCTION sla.defer_indexes()
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	idx text;
	dropped integer := 0;
BEGIN
	FOREACH idx IN ARRAY ARRAY['escalations_unpublished_idx', 'milestones_open_idx', 'milestones_partner_due_idx',
				   'ticket_state_partition_idx', 'tickets_partner_idx', 'violations_partner_idx',
				   'event_log_ticket_idx']
	LOOP
		CONTINUE WHEN to_regclass(format('sla.%I', idx)) IS NULL;
		INSERT INTO sla.deferred_indexes (name, definition)
			VALUES (idx, replace(pg_get_indexdef(format('sla.%I', idx)::regclass), ' ON ONLY ', ' ON '))
			ON CONFLICT (name) DO NOTHING;
		EXECUTE format('DROP INDEX sla.%I', idx);
		dropped := dropped + 1;
	END LOOP;
	RETURN dropped;
END;
$$;
REVOKE ALL ON FUNCTION sla.defer_indexes() FROM PUBLIC;

-- The existing events, a row per ticket and month, then the view.
DO $$
BEGIN
	PERFORM sla.ensure_months(min(occurred_at), max(occurred_at)) FROM sla.ticket_events;
	INSERT INTO sla.event_log (ticket_id, first_at, event_ids, types, occurred_at, applied_at, topics, partitions,
				   kafka_offsets, payloads, written_at)
	SELECT ticket_id, min(occurred_at), array_agg(event_id ORDER BY occurred_at, event_id),
	       array_agg(type ORDER BY occurred_at, event_id), array_agg(occurred_at ORDER BY occurred_at, event_id),
	       array_agg(applied_at ORDER BY occurred_at, event_id), array_agg(topic ORDER BY occurred_at, event_id),
	       array_agg(partition ORDER BY occurred_at, event_id),
	       array_agg(kafka_offset ORDER BY occurred_at, event_id),
	       array_agg(payload ORDER BY occurred_at, event_id), max(written_at)
	  FROM sla.ticket_events
	 GROUP BY ticket_id, date_trunc('month', occurred_at AT TIME ZONE 'UTC');
	DROP TABLE sla.ticket_events;
END
$$;

CREATE VIEW sla.ticket_events AS
SELECT l.ticket_id, e.event_id, e.type, e.occurred_at, e.applied_at, e.topic, e.partition, e.kafka_offset,
       e.payload, l.written_at
  FROM sla.event_log l
 CROSS JOIN LATERAL unnest(l.event_ids, l.types, l.occurred_at, l.applied_at, l.topics, l.partitions,
			   l.kafka_offsets, l.payloads)
       AS e (event_id, type, occurred_at, applied_at, topic, partition, kafka_offset, payload);
GRANT SELECT ON sla.ticket_events TO sla_writer, sla_reader;
