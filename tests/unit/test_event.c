/* test_event.c - suite "event": event_decode and event_check (events.md field rules). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/core.h"
#include "suites.h"

#define ID64 "0123456789012345678901234567890123456789012345678901234567890123"
#define ID65 ID64 "4"

static void created(struct evb *b)
{
	evb_created(b, "e1", "T1", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
}
static void dispatched(struct evb *b)
{
	evb_init(b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "e2", "T1", "2025-03-14T10:01:00+08:00");
}
static void clock_arrive(struct evb *b)
{
	evb_clock(b, "e3", "T1", "2025-03-14T13:40:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	evb_location(b, 30.275, 120.156);
}
static void auth(struct evb *b)
{
	evb_auth(b, "e4", "T1", "2025-03-14T09:00:00+08:00", "2025-03-14T09:00:00+08:00",
		 "2025-03-14T18:00:00+08:00");
}

/* One case: a valid event of some shape, one change, the verdict. */
struct check_case {
	const char *name;
	void (*build)(struct evb *b);
	void (*mutate)(struct evb *b);
	enum sla_verdict want;
	const char *detail; /* a substring of the detail, or NULL */
};

static void m_none(struct evb *b) { (void)b; }
static void m_no_event_id(struct evb *b) { b->ev.event_id = ""; }
static void m_event_id_64(struct evb *b) { b->ev.event_id = ID64; }
static void m_event_id_65(struct evb *b) { b->ev.event_id = ID65; }
static void m_no_type(struct evb *b) { b->ev.type = SLAD__V1__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED; }
static void m_bad_type(struct evb *b) { b->ev.type = (Slad__V1__EventType)99; }
static void m_no_time(struct evb *b) { b->ev.occurred_at = 0; }
static void m_neg_time(struct evb *b) { b->ev.occurred_at = -60000; }
static void m_no_ticket(struct evb *b) { b->ev.ticket_id = ""; }
static void m_ticket_65(struct evb *b) { b->ev.ticket_id = ID65; }
static void m_source_65(struct evb *b) { b->ev.source = ID65; }
static void m_source_64(struct evb *b) { b->ev.source = ID64; }
static void m_partner_65(struct evb *b) { b->ev.partner_id = ID65; }
static void m_no_partner(struct evb *b) { b->ev.partner_id = ""; }
static void m_no_payload(struct evb *b)
{
	b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD__NOT_SET;
	b->ev.ticket_created = NULL;
}
static void m_wrong_payload(struct evb *b)
{
	b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_CLOCK_IN;
	b->ev.clock_in = &b->ci;
}
static void m_no_ticket_type(struct evb *b) { b->tc.ticket_type = SLAD__V1__TICKET_TYPE__TICKET_TYPE_UNSPECIFIED; }
static void m_bad_ticket_type(struct evb *b) { b->tc.ticket_type = (Slad__V1__TicketType)42; }
static void m_incident_no_severity(struct evb *b) { b->tc.ticket_type = SLAD__V1__TICKET_TYPE__INCIDENT; }
static void m_incident_severity(struct evb *b)
{
	b->tc.ticket_type = SLAD__V1__TICKET_TYPE__INCIDENT;
	b->tc.severity = SLAD__V1__SEVERITY__II;
}
static void m_site_lat_only(struct evb *b)
{
	b->tc._site_lat_case = SLAD__V1__TICKET_CREATED___SITE_LAT_SITE_LAT;
	b->tc.site_lat = 30.0;
}
static void m_site_lat_91(struct evb *b) { evb_site(b, 91.0, 120.0); }
static void m_site_lon_181(struct evb *b) { evb_site(b, 30.0, -181.0); }
static void m_site_edges(struct evb *b) { evb_site(b, -90.0, 180.0); }
static void m_calendar_33(struct evb *b) { b->tc.calendar_id = "CN3456789012345678901234567890123"; }
static void m_unassigned(struct evb *b)
{
	evb_assigned(b, "e5", "T1", "2025-03-14T10:05:00+08:00", "");
}
static void m_assigned(struct evb *b)
{
	evb_assigned(b, "e5", "T1", "2025-03-14T10:05:00+08:00", "E7");
}
static void m_assigned_engineer_65(struct evb *b)
{
	evb_assigned(b, "e5", "T1", "2025-03-14T10:05:00+08:00", ID65);
}
static void m_reservation_no_appointment(struct evb *b)
{
	evb_reservation(b, "e6", "T1", "2025-03-14T11:00:00+08:00", "2025-03-14T16:00:00+08:00", NULL);
	b->rs._appointment_at_case = SLAD__V1__RESERVATION_SET___APPOINTMENT_AT__NOT_SET;
}
static void m_reservation(struct evb *b)
{
	evb_reservation(b, "e6", "T1", "2025-03-14T11:00:00+08:00", "2025-03-14T16:00:00+08:00", NULL);
}
static void m_auth_no_end(struct evb *b)
{
	b->ag._window_end_case = SLAD__V1__AUTHORIZATION_GRANTED___WINDOW_END__NOT_SET;
}
static void m_auth_no_start(struct evb *b)
{
	b->ag._window_start_case = SLAD__V1__AUTHORIZATION_GRANTED___WINDOW_START__NOT_SET;
}
static void m_auth_reversed(struct evb *b) { b->ag.window_end = b->ag.window_start - 1; }
static void m_auth_empty_window(struct evb *b) { b->ag.window_end = b->ag.window_start; }
static void m_part_missing(struct evb *b)
{
	evb_part(b, SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED, "e7", "T1", "2025-03-14T11:00:00+08:00", "");
}
static void m_part_65(struct evb *b)
{
	evb_part(b, SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED, "e7", "T1", "2025-03-14T11:00:00+08:00", ID65);
}
static void m_part(struct evb *b)
{
	evb_part(b, SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED, "e7", "T1", "2025-03-14T11:00:00+08:00", "P-1");
}
static void m_clock_no_engineer(struct evb *b) { b->ci.engineer_id = ""; }
static void m_clock_no_kind(struct evb *b) { b->ci.kind = SLAD__V1__CLOCK_KIND__CLOCK_KIND_UNSPECIFIED; }
static void m_clock_bad_kind(struct evb *b) { b->ci.kind = (Slad__V1__ClockKind)77; }
static void m_clock_lat_only(struct evb *b) { b->ci._lon_case = SLAD__V1__CLOCK_IN___LON__NOT_SET; }
static void m_clock_lat_91(struct evb *b) { b->ci.lat = 90.5; }
static void m_clock_lon_181(struct evb *b) { b->ci.lon = 180.5; }
static void m_clock_no_location(struct evb *b)
{
	b->ci._lat_case = SLAD__V1__CLOCK_IN___LAT__NOT_SET;
	b->ci._lon_case = SLAD__V1__CLOCK_IN___LON__NOT_SET;
}
static void m_assessment(struct evb *b)
{
	static Slad__V1__Assessment a = SLAD__V1__ASSESSMENT__INIT;
	a.quarter = "2025Q2";
	a.kind = SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED;
	evb_init(b, SLAD__V1__EVENT_TYPE__ASSESSMENT, "e9", NULL, "2025-06-30T10:00:00+08:00");
	b->ev.partner_id = "P1";
	b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ASSESSMENT;
	b->ev.assessment = &a;
}
static void m_assessment_no_partner(struct evb *b)
{
	m_assessment(b);
	b->ev.partner_id = "";
}
static void m_assessment_no_payload(struct evb *b)
{
	m_assessment(b);
	b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD__NOT_SET;
	b->ev.assessment = NULL;
}

static const struct check_case check_cases[] = {
	{"valid TICKET_CREATED", created, m_none, SV_APPLIED, NULL},
	{"valid TICKET_DISPATCHED", dispatched, m_none, SV_APPLIED, NULL},
	{"valid CLOCK_IN", clock_arrive, m_none, SV_APPLIED, NULL},
	{"CLOCK_IN without lat/lon is valid", clock_arrive, m_clock_no_location, SV_APPLIED, NULL},
	{"valid AUTHORIZATION_GRANTED", auth, m_none, SV_APPLIED, NULL},
	{"no event_id", dispatched, m_no_event_id, SV_MISSING_FIELD, "event_id"},
	{"event_id of 64 bytes", dispatched, m_event_id_64, SV_APPLIED, NULL},
	{"event_id of 65 bytes", dispatched, m_event_id_65, SV_BAD_VALUE, "event_id"},
	{"no type", dispatched, m_no_type, SV_MISSING_FIELD, "type"},
	{"unknown type", dispatched, m_bad_type, SV_BAD_VALUE, "type"},
	{"no occurred_at", dispatched, m_no_time, SV_MISSING_FIELD, "occurred_at"},
	{"occurred_at before 1970", dispatched, m_neg_time, SV_BAD_VALUE, "occurred_at"},
	{"no ticket_id", dispatched, m_no_ticket, SV_MISSING_FIELD, "ticket_id"},
	{"ticket_id of 65 bytes", dispatched, m_ticket_65, SV_BAD_VALUE, "ticket_id"},
	{"source of 64 bytes", dispatched, m_source_64, SV_APPLIED, NULL},
	{"source of 65 bytes", dispatched, m_source_65, SV_BAD_VALUE, "source"},
	{"partner_id of 65 bytes", created, m_partner_65, SV_BAD_VALUE, "partner_id"},
	{"TICKET_CREATED without partner_id", created, m_no_partner, SV_MISSING_FIELD, "partner_id"},
	{"TICKET_CREATED without payload", created, m_no_payload, SV_MISSING_FIELD, "ticket_type"},
	{"TICKET_CREATED with a CLOCK_IN payload", created, m_wrong_payload, SV_BAD_VALUE, "payload"},
	{"TICKET_CREATED without ticket_type", created, m_no_ticket_type, SV_MISSING_FIELD, "ticket_type"},
	{"TICKET_CREATED with unknown ticket_type", created, m_bad_ticket_type, SV_BAD_VALUE, "ticket_type"},
	{"INCIDENT without severity", created, m_incident_no_severity, SV_MISSING_FIELD, "severity"},
	{"INCIDENT with severity", created, m_incident_severity, SV_APPLIED, NULL},
	{"site_lat without site_lon", created, m_site_lat_only, SV_BAD_VALUE, "site_l"},
	{"site_lat 91", created, m_site_lat_91, SV_BAD_VALUE, "site_lat"},
	{"site_lon -181", created, m_site_lon_181, SV_BAD_VALUE, "site_lon"},
	{"site at -90/180", created, m_site_edges, SV_APPLIED, NULL},
	{"calendar_id of 33 bytes", created, m_calendar_33, SV_BAD_VALUE, "calendar_id"},
	{"ENGINEER_ASSIGNED", created, m_assigned, SV_APPLIED, NULL},
	{"ENGINEER_ASSIGNED without engineer_id", created, m_unassigned, SV_MISSING_FIELD, "engineer_id"},
	{"ENGINEER_ASSIGNED engineer_id of 65 bytes", created, m_assigned_engineer_65, SV_BAD_VALUE, "engineer_id"},
	{"RESERVATION_SET", created, m_reservation, SV_APPLIED, NULL},
	{"RESERVATION_SET without appointment_at", created, m_reservation_no_appointment, SV_MISSING_FIELD,
	 "appointment_at"},
	{"AUTHORIZATION_GRANTED without window_start", auth, m_auth_no_start, SV_MISSING_FIELD, "window_start"},
	{"AUTHORIZATION_GRANTED without window_end", auth, m_auth_no_end, SV_MISSING_FIELD, "window_end"},
	{"AUTHORIZATION_GRANTED window_end before window_start", auth, m_auth_reversed, SV_BAD_VALUE, "window_end"},
	{"AUTHORIZATION_GRANTED empty window", auth, m_auth_empty_window, SV_APPLIED, NULL},
	{"SPARE_PART_CONFIRMED", created, m_part, SV_APPLIED, NULL},
	{"SPARE_PART_REQUESTED without part_id", created, m_part_missing, SV_MISSING_FIELD, "part_id"},
	{"SPARE_PART_RETURNED part_id of 65 bytes", created, m_part_65, SV_BAD_VALUE, "part_id"},
	{"CLOCK_IN without engineer_id", clock_arrive, m_clock_no_engineer, SV_MISSING_FIELD, "engineer_id"},
	{"CLOCK_IN without kind", clock_arrive, m_clock_no_kind, SV_MISSING_FIELD, "kind"},
	{"CLOCK_IN with unknown kind", clock_arrive, m_clock_bad_kind, SV_BAD_VALUE, "kind"},
	{"CLOCK_IN lat without lon", clock_arrive, m_clock_lat_only, SV_BAD_VALUE, "lat"},
	{"CLOCK_IN lat 90.5", clock_arrive, m_clock_lat_91, SV_BAD_VALUE, "lat"},
	{"CLOCK_IN lon 180.5", clock_arrive, m_clock_lon_181, SV_BAD_VALUE, "lon"},
	{"ASSESSMENT needs no ticket_id", created, m_assessment, SV_APPLIED, NULL},
	{"ASSESSMENT without partner_id", created, m_assessment_no_partner, SV_MISSING_FIELD, "partner_id"},
	{"ASSESSMENT without payload", created, m_assessment_no_payload, SV_MISSING_FIELD, NULL},
};

START_TEST(check_fields)
{
	const struct check_case *c = &check_cases[_i];
	struct evb b;
	char detail[256] = "";
	c->build(&b);
	c->mutate(&b);
	enum sla_verdict got = event_check(&b.ev, detail, sizeof(detail));
	ck_assert_msg(got == c->want, "%s: verdict %d (%s), want %d (%s); detail \"%s\"", c->name, got,
		      verdict_reason(got) ? verdict_reason(got) : "-", c->want,
		      verdict_reason(c->want) ? verdict_reason(c->want) : "-", detail);
	if (c->detail)
		ck_assert_msg(strstr(detail, c->detail) != NULL, "%s: detail \"%s\" does not name %s", c->name,
			      detail, c->detail);
}
END_TEST

START_TEST(decode_valid)
{
	struct evb b;
	size_t len;
	Slad__V1__Event *ev = NULL;
	char detail[128];
	clock_arrive(&b);
	uint8_t *buf = evb_pack(&b, &len);
	ck_assert_int_eq(event_decode(buf, len, &ev, detail, sizeof(detail)), SV_APPLIED);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ev->event_id, "e3");
	ck_assert_int_eq(ev->occurred_at, T("2025-03-14T13:40:00+08:00"));
	ck_assert_int_eq(ev->payload_case, SLAD__V1__EVENT__PAYLOAD_CLOCK_IN);
	ck_assert(ev->clock_in->lat == 30.275);
	sla_event_free(ev);
	free(buf);
}
END_TEST

/* An event decodes into one arena (sla_event_free): a message whose unpacked form
 * outgrows the first block (here 16,000 unknown fields, each a record and a
 * copy) spreads over more blocks and still reads back whole. */
START_TEST(decode_dense_message)
{
	struct evb b;
	size_t len, n = 16000;
	Slad__V1__Event *ev = NULL;
	char detail[128] = "";
	clock_arrive(&b);
	uint8_t *packed = evb_pack(&b, &len);
	uint8_t *buf = malloc(len + 3 * n);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, packed, len);
	for (size_t i = 0; i < n; i++) { /* field 1000 (unknown), varint 1: key 0xc0 0x3e */
		buf[len + 3 * i] = 0xc0;
		buf[len + 3 * i + 1] = 0x3e;
		buf[len + 3 * i + 2] = (uint8_t)(i & 0x7f);
	}
	ck_assert_uint_le(len + 3 * n, SLA_EVENT_MAX_BYTES);
	ck_assert_int_eq(event_decode(buf, len + 3 * n, &ev, detail, sizeof(detail)), SV_APPLIED);
	ck_assert_ptr_nonnull(ev);
	ck_assert_uint_eq(ev->base.n_unknown_fields, n);
	ck_assert_uint_eq(ev->base.unknown_fields[n - 1].len, 1);
	ck_assert_uint_eq(ev->base.unknown_fields[n - 1].data[0], (n - 1) & 0x7f);
	ck_assert_str_eq(ev->event_id, "e3");
	ck_assert(ev->clock_in->lat == 30.275);
	sla_event_free(ev);
	sla_event_free(NULL);
	free(buf);
	free(packed);
}
END_TEST

START_TEST(decode_garbage)
{
	static const uint8_t bad_wire_type[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	static const uint8_t truncated[] = {0x0a, 0x10, 'e'}; /* event_id of 16 bytes, 1 present */
	static const uint8_t text[] = "{\"event_id\":\"e1\"}";
	Slad__V1__Event *ev = (Slad__V1__Event *)1;
	char detail[128] = "";
	ck_assert_int_eq(event_decode(bad_wire_type, sizeof(bad_wire_type), &ev, detail, sizeof(detail)),
			 SV_DECODE_ERROR);
	ck_assert_ptr_null(ev);
	ck_assert_str_ne(detail, "");
	ck_assert_int_eq(event_decode(truncated, sizeof(truncated), &ev, detail, sizeof(detail)), SV_DECODE_ERROR);
	ck_assert_int_eq(event_decode(text, sizeof(text) - 1, &ev, detail, sizeof(detail)), SV_DECODE_ERROR);
}
END_TEST

/* 64 KiB is the limit: a 64 KiB message is decoded (garbage here, so a
 * decode error); one byte more is OVERSIZE without being decoded. */
START_TEST(decode_oversize_boundary)
{
	uint8_t *buf = malloc(SLA_EVENT_MAX_BYTES + 1);
	Slad__V1__Event *ev = NULL;
	char detail[128] = "";
	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xff, SLA_EVENT_MAX_BYTES + 1);
	ck_assert_int_eq(SLA_EVENT_MAX_BYTES, 65536);
	ck_assert_int_eq(event_decode(buf, SLA_EVENT_MAX_BYTES + 1, &ev, detail, sizeof(detail)), SV_OVERSIZE);
	ck_assert_ptr_null(ev);
	ck_assert_int_eq(event_decode(buf, SLA_EVENT_MAX_BYTES, &ev, detail, sizeof(detail)), SV_DECODE_ERROR);
	free(buf);
}
END_TEST

START_TEST(verdict_reasons)
{
	ck_assert_ptr_null(verdict_reason(SV_APPLIED));
	ck_assert_ptr_null(verdict_reason(SV_DUPLICATE));
	ck_assert_ptr_null(verdict_reason(SV_HELD));
	ck_assert_str_eq(verdict_reason(SV_DECODE_ERROR), "DECODE_ERROR");
	ck_assert_str_eq(verdict_reason(SV_MISSING_FIELD), "MISSING_FIELD");
	ck_assert_str_eq(verdict_reason(SV_BAD_VALUE), "BAD_VALUE");
	ck_assert_str_eq(verdict_reason(SV_UNKNOWN_TICKET), "UNKNOWN_TICKET");
	ck_assert_str_eq(verdict_reason(SV_INVALID_TRANSITION), "INVALID_TRANSITION");
	ck_assert_str_eq(verdict_reason(SV_TOO_LATE), "TOO_LATE");
	ck_assert_str_eq(verdict_reason(SV_OVERSIZE), "OVERSIZE");
	ck_assert(!verdict_is_dead_letter(SV_APPLIED));
	ck_assert(!verdict_is_dead_letter(SV_DUPLICATE));
	ck_assert(!verdict_is_dead_letter(SV_HELD));
	ck_assert(verdict_is_dead_letter(SV_DECODE_ERROR));
	ck_assert(verdict_is_dead_letter(SV_OVERSIZE));
}
END_TEST

/* The daemon's verdict on a message before the core: each topic carries its
 * own event types, occurred_at may not run a day ahead of the wall clock, an
 * undecodable message has no event, and a decoded one keeps it whatever the
 * verdict (the merge orders by its occurred_at). */
START_TEST(classify_by_topic)
{
	struct evb b;
	size_t clen, wlen;
	Slad__V1__Event *ev = NULL;
	char detail[160] = "";
	clock_arrive(&b);
	uint8_t *clock = evb_pack(&b, &clen);
	evb_created(&b, "e1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	uint8_t *created = evb_pack(&b, &wlen);
	sla_time limit = T("2025-03-15T00:00:00+08:00");

	ck_assert_int_eq(event_classify(TOPIC_CLOCKINS, clock, clen, limit, &ev, detail, sizeof(detail)), SV_APPLIED);
	ck_assert_ptr_nonnull(ev);
	sla_event_free(ev);
	ck_assert_int_eq(event_classify(TOPIC_WORKORDERS, created, wlen, limit, &ev, detail, sizeof(detail)),
			 SV_APPLIED);
	sla_event_free(ev);

	ck_assert_int_eq(event_classify(TOPIC_WORKORDERS, clock, clen, limit, &ev, detail, sizeof(detail)),
			 SV_BAD_VALUE);
	ck_assert_str_eq(detail, "not a work-order event on the work-orders topic");
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->occurred_at, T("2025-03-14T13:40:00+08:00"));
	sla_event_free(ev);
	ck_assert_int_eq(event_classify(TOPIC_CLOCKINS, created, wlen, limit, &ev, detail, sizeof(detail)),
			 SV_BAD_VALUE);
	ck_assert_str_eq(detail, "not a CLOCK_IN event on the clock-ins topic");
	sla_event_free(ev);
	ck_assert_int_eq(event_classify(TOPIC_ASSESSMENTS, created, wlen, limit, &ev, detail, sizeof(detail)),
			 SV_BAD_VALUE);
	ck_assert_str_eq(detail, "not an ASSESSMENT event on the assessments topic");
	sla_event_free(ev);

	/* A day ahead of the wall clock, on the right topic. */
	ck_assert_int_eq(event_classify(TOPIC_CLOCKINS, clock, clen, T("2025-03-14T13:39:59+08:00"), &ev, detail,
					sizeof(detail)),
			 SV_BAD_VALUE);
	ck_assert_str_eq(detail, "occurred_at more than a day in the future");
	sla_event_free(ev);
	ck_assert_int_eq(event_classify(TOPIC_CLOCKINS, clock, clen, SLA_TIME_NONE, &ev, detail, sizeof(detail)),
			 SV_APPLIED);
	sla_event_free(ev);

	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	ev = (Slad__V1__Event *)1;
	ck_assert_int_eq(event_classify(TOPIC_CLOCKINS, garbage, sizeof(garbage), limit, &ev, detail, sizeof(detail)),
			 SV_DECODE_ERROR);
	ck_assert_ptr_null(ev);
	free(clock);
	free(created);
}
END_TEST

Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("event");
	tcase_add_loop_test(tc, check_fields, 0, (int)(sizeof(check_cases) / sizeof(check_cases[0])));
	tcase_add_test(tc, decode_valid);
	tcase_add_test(tc, decode_dense_message);
	tcase_add_test(tc, decode_garbage);
	tcase_add_test(tc, decode_oversize_boundary);
	tcase_add_test(tc, verdict_reasons);
	tcase_add_test(tc, classify_by_topic);
	suite_add_tcase(s, tc);
	return s;
}
