/* test_rules.c - suite "rules": rules.c in C where data files would be clumsy (distances, exact instants, states). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/core.h"
#include "suites.h"

#define EARTH_RADIUS_KM 6371.0088

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
}

static enum sla_verdict apply(const struct evb *b, sla_time now)
{
	enum sla_verdict v = core_apply(core, &b->ev, NULL, now, &out);
	core_out_clear(&out);
	return v;
}

static enum sla_verdict apply_now(const struct evb *b)
{
	return apply(b, b->ev.occurred_at);
}

static const struct sla_violation *find_v(const struct sla_ticket *t, enum sla_rule_code code, int occ)
{
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].code == code && t->vs[i].occurrence == occ)
			return &t->vs[i];
	return NULL;
}

/* Degrees of arc for a great-circle distance. */
static double km_to_deg(double km)
{
	return km / EARTH_RADIUS_KM * 180.0 / M_PI;
}

static const struct {
	double site_lat, site_lon;
	double dlat_km, dlon_km; /* offset of the clock-in: along a meridian or the equator */
	bool too_far;
} distance_cases[] = {
	{30.0, 120.0, 2.99, 0, false},   {30.0, 120.0, 3.01, 0, true},    {30.0, 120.0, -2.99, 0, false},
	{30.0, 120.0, -3.01, 0, true},   {0.0, 0.0, 0, 2.99, false},      {0.0, 0.0, 0, 3.01, true},
	{0.0, 179.99, 0, 2.99, false},   {0.0, -179.99, 0, -3.01, true}, /* across the antimeridian */
	{30.0, 120.0, 0, 0, false},      {30.0, 120.0, 2.999, 0, false}, {30.0, 120.0, 3.001, 0, true},
};

START_TEST(clock_too_far_distances)
{
	struct evb b;
	double clat = distance_cases[_i].site_lat + km_to_deg(distance_cases[_i].dlat_km);
	double clon = distance_cases[_i].site_lon + km_to_deg(distance_cases[_i].dlon_km);
	if (clon > 180.0)
		clon -= 360.0;
	if (clon < -180.0)
		clon += 360.0;
	evb_created(&b, "c1", "T1", "2025-03-17T08:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	evb_site(&b, distance_cases[_i].site_lat, distance_cases[_i].site_lon);
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_clock(&b, "k1", "T1", "2025-03-17T09:00:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	evb_location(&b, clat, clon);
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	const struct sla_ticket *t = core_find(core, "T1");
	const struct sla_violation *v = find_v(t, RC_CLOCK_TOO_FAR, 1);
	ck_assert_msg((v != NULL) == distance_cases[_i].too_far, "case %d: clock-in at %.6f,%.6f: CLOCK_TOO_FAR %s", _i,
		      clat, clon, v ? "raised" : "not raised");
	ck_assert_ptr_null(find_v(t, RC_CLOCK_NO_LOCATION, 1));
	if (v) {
		ck_assert_int_eq(v->status, VS_CONFIRMED);
		ck_assert_ptr_nonnull(strstr(v->details, "\"distance_km\":3.0"));
	}
}
END_TEST

/* Millisecond edges of a due time: a stop at due - 1 ms and at due is MET,
 * at due + 1 ms BREACHED. */
static const struct {
	sla_time delta;
	enum sla_ms_status want;
} edge_cases[] = {{-1, MSS_MET}, {0, MSS_MET}, {1, MSS_BREACHED}, {-SLA_MINUTE, MSS_MET}, {SLA_MINUTE, MSS_BREACHED}};

START_TEST(dispatch_due_edges)
{
	struct evb b;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	sla_time due = T("2025-03-14T10:10:00+08:00");
	evb_assigned(&b, "a1", "T1", NULL, "E7");
	b.ev.occurred_at = due + edge_cases[_i].delta;
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	const struct sla_ticket *t = core_find(core, "T1");
	ck_assert_int_eq(t->ms[0].due_at, due);
	ck_assert_msg(t->ms[0].status == edge_cases[_i].want, "stop at due%+lld ms: %s",
		      (long long)edge_cases[_i].delta, ms_status_name(t->ms[0].status));
	const struct sla_violation *v = find_v(t, RC_MILESTONE_LATE, 1);
	if (edge_cases[_i].want == MSS_BREACHED) {
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(v->status, VS_CONFIRMED);
		ck_assert_int_eq(v->observed_at, due + edge_cases[_i].delta);
	} else {
		ck_assert(v == NULL || v->status == VS_RETRACTED);
	}
}
END_TEST

/* The ticket's fields and its state through one ordinary life. */
START_TEST(ticket_life)
{
	struct evb b;
	const struct sla_ticket *t;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__SLA_CLASS_UNSPECIFIED);
	b.tc.calendar_id = "";
	b.ev.partner_id = "P9";
	evb_site(&b, 30.2741, 120.1551);
	evb_required_arrival(&b, "2025-03-14T14:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	t = core_find(core, "T1");
	ck_assert(t->created);
	ck_assert_int_eq(t->type, TT_MAINTENANCE);
	ck_assert_int_eq(t->sla_class, SC_NON_HOURLY); /* the default */
	ck_assert_str_eq(t->partner_id, "P9");
	ck_assert_str_eq(t->calendar_id, "CN"); /* the default */
	ck_assert_ptr_nonnull(t->cal);
	ck_assert(t->has_site);
	ck_assert(!t->site_classified);
	ck_assert_int_eq(t->required_arrival_at, T("2025-03-14T14:00:00+08:00"));
	ck_assert_int_eq(t->created_at, T("2025-03-14T09:00:00+08:00"));
	ck_assert_int_eq(t->state, TS_CREATED);

	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(t->state, TS_DISPATCHED);
	ck_assert_int_eq(t->first_dispatched_at, T("2025-03-14T10:00:00+08:00"));
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "k0", "T1", "2025-03-14T10:01:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(t->state, TS_ACKNOWLEDGED);
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:05:00+08:00", "E7");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(t->state, TS_ASSIGNED);
	ck_assert_str_eq(t->engineer_id, "E7");
	evb_reservation(&b, "r1", "T1", "2025-03-14T10:30:00+08:00", "2025-03-14T13:00:00+08:00", NULL);
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(t->state, TS_RESERVED);
	ck_assert_int_eq(ticket_more(t)->reservation_appoint, T("2025-03-14T13:00:00+08:00"));
	evb_auth(&b, "g1", "T1", "2025-03-14T10:40:00+08:00", "2025-03-14T12:00:00+08:00",
		 "2025-03-14T18:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(ticket_more(t)->nauths, 1);

	static const struct {
		const char *id, *at;
		Slad__V1__ClockKind kind;
		enum sla_ticket_state state;
	} clocks[] = {
		{"k1", "2025-03-14T12:50:00+08:00", SLAD__V1__CLOCK_KIND__ARRIVE, TS_ON_SITE},
		{"k2", "2025-03-14T13:00:00+08:00", SLAD__V1__CLOCK_KIND__START, TS_WORKING},
		{"k3", "2025-03-14T15:00:00+08:00", SLAD__V1__CLOCK_KIND__PAUSE, TS_PAUSED},
		{"k4", "2025-03-14T15:05:00+08:00", SLAD__V1__CLOCK_KIND__LEAVE, TS_LEFT},
	};
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		evb_clock(&b, clocks[i].id, "T1", clocks[i].at, "E7", clocks[i].kind);
		evb_location(&b, 30.2750, 120.1560);
		ck_assert_int_eq(apply_now(&b), SV_APPLIED);
		ck_assert_msg(t->state == clocks[i].state, "after %s: state %s", clocks[i].id,
			      ticket_state_name(t->state));
	}
	ck_assert_int_eq(ticket_more(t)->first_arrive_at, T("2025-03-14T12:50:00+08:00"));
	ck_assert(t->visit_paused);
	ck_assert_int_eq(t->nvs, 0); /* a clean visit */

	evb_init(&b, SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED, "q1", "T1", "2025-03-14T16:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(t->state, TS_CLOSE_REQUESTED);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_CLOSED, "x1", "T1", "2025-03-14T17:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	ck_assert_int_eq(t->state, TS_CLOSED);
	ck_assert_int_eq(t->closed_at, T("2025-03-14T17:00:00+08:00"));
	ck_assert_int_eq(t->updated_at, T("2025-03-14T17:00:00+08:00"));

	/* a closed ticket takes no more clock-ins */
	evb_clock(&b, "k5", "T1", "2025-03-14T18:00:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	ck_assert_int_eq(core_apply(core, &b.ev, NULL, b.ev.occurred_at, &out), SV_INVALID_TRANSITION);
	ck_assert_uint_eq(out.ndead, 1);
	core_out_clear(&out);
	ck_assert_int_eq(t->state, TS_CLOSED);
}
END_TEST

/* A clock-in's engineer is the one the violation names, not the ticket's. */
START_TEST(violation_names_the_clocking_engineer)
{
	struct evb b;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:05:00+08:00", "E7");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_clock(&b, "k1", "T1", "2025-03-14T11:00:00+08:00", "E8", SLAD__V1__CLOCK_KIND__ARRIVE);
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	const struct sla_violation *v = find_v(core_find(core, "T1"), RC_CLOCK_NO_LOCATION, 1);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v->engineer_id, "E8");
	ck_assert_int_eq(v->detected_at, T("2025-03-14T11:00:00+08:00"));
}
END_TEST

/* "Effective required arrival = appointment_at of the latest RESERVATION_SET
 * (by event time)": an older reservation delivered late does not replace it. */
START_TEST(latest_reservation_by_event_time)
{
	struct evb b;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	evb_required_arrival(&b, "2025-03-14T14:00:00+08:00");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:05:00+08:00", "E7");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_reservation(&b, "r2", "T1", "2025-03-14T11:00:00+08:00", "2025-03-14T15:00:00+08:00", "doc-2");
	ck_assert_int_eq(apply_now(&b), SV_APPLIED);
	evb_reservation(&b, "r1", "T1", "2025-03-14T10:30:00+08:00", "2025-03-14T16:00:00+08:00", "doc-1");
	ck_assert_int_eq(apply(&b, T("2025-03-14T11:05:00+08:00")), SV_APPLIED);
	const struct sla_ticket *t = core_find(core, "T1");
	ck_assert_int_eq(ticket_more(t)->reservation_appoint, T("2025-03-14T15:00:00+08:00"));
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == MS_ARRIVAL)
			ck_assert_msg(t->ms[i].due_at == T("2025-03-14T15:00:00+08:00"), "ARRIVAL due %s",
				      fmt8(t->ms[i].due_at));
}
END_TEST

Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, clock_too_far_distances, 0, (int)(sizeof(distance_cases) / sizeof(distance_cases[0])));
	tcase_add_loop_test(tc, dispatch_due_edges, 0, (int)(sizeof(edge_cases) / sizeof(edge_cases[0])));
	tcase_add_test(tc, ticket_life);
	tcase_add_test(tc, violation_names_the_clocking_engineer);
	tcase_add_test(tc, latest_reservation_by_event_time);
	suite_add_tcase(s, tc);
	return s;
}
