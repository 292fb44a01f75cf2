/* test_engine.c - suite "engine": one engine per partition (engine.c): events
 * go to the half their topic feeds, each half keeps its own clock and timers,
 * and a partner event's dead letter carries its origin like a ticket's. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/engine.h"
#include "suites.h"

static struct calendar_set cals;
static struct sla_engine eng;
static struct sla_out tout;
static struct partners_out pout;
static struct sla_effects fx = {&tout, &pout};

static void setup(void)
{
	struct calendar cn;
	memset(&cals, 0, sizeof(cals));
	calendar_init_cn(&cn);
	ck_assert(calendar_set_add(&cals, &cn));
	eng = (struct sla_engine){.partition = 2, .tickets = core_new(policy_defaults(), &cals),
				  .partners = partners_new(2)};
	ck_assert_ptr_nonnull(eng.tickets);
	ck_assert_ptr_nonnull(eng.partners);
	core_out_init(&tout);
	partners_out_init(&pout);
}

static void teardown(void)
{
	core_out_free(&tout);
	partners_out_free(&pout);
	engine_drop(&eng, HALF_TICKETS);
	engine_drop(&eng, HALF_PARTNERS);
	calendar_set_free(&cals);
}

static enum sla_verdict apply_ticket_event(const struct evb *b, int64_t offset)
{
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	struct sla_origin o = {"fsm.workorders", 2, offset, buf, len, 0};
	enum sla_verdict v = engine_apply_raw(&eng, TOPIC_WORKORDERS, &o, b->ev.occurred_at, &fx);
	free(buf);
	return v;
}

/* A ticket (HOURLY maintenance) created at 09:00 and dispatched at 10:00 on
 * 2025-03-14: its DISPATCH deadline at 10:10 (WARNING at 10:08) is armed. */
static void dispatch_ticket(const char *ticket)
{
	struct evb b;
	evb_created(&b, ticket, ticket, "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	evb_site(&b, 30.2741, 120.1551);
	ck_assert_int_eq(apply_ticket_event(&b, 1), SV_APPLIED);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", ticket, "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_ticket_event(&b, 2), SV_APPLIED);
}

/* A certificate registered for partner P1 (its reminder and expiry timers);
 * engineer NULL: the event lacks engineer_id. */
static enum sla_verdict register_cert(const char *id, const char *engineer, int64_t offset)
{
	Slad__V1__Event ev = SLAD__V1__EVENT__INIT;
	Slad__V1__Assessment a = SLAD__V1__ASSESSMENT__INIT;
	ev.type = SLAD__V1__EVENT_TYPE__ASSESSMENT;
	ev.event_id = (char *)id;
	ev.partner_id = (char *)"P1";
	ev.occurred_at = T("2025-01-10T10:00:00+08:00");
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ASSESSMENT;
	ev.assessment = &a;
	a.quarter = (char *)"2025Q1";
	a.kind = SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED;
	a.engineer_id = (char *)(engineer ? engineer : "");
	a.cert_id = (char *)"C1";
	a._expires_at_case = SLAD__V1__ASSESSMENT___EXPIRES_AT_EXPIRES_AT;
	a.expires_at = T("2025-07-31T00:00:00+08:00");
	size_t len = slad__v1__event__get_packed_size(&ev);
	uint8_t *buf = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(buf);
	slad__v1__event__pack(&ev, buf);
	struct sla_origin o = {"fsm.assessments", 2, offset, buf, len, 0};
	enum sla_verdict v = engine_apply_raw(&eng, TOPIC_ASSESSMENTS, &o, ev.occurred_at, &fx);
	free(buf);
	return v;
}

START_TEST(topics_map_to_halves)
{
	ck_assert_int_eq(engine_half_of(TOPIC_WORKORDERS), HALF_TICKETS);
	ck_assert_int_eq(engine_half_of(TOPIC_CLOCKINS), HALF_TICKETS);
	ck_assert_int_eq(engine_half_of(TOPIC_ASSESSMENTS), HALF_PARTNERS);
}
END_TEST

START_TEST(events_go_to_their_half)
{
	dispatch_ticket("T1");
	ck_assert_uint_eq(core_ticket_count(eng.tickets), 1);
	ck_assert_uint_eq(partners_count(eng.partners), 0);
	ck_assert_int_eq(register_cert("a1", "E7", 5), SV_APPLIED);
	ck_assert_uint_eq(partners_count(eng.partners), 1);
	ck_assert_uint_eq(core_ticket_count(eng.tickets), 1);
	ck_assert_ptr_nonnull(partners_find(eng.partners, "P1"));
	ck_assert_ptr_null(core_find(eng.tickets, "P1"));
	ck_assert_uint_eq(engine_timer_count(&eng, HALF_PARTNERS), 2);
	ck_assert_uint_eq(engine_timer_count(&eng, HALF_TICKETS), core_timer_count(eng.tickets));
	ck_assert_uint_gt(engine_timer_count(&eng, HALF_TICKETS), 0);
	/* The same event again is a duplicate of its own half. */
	ck_assert_int_eq(register_cert("a1", "E7", 6), SV_DUPLICATE);
	ck_assert_uint_eq(tout.ndead, 0);
}
END_TEST

START_TEST(halves_keep_their_clocks)
{
	dispatch_ticket("T1");
	ck_assert_int_eq(register_cert("a1", "E7", 5), SV_APPLIED);
	sla_time tdue = engine_next_due(&eng, HALF_TICKETS);
	ck_assert_int_eq(tdue, T("2025-03-14T10:08:00+08:00"));
	ck_assert_int_eq(engine_next_due(&eng, HALF_PARTNERS), T("2025-03-31T00:00:00+08:00"));
	size_t ttimers = engine_timer_count(&eng, HALF_TICKETS);

	/* The partners' clock passes the ticket's deadlines: only partner timers fire. */
	engine_advance(&eng, HALF_PARTNERS, T("2025-04-01T00:00:00+08:00"), &fx);
	ck_assert_uint_eq(pout.nevents, 1);
	ck_assert_int_eq(pout.events[0].code, PE_CERT_EXPIRY_REMINDER);
	ck_assert_uint_eq(engine_timer_count(&eng, HALF_TICKETS), ttimers);
	ck_assert_int_eq(engine_next_due(&eng, HALF_TICKETS), tdue);
	ck_assert_uint_eq(tout.nesc, 0);
	ck_assert_uint_eq(tout.nhist, 0);

	/* And the tickets' clock leaves the partners alone. */
	engine_advance(&eng, HALF_TICKETS, T("2025-03-14T10:20:00+08:00"), &fx);
	ck_assert_uint_eq(tout.nesc, 3); /* WARNING, TIER2, TIER3 */
	ck_assert_uint_eq(pout.nevents, 1);
	ck_assert_int_eq(engine_next_due(&eng, HALF_PARTNERS), T("2025-07-31T00:00:00+08:00"));
}
END_TEST

START_TEST(partner_dead_letter_has_its_origin)
{
	ck_assert_int_eq(register_cert("a2", NULL, 7), SV_MISSING_FIELD);
	ck_assert_uint_eq(tout.ndead, 1);
	ck_assert_str_eq(tout.dead[0].topic, "fsm.assessments");
	ck_assert_int_eq(tout.dead[0].partition, 2);
	ck_assert_int_eq(tout.dead[0].offset, 7);
	ck_assert_int_eq(tout.dead[0].reason, SV_MISSING_FIELD);
	ck_assert_ptr_nonnull(strstr(tout.dead[0].detail, "engineer_id"));
	ck_assert_uint_gt(tout.dead[0].len, 0);
	ck_assert_uint_eq(partners_count(eng.partners), 0);
	ck_assert(!pout.oom);

	/* Bytes that are no event: the same dead letter, from the raw entry point. */
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	struct sla_origin o = {"fsm.assessments", 2, 8, junk, sizeof(junk), 0};
	ck_assert_int_eq(engine_apply_raw(&eng, TOPIC_ASSESSMENTS, &o, T("2025-01-10T10:00:00+08:00"), &fx),
			 SV_DECODE_ERROR);
	ck_assert_uint_eq(tout.ndead, 2);
	ck_assert_int_eq(tout.dead[1].offset, 8);
	ck_assert_uint_eq(tout.dead[1].len, sizeof(junk));
}
END_TEST

START_TEST(an_absent_half_is_inert)
{
	engine_drop(&eng, HALF_PARTNERS);
	ck_assert(!engine_has(&eng, HALF_PARTNERS));
	ck_assert(engine_has(&eng, HALF_TICKETS));
	ck_assert_int_eq(engine_next_due(&eng, HALF_PARTNERS), SLA_TIME_NONE);
	ck_assert_uint_eq(engine_timer_count(&eng, HALF_PARTNERS), 0);
	engine_advance(&eng, HALF_PARTNERS, T("2030-01-01T00:00:00+08:00"), &fx);
	engine_drop(&eng, HALF_PARTNERS); /* twice is fine */
	ck_assert_ptr_null(eng.partners);
	engine_drop(&eng, HALF_TICKETS);
	ck_assert(!engine_has(&eng, HALF_TICKETS));
	ck_assert_int_eq(engine_next_due(&eng, HALF_TICKETS), SLA_TIME_NONE);
	ck_assert_uint_eq(tout.ndead + pout.nevents, 0);
}
END_TEST

Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("engine");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, topics_map_to_halves);
	tcase_add_test(tc, events_go_to_their_half);
	tcase_add_test(tc, halves_keep_their_clocks);
	tcase_add_test(tc, partner_dead_letter_has_its_origin);
	tcase_add_test(tc, an_absent_half_is_inert);
	suite_add_tcase(s, tc);
	return s;
}
