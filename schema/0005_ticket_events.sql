-- A ticket's applied events, for its timeline (`slactl ticket`): type, times,
-- Kafka position and the protobuf message itself. Written in the batch
-- transaction with the results, so the timeline and the results agree.
CREATE TABLE IF NOT EXISTS sla.ticket_events (
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
	PRIMARY KEY (ticket_id, event_id)
);
CREATE INDEX IF NOT EXISTS ticket_events_time_idx ON sla.ticket_events (ticket_id, occurred_at);

GRANT SELECT, INSERT, UPDATE ON sla.ticket_events TO sla_writer;
GRANT SELECT ON sla.ticket_events TO sla_reader;
