/* ticket.c - `slactl ticket ID`: one ticket's timeline, so a dispatcher can see why a violation was raised. */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slactl.h"
#include "slad/timeutil.h"
#include "slad/v1/events.pb-c.h"

static void ticket_usage(FILE *f)
{
	fprintf(f, "usage: slactl ticket ID [--db CONNINFO] [--tz ZONE]\n"
		   "Prints one ticket: its events in event-time order, its milestones with due times and\n"
		   "results, its violations with their status history, and its escalations. Times are\n"
		   "shown in --tz (default: the ticket's calendar zone, else Asia/Shanghai).\n");
}

static PGresult *query(PGconn *c, const char *sql, const char *id)
{
	const char *vals[1] = {id};
	PGresult *r = PQexecParams(c, sql, 1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "slactl ticket: %s", PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? ev->name : "?";
}

/* A few words on what an event carried, from its protobuf payload. */
static void describe(const unsigned char *bytes, size_t len, char *buf, size_t cap)
{
	Slad__V1__Event *ev = slad__v1__event__unpack(NULL, len, bytes);
	buf[0] = '\0';
	if (!ev)
		return;
	switch (ev->payload_case) {
	case SLAD__V1__EVENT__PAYLOAD_TICKET_CREATED:
		snprintf(buf, cap, "%s %s partner %s", enum_name(&slad__v1__ticket_type__descriptor,
								 ev->ticket_created->ticket_type),
			 ev->ticket_created->sla_class == SLAD__V1__SLA_CLASS__HOURLY ? "HOURLY" : "NON_HOURLY",
			 ev->partner_id ? ev->partner_id : "");
		break;
	case SLAD__V1__EVENT__PAYLOAD_ENGINEER_ASSIGNED:
		snprintf(buf, cap, "%s (%s)", ev->engineer_assigned->engineer_id,
			 ev->engineer_assigned->role == SLAD__V1__ROLE__GUARANTOR ? "guarantor" : "implementer");
		break;
	case SLAD__V1__EVENT__PAYLOAD_CLOCK_IN: {
		const Slad__V1__ClockIn *c = ev->clock_in;
		if (c->_lat_case && c->_lon_case)
			snprintf(buf, cap, "%s %s at %.5f,%.5f", enum_name(&slad__v1__clock_kind__descriptor, c->kind),
				 c->engineer_id, c->lat, c->lon);
		else
			snprintf(buf, cap, "%s %s, no location", enum_name(&slad__v1__clock_kind__descriptor, c->kind),
				 c->engineer_id);
		break;
	}
	case SLAD__V1__EVENT__PAYLOAD_RESERVATION_SET: {
		char when[40];
		rfc3339_format(ev->reservation_set->appointment_at, 0, when, sizeof(when));
		snprintf(buf, cap, "appointment %s%s", when,
			 ev->reservation_set->evidence_ref && ev->reservation_set->evidence_ref[0] ? ", with evidence"
												   : ", no evidence");
		break;
	}
	case SLAD__V1__EVENT__PAYLOAD_SPARE_PART:
		snprintf(buf, cap, "part %s", ev->spare_part->part_id);
		break;
	case SLAD__V1__EVENT__PAYLOAD_TICKET_REJECTED:
		snprintf(buf, cap, "by %s", enum_name(&slad__v1__rejector__descriptor, ev->ticket_rejected->rejected_by));
		break;
	case SLAD__V1__EVENT__PAYLOAD_REPORT_SUBMITTED:
		snprintf(buf, cap, "%s %s", enum_name(&slad__v1__report_kind__descriptor, ev->report_submitted->report_kind),
			 ev->report_submitted->period ? ev->report_submitted->period : "");
		break;
	default:
		break;
	}
	slad__v1__event__free_unpacked(ev, NULL);
}

/* The header line; sets the session's time zone to the ticket's calendar
 * zone (or tz). */
static bool print_header(PGconn *conn, const char *id, const char *tz)
{
	PGresult *r = query(conn,
			    "SELECT t.ticket_type, coalesce(t.sla_class, ''), coalesce(t.severity, ''), t.partner_id,"
			    " coalesce(t.engineer_id, '-'), t.calendar_id, t.state, coalesce(c.tz, 'Asia/Shanghai')"
			    " FROM sla.tickets t LEFT JOIN sla.calendars c USING (calendar_id) WHERE t.ticket_id = $1",
			    id);
	if (!r)
		return false;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "slactl ticket: no ticket %s\n", id);
		PQclear(r);
		return false;
	}
	const char *zone = tz ? tz : PQgetvalue(r, 0, 7);
	PGresult *z = query(conn, "SELECT set_config('TimeZone', $1, false)", zone);
	if (!z) {
		PQclear(r);
		return false;
	}
	PQclear(z);
	printf("Ticket %s  %s %s%s%s  partner %s  engineer %s  calendar %s  state %s  (times %s)\n", id,
	       PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2)[0] ? " severity " : "",
	       PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6),
	       zone);
	PQclear(r);
	return true;
}

static void print_event(const PGresult *r, int i)
{
	size_t len = 0;
	char what[160] = "";
	unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 5), &len);
	if (bytes) {
		describe(bytes, len, what, sizeof(what));
		PQfreemem(bytes);
	}
	printf("  %s  %-26s %-18s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), what);
}

/* The milestone columns: the heading names them, a row adds the part. */
#define MILESTONE_COLUMNS "  %-20s %3s %-9s %-11s %-16s %-16s"

static void print_milestone_heading(void)
{
	printf(MILESTONE_COLUMNS "\n", "milestone", "#", "status", "started", "due", "stopped");
}

static void print_milestone(const PGresult *r, int i)
{
	printf(MILESTONE_COLUMNS " %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
	       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
	       PQgetvalue(r, i, 6));
}

static void print_violation(const PGresult *r, int i)
{
	printf("  %-28s %-3s %-11s due %-11s observed %-11s engineer %s %s\n", PQgetvalue(r, i, 0),
	       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
	       PQgetvalue(r, i, 5), strcmp(PQgetvalue(r, i, 6), "{}") ? PQgetvalue(r, i, 6) : "");
	printf("      history: %s\n", PQgetvalue(r, i, 7));
}

static void print_escalation(const PGresult *r, int i)
{
	printf("  %s  %-20s %s  %s\n", PQgetvalue(r, i, 3), PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
	       PQgetvalue(r, i, 2));
}

/* The timeline after the header, in this order: a section is its title and
 * row count, an optional column heading, then a line (or two) a row. */
static const struct section {
	const char *title;
	const char *sql; /* $1: the ticket id */
	void (*print_heading)(void); /* or NULL */
	void (*print_row)(const PGresult *r, int i);
} sections[] = {
	{"Events",
	 "SELECT to_char(occurred_at, 'YYYY-MM-DD HH24:MI:SS'), type, event_id, coalesce(topic, ''),"
	 " coalesce(kafka_offset::text, ''), payload"
	 " FROM sla.ticket_events WHERE ticket_id = $1 ORDER BY occurred_at, event_id",
	 NULL, print_event},
	{"Milestones",
	 "SELECT milestone, occurrence, status, to_char(started_at, 'MM-DD HH24:MI'),"
	 " to_char(due_at, 'YYYY-MM-DD HH24:MI'), coalesce(to_char(stopped_at, 'YYYY-MM-DD HH24:MI'), '-'),"
	 " coalesce(part_id, '')"
	 " FROM sla.milestones WHERE ticket_id = $1 ORDER BY started_at, milestone, occurrence",
	 print_milestone_heading, print_milestone},
	{"Violations",
	 "SELECT v.rule_code, v.occurrence, v.status, coalesce(to_char(v.due_at, 'MM-DD HH24:MI'), '-'),"
	 " coalesce(to_char(v.observed_at, 'MM-DD HH24:MI'), '-'), coalesce(v.engineer_id, '-'),"
	 " v.details::text,"
	 " coalesce((SELECT string_agg(h.status || ' ' || to_char(h.changed_at, 'MM-DD HH24:MI')"
	 "   || coalesce(' by ' || h.cause_event_id, ' (clock)'), ', ' ORDER BY h.changed_at, h.id)"
	 "   FROM sla.violation_history h WHERE h.violation_id = v.violation_id), '')"
	 " FROM sla.violations v WHERE v.ticket_id = $1 ORDER BY v.rule_code, v.occurrence",
	 NULL, print_violation},
	{"Escalations",
	 "SELECT milestone, occurrence, level, to_char(at, 'YYYY-MM-DD HH24:MI')"
	 " FROM sla.escalations WHERE ticket_id = $1 ORDER BY at, milestone, level",
	 NULL, print_escalation},
};

static bool print_sections(PGconn *conn, const char *id)
{
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		PGresult *r = query(conn, sections[s].sql, id);
		if (!r)
			return false;
		printf("\n%s (%d)\n", sections[s].title, PQntuples(r));
		if (sections[s].print_heading)
			sections[s].print_heading();
		for (int i = 0; i < PQntuples(r); i++)
			sections[s].print_row(r, i);
		PQclear(r);
	}
	return true;
}

int cmd_ticket(int argc, char **argv)
{
	const char *conninfo = "", *tz = NULL;
	const struct slactl_option opts[] = {
		{"db", required_argument, &conninfo, 0},
		{"tz", required_argument, &tz, 0},
		{NULL, 0, NULL, 0},
	};
	int rc = 1, optst = slactl_parse_options(argc, argv, opts, "ticket", ticket_usage);
	if (optst >= 0)
		return optst;
	const char *id = slactl_one_operand(argc, argv, "ticket", "one ticket id (see --help)");
	if (!id)
		return 2;
	PGconn *conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		fprintf(stderr, "slactl ticket: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
	else if (print_header(conn, id, tz) && print_sections(conn, id))
		rc = 0;
	PQfinish(conn);
	return rc;
}
