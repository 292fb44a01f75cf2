/* test_core.c - suite "core": the processing clock, timers, duplicates, dead letters, held events, history. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/core.h"
#include "suites.h"

static struct calendar_set cals;
static struct sla_core *core;
static struct sla_out out;

static void setup(void)
{
	struct calendar cn;
	memset(&cals, 0, sizeof(cals));
	calendar_init_cn(&cn);
	ck_assert(calendar_set_add(&cals, &cn));
	core = core_new(policy_defaults(), &cals);
	ck_assert_ptr_nonnull(core);
	core_out_init(&out);
}

static void teardown(void)
{
	core_out_free(&out);
	core_free(core);
	calendar_set_free(&cals);
	core = NULL;
}

/* Packs b and applies it as message `offset` of fsm.workorders partition 3. */
static enum sla_verdict apply_at(const struct evb *b, int64_t offset, const char *now)
{
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	struct sla_origin o = {"fsm.workorders", 3, offset, buf, len, 0};
	enum sla_verdict v = core_apply_raw(core, &o, T(now), &out);
	free(buf);
	return v;
}

static enum sla_verdict apply_ev(const struct evb *b, int64_t offset)
{
	/* now = occurred_at */
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	struct sla_origin o = {"fsm.workorders", 3, offset, buf, len, 0};
	enum sla_verdict v = core_apply_raw(core, &o, b->ev.occurred_at, &out);
	free(buf);
	return v;
}

static void create_hourly(const char *ticket, const char *at)
{
	struct evb b;
	evb_created(&b, ticket, ticket, at, SLAD__V1__TICKET_TYPE__MAINTENANCE, SLAD__V1__SLA_CLASS__HOURLY);
	evb_site(&b, 30.2741, 120.1551);
	ck_assert_int_eq(apply_ev(&b, 1), SV_APPLIED);
}

static const struct sla_violation *violation(const struct sla_ticket *t, const char *code, int occ)
{
	char buf[48];
	for (int i = 0; t && i < t->nvs; i++)
		if (strcmp(violation_code(&t->vs[i], buf, sizeof(buf)), code) == 0 && t->vs[i].occurrence == occ)
			return &t->vs[i];
	return NULL;
}

START_TEST(empty_core)
{
	ck_assert_uint_eq(core_ticket_count(core), 0);
	ck_assert_uint_eq(core_timer_count(core), 0);
	ck_assert_int_eq(core_next_due(core), SLA_TIME_NONE);
	ck_assert_ptr_null(core_find(core, "T1"));
	core_advance(core, T("2025-03-14T10:00:00+08:00"), &out);
	ck_assert_uint_eq(out.ndirty + out.nhist + out.ndead, 0);
}
END_TEST

START_TEST(next_due_follows_deadlines)
{
	struct evb b;
	create_hourly("T1", "2025-03-14T09:00:00+08:00");
	ck_assert_int_eq(core_next_due(core), SLA_TIME_NONE);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 2), SV_APPLIED);
	/* WARNING at 80 % of the 10-minute allowance comes first */
	ck_assert_int_eq(core_next_due(core), T("2025-03-14T10:08:00+08:00"));
	/* One timer a milestone at a time: WARNING now, then the deadline, then TIER3. */
	ck_assert_uint_eq(core_timer_count(core), 1);
	core_advance(core, T("2025-03-14T10:08:00+08:00"), &out);
	ck_assert_uint_eq(out.nesc, 1);
	ck_assert_int_eq(out.esc[0].level, ESC_WARNING);
	ck_assert_int_eq(core_next_due(core), T("2025-03-14T10:10:00+08:00"));
	/* the deadline fires (TIER2); next TIER3 at due + allowance, then the confirmation at due + 15 min */
	core_advance(core, T("2025-03-14T10:10:00+08:00"), &out);
	ck_assert_uint_eq(out.nesc, 2);
	ck_assert_int_eq(out.esc[1].level, ESC_TIER2);
	ck_assert_int_eq(core_next_due(core), T("2025-03-14T10:20:00+08:00"));
	core_advance(core, T("2025-03-14T10:20:00+08:00"), &out);
	ck_assert_uint_eq(out.nesc, 3);
	ck_assert_int_eq(out.esc[2].level, ESC_TIER3);
	ck_assert_int_eq(out.esc[2].at, T("2025-03-14T10:20:00+08:00"));
	ck_assert_int_eq(core_next_due(core), T("2025-03-14T10:25:00+08:00"));
	core_advance(core, T("2025-03-14T10:25:00+08:00"), &out);
	ck_assert_int_eq(core_next_due(core), SLA_TIME_NONE);
	ck_assert_uint_eq(core_timer_count(core), 0);
}
END_TEST

/* rules.md 1: every status change is kept as history, with its cause. */
START_TEST(history_provisional_retracted)
{
	struct evb b;
	create_hourly("T1", "2025-03-14T09:00:00+08:00");
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 2), SV_APPLIED);
	core_out_clear(&out);

	core_advance(core, T("2025-03-14T10:12:00+08:00"), &out);
	ck_assert_uint_eq(out.nhist, 1);
	ck_assert_str_eq(out.hist[0].ticket_id, "T1");
	ck_assert_str_eq(out.hist[0].rule_code, "DISPATCH_LATE");
	ck_assert_int_eq(out.hist[0].occurrence, 1);
	ck_assert_int_eq(out.hist[0].status, VS_PROVISIONAL);
	/* a timer's change happens at the instant the clock passed it, however late it got there */
	ck_assert_int_eq(out.hist[0].changed_at, T("2025-03-14T10:10:00+08:00"));
	ck_assert_str_eq(out.hist[0].cause_event_id, ""); /* the processing clock */
	ck_assert_uint_eq(out.ndirty, 1);
	ck_assert_str_eq(out.dirty[0]->ticket_id, "T1");
	const struct sla_ticket *t = core_find(core, "T1");
	ck_assert(t->dirty);
	const struct sla_violation *v = violation(t, "DISPATCH_LATE", 1);
	ck_assert_ptr_nonnull(v);
	ck_assert(v->dirty);
	ck_assert_int_eq(v->confirm_at, T("2025-03-14T10:25:00+08:00"));
	ck_assert_int_eq(v->detected_at, T("2025-03-14T10:10:00+08:00"));
	core_out_clear(&out);
	ck_assert(!t->dirty);
	ck_assert(!v->dirty);

	/* the assignment at 10:09 arrives at 10:14 */
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:09:00+08:00", "E7");
	ck_assert_int_eq(apply_at(&b, 3, "2025-03-14T10:14:00+08:00"), SV_APPLIED);
	ck_assert_uint_eq(out.nhist, 1);
	ck_assert_int_eq(out.hist[0].status, VS_RETRACTED);
	ck_assert_int_eq(out.hist[0].changed_at, T("2025-03-14T10:14:00+08:00"));
	ck_assert_str_eq(out.hist[0].cause_event_id, "a1");
	ck_assert_int_eq(v->status, VS_RETRACTED);
	ck_assert(v->dirty);
	ck_assert_int_eq(t->ms[0].status, MSS_MET);
	ck_assert(t->ms[0].dirty);
	core_out_clear(&out);

	/* the old confirmation time passes: nothing happens */
	core_advance(core, T("2025-03-14T10:30:00+08:00"), &out);
	ck_assert_uint_eq(out.nhist, 0);
	ck_assert_int_eq(v->status, VS_RETRACTED);
}
END_TEST

START_TEST(history_provisional_confirmed_by_clock)
{
	struct evb b;
	create_hourly("T1", "2025-03-14T09:00:00+08:00");
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 2), SV_APPLIED);
	core_out_clear(&out);
	/* one advance past due + 15 min: both changes, in order */
	core_advance(core, T("2025-03-14T11:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nhist, 2);
	ck_assert_int_eq(out.hist[0].status, VS_PROVISIONAL);
	ck_assert_int_eq(out.hist[1].status, VS_CONFIRMED);
	ck_assert_str_eq(out.hist[1].cause_event_id, "");
	const struct sla_ticket *t = core_find(core, "T1");
	ck_assert_int_eq(t->ms[0].status, MSS_BREACHED);
	ck_assert_int_eq(t->ms[0].stopped_at, SLA_TIME_NONE);
	core_out_clear(&out);
	/* the clock never goes back */
	core_advance(core, T("2025-03-14T10:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nhist, 0);
}
END_TEST

/* Same event_id twice: SV_DUPLICATE, counted, not dead-lettered, no change. */
START_TEST(duplicate_has_no_effect)
{
	struct evb b;
	create_hourly("T1", "2025-03-14T09:00:00+08:00");
	evb_part(&b, SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED, "s1", "T1", "2025-03-14T10:00:00+08:00", "A");
	ck_assert_int_eq(apply_ev(&b, 2), SV_APPLIED);
	const struct sla_ticket *t = core_find(core, "T1");
	int nms = t->nms, nvs = t->nvs;
	size_t timers = core_timer_count(core);
	core_out_clear(&out);
	ck_assert_int_eq(apply_ev(&b, 3), SV_DUPLICATE);
	ck_assert_int_eq(t->nms, nms);
	ck_assert_int_eq(t->nvs, nvs);
	ck_assert_uint_eq(core_timer_count(core), timers);
	ck_assert_uint_eq(out.ndead, 0);
	ck_assert_uint_eq(out.nhist, 0);
	ck_assert_uint_eq(out.ndirty, 0);
	ck_assert(!t->dirty);
	/* also through core_apply with a decoded event and no origin */
	ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_DUPLICATE);
	ck_assert_uint_eq(out.ndead, 0);
}
END_TEST

START_TEST(dead_letter_garbage)
{
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x42};
	struct sla_origin o = {"fsm.clockins", 7, 1234, garbage, sizeof(garbage), 0};
	ck_assert_int_eq(core_apply_raw(core, &o, T("2025-03-14T10:00:00+08:00"), &out), SV_DECODE_ERROR);
	ck_assert_uint_eq(out.ndead, 1);
	const struct sla_dead *d = &out.dead[0];
	ck_assert_str_eq(d->topic, "fsm.clockins");
	ck_assert_int_eq(d->partition, 7);
	ck_assert_int_eq(d->offset, 1234);
	ck_assert_int_eq(d->reason, SV_DECODE_ERROR);
	ck_assert_str_eq(verdict_reason(d->reason), "DECODE_ERROR");
	ck_assert_uint_eq(d->len, sizeof(garbage));
	ck_assert_ptr_ne(d->payload, garbage); /* a copy */
	ck_assert_mem_eq(d->payload, garbage, sizeof(garbage));
	ck_assert_uint_eq(core_ticket_count(core), 0);
}
END_TEST

START_TEST(dead_letter_oversize)
{
	size_t n = SLA_EVENT_MAX_BYTES + 1;
	uint8_t *big = calloc(1, n);
	ck_assert_ptr_nonnull(big);
	struct sla_origin o = {"fsm.workorders", 0, 5, big, n, 0};
	ck_assert_int_eq(core_apply_raw(core, &o, T("2025-03-14T10:00:00+08:00"), &out), SV_OVERSIZE);
	ck_assert_uint_eq(out.ndead, 1);
	ck_assert_int_eq(out.dead[0].reason, SV_OVERSIZE);
	ck_assert_uint_eq(out.dead[0].len, n); /* kept whole: nothing is lost silently */
	ck_assert_int_eq(out.dead[0].offset, 5);
	free(big);
}
END_TEST

/* A valid protobuf message without the fields events.md requires. */
START_TEST(dead_letter_missing_field)
{
	struct evb b;
	/* an empty buffer decodes to an empty Event */
	struct sla_origin o = {"fsm.workorders", 0, 6, (const uint8_t *)"", 0, 0};
	ck_assert_int_eq(core_apply_raw(core, &o, T("2025-03-14T10:00:00+08:00"), &out), SV_MISSING_FIELD);
	ck_assert_uint_eq(out.ndead, 1);
	ck_assert_int_eq(out.dead[0].reason, SV_MISSING_FIELD);
	ck_assert_ptr_nonnull(strstr(out.dead[0].detail, "event_id"));

	create_hourly("T1", "2025-03-14T09:00:00+08:00");
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:00:00+08:00", "");
	ck_assert_int_eq(apply_ev(&b, 7), SV_MISSING_FIELD);
	ck_assert_uint_eq(out.ndead, 2);
	ck_assert_int_eq(out.dead[1].offset, 7);
	ck_assert_ptr_nonnull(strstr(out.dead[1].detail, "engineer_id"));
	/* the raw bytes are the message as received */
	size_t len;
	uint8_t *buf = evb_pack(&b, &len);
	ck_assert_uint_eq(out.dead[1].len, len);
	ck_assert_mem_eq(out.dead[1].payload, buf, len);
	free(buf);
	/* a dead letter is not remembered as seen: fixing the producer and resending works */
	ck_assert_int_eq(core_find(core, "T1")->nseen, 1);

	/* core_apply without an origin packs the event itself */
	evb_reservation(&b, "r1", "T1", "2025-03-14T10:00:00+08:00", "2025-03-14T12:00:00+08:00", NULL);
	b.rs._appointment_at_case = SLAD__V1__RESERVATION_SET___APPOINTMENT_AT__NOT_SET;
	ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_MISSING_FIELD);
	ck_assert_uint_eq(out.ndead, 3);
	ck_assert_uint_gt(out.dead[2].len, 0);
	core_out_clear(&out);
	ck_assert_uint_eq(out.ndead, 0);
}
END_TEST

START_TEST(dead_letter_invalid_transition)
{
	struct evb b;
	create_hourly("T1", "2025-03-14T09:00:00+08:00");
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_CANCELLED, "x1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 2), SV_APPLIED);
	core_out_clear(&out);
	evb_clock(&b, "k1", "T1", "2025-03-14T10:05:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	size_t len;
	uint8_t *buf = evb_pack(&b, &len);
	struct sla_origin o = {"fsm.clockins", 2, 99, buf, len, 0};
	ck_assert_int_eq(core_apply_raw(core, &o, b.ev.occurred_at, &out), SV_INVALID_TRANSITION);
	ck_assert_uint_eq(out.ndead, 1);
	ck_assert_str_eq(out.dead[0].topic, "fsm.clockins");
	ck_assert_int_eq(out.dead[0].partition, 2);
	ck_assert_int_eq(out.dead[0].offset, 99);
	ck_assert_int_eq(out.dead[0].reason, SV_INVALID_TRANSITION);
	ck_assert_mem_eq(out.dead[0].payload, buf, len);
	free(buf);
	const struct sla_ticket *t = core_find(core, "T1");
	ck_assert_int_eq(t->state, TS_CANCELLED);
	ck_assert_int_eq(t->nvs, 0); /* no CLOCK_NO_LOCATION from a rejected event */
}
END_TEST

/* Unknown ticket: HELD; after the grace an UNKNOWN_TICKET dead letter with
 * the original coordinates and bytes. */
START_TEST(held_then_unknown_ticket)
{
	struct evb b;
	evb_clock(&b, "k1", "T9", "2025-03-14T10:00:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	size_t len;
	uint8_t *buf = evb_pack(&b, &len);
	struct sla_origin o = {"fsm.clockins", 4, 77, buf, len, 0};
	ck_assert_int_eq(core_apply_raw(core, &o, T("2025-03-14T10:00:00+08:00"), &out), SV_HELD);
	ck_assert_uint_eq(out.ndead, 0);
	core_out_clear(&out);
	core_advance(core, T("2025-03-14T10:14:00+08:00"), &out);
	ck_assert_uint_eq(out.ndead, 0);
	core_advance(core, T("2025-03-14T10:16:00+08:00"), &out);
	ck_assert_uint_eq(out.ndead, 1);
	const struct sla_dead *d = &out.dead[0];
	ck_assert_int_eq(d->reason, SV_UNKNOWN_TICKET);
	ck_assert_str_eq(verdict_reason(d->reason), "UNKNOWN_TICKET");
	ck_assert_str_eq(d->topic, "fsm.clockins");
	ck_assert_int_eq(d->partition, 4);
	ck_assert_int_eq(d->offset, 77);
	ck_assert_uint_eq(d->len, len);
	ck_assert_mem_eq(d->payload, buf, len);
	free(buf);
	core_out_clear(&out);
	/* only once */
	core_advance(core, T("2025-03-14T12:00:00+08:00"), &out);
	ck_assert_uint_eq(out.ndead, 0);
}
END_TEST

/* Live, a held event's grace counts on the wall clock too: applied while its partition
 * lags (processing clock: event time), then the partition catches up and its clock jumps
 * to the wall clock; the work order fetched a moment later still finds it. */
START_TEST(held_grace_counts_from_the_wall_clock)
{
	struct evb b;
	sla_time wall = T("2026-12-07T20:00:00+08:00");
	evb_clock(&b, "k1", "T9", "2025-03-14T10:00:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	size_t len;
	uint8_t *buf = evb_pack(&b, &len);
	struct sla_origin o = {"fsm.clockins", 4, 77, buf, len, wall};
	ck_assert_int_eq(core_apply_raw(core, &o, T("2025-03-14T10:00:00+08:00"), &out), SV_HELD);
	free(buf);
	core_advance(core, wall + SLA_MINUTE, &out); /* caught up: the wall clock */
	ck_assert_uint_eq(out.ndead, 0);
	evb_created(&b, "c9", "T9", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	ck_assert_int_eq(apply_at(&b, 2, "2026-12-07T20:02:00+08:00"), SV_APPLIED);
	ck_assert_uint_eq(out.ndead, 0);
	ck_assert_int_eq(core_find(core, "T9")->state, TS_ON_SITE);
	/* Another that never gets its ticket: dead once the wall clock's grace has passed too. */
	evb_clock(&b, "k2", "T8", "2025-03-14T10:00:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	buf = evb_pack(&b, &len);
	struct sla_origin o2 = {"fsm.clockins", 4, 78, buf, len, wall + 3 * SLA_MINUTE};
	ck_assert_int_eq(core_apply_raw(core, &o2, wall + 3 * SLA_MINUTE, &out), SV_HELD);
	free(buf);
	core_advance(core, wall + 17 * SLA_MINUTE, &out);
	ck_assert_uint_eq(out.ndead, 0);
	core_advance(core, wall + 18 * SLA_MINUTE + 1, &out);
	ck_assert_uint_eq(out.ndead, 1);
	ck_assert_int_eq(out.dead[0].reason, SV_UNKNOWN_TICKET);
	ck_assert_int_eq(out.dead[0].offset, 78);
}
END_TEST

START_TEST(held_then_released)
{
	struct evb b;
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 1), SV_HELD);
	evb_created(&b, "c1", "T1", "2025-03-14T09:59:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	ck_assert_int_eq(apply_at(&b, 2, "2025-03-14T10:05:00+08:00"), SV_APPLIED);
	const struct sla_ticket *t = core_find(core, "T1");
	ck_assert(t->created);
	ck_assert_int_eq(ticket_more(t)->nheld, 0);
	ck_assert_int_eq(t->nms, 1);
	ck_assert_int_eq(t->ms[0].kind, MS_DISPATCH);
	ck_assert_int_eq(t->ms[0].due_at, T("2025-03-14T10:10:00+08:00"));
	core_advance(core, T("2025-03-14T10:30:00+08:00"), &out);
	ck_assert_uint_eq(out.ndead, 0);
}
END_TEST

START_TEST(assessment_needs_no_ticket)
{
	static Slad__V1__Assessment a = SLAD__V1__ASSESSMENT__INIT;
	struct evb b;
	a.quarter = "2025Q2";
	a.kind = SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED;
	evb_init(&b, SLAD__V1__EVENT_TYPE__ASSESSMENT, "q1", NULL, "2025-06-30T10:00:00+08:00");
	b.ev.partner_id = "P1";
	b.ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ASSESSMENT;
	b.ev.assessment = &a;
	ck_assert_int_eq(apply_ev(&b, 1), SV_APPLIED);
	ck_assert_uint_eq(core_ticket_count(core), 0);
	ck_assert_uint_eq(out.ndead, 0);
}
END_TEST

START_TEST(unknown_calendar_is_bad_value)
{
	struct evb b;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	b.tc.calendar_id = "MARS";
	ck_assert_int_eq(apply_ev(&b, 1), SV_BAD_VALUE);
	ck_assert_uint_eq(out.ndead, 1);
	ck_assert_ptr_nonnull(strstr(out.dead[0].detail, "MARS"));
}
END_TEST

/* Without any loaded calendar the built-in CN applies. */
START_TEST(no_calendars_fall_back_to_cn)
{
	struct sla_core *c = core_new(policy_defaults(), NULL);
	struct evb b;
	ck_assert_ptr_nonnull(c);
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	ck_assert_int_eq(core_apply(c, &b.ev, NULL, b.ev.occurred_at, &out), SV_APPLIED);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T19:10:00+08:00");
	ck_assert_int_eq(core_apply(c, &b.ev, NULL, b.ev.occurred_at, &out), SV_APPLIED);
	const struct sla_ticket *t = core_find(c, "T1");
	ck_assert_str_eq(t->cal->id, "CN");
	ck_assert_int_eq(t->ms[0].due_at, T("2025-03-15T09:00:00+08:00"));
	core_out_clear(&out);
	core_free(c);
}
END_TEST

/* The ticket table grows past its initial size; every ticket stays findable. */
START_TEST(many_tickets)
{
	char id[32], eid[32];
	struct evb b;
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "T%d", i);
		snprintf(eid, sizeof(eid), "c%d", i);
		evb_created(&b, eid, id, "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
			    SLAD__V1__SLA_CLASS__HOURLY);
		ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_APPLIED);
		if (i % 500 == 0)
			core_out_clear(&out);
	}
	core_out_clear(&out);
	ck_assert_uint_eq(core_ticket_count(core), 3000);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "T%d", i);
		const struct sla_ticket *t = core_find(core, id);
		ck_assert_ptr_nonnull(t);
		ck_assert_str_eq(t->ticket_id, id);
	}
	ck_assert_ptr_null(core_find(core, "T3000"));
}
END_TEST

/* Checkpoints (sla_out.defer_state): a ticket changed in batches between
 * checkpoints is listed once in `pending`, and a checkpoint batch lists every
 * pending ticket and its own dirty ones in `states`, then empties both. */
START_TEST(deferred_states_wait_for_the_checkpoint)
{
	out.defer_state = true;
	create_hourly("A", "2025-03-14T09:00:00+08:00");
	create_hourly("B", "2025-03-14T09:01:00+08:00");
	ck_assert_uint_eq(out.ndirty, 2);
	core_out_clear(&out); /* a batch of results only */
	ck_assert_uint_eq(out.npending, 2);
	ck_assert_uint_eq(out.nstates, 0);

	struct evb b;
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "A", "2025-03-14T09:05:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 2), SV_APPLIED);
	core_out_clear(&out);
	ck_assert_uint_eq(out.npending, 2); /* A changed again: still listed once */

	create_hourly("C", "2025-03-14T09:06:00+08:00");
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d2", "B", "2025-03-14T09:07:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 3), SV_APPLIED);
	ck_assert(core_out_take_states(&out)); /* the checkpoint batch */
	ck_assert_uint_eq(out.nstates, 3);
	bool seen[3] = {false, false, false};
	for (size_t i = 0; i < out.nstates; i++) {
		int k = out.states[i]->ticket_id[0] - 'A';
		ck_assert(k >= 0 && k < 3 && !seen[k]);
		seen[k] = true;
	}
	core_out_clear(&out);
	ck_assert_uint_eq(out.npending, 0);
	ck_assert_uint_eq(out.nstates, 0);

	/* The next change is pending again; forgetting the partition drops it. */
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d3", "C", "2025-03-14T09:08:00+08:00");
	ck_assert_int_eq(apply_ev(&b, 4), SV_APPLIED);
	core_out_clear(&out);
	ck_assert_uint_eq(out.npending, 1);
	core_out_forget_partition(&out, 4);
	ck_assert_uint_eq(out.npending, 1); /* another partition's: kept */
	core_out_forget_partition(&out, 3);
	ck_assert_uint_eq(out.npending, 0);
}
END_TEST

/* Stale timer entries (milestones met before their deadline) are dropped
 * when the heap has doubled, and no live one with them. 3000 HOURLY tickets
 * dispatched at 10:00 (DISPATCH due 10:10: deadline, WARNING, TIER3 - 9000
 * entries), half of them assigned at 10:05 (4500 entries stale), then 3000
 * more dispatched at 10:06 (9000 more): past the threshold the stale ones go,
 * 13500 entries instead of 18000. At 10:11 exactly the 1500 unassigned of the
 * first wave have DISPATCH_LATE. */
static void dispatch_wave(int from, int n, const char *at)
{
	char id[32], eid[32];
	struct evb b;
	for (int i = from; i < from + n; i++) {
		snprintf(id, sizeof(id), "T%d", i);
		snprintf(eid, sizeof(eid), "c%d", i);
		evb_created(&b, eid, id, at, SLAD__V1__TICKET_TYPE__MAINTENANCE, SLAD__V1__SLA_CLASS__HOURLY);
		ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_APPLIED);
		snprintf(eid, sizeof(eid), "d%d", i);
		evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, eid, id, at);
		ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_APPLIED);
		core_out_clear(&out);
	}
}

START_TEST(stale_timers_are_dropped)
{
	char id[32], eid[32];
	struct evb b;
	dispatch_wave(0, 3000, "2025-03-14T10:00:00+08:00");
	ck_assert_uint_eq(core_timer_count(core), 3000); /* one WARNING each */
	for (int i = 0; i < 3000; i += 2) {
		snprintf(id, sizeof(id), "T%d", i);
		snprintf(eid, sizeof(eid), "a%d", i);
		evb_assigned(&b, eid, id, "2025-03-14T10:05:00+08:00", "E7");
		ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_APPLIED);
		core_out_clear(&out);
	}
	dispatch_wave(3000, 3000, "2025-03-14T10:06:00+08:00");
	/* The 1,500 stopped milestones' entries went when the heap passed 4,096. */
	ck_assert_uint_eq(core_timer_count(core), 4500);
	core_advance(core, T("2025-03-14T10:11:00+08:00"), &out);
	int late = 0;
	for (int i = 0; i < 6000; i++) {
		snprintf(id, sizeof(id), "T%d", i);
		const struct sla_violation *v = violation(core_find(core, id), "DISPATCH_LATE", 1);
		ck_assert_msg((v != NULL) == (i < 3000 && i % 2 == 1), "%s: DISPATCH_LATE %s", id, v ? "raised" : "missing");
		late += v != NULL;
	}
	ck_assert_int_eq(late, 1500);
}
END_TEST

/* The timer heap under load: 400 HOURLY tickets dispatched at pseudo-random
 * minutes of one day (fixed seed), the clock advanced in uneven steps. After
 * every step exactly the tickets whose due time is <= now have a violation,
 * PROVISIONAL until due + 15 min, CONFIRMED from then on. */
START_TEST(timers_fire_exactly_when_due)
{
	enum { N = 400 };
	static sla_time due[N];
	uint32_t seed = 12345;
	sla_time day = T("2025-03-14T00:00:00+08:00");
	struct evb b;
	char id[16], eid[16];
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		sla_time at = day + (sla_time)((seed >> 8) % (24 * 60)) * SLA_MINUTE + (sla_time)(seed % 60) * 1000;
		snprintf(id, sizeof(id), "T%d", i);
		snprintf(eid, sizeof(eid), "c%d", i);
		evb_created(&b, eid, id, "2025-03-13T00:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
			    SLAD__V1__SLA_CLASS__HOURLY);
		ck_assert_int_eq(core_apply(core, &b.ev, NULL, T("2025-03-13T00:00:00+08:00"), &out), SV_APPLIED);
		snprintf(eid, sizeof(eid), "d%d", i);
		evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, eid, id, NULL);
		b.ev.occurred_at = at;
		/* delivered early in the day, out of order: now stays at midnight */
		ck_assert_int_eq(core_apply(core, &b.ev, NULL, day, &out), SV_APPLIED);
		due[i] = at + 10 * SLA_MINUTE;
	}
	core_out_clear(&out);
	for (sla_time now = day; now < day + 26 * SLA_HOUR; now += 7 * SLA_MINUTE + 13 * 1000) {
		core_advance(core, now, &out);
		core_out_clear(&out);
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "T%d", i);
			const struct sla_ticket *t = core_find(core, id);
			const struct sla_violation *v = violation(t, "DISPATCH_LATE", 1);
			if (due[i] > now) {
				ck_assert_msg(v == NULL, "%s: violation before due %s (now %s)", id, fmt8(due[i]),
					      fmt8(now));
				continue;
			}
			ck_assert_msg(v != NULL, "%s: no violation at %s, due %s", id, fmt8(now), fmt8(due[i]));
			enum sla_v_status want = due[i] + 15 * SLA_MINUTE <= now ? VS_CONFIRMED : VS_PROVISIONAL;
			ck_assert_msg(v->status == want, "%s: %s at %s, due %s", id, v_status_name(v->status),
				      fmt8(now), fmt8(due[i]));
			ck_assert_int_eq(t->nvs, 1);
		}
	}
	ck_assert_int_eq(core_next_due(core), SLA_TIME_NONE);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(ms_status_name(MSS_PENDING), "PENDING");
	ck_assert_str_eq(ms_status_name(MSS_MET), "MET");
	ck_assert_str_eq(ms_status_name(MSS_BREACHED), "BREACHED");
	ck_assert_str_eq(ms_status_name(MSS_CANCELLED), "CANCELLED");
	ck_assert_str_eq(v_status_name(VS_PROVISIONAL), "PROVISIONAL");
	ck_assert_str_eq(v_status_name(VS_CONFIRMED), "CONFIRMED");
	ck_assert_str_eq(v_status_name(VS_RETRACTED), "RETRACTED");
	ck_assert_str_eq(ticket_state_name(TS_CREATED), "CREATED");
	ck_assert_str_eq(ticket_state_name(TS_CANCELLED), "CANCELLED");
}
END_TEST

/* Every code the core writes is spelled as in codes.txt. */
START_TEST(violation_codes)
{
	static const struct {
		enum sla_rule_code code;
		enum sla_milestone_kind ms;
		const char *want;
	} cases[] = {
		{RC_MILESTONE_LATE, MS_DISPATCH, "DISPATCH_LATE"},
		{RC_MILESTONE_LATE, MS_RESERVATION, "RESERVATION_LATE"},
		{RC_MILESTONE_LATE, MS_ARRIVAL, "ARRIVAL_LATE"},
		{RC_MILESTONE_LATE, MS_CLOSURE, "CLOSURE_LATE"},
		{RC_MILESTONE_LATE, MS_SPARE_CONFIRM, "SPARE_CONFIRM_LATE"},
		{RC_MILESTONE_LATE, MS_SPARE_RETURN, "SPARE_RETURN_LATE"},
		{RC_RESERVATION_CHANGED_TOO_LATE, 0, "RESERVATION_CHANGED_TOO_LATE"},
		{RC_RESERVATION_NO_EVIDENCE, 0, "RESERVATION_NO_EVIDENCE"},
		{RC_START_WITHOUT_AUTH, 0, "START_WITHOUT_AUTH"},
		{RC_START_OUTSIDE_AUTH, 0, "START_OUTSIDE_AUTH"},
		{RC_LEAVE_OUTSIDE_AUTH, 0, "LEAVE_OUTSIDE_AUTH"},
		{RC_CLOCK_NO_LOCATION, 0, "CLOCK_NO_LOCATION"},
		{RC_CLOCK_TOO_FAR, 0, "CLOCK_TOO_FAR"},
		{RC_SIGNATURE_BEFORE_DISPATCH, 0, "SIGNATURE_BEFORE_DISPATCH"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sla_violation v;
		char buf[48];
		memset(&v, 0, sizeof(v));
		v.code = cases[i].code;
		v.milestone = cases[i].ms;
		ck_assert_str_eq(violation_code(&v, buf, sizeof(buf)), cases[i].want);
	}
}
END_TEST

Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, empty_core);
	tcase_add_test(tc, deferred_states_wait_for_the_checkpoint);
	tcase_add_test(tc, next_due_follows_deadlines);
	tcase_add_test(tc, history_provisional_retracted);
	tcase_add_test(tc, history_provisional_confirmed_by_clock);
	tcase_add_test(tc, duplicate_has_no_effect);
	tcase_add_test(tc, dead_letter_garbage);
	tcase_add_test(tc, dead_letter_oversize);
	tcase_add_test(tc, dead_letter_missing_field);
	tcase_add_test(tc, dead_letter_invalid_transition);
	tcase_add_test(tc, held_then_unknown_ticket);
	tcase_add_test(tc, held_grace_counts_from_the_wall_clock);
	tcase_add_test(tc, held_then_released);
	tcase_add_test(tc, assessment_needs_no_ticket);
	tcase_add_test(tc, unknown_calendar_is_bad_value);
	tcase_add_test(tc, no_calendars_fall_back_to_cn);
	tcase_add_test(tc, many_tickets);
	tcase_add_test(tc, stale_timers_are_dropped);
	tcase_add_test(tc, timers_fire_exactly_when_due);
	tcase_add_test(tc, names);
	tcase_add_test(tc, violation_codes);
	suite_add_tcase(s, tc);
	return s;
}
