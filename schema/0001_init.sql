-- 0001_init.sql - the sla schema: tables, roles, grants and views of
-- ../shared/spec/storage.md (see docs/storage.md).
--
-- Idempotent: every statement may run again on a database that already has
-- it. `slad migrate` runs this file inside its own transaction (no
-- BEGIN/COMMIT here) as the schema owner, under an advisory lock.

CREATE SCHEMA IF NOT EXISTS sla;

CREATE TABLE IF NOT EXISTS sla.schema_migrations (
	name       text PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
);

-- Roles are cluster-wide and may have been created by a DBA already (then
-- the migrator needs no CREATEROLE); two databases migrating at once may
-- race, hence the exception handlers.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sla_writer') THEN
		BEGIN
			CREATE ROLE sla_writer NOLOGIN;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;
		END;
	END IF;
END
$$;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sla_reader') THEN
		BEGIN
			CREATE ROLE sla_reader NOLOGIN;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;
		END;
	END IF;
END
$$;

-- Calendars (calendar.md). Office hours are local times of the zone.
CREATE TABLE IF NOT EXISTS sla.calendars (
	calendar_id  text PRIMARY KEY CHECK (char_length(calendar_id) BETWEEN 1 AND 32),
	tz           text NOT NULL CHECK (char_length(tz) BETWEEN 1 AND 63),
	office_open  time NOT NULL,
	office_close time NOT NULL,
	CHECK (office_open < office_close)
);

CREATE TABLE IF NOT EXISTS sla.calendar_exceptions (
	calendar_id text NOT NULL REFERENCES sla.calendars (calendar_id) ON UPDATE CASCADE ON DELETE CASCADE,
	day         date NOT NULL,
	kind        text NOT NULL CHECK (kind IN ('HOLIDAY', 'WORKDAY')),
	note        text,
	PRIMARY KEY (calendar_id, day)
);

INSERT INTO sla.calendars (calendar_id, tz, office_open, office_close)
VALUES ('CN', 'Asia/Shanghai', '08:30', '18:00')
ON CONFLICT DO NOTHING;

-- Tickets: one row per created ticket, rewritten as it changes.
CREATE TABLE IF NOT EXISTS sla.tickets (
	ticket_id   text PRIMARY KEY,
	ticket_type text NOT NULL,
	sla_class   text CHECK (sla_class IN ('HOURLY', 'NON_HOURLY')),
	severity    text CHECK (severity IN ('I', 'II', 'III', 'IV')),
	partner_id  text,
	engineer_id text, -- current implementer
	calendar_id text,
	state       text NOT NULL,
	created_at  timestamptz,
	closed_at   timestamptz,
	updated_at  timestamptz NOT NULL,
	written_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tickets_partner_idx ON sla.tickets (partner_id, created_at);

-- Milestone results. policy_version: the policy in force when the row was
-- first written (the one its deadline was armed with).
CREATE TABLE IF NOT EXISTS sla.milestones (
	ticket_id      text NOT NULL REFERENCES sla.tickets (ticket_id) DEFERRABLE INITIALLY DEFERRED,
	milestone      text NOT NULL,
	occurrence     integer NOT NULL CHECK (occurrence >= 1),
	started_at     timestamptz,
	due_at         timestamptz,
	stopped_at     timestamptz,
	status         text NOT NULL CHECK (status IN ('PENDING', 'MET', 'BREACHED', 'CANCELLED')),
	partner_id     text,
	ticket_type    text,
	part_id        text, -- spare-part milestones
	policy_version text,
	written_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (ticket_id, milestone, occurrence)
);
CREATE INDEX IF NOT EXISTS milestones_open_idx ON sla.milestones (due_at)
	WHERE stopped_at IS NULL AND status IN ('PENDING', 'BREACHED');
CREATE INDEX IF NOT EXISTS milestones_partner_due_idx ON sla.milestones (partner_id, due_at);

CREATE TABLE IF NOT EXISTS sla.violations (
	violation_id   bigserial PRIMARY KEY,
	ticket_id      text NOT NULL REFERENCES sla.tickets (ticket_id) DEFERRABLE INITIALLY DEFERRED,
	rule_code      text NOT NULL,
	milestone      text, -- null for instant checks
	occurrence     integer NOT NULL,
	status         text NOT NULL CHECK (status IN ('PROVISIONAL', 'CONFIRMED', 'RETRACTED')),
	due_at         timestamptz,
	observed_at    timestamptz,
	detected_at    timestamptz NOT NULL, -- processing time of the first write; never updated
	engineer_id    text,
	partner_id     text,
	details        jsonb NOT NULL DEFAULT '{}',
	policy_version text,
	written_at     timestamptz NOT NULL DEFAULT now(),
	UNIQUE (ticket_id, rule_code, occurrence)
);
CREATE INDEX IF NOT EXISTS violations_partner_idx ON sla.violations (partner_id, detected_at);
CREATE INDEX IF NOT EXISTS violations_code_idx ON sla.violations (rule_code, detected_at);

-- Every status change of a violation. A moved deadline can retract a
-- violation and a later pass reopen it, so a status may recur: the key
-- includes the processing time of the change.
CREATE TABLE IF NOT EXISTS sla.violation_history (
	id             bigserial PRIMARY KEY,
	violation_id   bigint NOT NULL REFERENCES sla.violations (violation_id),
	status         text NOT NULL CHECK (status IN ('PROVISIONAL', 'CONFIRMED', 'RETRACTED')),
	changed_at     timestamptz NOT NULL,
	cause_event_id text, -- null: the processing clock moved
	written_at     timestamptz NOT NULL DEFAULT now(),
	UNIQUE (violation_id, status, changed_at)
);

CREATE TABLE IF NOT EXISTS sla.escalations (
	id             bigserial PRIMARY KEY,
	ticket_id      text NOT NULL REFERENCES sla.tickets (ticket_id) DEFERRABLE INITIALLY DEFERRED,
	milestone      text NOT NULL,
	occurrence     integer NOT NULL,
	level          text NOT NULL CHECK (level IN ('WARNING', 'TIER2', 'TIER3')),
	at             timestamptz NOT NULL,
	partner_id     text,
	engineer_id    text,
	policy_version text,
	written_at     timestamptz NOT NULL DEFAULT now(),
	UNIQUE (ticket_id, milestone, occurrence, level)
);
CREATE INDEX IF NOT EXISTS escalations_at_idx ON sla.escalations (at);

-- Quarterly partner scores (scoring.md): the current score per quarter, and
-- every score ever computed in partner_score_history.
CREATE TABLE IF NOT EXISTS sla.partner_scores (
	partner_id       text NOT NULL,
	quarter          text NOT NULL CHECK (quarter ~ '^[0-9]{4}Q[1-4]$'),
	major_projects   numeric(8, 2) NOT NULL,
	satisfaction     numeric(8, 2) NOT NULL,
	rep_office       numeric(8, 2) NOT NULL,
	ecr              numeric(8, 2) NOT NULL,
	training_online  numeric(8, 2) NOT NULL,
	training_offline numeric(8, 2) NOT NULL,
	key_events       numeric(8, 2) NOT NULL,
	total            numeric(8, 2) NOT NULL,
	verdict          text NOT NULL CHECK (verdict IN ('PASS', 'DOWNGRADE')),
	computed_at      timestamptz NOT NULL,
	policy_version   text,
	written_at       timestamptz NOT NULL DEFAULT now(),
	UNIQUE (partner_id, quarter)
);

CREATE TABLE IF NOT EXISTS sla.partner_score_history (
	id               bigserial PRIMARY KEY,
	partner_id       text NOT NULL,
	quarter          text NOT NULL,
	major_projects   numeric(8, 2) NOT NULL,
	satisfaction     numeric(8, 2) NOT NULL,
	rep_office       numeric(8, 2) NOT NULL,
	ecr              numeric(8, 2) NOT NULL,
	training_online  numeric(8, 2) NOT NULL,
	training_offline numeric(8, 2) NOT NULL,
	key_events       numeric(8, 2) NOT NULL,
	total            numeric(8, 2) NOT NULL,
	verdict          text NOT NULL,
	computed_at      timestamptz NOT NULL,
	policy_version   text,
	written_at       timestamptz NOT NULL DEFAULT now(),
	UNIQUE (partner_id, quarter, computed_at)
);

-- Qualification events (CERT_*, KEY_PERSON_*). subject_id is the
-- certificate or engineer; never null so that the natural key is unique.
CREATE TABLE IF NOT EXISTS sla.partner_events (
	id         bigserial PRIMARY KEY,
	partner_id text NOT NULL,
	code       text NOT NULL,
	subject_id text NOT NULL DEFAULT '',
	at         timestamptz NOT NULL,
	details    jsonb NOT NULL DEFAULT '{}',
	written_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (partner_id, code, subject_id, at)
);

-- Messages that could not be applied (events.md "Bad input"). No natural
-- key: exactly-once comes from the offsets committed in the same transaction.
CREATE TABLE IF NOT EXISTS sla.dead_letters (
	id           bigserial PRIMARY KEY,
	topic        text NOT NULL,
	partition    integer NOT NULL,
	kafka_offset bigint NOT NULL,
	reason       text NOT NULL,
	detail       text,
	payload      bytea,
	received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dead_letters_received_idx ON sla.dead_letters (received_at);
CREATE INDEX IF NOT EXISTS dead_letters_offset_idx ON sla.dead_letters (topic, partition, kafka_offset);

-- Where each consumer group continues; compare-and-set by the daemon.
CREATE TABLE IF NOT EXISTS sla.consumer_offsets (
	consumer_group text NOT NULL,
	topic          text NOT NULL,
	partition      integer NOT NULL,
	next_offset    bigint NOT NULL,
	last_batch     text, -- token of the batch that wrote it (COMMIT readback)
	updated_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer_group, topic, partition)
);

-- The core's serialized per-ticket state (ticket_encode), reloaded by the
-- instance that is assigned the partition.
CREATE TABLE IF NOT EXISTS sla.ticket_state (
	ticket_id  text PRIMARY KEY,
	partition  integer NOT NULL,
	state      bytea NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ticket_state_partition_idx ON sla.ticket_state (partition);

-- Views. "Local" month and day are Asia/Shanghai (the CN calendar) for every
-- row, whatever the ticket's calendar: one fixed zone keeps the buckets of
-- different partners comparable (docs/storage.md).

-- Open milestones whose due time has passed on the wall clock.
CREATE OR REPLACE VIEW sla.v_open_breaches AS
SELECT m.ticket_id,
       m.milestone,
       m.occurrence,
       m.status,
       m.started_at,
       m.due_at,
       coalesce(t.ticket_type, m.ticket_type) AS ticket_type,
       t.sla_class,
       t.severity,
       coalesce(t.partner_id, m.partner_id) AS partner_id,
       t.engineer_id,
       t.state AS ticket_state,
       floor(extract(epoch FROM now() - m.due_at) / 60)::bigint AS minutes_overdue
FROM sla.milestones m
LEFT JOIN sla.tickets t ON t.ticket_id = m.ticket_id
WHERE m.stopped_at IS NULL
  AND m.status IN ('PENDING', 'BREACHED')
  AND m.due_at < now();

-- Decided milestones (MET or BREACHED) per partner, local month of the due
-- time, and milestone. met_rate is a fraction (0..1).
CREATE OR REPLACE VIEW sla.v_kpi_monthly AS
SELECT m.partner_id,
       date_trunc('month', m.due_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
       m.milestone,
       count(*) AS total,
       count(*) FILTER (WHERE m.status = 'MET') AS met,
       count(*) FILTER (WHERE m.status = 'BREACHED') AS breached,
       round(count(*) FILTER (WHERE m.status = 'MET')::numeric / count(*), 4) AS met_rate
FROM sla.milestones m
WHERE m.status IN ('MET', 'BREACHED')
  AND m.due_at IS NOT NULL
GROUP BY 1, 2, 3;

-- Violations that stand (not RETRACTED) per local day the rule was broken:
-- the due time of a breached milestone, the offending event of an instant
-- check, else when it was detected.
CREATE OR REPLACE VIEW sla.v_violations_daily AS
SELECT (CASE WHEN v.milestone IS NOT NULL THEN coalesce(v.due_at, v.observed_at, v.detected_at)
             ELSE coalesce(v.observed_at, v.due_at, v.detected_at) END
        AT TIME ZONE 'Asia/Shanghai')::date AS day,
       v.rule_code,
       v.partner_id,
       count(*) AS count,
       count(*) FILTER (WHERE v.status = 'CONFIRMED') AS confirmed,
       count(*) FILTER (WHERE v.status = 'PROVISIONAL') AS provisional
FROM sla.violations v
WHERE v.status <> 'RETRACTED'
GROUP BY 1, 2, 3;

-- Grants. The daemon (sla_writer) reads and writes, never DDL or DELETE;
-- dashboards (sla_reader) only read. Default privileges cover tables that
-- later migrations (run by the same owner) create.
GRANT USAGE ON SCHEMA sla TO sla_writer, sla_reader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA sla TO sla_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA sla TO sla_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA sla TO sla_reader;
REVOKE INSERT, UPDATE ON sla.schema_migrations FROM sla_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA sla GRANT SELECT, INSERT, UPDATE ON TABLES TO sla_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA sla GRANT USAGE ON SEQUENCES TO sla_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA sla GRANT SELECT ON TABLES TO sla_reader;
