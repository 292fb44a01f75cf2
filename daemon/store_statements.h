/* store_statements.h - the texts of the batch statements (one unnest() per
 * table, natural keys and ON CONFLICT; docs/storage.md), the column numbers
 * of their parameter arrays, and the binary COPY of the rows known to be new.
 * Data for store_batch.c, which alone includes it. */
#ifndef SLAD_STORE_STATEMENTS_H
#define SLAD_STORE_STATEMENTS_H

#include "store_internal.h" /* MS_TS */

/* The column numbers of each statement's parameter arrays, in the order of
 * its unnest(): tickets, milestones, violations, orphans, states, history,
 * dead letters, escalations, events, engineer clocks. */
enum { TK_ID, TK_TYPE, TK_CLASS, TK_SEV, TK_PARTNER, TK_ENGINEER, TK_CAL, TK_STATE, TK_CREATED, TK_CLOSED,
       TK_UPDATED, TK_NCOLS };
enum { MS_ID, MS_NAME, MS_OCC, MS_STARTED, MS_DUE, MS_STOPPED, MS_STATUS, MS_PARTNER, MS_TTYPE, MS_PART, MS_NCOLS };
enum { VI_ID, VI_CODE, VI_MS, VI_OCC, VI_STATUS, VI_DUE, VI_OBSERVED, VI_DETECTED, VI_ENGINEER, VI_PARTNER,
       VI_DETAILS, VI_NCOLS };
enum { OR_ID, OR_NAME, OR_OCC, OR_NCOLS };
enum { ST_ID, ST_PART, ST_STATE, ST_NCOLS };
enum { HI_ID, HI_CODE, HI_OCC, HI_STATUS, HI_CHANGED, HI_CAUSE, HI_NCOLS };
enum { DL_TOPIC, DL_PART, DL_OFFSET, DL_REASON, DL_DETAIL, DL_PAYLOAD, DL_NCOLS };
enum { ES_ID, ES_MS, ES_OCC, ES_LEVEL, ES_AT, ES_PARTNER, ES_ENGINEER, ES_PART, ES_NCOLS };
enum { EV_TICKET, EV_ID, EV_TYPE, EV_AT, EV_APPLIED, EV_TOPIC, EV_PART, EV_OFFSET, EV_PAYLOAD, EV_NCOLS };
/* A sla.event_log COPY row (schema/0013): ticket_id, first_at, then one
 * array per column of the events from EV_ID on. */
enum { EL_NCOLS = 2 + EV_NCOLS - EV_ID };
enum { EC_ENG, EC_TICKET, EC_EVENT, EC_PARTNER, EC_KIND, EC_AT, EC_DAY, EC_NCOLS };

/* INSERT INTO target SELECT list FROM unnest(arrays) AS u (columns), one row
 * per key: the batch's last, so that a row written twice in one batch cannot
 * fail the upsert; then the ON CONFLICT clause. */
#define LAST_ROW_WINS(target, key, list, arrays, columns, conflict)                                                \
	"INSERT INTO " target " SELECT DISTINCT ON (" key ") " list " FROM unnest(" arrays ") WITH ORDINALITY AS u (" \
	columns ", ord) ORDER BY " key ", u.ord DESC " conflict

static const char sql_tickets[] = LAST_ROW_WINS(
	"sla.tickets AS t (ticket_id, ticket_type, sla_class, severity, partner_id, engineer_id, calendar_id, state,"
	" created_at, closed_at, updated_at)",
	"u.ticket_id",
	"u.ticket_id, u.ticket_type, u.sla_class, u.severity, nullif(u.partner_id, ''), nullif(u.engineer_id, ''),"
	" nullif(u.calendar_id, ''), u.state, " MS_TS("u.created_at") ", " MS_TS("u.closed_at") ","
	" coalesce(" MS_TS("u.updated_at") ", now())",
	"$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],"
	" $10::bigint[], $11::bigint[]",
	"ticket_id, ticket_type, sla_class, severity, partner_id, engineer_id, calendar_id, state, created_at,"
	" closed_at, updated_at",
	"ON CONFLICT (ticket_id) DO UPDATE SET ticket_type = excluded.ticket_type, sla_class = excluded.sla_class,"
	" severity = excluded.severity, partner_id = excluded.partner_id, engineer_id = excluded.engineer_id,"
	" calendar_id = excluded.calendar_id, state = excluded.state, created_at = excluded.created_at,"
	" closed_at = excluded.closed_at, updated_at = excluded.updated_at, written_at = now()");

/* policy_version: the version of the first write is kept, since an open
 * milestone keeps the deadline it was armed with across reloads. */
static const char sql_milestones[] = LAST_ROW_WINS(
	"sla.milestones AS m (ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status, partner_id,"
	" ticket_type, part_id, policy_version)",
	"u.ticket_id, u.milestone, u.occurrence",
	"u.ticket_id, u.milestone, u.occurrence, " MS_TS("u.started_at") ", " MS_TS("u.due_at") ","
	" " MS_TS("u.stopped_at") ", u.status, nullif(u.partner_id, ''), u.ticket_type, nullif(u.part_id, ''),"
	" $11::text",
	"$1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[],"
	" $9::text[], $10::text[]",
	"ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status, partner_id, ticket_type, part_id",
	"ON CONFLICT (ticket_id, milestone, occurrence) DO UPDATE SET started_at = excluded.started_at,"
	" due_at = excluded.due_at, stopped_at = excluded.stopped_at, status = excluded.status,"
	" partner_id = excluded.partner_id, ticket_type = excluded.ticket_type, part_id = excluded.part_id,"
	" policy_version = coalesce(m.policy_version, excluded.policy_version), written_at = now()");

/* detected_at is the first write's processing time: never updated. */
static const char sql_violations[] = LAST_ROW_WINS(
	"sla.violations AS v (ticket_id, rule_code, milestone, occurrence, status, due_at, observed_at, detected_at,"
	" engineer_id, partner_id, details, policy_version)",
	"u.ticket_id, u.rule_code, u.occurrence",
	"u.ticket_id, u.rule_code, u.milestone, u.occurrence, u.status, " MS_TS("u.due_at") ","
	" " MS_TS("u.observed_at") ", coalesce(" MS_TS("u.detected_at") ", now()), nullif(u.engineer_id, ''),"
	" nullif(u.partner_id, ''), coalesce(nullif(u.details, ''), '{}')::jsonb, $12::text",
	"$1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],"
	" $9::text[], $10::text[], $11::text[]",
	"ticket_id, rule_code, milestone, occurrence, status, due_at, observed_at, detected_at, engineer_id,"
	" partner_id, details",
	"ON CONFLICT (ticket_id, rule_code, occurrence) DO UPDATE SET milestone = excluded.milestone,"
	" status = excluded.status, due_at = excluded.due_at, observed_at = excluded.observed_at,"
	" engineer_id = excluded.engineer_id, partner_id = excluded.partner_id, details = excluded.details,"
	" policy_version = coalesce(v.policy_version, excluded.policy_version), written_at = now()");

/* Rows a re-derived ticket no longer has (core.c, resequence): sent before
 * the tickets' rows, so that a row the new state writes again wins. Only
 * rows already written change; one that never was stays unwritten. */
static const char sql_orphan_milestones[] =
	"UPDATE sla.milestones AS m SET status = 'CANCELLED', written_at = now()"
	" FROM unnest($1::text[], $2::text[], $3::int[]) AS u (ticket_id, milestone, occurrence)"
	" WHERE m.ticket_id = u.ticket_id AND m.milestone = u.milestone AND m.occurrence = u.occurrence"
	" AND m.status <> 'CANCELLED'";
static const char sql_orphan_violations[] =
	"UPDATE sla.violations AS v SET status = 'RETRACTED', written_at = now()"
	" FROM unnest($1::text[], $2::text[], $3::int[]) AS u (ticket_id, rule_code, occurrence)"
	" WHERE v.ticket_id = u.ticket_id AND v.rule_code = u.rule_code AND v.occurrence = u.occurrence"
	" AND v.status <> 'RETRACTED'";

static const char sql_states[] = LAST_ROW_WINS(
	"sla.ticket_state AS s (ticket_id, partition, state, updated_at)", "u.ticket_id",
	"u.ticket_id, u.partition, u.state, now()", "$1::text[], $2::int[], $3::bytea[]", "ticket_id, partition, state",
	"ON CONFLICT (ticket_id) DO UPDATE SET partition = excluded.partition, state = excluded.state,"
	" updated_at = now()");

static const char sql_history[] =
	"INSERT INTO sla.violation_history (violation_id, status, changed_at, cause_event_id)"
	" SELECT v.violation_id, u.status, coalesce(" MS_TS("u.changed_at") ", now()), nullif(u.cause, '')"
	" FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY"
	" AS u (ticket_id, rule_code, occurrence, status, changed_at, cause, ord)"
	" JOIN sla.violations v ON v.ticket_id = u.ticket_id AND v.rule_code = u.rule_code"
	" AND v.occurrence = u.occurrence"
	" ORDER BY u.ord"
	" ON CONFLICT (violation_id, status, changed_at) DO NOTHING";

#define SQL_DEAD_INSERT \
	"INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)" \
	" SELECT u.topic, u.partition, u.kafka_offset, u.reason, nullif(u.detail, ''), u.payload" \
	" FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::bytea[]) WITH ORDINALITY" \
	" AS u (topic, partition, kafka_offset, reason, detail, payload, ord)"
static const char sql_dead[] = SQL_DEAD_INSERT " ORDER BY u.ord";
/* The daemon's: a message re-applied after a state checkpoint (docs/architecture.md)
 * was dead-lettered already. Not for slactl replay (group ''), whose positions are
 * line numbers: two files may share them. */
static const char sql_dead_once[] =
	SQL_DEAD_INSERT " WHERE u.kafka_offset < 0 OR NOT EXISTS (SELECT 1 FROM sla.dead_letters d WHERE d.topic = u.topic"
	" AND d.partition = u.partition AND d.kafka_offset = u.kafka_offset)"
	" ORDER BY u.ord";

static const char sql_escalations[] =
	"INSERT INTO sla.escalations (ticket_id, milestone, occurrence, level, at, partner_id, engineer_id,"
	" partition, policy_version)"
	" SELECT u.ticket_id, u.milestone, u.occurrence, u.level, " MS_TS("u.at") ", nullif(u.partner, ''),"
	" nullif(u.engineer, ''), u.partition, $9"
	" FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::text[], $7::text[],"
	" $8::int[]) WITH ORDINALITY AS u (ticket_id, milestone, occurrence, level, at, partner, engineer, partition,"
	" ord)"
	" ORDER BY u.ord"
	" ON CONFLICT (ticket_id, milestone, occurrence, level) DO NOTHING";

/* The events of a batch that may have been written before (applied again
 * after a restart, docs/architecture.md): one sla.event_log row per ticket
 * and UTC month of those its rows do not hold yet, in the order applied. */
#define EV_AGG(col) "array_agg(u." col " ORDER BY u.ord)"
static const char sql_events[] =
	"INSERT INTO sla.event_log (ticket_id, first_at, event_ids, types, occurred_at, applied_at, topics, partitions,"
	" kafka_offsets, payloads)"
	" SELECT u.ticket_id, min(u.occurred_at), " EV_AGG("event_id") ", " EV_AGG("type") ", " EV_AGG("occurred_at") ","
	" " EV_AGG("applied_at") ", " EV_AGG("topic") ", " EV_AGG("partition") ", " EV_AGG("kafka_offset") ","
	" " EV_AGG("payload")
	" FROM (SELECT u.ticket_id, u.event_id, u.type, " MS_TS("u.occurred_at") " AS occurred_at,"
	" " MS_TS("u.applied_at") " AS applied_at, nullif(u.topic, '') AS topic, u.partition, u.kafka_offset,"
	" u.payload, u.ord"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::int[],"
	" $8::bigint[], $9::bytea[]) WITH ORDINALITY"
	" AS u (ticket_id, event_id, type, occurred_at, applied_at, topic, partition, kafka_offset, payload, ord)) u"
	" WHERE NOT EXISTS (SELECT 1 FROM sla.ticket_events e WHERE e.ticket_id = u.ticket_id"
	" AND e.event_id = u.event_id AND e.occurred_at = u.occurred_at)"
	" GROUP BY u.ticket_id, date_trunc('month', u.occurred_at AT TIME ZONE 'UTC')";

/* One engineer across tickets (schema/0006): record the batch's ONE_OFF
 * clock-ins; every commit then evaluates what the group's watermark passed. */
static const char sql_eng_clocks[] =
	"INSERT INTO sla.engineer_clocks (engineer_id, ticket_id, event_id, partner_id, kind, at, local_day)"
	" SELECT u.engineer_id, u.ticket_id, u.event_id, nullif(u.partner_id, ''), u.kind, " MS_TS("u.at") ","
	" date '1970-01-01' + u.day"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[])"
	" AS u (engineer_id, ticket_id, event_id, partner_id, kind, at, day)"
	" ON CONFLICT (ticket_id, event_id) DO NOTHING";
/* The tables that binary COPY can write when their rows are new
 * (batch_build's fresh): the append-only ones; ticket_state, which slactl
 * replay writes once, with its last batch; and the rows of tickets whose
 * rows this process has not written before (tickets, milestones,
 * violations). The same columns and values as their INSERT ... SELECT FROM
 * unnest() above, which stays for rows that may be there already. Those
 * go first: violation_history finds its violations' ids by a join. */
enum { COPY_TICKETS, COPY_MILESTONES, COPY_VIOLATIONS, COPY_EVENTS, COPY_ESCALATIONS, COPY_STATES, COPY_NTABLES };
static const struct {
	const char *sql, *what;
} copy_tables[COPY_NTABLES] = {
	[COPY_TICKETS] = {"COPY sla.tickets (ticket_id, ticket_type, sla_class, severity, partner_id, engineer_id,"
			  " calendar_id, state, created_at, closed_at, updated_at) FROM STDIN (FORMAT binary)",
			  "copying sla.tickets"},
	[COPY_MILESTONES] = {"COPY sla.milestones (ticket_id, milestone, occurrence, started_at, due_at, stopped_at,"
			     " status, partner_id, ticket_type, part_id, policy_version) FROM STDIN (FORMAT binary)",
			     "copying sla.milestones"},
	[COPY_VIOLATIONS] = {"COPY sla.violations (ticket_id, rule_code, milestone, occurrence, status, due_at,"
			     " observed_at, detected_at, engineer_id, partner_id, details, policy_version)"
			     " FROM STDIN (FORMAT binary)",
			     "copying sla.violations"},
	[COPY_EVENTS] = {"COPY sla.event_log (ticket_id, first_at, event_ids, types, occurred_at, applied_at, topics,"
			 " partitions, kafka_offsets, payloads) FROM STDIN (FORMAT binary)",
			 "copying sla.event_log"},
	[COPY_ESCALATIONS] = {"COPY sla.escalations (ticket_id, milestone, occurrence, level, at, partner_id, engineer_id,"
			      " partition, policy_version) FROM STDIN (FORMAT binary)",
			      "copying sla.escalations"},
	[COPY_STATES] = {"COPY sla.ticket_state (ticket_id, partition, state) FROM STDIN (FORMAT binary)",
			 "copying sla.ticket_state"},
};

#endif
