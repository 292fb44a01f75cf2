/* test_hardening.c - suite "hardening": every bad input of issue 11 reaches the
 * core's raw entry point and becomes a dead letter naming the field, nothing
 * is applied, and the next message is processed (events.md, Bad input). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/core.h"
#include "suites.h"

static struct calendar_set cals;
static struct sla_core *core;
static struct sla_out out;
static int64_t next_offset;

static void setup(void)
{
	struct calendar cn;
	memset(&cals, 0, sizeof(cals));
	calendar_init_cn(&cn);
	ck_assert(calendar_set_add(&cals, &cn));
	core = core_new(policy_defaults(), &cals);
	ck_assert_ptr_nonnull(core);
	core_out_init(&out);
	next_offset = 0;
}

static void teardown(void)
{
	core_out_free(&out);
	core_free(core);
	calendar_set_free(&cals);
	core = NULL;
}

static enum sla_verdict apply_bytes(const uint8_t *buf, size_t len, sla_time now)
{
	struct sla_origin o = {"fsm.workorders", 0, next_offset++, buf, len, 0};
	return core_apply_raw(core, &o, now, &out);
}

static enum sla_verdict apply(const struct evb *b)
{
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	enum sla_verdict v = apply_bytes(buf, len, b->ev.occurred_at);
	free(buf);
	return v;
}

/* Packs b and replaces the first `from` in the bytes with `to` (same length). */
static enum sla_verdict apply_patched(const struct evb *b, const char *from, const char *to, size_t n)
{
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	uint8_t *at = memmem(buf, len, from, n);
	ck_assert_ptr_nonnull(at);
	memcpy(at, to, n);
	enum sla_verdict v = apply_bytes(buf, len, b->ev.occurred_at);
	free(buf);
	return v;
}

/* The last dead letter has this reason and names this field. */
static void assert_dead(enum sla_verdict got, enum sla_verdict want, const char *field)
{
	ck_assert_int_eq(got, want);
	ck_assert_uint_gt(out.ndead, 0);
	const struct sla_dead *d = &out.dead[out.ndead - 1];
	ck_assert_int_eq(d->reason, want);
	ck_assert_int_eq(d->offset, next_offset - 1);
	ck_assert_msg(strstr(d->detail, field) != NULL, "detail \"%s\" does not name %s", d->detail, field);
}

static void create(const char *ticket, Slad__V1__TicketType tt)
{
	struct evb b;
	evb_created(&b, ticket, ticket, "2025-03-14T10:00:00+08:00", tt, SLAD__V1__SLA_CLASS__NON_HOURLY);
	if (tt == SLAD__V1__TICKET_TYPE__INCIDENT)
		b.tc.severity = SLAD__V1__SEVERITY__II;
	ck_assert_int_eq(apply(&b), SV_APPLIED);
}

/* After a bad message the next good one is applied. */
static void assert_next_applies(const char *ticket)
{
	static int n;
	char id[32];
	struct evb b;
	snprintf(id, sizeof(id), "good-%d", n++);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, id, ticket, "2025-03-14T10:30:00+08:00");
	ck_assert_int_eq(apply(&b), SV_APPLIED);
}

START_TEST(payload_missing)
{
	static const struct {
		Slad__V1__EventType type;
		const char *field;
	} cases[] = {
		{SLAD__V1__EVENT_TYPE__TICKET_REJECTED, "rejected_by"},
		{SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED, "close_requested"},
		{SLAD__V1__EVENT_TYPE__LEAVE_APPROVED, "leave_date"},
		{SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED, "report_kind"},
		{SLAD__V1__EVENT_TYPE__TICKET_CANCELLED, "ticket_cancelled"},
	};
	create("T1", SLAD__V1__TICKET_TYPE__RESIDENT);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct evb b;
		evb_init(&b, cases[i].type, "bad", "T1", "2025-03-14T10:10:00+08:00");
		b.ev.payload_case = SLAD__V1__EVENT__PAYLOAD__NOT_SET;
		b.ev.ticket_created = NULL;
		assert_dead(apply(&b), SV_MISSING_FIELD, cases[i].field);
		assert_next_applies("T1");
	}
}
END_TEST

START_TEST(payload_of_another_type)
{
	static const Slad__V1__EventType types[] = {SLAD__V1__EVENT_TYPE__LEAVE_APPROVED,
						    SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED,
						    SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED};
	create("T1", SLAD__V1__TICKET_TYPE__RESIDENT);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct evb b;
		evb_part(&b, SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED, "bad", "T1", "2025-03-14T10:10:00+08:00",
			 "P-1");
		b.ev.type = types[i];
		assert_dead(apply(&b), SV_BAD_VALUE, "payload");
		assert_next_applies("T1");
	}
}
END_TEST

START_TEST(occurred_at_extremes)
{
	static const sla_time bad[] = {INT64_MIN, INT64_MIN + 1, -1, INT64_MAX, INT64_MAX - 1,
				       SLA_TIME_MIN - 1, SLA_TIME_MAX};
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct evb b;
		size_t len;
		evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "bad", "T1", NULL);
		b.ev.occurred_at = bad[i];
		uint8_t *buf = evb_pack(&b, &len);
		/* the processing clock at that instant, as a replay would have it */
		enum sla_verdict v = apply_bytes(buf, len, bad[i] > 0 ? bad[i] : T("2025-03-14T10:10:00+08:00"));
		free(buf);
		assert_dead(v, SV_BAD_VALUE, "occurred_at");
	}
	/* the clock at the end of time fires what is due, and nothing overflows */
	core_advance(core, INT64_MAX, &out);
}
END_TEST

START_TEST(resident_1970_to_9999)
{
	struct evb b;
	evb_created(&b, "r1", "R1", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__RESIDENT,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	b.tc._service_start_at_case = SLAD__V1__TICKET_CREATED___SERVICE_START_AT_SERVICE_START_AT;
	b.tc.service_start_at = 0;
	b.tc._service_end_at_case = SLAD__V1__TICKET_CREATED___SERVICE_END_AT_SERVICE_END_AT;
	b.tc.service_end_at = T("9999-12-31T00:00:00+00:00");
	assert_dead(apply(&b), SV_BAD_VALUE, "service_start_at");
	/* within the instant bounds but a period longer than three years */
	b.ev.event_id = "r2";
	b.tc.service_start_at = T("2024-01-01T00:00:00+08:00");
	b.tc.service_end_at = T("2028-01-01T00:00:00+08:00");
	assert_dead(apply(&b), SV_BAD_VALUE, "service_start_at..service_end_at");
	ck_assert_ptr_null(core_find(core, "R1"));
	/* the longest accepted period is applied with bounded work: three years of days */
	b.ev.event_id = "r3";
	b.tc.service_start_at = T("2022-03-15T00:00:00+08:00");
	b.tc.service_end_at = b.tc.service_start_at + SLA_SERVICE_PERIOD_MAX;
	ck_assert_int_eq(apply(&b), SV_APPLIED);
	ck_assert_ptr_nonnull(core_find(core, "R1"));
	core_advance(core, b.tc.service_end_at + 2 * SLA_DAY, &out);
}
END_TEST

START_TEST(nul_in_ids)
{
	struct evb b;
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "EVXone", "T1", "2025-03-14T10:01:00+08:00");
	assert_dead(apply_patched(&b, "EVXone", "EV\0one", 6), SV_BAD_VALUE, "event_id");
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "EVXtwo", "T1", "2025-03-14T10:02:00+08:00");
	assert_dead(apply_patched(&b, "EVXtwo", "EV\0two", 6), SV_BAD_VALUE, "event_id");
	/* "T1\0other" is not ticket T1 */
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_CANCELLED, "c1", "T1Xother", "2025-03-14T10:03:00+08:00");
	assert_dead(apply_patched(&b, "T1Xother", "T1\0other", 8), SV_BAD_VALUE, "ticket_id");
	/* past the first eight bytes (the word-at-a-time path) */
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_CANCELLED, "c2", "T1-long-idXother", "2025-03-14T10:04:00+08:00");
	assert_dead(apply_patched(&b, "T1-long-idXother", "T1-long-id\0other", 16), SV_BAD_VALUE, "ticket_id");
	ck_assert_int_eq(core_find(core, "T1")->state, TS_CREATED);
	assert_next_applies("T1");
}
END_TEST

START_TEST(not_utf8)
{
	struct evb b;
	evb_created(&b, "c1", "TX1", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	assert_dead(apply_patched(&b, "TX1", "T\xff" "1", 3), SV_BAD_VALUE, "ticket_id");
	ck_assert_ptr_null(core_find(core, "T?1"));
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:05:00+08:00", "EX7");
	assert_dead(apply_patched(&b, "EX7", "E\xc0\xaf", 3), SV_BAD_VALUE, "engineer_id"); /* overlong '/' */
	evb_assigned(&b, "a2", "T1", "2025-03-14T10:05:00+08:00", "EXXX7");
	assert_dead(apply_patched(&b, "EXXX7", "E\xed\xa0\x80" "7", 5), SV_BAD_VALUE, "engineer_id"); /* surrogate */
	/* UTF-8 ids are fine */
	evb_assigned(&b, "a3", "T1", "2025-03-14T10:05:00+08:00", "工程师7");
	ck_assert_int_eq(apply(&b), SV_APPLIED);
	ck_assert_str_eq(core_find(core, "T1")->engineer_id, "工程师7");
}
END_TEST

/* Bytes in front of a packed event (fields protobuf-c reads first), applied. */
static enum sla_verdict apply_prefixed(const struct evb *b, const uint8_t *pre, size_t npre)
{
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	uint8_t *all = malloc(npre + len);
	ck_assert_ptr_nonnull(all);
	memcpy(all, pre, npre);
	memcpy(all + npre, buf, len);
	enum sla_verdict v = apply_bytes(all, npre + len, b->ev.occurred_at);
	free(all);
	free(buf);
	return v;
}

/* A string protobuf-c replaces by a later one of the same field (or oneof) is
 * not in the unpacked event: it is checked all the same (event_decode walks
 * the wire when unpacking dropped anything). */
START_TEST(strings_unpack_drops)
{
	static const uint8_t bad_ticket[] = {0x22, 3, 'T', 0xff, '1'};			/* ticket_id, then T1 */
	static const uint8_t bad_clock[] = {0xa2, 0x01, 4, 0x0a, 2, 'E', 0xff};		/* clock_in {engineer_id} */
	static const uint8_t nul_engineer[] = {0x5a, 5, 0x0a, 3, 'E', 0, '7'};		/* engineer_assigned, then the good one */
	static const uint8_t unknown_field[] = {0x9a, 0x06, 2, 0xff, 0};		/* field 99: not ours, not checked */
	struct evb b;
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "k1", "T1", "2025-03-14T10:01:00+08:00");
	assert_dead(apply_prefixed(&b, bad_ticket, sizeof(bad_ticket)), SV_BAD_VALUE, "ticket_id");
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:05:00+08:00", "E7");
	assert_dead(apply_prefixed(&b, bad_clock, sizeof(bad_clock)), SV_BAD_VALUE, "engineer_id");
	ck_assert_str_eq(out.dead[out.ndead - 1].detail, "engineer_id is not valid UTF-8");
	assert_dead(apply_prefixed(&b, nul_engineer, sizeof(nul_engineer)), SV_BAD_VALUE, "engineer_id");
	ck_assert_str_eq(out.dead[out.ndead - 1].detail, "engineer_id contains a NUL byte");
	ck_assert_int_eq(apply_prefixed(&b, unknown_field, sizeof(unknown_field)), SV_APPLIED);
	ck_assert_str_eq(core_find(core, "T1")->engineer_id, "E7");
	assert_next_applies("T1");
}
END_TEST

/* core_apply_raw decodes each event into the block of the one before when it
 * is big enough (core.c, event_decode_in): events of every size, and events
 * held then applied while their ticket's creation is still decoded. */
START_TEST(arena_reused)
{
	static const size_t sizes[] = {10, 1500, 10, 3000, 10, 1500, 1500};
	struct evb b;
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* field 99 (not ours, skipped) of sizes[i] bytes, then an acknowledgement */
		uint8_t pre[4 + 3000];
		size_t n = sizes[i];
		pre[0] = 0x9a;
		pre[1] = 0x06;
		ck_assert_uint_lt(n, 16384);
		size_t k = 2;
		if (n >= 128)
			pre[k++] = (uint8_t)(0x80 | (n & 0x7f));
		pre[k++] = (uint8_t)(n >= 128 ? n >> 7 : n);
		memset(pre + k, 'x', n);
		char id[16];
		snprintf(id, sizeof(id), "ack%zu", i);
		evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, id, "T1", "2025-03-14T10:01:00+08:00");
		ck_assert_int_eq(apply_prefixed(&b, pre, k + n), SV_APPLIED);
	}
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "early", "T2", "2025-03-14T10:01:00+08:00");
	ck_assert_int_eq(apply(&b), SV_HELD);
	create("T2", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	ck_assert_int_eq(ticket_more(core_find(core, "T2"))->nheld, 0);
	ck_assert_int_eq(core_find(core, "T2")->state, TS_ACKNOWLEDGED);
	assert_next_applies("T1");
}
END_TEST

/* The applied rows' payloads share blocks of the out (ticket.c, out_bytes_*):
 * each row keeps its own bytes over many blocks, and after core_out_clear. */
START_TEST(applied_payloads)
{
	struct evb b;
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	for (int round = 0; round < 2; round++) {
		core_out_clear(&out);
		for (int i = 0; i < 40; i++) {
			uint8_t pre[4 + 1000];
			size_t n = 100 + (size_t)i * 20;
			pre[0] = 0x9a; /* field 99, not ours */
			pre[1] = 0x06;
			pre[2] = (uint8_t)(0x80 | (n & 0x7f));
			pre[3] = (uint8_t)(n >> 7);
			memset(pre + 4, 'a' + i % 26, n);
			char id[32];
			snprintf(id, sizeof(id), "ack-%d-%d", round, i);
			evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, id, "T1", "2025-03-14T10:01:00+08:00");
			ck_assert_int_eq(apply_prefixed(&b, pre, 4 + n), SV_APPLIED);
		}
		ck_assert_uint_eq(out.napplied, 40);
		for (size_t i = 0; i < out.napplied; i++) {
			const struct sla_applied *a = &out.applied[i];
			size_t n = 100 + i * 20;
			char detail[256];
			Slad__V1__Event *ev = NULL;
			ck_assert_int_eq(event_decode(a->payload, a->len, &ev, detail, sizeof(detail)), SV_APPLIED);
			ck_assert_str_eq(ev->event_id, a->event_id);
			ck_assert_int_eq(a->payload[4], 'a' + (int)i % 26);
			ck_assert_int_eq(a->payload[3 + n], 'a' + (int)i % 26);
			sla_event_free(ev);
		}
	}
}
END_TEST

START_TEST(unknown_enums)
{
	static const int values[] = {99, -1};
	create("T1", SLAD__V1__TICKET_TYPE__CHANGE);
	for (size_t i = 0; i < 2; i++) {
		int v = values[i];
		struct evb b;
		evb_created(&b, "x", "T2", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
			    SLAD__V1__SLA_CLASS__NON_HOURLY);
		b.tc.sla_class = (Slad__V1__SlaClass)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "sla_class");
		evb_created(&b, "x", "T2", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__INCIDENT,
			    SLAD__V1__SLA_CLASS__NON_HOURLY);
		b.tc.severity = (Slad__V1__Severity)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "severity");
		evb_assigned(&b, "x", "T1", "2025-03-14T10:05:00+08:00", "E1");
		b.ea.role = (Slad__V1__Role)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "role");
		evb_clock(&b, "x", "T1", "2025-03-14T10:05:00+08:00", "E1", SLAD__V1__CLOCK_KIND__ARRIVE);
		b.ci.role = (Slad__V1__Role)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "role");
		evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_REJECTED, "x", "T1", "2025-03-14T10:05:00+08:00");
		b.tr.rejected_by = (Slad__V1__Rejector)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "rejected_by");
		evb_auth(&b, "x", "T1", "2025-03-14T10:05:00+08:00", "2025-03-14T10:00:00+08:00",
			 "2025-03-14T18:00:00+08:00");
		b.ag.grantor = (Slad__V1__Grantor)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "grantor");
		Slad__V1__ReportSubmitted rs = SLAD__V1__REPORT_SUBMITTED__INIT;
		evb_init(&b, SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED, "x", "T1", "2025-03-14T10:05:00+08:00");
		rs.report_kind = (Slad__V1__ReportKind)v;
		b.ev.payload_case = SLAD__V1__EVENT__PAYLOAD_REPORT_SUBMITTED;
		b.ev.report_submitted = &rs;
		assert_dead(apply(&b), SV_BAD_VALUE, "report_kind");
		evb_init(&b, SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED, "x", "T1", "2025-03-14T10:05:00+08:00");
		b.cr.result = (Slad__V1__CloseResult)v;
		assert_dead(apply(&b), SV_BAD_VALUE, "result");
	}
	ck_assert_ptr_null(core_find(core, "T2"));
	ck_assert_int_eq(core_find(core, "T1")->state, TS_CREATED);
	assert_next_applies("T1");
}
END_TEST

START_TEST(coordinates_not_finite)
{
	struct evb b;
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	evb_clock(&b, "c1", "T1", "2025-03-14T13:40:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	evb_location(&b, NAN, 120.0);
	assert_dead(apply(&b), SV_BAD_VALUE, "lat");
	evb_location(&b, 30.0, INFINITY);
	assert_dead(apply(&b), SV_BAD_VALUE, "lon");
	evb_created(&b, "c2", "T2", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	evb_site(&b, 30.0, NAN);
	assert_dead(apply(&b), SV_BAD_VALUE, "site_lon");
	ck_assert_ptr_null(core_find(core, "T2"));
}
END_TEST

START_TEST(instants_far_from_the_event)
{
	struct evb b;
	create("T1", SLAD__V1__TICKET_TYPE__MAINTENANCE);
	evb_reservation(&b, "r1", "T1", "2025-03-14T11:00:00+08:00", "2099-03-14T16:00:00+08:00", NULL);
	assert_dead(apply(&b), SV_BAD_VALUE, "appointment_at");
	evb_auth(&b, "a1", "T1", "2025-03-14T10:05:00+08:00", "1970-01-01T00:00:00+00:00",
		 "2025-03-14T18:00:00+08:00");
	assert_dead(apply(&b), SV_BAD_VALUE, "window_start");
	evb_created(&b, "c2", "T2", "2025-03-14T10:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	b.tc._required_arrival_at_case = SLAD__V1__TICKET_CREATED___REQUIRED_ARRIVAL_AT_REQUIRED_ARRIVAL_AT;
	b.tc.required_arrival_at = INT64_MAX;
	assert_dead(apply(&b), SV_BAD_VALUE, "required_arrival_at");
	b.tc.required_arrival_at = T("2025-03-14T14:00:00+08:00");
	b.tc.shift_start = "25:00";
	assert_dead(apply(&b), SV_BAD_VALUE, "shift_start");
	b.tc.shift_start = NULL;
	b.tc._person_days_case = SLAD__V1__TICKET_CREATED___PERSON_DAYS_PERSON_DAYS;
	b.tc.person_days = -5;
	assert_dead(apply(&b), SV_BAD_VALUE, "person_days");
	Slad__V1__LeaveApproved la = SLAD__V1__LEAVE_APPROVED__INIT;
	evb_init(&b, SLAD__V1__EVENT_TYPE__LEAVE_APPROVED, "l1", "T1", "2025-03-14T10:05:00+08:00");
	b.ev.payload_case = SLAD__V1__EVENT__PAYLOAD_LEAVE_APPROVED;
	b.ev.leave_approved = &la;
	la.leave_date = "2025-13-01";
	assert_dead(apply(&b), SV_BAD_VALUE, "leave_date");
	la.leave_date = "9999-01-01";
	assert_dead(apply(&b), SV_BAD_VALUE, "leave_date");
}
END_TEST

START_TEST(utf8_validator)
{
	ck_assert(utf8_valid((const uint8_t *)"", 0));
	ck_assert(utf8_valid((const uint8_t *)"abc", 3));
	ck_assert(utf8_valid((const uint8_t *)"\xc2\x80", 2));
	ck_assert(utf8_valid((const uint8_t *)"\xe5\xb7\xa5", 3));
	ck_assert(utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	ck_assert(utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	ck_assert(!utf8_valid((const uint8_t *)"\xff", 1));
	ck_assert(!utf8_valid((const uint8_t *)"\xc0\x80", 2));         /* overlong NUL */
	ck_assert(!utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));     /* overlong */
	ck_assert(!utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	ck_assert(!utf8_valid((const uint8_t *)"\xe5\xb7", 2));         /* truncated */
	ck_assert(!utf8_valid((const uint8_t *)"\x80", 1));             /* lone continuation */
	ck_assert(!utf8_valid((const uint8_t *)"\xe5\x41\xa5", 3));     /* not a continuation */
	/* the word-at-a-time path: ASCII runs before and after */
	ck_assert(utf8_valid((const uint8_t *)"ABCDEFGHIJ\xe5\xb7\xa5KLMNOPQRSTUV", 25));
	ck_assert(!utf8_valid((const uint8_t *)"ABCDEFGHIJ\xff" "KLMNOPQRSTUV", 23));
	ck_assert(!utf8_valid((const uint8_t *)"ABCDEFGHIJKLMNOP\xe5\xb7", 18));
}
END_TEST

Suite *hardening_suite(void)
{
	Suite *s = suite_create("hardening");
	TCase *tc = tcase_create("hardening");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, payload_missing);
	tcase_add_test(tc, payload_of_another_type);
	tcase_add_test(tc, occurred_at_extremes);
	tcase_add_test(tc, resident_1970_to_9999);
	tcase_add_test(tc, nul_in_ids);
	tcase_add_test(tc, not_utf8);
	tcase_add_test(tc, strings_unpack_drops);
	tcase_add_test(tc, arena_reused);
	tcase_add_test(tc, applied_payloads);
	tcase_add_test(tc, unknown_enums);
	tcase_add_test(tc, coordinates_not_finite);
	tcase_add_test(tc, instants_far_from_the_event);
	tcase_add_test(tc, utf8_validator);
	suite_add_tcase(s, tc);
	return s;
}
