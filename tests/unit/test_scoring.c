/* test_scoring.c - suite "scoring": every rule and tier boundary of scoring.md,
 * the qualification timers, duplicates, checks and a partner's state as bytes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/scoring.h"
#include "suites.h"

/* ---- score_compute on a hand-built quarter ---- */

static struct score_quarter q;
static struct score s;

static void q_setup(void)
{
	memset(&q, 0, sizeof(q));
	snprintf(q.quarter, sizeof(q.quarter), "2025Q1");
	memset(&s, 0, sizeof(s));
}

static void q_teardown(void)
{
	free(q.projects);
	memset(&q, 0, sizeof(q));
}

static struct score_project *project(const char *id)
{
	for (int i = 0; i < q.nprojects; i++)
		if (strcmp(q.projects[i].project_id, id) == 0)
			return &q.projects[i];
	q.projects = realloc(q.projects, (size_t)(q.nprojects + 1) * sizeof(*q.projects));
	ck_assert_ptr_nonnull(q.projects);
	struct score_project *p = &q.projects[q.nprojects++];
	memset(p, 0, sizeof(*p));
	snprintf(p->project_id, sizeof(p->project_id), "%s", id);
	return p;
}

static void major(const char *id, double score)
{
	struct score_project *p = project(id);
	p->has_score = true;
	p->score = score;
}

static void callback(const char *id, int attempt, Slad__V1__CallbackResult r)
{
	project(id)->cb_result[attempt] = r;
}

#define EPS 1e-9
#define ck_points(got, want)                                                                              \
	ck_assert_msg(fabs((double)(got) - (double)(want)) < EPS, "%s = %.6f, want %.6f", #got, (double)(got), \
		      (double)(want))

static void compute(void)
{
	score_compute(&q, &s);
}

START_TEST(nothing_reported_is_full_marks)
{
	compute();
	ck_points(s.major_projects, 30);
	ck_points(s.satisfaction, 25);
	ck_points(s.rep_office, 10);
	ck_points(s.ecr, 15);
	ck_points(s.training_online, 10);
	ck_points(s.training_offline, 10);
	ck_points(s.key_events, 0);
	ck_points(s.total, 100);
	ck_assert_int_eq(s.verdict, SCORE_PASS);
	ck_assert_str_eq(score_verdict_name(s.verdict), "PASS");
	ck_assert_str_eq(score_verdict_name(SCORE_DOWNGRADE), "DOWNGRADE");
}
END_TEST

START_TEST(major_projects_mean)
{
	major("J1", 26);
	major("J2", 28);
	major("J3", 21);
	compute();
	ck_points(s.major_projects, 25);
	/* a project with callbacks only does not count for the mean */
	callback("J4", 1, SLAD__V1__CALLBACK_RESULT__SATISFIED);
	compute();
	ck_points(s.major_projects, 25);
}
END_TEST

START_TEST(major_projects_zero)
{
	major("J1", 0);
	compute();
	ck_points(s.major_projects, 0);
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
}
END_TEST

START_TEST(satisfaction_points_per_result)
{
	static const struct {
		Slad__V1__CallbackResult r;
		double points;
	} cases[] = {
		{SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED, 25}, {SLAD__V1__CALLBACK_RESULT__SATISFIED, 15},
		{SLAD__V1__CALLBACK_RESULT__NEUTRAL, 10},        {SLAD__V1__CALLBACK_RESULT__UNSATISFIED, 5},
		{SLAD__V1__CALLBACK_RESULT__VERY_UNSATISFIED, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q_teardown();
		q_setup();
		callback("J1", 1, cases[i].r);
		compute();
		ck_points(s.satisfaction, cases[i].points);
	}
	/* VERY_UNSATISFIED alone is an item at 0 */
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
}
END_TEST

START_TEST(satisfaction_mean_of_latest_reached)
{
	callback("J1", 1, SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED);
	callback("J2", 1, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	callback("J2", 2, SLAD__V1__CALLBACK_RESULT__SATISFIED);
	callback("J3", 1, SLAD__V1__CALLBACK_RESULT__SATISFIED);
	callback("J3", 2, SLAD__V1__CALLBACK_RESULT__UNREACHABLE); /* latest did not reach: left out */
	compute();
	ck_points(s.satisfaction, 20);
}
END_TEST

START_TEST(satisfaction_none_reached)
{
	compute();
	ck_points(s.satisfaction, 25);
	callback("J1", 1, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	callback("J1", 2, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	compute();
	ck_points(s.satisfaction, 25); /* only 3rd and 4th attempts cost points */
}
END_TEST

START_TEST(satisfaction_unreachable_third_and_fourth)
{
	callback("J1", 1, SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED);
	callback("J2", 1, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	callback("J2", 2, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	callback("J2", 3, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	compute();
	ck_points(s.satisfaction, 23); /* 25 - 2 */
	callback("J2", 4, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	compute();
	ck_points(s.satisfaction, 18); /* 25 - 2 - 5 */
	/* per project */
	callback("J3", 3, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	compute();
	ck_points(s.satisfaction, 16);
}
END_TEST

START_TEST(satisfaction_fourth_attempt_reached)
{
	callback("J1", 3, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	callback("J1", 4, SLAD__V1__CALLBACK_RESULT__SATISFIED);
	compute();
	ck_points(s.satisfaction, 13); /* reached at last (15), the 3rd attempt still costs 2 */
}
END_TEST

START_TEST(satisfaction_floor_zero)
{
	char id[8];
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "J%d", i);
		callback(id, 3, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
		callback(id, 4, SLAD__V1__CALLBACK_RESULT__UNREACHABLE);
	}
	compute();
	ck_points(s.satisfaction, 0); /* 25 - 28, floored */
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
}
END_TEST

START_TEST(rep_office_deductions_and_consultations)
{
	static const struct {
		double deductions;
		int64_t consultations;
		double want;
	} cases[] = {
		{0, 0, 10}, {0, 4, 10}, {0, 5, 9}, {0, 9, 9}, {0, 10, 7}, {0, 50, 7},
		{1.5, 0, 8.5}, {1.5, 5, 7.5}, {8, 10, 0} /* floor 0 */, {12, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q.deduction_points = cases[i].deductions;
		q.consultations = cases[i].consultations;
		compute();
		ck_assert_msg(fabs(s.rep_office - cases[i].want) < EPS, "deductions %.1f, consultations %lld: %.2f, want %.2f",
			      cases[i].deductions, (long long)cases[i].consultations, s.rep_office, cases[i].want);
	}
}
END_TEST

START_TEST(ecr_tiers_at_every_boundary)
{
	static const struct {
		int64_t simple, total;
		double want;
	} cases[] = {
		{5, 5, 15},      /* at most 5 simple issues: full marks whatever the ratio */
		{5, 10, 15},     {6, 10, 0},       {6, 75, 15},      /* 8 % exactly */
		{8, 100, 15},    {81, 1000, 12},   /* 8.1 % */
		{9, 100, 12},    {10, 100, 12},    /* 10 % exactly */
		{101, 1000, 9},  {12, 100, 9},     /* 12 % exactly */
		{121, 1000, 6},  {14, 100, 6},     /* 14 % exactly */
		{141, 1000, 3},  {16, 100, 3},     /* 16 % exactly */
		{161, 1000, 0},  {17, 100, 0},     {100, 100, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q.has_ecr = true;
		q.ecr_simple = cases[i].simple;
		q.ecr_total = cases[i].total;
		compute();
		ck_assert_msg(fabs(s.ecr - cases[i].want) < EPS, "ECR %lld/%lld: %.0f, want %.0f",
			      (long long)cases[i].simple, (long long)cases[i].total, s.ecr, cases[i].want);
	}
	q.has_ecr = false; /* no snapshot: nothing simple reported */
	compute();
	ck_points(s.ecr, 15);
}
END_TEST

START_TEST(training_online_tiers)
{
	static const struct {
		int64_t completed, required;
		double want;
	} cases[] = {
		{10, 10, 10}, {12, 10, 10}, {9, 10, 5}, {8, 10, 5} /* 80 % exactly */, {79, 100, 0},
		{799, 1000, 0}, {0, 10, 0}, {0, 0, 10} /* nothing required */,
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q.has_online = true;
		q.online_completed = cases[i].completed;
		q.online_required = cases[i].required;
		compute();
		ck_assert_msg(fabs(s.training_online - cases[i].want) < EPS, "online %lld/%lld: %.0f, want %.0f",
			      (long long)cases[i].completed, (long long)cases[i].required, s.training_online,
			      cases[i].want);
	}
	q.has_online = false;
	compute();
	ck_points(s.training_online, 10);
}
END_TEST

START_TEST(training_offline_tiers)
{
	static const struct {
		int64_t completed, required;
		double want;
	} cases[] = {
		{10, 10, 10}, {11, 10, 10}, {99, 100, 8}, {8, 10, 8} /* 80 % */, {79, 100, 3},
		{6, 10, 3} /* 60 % exactly */, {59, 100, 0}, {0, 3, 0}, {0, 0, 10} /* nothing required */,
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q.has_offline = true;
		q.offline_completed = cases[i].completed;
		q.offline_required = cases[i].required;
		compute();
		ck_assert_msg(fabs(s.training_offline - cases[i].want) < EPS, "offline %lld/%lld: %.0f, want %.0f",
			      (long long)cases[i].completed, (long long)cases[i].required, s.training_offline,
			      cases[i].want);
	}
}
END_TEST

START_TEST(key_events_not_capped)
{
	q.key_event_points = 12.5;
	compute();
	ck_points(s.key_events, 12.5);
	ck_points(s.total, 112.5);
	q.key_event_points = -45;
	compute();
	ck_points(s.total, 55);
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
}
END_TEST

START_TEST(zero_item_above_seventy_is_downgrade)
{
	/* ECR 17 % is 0 points; the rest full: 85 points, still DOWNGRADE */
	q.has_ecr = true;
	q.ecr_simple = 17;
	q.ecr_total = 100;
	compute();
	ck_points(s.ecr, 0);
	ck_points(s.total, 85);
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
	/* each of the first six items on its own */
	q.has_ecr = false;
	q.has_online = true;
	q.online_completed = 1;
	q.online_required = 10;
	compute();
	ck_points(s.total, 90);
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
	q.has_online = false;
	q.has_offline = true;
	q.offline_completed = 1;
	q.offline_required = 10;
	compute();
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
	q.has_offline = false;
	q.deduction_points = 10;
	compute();
	ck_points(s.rep_office, 0);
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
	/* key events are not an item that can be "0" */
	q.deduction_points = 0;
	q.key_event_points = 0;
	compute();
	ck_assert_int_eq(s.verdict, SCORE_PASS);
}
END_TEST

START_TEST(seventy_is_the_line)
{
	q.key_event_points = -30; /* 100 - 30 */
	compute();
	ck_points(s.total, 70);
	ck_assert_int_eq(s.verdict, SCORE_PASS);
	q.key_event_points = -30.01;
	compute();
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
	/* rounding is for storing only: 69.996 shows as 70.00, yet is below 70 */
	q.key_event_points = -30.004;
	compute();
	ck_points(score_round2(s.total), 70);
	ck_assert_int_eq(s.verdict, SCORE_DOWNGRADE);
}
END_TEST

START_TEST(round_half_up_when_stored)
{
	ck_points(score_round2(2.675), 2.68); /* 2.67499999... in binary */
	ck_points(score_round2(0.125), 0.13);
	ck_points(score_round2(1.005), 1.01);
	ck_points(score_round2(-2.675), -2.68); /* half away from zero, as round(numeric) */
	ck_points(score_round2(20.0 / 3), 6.67);
	ck_points(score_round2(61.0 / 3), 20.33);
	ck_points(score_round2(3.14159), 3.14);
	ck_points(score_round2(0), 0);
	ck_points(score_round2(92), 92);

	/* Items are summed unrounded: 62/3 + 65/3 + 45 = 87.33, while the
	 * rounded items would sum to 87.34. */
	major("J1", 20);
	major("J2", 21);
	major("J3", 21);
	callback("J1", 1, SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED);
	callback("J2", 1, SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED);
	callback("J3", 1, SLAD__V1__CALLBACK_RESULT__SATISFIED);
	compute();
	ck_points(score_round2(s.major_projects), 20.67);
	ck_points(score_round2(s.satisfaction), 21.67);
	ck_points(score_round2(s.total), 87.33);
	ck_assert(fabs(score_round2(s.major_projects) + score_round2(s.satisfaction) + 45 - 87.34) < EPS);
}
END_TEST

START_TEST(quarter_index)
{
	ck_assert_int_eq(score_quarter_index("2025Q1"), 2025 * 4);
	ck_assert_int_eq(score_quarter_index("2025Q4"), 2025 * 4 + 3);
	ck_assert_int_eq(score_quarter_index("2025Q5"), -1);
	ck_assert_int_eq(score_quarter_index("2025Q0"), -1);
	ck_assert_int_eq(score_quarter_index("25Q1"), -1);
	ck_assert_int_eq(score_quarter_index("2025-Q1"), -1);
	ck_assert_int_eq(score_quarter_index("2025q1"), -1);
	ck_assert_int_eq(score_quarter_index(""), -1);
	ck_assert_int_eq(score_quarter_index(NULL), -1);
}
END_TEST

/* ---- partners: events through partners_apply ---- */

static struct partners *ps;
static struct partners_out out;

static void p_setup(void)
{
	ps = partners_new(2);
	ck_assert_ptr_nonnull(ps);
	partners_out_init(&out);
}

static void p_teardown(void)
{
	partners_out_free(&out);
	partners_free(ps);
	ps = NULL;
}

struct ab {
	Slad__V1__Event ev;
	Slad__V1__Assessment a;
};

static void ab(struct ab *b, const char *id, const char *partner, const char *at, const char *quarter,
	       Slad__V1__AssessmentKind kind)
{
	static const Slad__V1__Event ev = SLAD__V1__EVENT__INIT;
	static const Slad__V1__Assessment a = SLAD__V1__ASSESSMENT__INIT;
	b->ev = ev;
	b->a = a;
	b->ev.type = SLAD__V1__EVENT_TYPE__ASSESSMENT;
	b->ev.event_id = (char *)id;
	b->ev.partner_id = (char *)partner;
	b->ev.occurred_at = T(at);
	b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ASSESSMENT;
	b->ev.assessment = &b->a;
	b->a.quarter = (char *)quarter;
	b->a.kind = kind;
}

static void ab_score(struct ab *b, const char *project, double score)
{
	b->a.project_id = (char *)project;
	b->a._score_case = SLAD__V1__ASSESSMENT___SCORE_SCORE;
	b->a.score = score;
}

static void ab_callback(struct ab *b, const char *project, Slad__V1__CallbackResult r, int attempt)
{
	b->a.project_id = (char *)project;
	b->a.result = r;
	b->a._attempt_case = SLAD__V1__ASSESSMENT___ATTEMPT_ATTEMPT;
	b->a.attempt = attempt;
}

static void ab_points(struct ab *b, double points)
{
	b->a._points_case = SLAD__V1__ASSESSMENT___POINTS_POINTS;
	b->a.points = points;
}

static void ab_cert(struct ab *b, const char *engineer, const char *cert, const char *expires)
{
	b->a.engineer_id = (char *)engineer;
	b->a.cert_id = (char *)cert;
	b->a._expires_at_case = SLAD__V1__ASSESSMENT___EXPIRES_AT_EXPIRES_AT;
	b->a.expires_at = T(expires);
}

static void ab_departed(struct ab *b, const char *engineer, bool declared)
{
	b->a.engineer_id = (char *)engineer;
	b->a._declared_case = SLAD__V1__ASSESSMENT___DECLARED_DECLARED;
	b->a.declared = declared;
}

static char detail[256];

/* Applies at processing time `now` (NULL: the event's own time). */
static enum sla_verdict apply_at(const struct ab *b, const char *now)
{
	detail[0] = '\0';
	return partners_apply(ps, &b->ev, now ? T(now) : b->ev.occurred_at, &out, detail, sizeof(detail));
}

static void applied(const struct ab *b)
{
	enum sla_verdict v = apply_at(b, NULL);
	ck_assert_msg(v == SV_APPLIED, "%s: verdict %d (%s)", b->ev.event_id, v, detail);
}

static void close_quarter(const char *id, const char *partner, const char *at, const char *quarter)
{
	struct ab b;
	ab(&b, id, partner, at, quarter, SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED);
	applied(&b);
}

static const struct score_row *last_score(const char *partner, const char *quarter)
{
	for (size_t i = out.nscores; i-- > 0;)
		if (strcmp(out.scores[i].partner_id, partner) == 0 && strcmp(out.scores[i].quarter, quarter) == 0)
			return &out.scores[i];
	return NULL;
}

START_TEST(score_written_on_close_and_rewritten_later)
{
	struct ab b;
	ab(&b, "e1", "P1", "2025-03-10T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J1", 24);
	applied(&b);
	ck_assert_uint_eq(out.nscores, 0); /* nothing before QUARTER_CLOSED */
	ck_assert_uint_eq(out.ndirty, 1);
	ck_assert_str_eq(out.dirty[0]->partner_id, "P1");
	ck_assert_int_eq(out.dirty[0]->partition, 2);

	close_quarter("e2", "P1", "2025-04-03T09:00:00+08:00", "2025Q1");
	ck_assert_uint_eq(out.nscores, 1);
	ck_assert_str_eq(out.scores[0].partner_id, "P1");
	ck_assert_str_eq(out.scores[0].quarter, "2025Q1");
	ck_points(out.scores[0].score.major_projects, 24);
	ck_points(out.scores[0].score.total, 94);
	ck_assert_int_eq(out.scores[0].score.verdict, SCORE_PASS);
	ck_assert_int_eq(out.scores[0].computed_at, T("2025-04-03T09:00:00+08:00"));
	partners_out_clear(&out);
	ck_assert_uint_eq(out.ndirty + out.nscores + out.nevents, 0);

	/* a later event for the closed quarter: computed again */
	ab(&b, "e3", "P1", "2025-04-10T09:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, -30);
	b.a.reason_text = "serious complaint";
	applied(&b);
	ck_assert_uint_eq(out.nscores, 1);
	ck_points(out.scores[0].score.total, 64);
	ck_assert_int_eq(out.scores[0].score.verdict, SCORE_DOWNGRADE);
	ck_assert_int_eq(out.scores[0].computed_at, T("2025-04-10T09:00:00+08:00"));

	/* a qualification event carries a quarter, but does not rescore it */
	partners_out_clear(&out);
	ab(&b, "e4", "P1", "2025-04-11T09:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED);
	b.a.cert_id = "C9";
	applied(&b);
	ck_assert_uint_eq(out.nscores, 0);

	/* another quarter is not touched */
	ab(&b, "e5", "P1", "2025-04-12T09:00:00+08:00", "2025Q2", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, 1);
	applied(&b);
	ck_assert_uint_eq(out.nscores, 0);
	const struct partner *p = partners_find(ps, "P1");
	ck_assert_ptr_nonnull(p);
	ck_assert(partner_find_quarter(p, "2025Q1")->closed);
	ck_assert(!partner_find_quarter(p, "2025Q2")->closed);
}
END_TEST

START_TEST(two_computations_at_one_instant_are_one_row)
{
	struct ab b;
	close_quarter("c1", "P1", "2025-04-03T09:00:00+08:00", "2025Q1");
	ab(&b, "k1", "P1", "2025-04-03T09:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, 3);
	applied(&b);
	ck_assert_uint_eq(out.nscores, 1);
	ck_points(out.scores[0].score.total, 103);
}
END_TEST

START_TEST(latest_score_per_project_by_event_time)
{
	struct ab b;
	ab(&b, "s2", "P1", "2025-03-02T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J1", 27);
	applied(&b);
	/* an older score arriving late does not replace the newer one */
	ab(&b, "s1", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J1", 10);
	ck_assert_int_eq(apply_at(&b, "2025-03-02T11:00:00+08:00"), SV_APPLIED);
	ab(&b, "s3", "P1", "2025-03-03T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J2", 28);
	applied(&b);
	close_quarter("c", "P1", "2025-04-01T10:00:00+08:00", "2025Q1");
	ck_points(last_score("P1", "2025Q1")->score.major_projects, 27.5);

	/* the same for a callback attempt and the ECR snapshot */
	ab(&b, "cb2", "P1", "2025-04-02T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK);
	ab_callback(&b, "J1", SLAD__V1__CALLBACK_RESULT__NEUTRAL, 1);
	applied(&b);
	ab(&b, "cb1", "P1", "2025-04-01T12:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK);
	ab_callback(&b, "J1", SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED, 1);
	ck_assert_int_eq(apply_at(&b, "2025-04-02T11:00:00+08:00"), SV_APPLIED);
	ck_points(last_score("P1", "2025Q1")->score.satisfaction, 10);
	ab(&b, "ecr2", "P1", "2025-04-02T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS);
	b.a._simple_issues_case = SLAD__V1__ASSESSMENT___SIMPLE_ISSUES_SIMPLE_ISSUES;
	b.a._total_issues_case = SLAD__V1__ASSESSMENT___TOTAL_ISSUES_TOTAL_ISSUES;
	b.a.simple_issues = 10;
	b.a.total_issues = 100;
	ck_assert_int_eq(apply_at(&b, "2025-04-02T12:00:00+08:00"), SV_APPLIED);
	ab(&b, "ecr1", "P1", "2025-04-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS);
	b.a._simple_issues_case = SLAD__V1__ASSESSMENT___SIMPLE_ISSUES_SIMPLE_ISSUES;
	b.a._total_issues_case = SLAD__V1__ASSESSMENT___TOTAL_ISSUES_TOTAL_ISSUES;
	b.a.simple_issues = 50;
	b.a.total_issues = 100;
	ck_assert_int_eq(apply_at(&b, "2025-04-02T12:00:00+08:00"), SV_APPLIED);
	ck_points(last_score("P1", "2025Q1")->score.ecr, 12);
}
END_TEST

START_TEST(deductions_consultations_training_via_events)
{
	struct ab b;
	ab(&b, "d1", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION);
	b.a.reason = SLAD__V1__DEDUCTION_REASON__UNCERTIFIED_WORK; /* default 0.5 */
	applied(&b);
	ab(&b, "d2", "P1", "2025-03-02T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION);
	b.a.reason = SLAD__V1__DEDUCTION_REASON__VENDOR_HELP; /* default 0.5 */
	applied(&b);
	ab(&b, "d3", "P1", "2025-03-03T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION);
	b.a.reason = SLAD__V1__DEDUCTION_REASON__QUALITY;
	ab_points(&b, 2);
	applied(&b);
	ab(&b, "d4", "P1", "2025-03-03T11:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION);
	b.a.reason = SLAD__V1__DEDUCTION_REASON__VENDOR_HELP;
	ab_points(&b, 1); /* explicit points win over the default */
	applied(&b);
	for (int i = 0; i < 2; i++) {
		char id[8];
		snprintf(id, sizeof(id), "n%d", i);
		ab(&b, id, "P1", "2025-03-04T10:00:00+08:00", "2025Q1",
		   SLAD__V1__ASSESSMENT_KIND__SIMPLE_ISSUE_CONSULTATIONS);
		b.a._count_case = SLAD__V1__ASSESSMENT___COUNT_COUNT;
		b.a.count = 3; /* the quarter's total is the sum: 6 */
		applied(&b);
	}
	ab(&b, "t1", "P1", "2025-03-05T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__TRAINING);
	b.a._online_completed_case = SLAD__V1__ASSESSMENT___ONLINE_COMPLETED_ONLINE_COMPLETED;
	b.a._online_required_case = SLAD__V1__ASSESSMENT___ONLINE_REQUIRED_ONLINE_REQUIRED;
	b.a.online_completed = 8;
	b.a.online_required = 10;
	b.a._offline_completed_case = SLAD__V1__ASSESSMENT___OFFLINE_COMPLETED_OFFLINE_COMPLETED;
	b.a._offline_required_case = SLAD__V1__ASSESSMENT___OFFLINE_REQUIRED_OFFLINE_REQUIRED;
	b.a.offline_completed = 6;
	b.a.offline_required = 10;
	applied(&b);
	/* a later snapshot of the online pair only: the offline pair stays */
	ab(&b, "t2", "P1", "2025-03-06T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__TRAINING);
	b.a._online_completed_case = SLAD__V1__ASSESSMENT___ONLINE_COMPLETED_ONLINE_COMPLETED;
	b.a._online_required_case = SLAD__V1__ASSESSMENT___ONLINE_REQUIRED_ONLINE_REQUIRED;
	b.a.online_completed = 10;
	b.a.online_required = 10;
	applied(&b);
	close_quarter("c", "P1", "2025-04-01T10:00:00+08:00", "2025Q1");
	const struct score_row *r = last_score("P1", "2025Q1");
	ck_points(r->score.rep_office, 10 - 0.5 - 0.5 - 2 - 1 - 1);
	ck_points(r->score.training_online, 10);
	ck_points(r->score.training_offline, 3);
	const struct partner_quarter *pq = partner_find_quarter(partners_find(ps, "P1"), "2025Q1");
	ck_assert_int_eq(pq->in.ndeductions, 4);
	ck_assert_int_eq(pq->in.consultations, 6);
}
END_TEST

START_TEST(duplicate_event_id_per_partner)
{
	struct ab b;
	close_quarter("c", "P1", "2025-04-01T10:00:00+08:00", "2025Q1");
	ab(&b, "k1", "P1", "2025-04-02T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, 5);
	applied(&b);
	partners_out_clear(&out);
	ck_assert_int_eq(apply_at(&b, "2025-04-03T10:00:00+08:00"), SV_DUPLICATE);
	ck_assert_uint_eq(out.nscores + out.ndirty + out.nevents, 0);
	ck_points(partner_find_quarter(partners_find(ps, "P1"), "2025Q1")->in.key_event_points, 5);
	/* the same id for another partner is another event */
	ab(&b, "k1", "P2", "2025-04-02T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, 5);
	applied(&b);
	ck_assert_uint_eq(partners_count(ps), 2);
}
END_TEST

START_TEST(checks_name_the_field)
{
	static const struct {
		Slad__V1__AssessmentKind kind;
		enum sla_verdict want;
		const char *field;
	} bare[] = {
		{SLAD__V1__ASSESSMENT_KIND__ASSESSMENT_KIND_UNSPECIFIED, SV_MISSING_FIELD, "kind"},
		{SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE, SV_MISSING_FIELD, "project_id"},
		{SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK, SV_MISSING_FIELD, "project_id"},
		{SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION, SV_MISSING_FIELD, "reason"},
		{SLAD__V1__ASSESSMENT_KIND__SIMPLE_ISSUE_CONSULTATIONS, SV_MISSING_FIELD, "count"},
		{SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS, SV_MISSING_FIELD, "simple_issues"},
		{SLAD__V1__ASSESSMENT_KIND__TRAINING, SV_MISSING_FIELD, "online_completed"},
		{SLAD__V1__ASSESSMENT_KIND__KEY_EVENT, SV_MISSING_FIELD, "points"},
		{SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED, SV_MISSING_FIELD, "engineer_id"},
		{SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED, SV_MISSING_FIELD, "cert_id"},
		{SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED, SV_MISSING_FIELD, "engineer_id"},
		{SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED, SV_MISSING_FIELD, "engineer_id"},
		{SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED, SV_APPLIED, ""},
		{(Slad__V1__AssessmentKind)99, SV_BAD_VALUE, "kind"},
	};
	struct ab b;
	for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", bare[i].kind);
		b.ev.event_id = (char *)(i % 2 ? "x1" : "x2");
		enum sla_verdict v = assessment_check(&b.ev, detail, sizeof(detail));
		ck_assert_msg(v == bare[i].want, "kind %d: verdict %d (%s)", (int)bare[i].kind, v, detail);
		ck_assert_msg(strstr(detail, bare[i].field) != NULL || v == SV_APPLIED, "kind %d: \"%s\"",
			      (int)bare[i].kind, detail);
	}

	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	b.a.project_id = "J1";
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field score");
	ab_score(&b, "J1", 30.5);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);
	ab_score(&b, "J1", -1);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);
	ab_score(&b, "J1", NAN);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);
	ab_score(&b, "J1", 30);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_APPLIED);
	b.a.quarter = "2025Q5";
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);
	b.a.quarter = "";
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);

	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK);
	ab_callback(&b, "J1", SLAD__V1__CALLBACK_RESULT__SATISFIED, 5);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);
	ab_callback(&b, "J1", SLAD__V1__CALLBACK_RESULT__SATISFIED, 0);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);
	b.a._attempt_case = SLAD__V1__ASSESSMENT___ATTEMPT__NOT_SET;
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field attempt");
	ab_callback(&b, "J1", SLAD__V1__CALLBACK_RESULT__CALLBACK_RESULT_UNSPECIFIED, 1);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field result");

	/* points are required where no default exists */
	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION);
	b.a.reason = SLAD__V1__DEDUCTION_REASON__MEETING_ABSENCE;
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field points");
	ab_points(&b, -1);
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);

	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS);
	b.a._simple_issues_case = SLAD__V1__ASSESSMENT___SIMPLE_ISSUES_SIMPLE_ISSUES;
	b.a._total_issues_case = SLAD__V1__ASSESSMENT___TOTAL_ISSUES_TOTAL_ISSUES;
	b.a.simple_issues = 11;
	b.a.total_issues = 10;
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_BAD_VALUE);

	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__TRAINING);
	b.a._offline_completed_case = SLAD__V1__ASSESSMENT___OFFLINE_COMPLETED_OFFLINE_COMPLETED;
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field offline_required");

	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED);
	b.a.engineer_id = "E1";
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field declared");

	ab(&b, "x", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED);
	b.a.engineer_id = "E1";
	b.a.cert_id = "C1";
	ck_assert_int_eq(assessment_check(&b.ev, detail, sizeof(detail)), SV_MISSING_FIELD);
	ck_assert_str_eq(detail, "missing field expires_at");

	/* through partners_apply: nothing is created for a bad event */
	ab(&b, "bad", "P9", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J1", 31);
	ck_assert_int_eq(apply_at(&b, NULL), SV_BAD_VALUE);
	ck_assert_uint_eq(partners_count(ps), 0);
	ck_assert_uint_eq(out.ndirty, 0);
	b.ev.type = SLAD__V1__EVENT_TYPE__TICKET_CLOSED;
	ck_assert(verdict_is_dead_letter(apply_at(&b, NULL)));
	ab(&b, "bad2", "", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED);
	ck_assert_int_eq(apply_at(&b, NULL), SV_MISSING_FIELD);
}
END_TEST

START_TEST(add_months_clamps_in_local_time)
{
	ck_assert_int_eq(partners_add_months(T("2025-07-31T00:00:00+08:00"), -4), T("2025-03-31T00:00:00+08:00"));
	ck_assert_int_eq(partners_add_months(T("2025-06-30T09:30:00+08:00"), -4), T("2025-02-28T09:30:00+08:00"));
	ck_assert_int_eq(partners_add_months(T("2024-06-30T09:30:00+08:00"), -4), T("2024-02-29T09:30:00+08:00"));
	ck_assert_int_eq(partners_add_months(T("2025-03-31T10:00:00+08:00"), 2), T("2025-05-31T10:00:00+08:00"));
	ck_assert_int_eq(partners_add_months(T("2025-12-31T10:00:00+08:00"), 2), T("2026-02-28T10:00:00+08:00"));
	ck_assert_int_eq(partners_add_months(T("2025-01-15T10:00:00+08:00"), -4), T("2024-09-15T10:00:00+08:00"));
	/* the local day counts, not UTC's: 2025-07-01 00:00 +08:00 is June 30 in UTC */
	ck_assert_int_eq(partners_add_months(T("2025-07-01T00:00:00+08:00"), -4), T("2025-03-01T00:00:00+08:00"));
}
END_TEST

static const struct partner_event_row *find_event(enum partner_event_code code, const char *subject)
{
	for (size_t i = out.nevents; i-- > 0;)
		if (out.events[i].code == code && strcmp(out.events[i].subject_id, subject) == 0)
			return &out.events[i];
	return NULL;
}

static void register_cert(const char *id, const char *cert, const char *at, const char *expires)
{
	struct ab b;
	ab(&b, id, "P1", at, "2025Q1", SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED);
	ab_cert(&b, "E7", cert, expires);
	applied(&b);
}

static void replace_cert(const char *id, const char *cert, const char *at, const char *now)
{
	struct ab b;
	ab(&b, id, "P1", at, "2025Q2", SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED);
	b.a.cert_id = (char *)cert;
	ck_assert_int_eq(apply_at(&b, now), SV_APPLIED);
}

START_TEST(cert_reminder_then_downgrade)
{
	register_cert("r1", "C1", "2025-01-10T10:00:00+08:00", "2025-07-31T00:00:00+08:00");
	ck_assert_int_eq(partners_next_due(ps), T("2025-03-31T00:00:00+08:00"));
	ck_assert_uint_eq(partners_timer_count(ps), 2);
	partners_advance(ps, T("2025-03-30T23:59:59+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 0);
	partners_advance(ps, T("2025-03-31T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_int_eq(out.events[0].code, PE_CERT_EXPIRY_REMINDER);
	ck_assert_str_eq(partner_event_code_name(out.events[0].code), "CERT_EXPIRY_REMINDER");
	ck_assert_str_eq(out.events[0].partner_id, "P1");
	ck_assert_str_eq(out.events[0].subject_id, "C1");
	ck_assert_int_eq(out.events[0].at, T("2025-03-31T00:00:00+08:00"));
	ck_assert_int_eq(out.events[0].retracted_at, SLA_TIME_NONE);
	ck_assert_str_eq(out.events[0].details, "{\"engineer_id\":\"E7\",\"expires_at\":\"2025-07-31T00:00:00+08:00\"}");
	ck_assert_int_eq(partners_next_due(ps), T("2025-07-31T00:00:00+08:00"));
	/* the clock jumps well past the expiry (a restart): fired at its own time */
	partners_advance(ps, T("2025-09-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 2);
	ck_assert_int_eq(out.events[1].code, PE_CERT_EXPIRED_DOWNGRADE);
	ck_assert_int_eq(out.events[1].at, T("2025-07-31T00:00:00+08:00"));
	ck_assert_int_eq(partners_next_due(ps), SLA_TIME_NONE);
	ck_assert_uint_eq(partners_timer_count(ps), 0);
	partners_advance(ps, T("2026-09-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 2); /* once only */
}
END_TEST

START_TEST(cert_replaced_in_time)
{
	register_cert("r1", "C1", "2025-01-10T10:00:00+08:00", "2025-07-31T00:00:00+08:00");
	register_cert("r2", "C2", "2025-01-10T10:00:00+08:00", "2025-07-31T00:00:00+08:00");
	/* C1 replaced before the reminder: nothing at all */
	replace_cert("x1", "C1", "2025-03-01T10:00:00+08:00", NULL);
	/* C2 replaced after the reminder: the reminder stands, no downgrade */
	partners_advance(ps, T("2025-04-01T00:00:00+08:00"), &out);
	replace_cert("x2", "C2", "2025-05-01T10:00:00+08:00", NULL);
	partners_advance(ps, T("2026-01-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_str_eq(out.events[0].subject_id, "C2");
	ck_assert_int_eq(out.events[0].code, PE_CERT_EXPIRY_REMINDER);
	ck_assert_uint_eq(partners_timer_count(ps), 0);
}
END_TEST

START_TEST(cert_replacement_late_retracts)
{
	register_cert("r1", "C1", "2025-01-10T10:00:00+08:00", "2025-07-31T00:00:00+08:00");
	partners_advance(ps, T("2025-08-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 2);
	partners_out_clear(&out);
	/* replaced on July 20, but the event arrives on August 2 */
	replace_cert("x1", "C1", "2025-07-20T10:00:00+08:00", "2025-08-02T00:00:00+08:00");
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_int_eq(out.events[0].code, PE_CERT_EXPIRED_DOWNGRADE);
	ck_assert_int_eq(out.events[0].at, T("2025-07-31T00:00:00+08:00"));
	ck_assert_int_eq(out.events[0].retracted_at, T("2025-08-02T00:00:00+08:00"));
	/* the reminder (March 31) was right when it fired */
	ck_assert_ptr_null(find_event(PE_CERT_EXPIRY_REMINDER, "C1"));
}
END_TEST

START_TEST(cert_replaced_at_the_due_instant)
{
	register_cert("r1", "C1", "2025-01-10T10:00:00+08:00", "2025-07-31T00:00:00+08:00");
	partners_advance(ps, T("2025-04-01T00:00:00+08:00"), &out);
	partners_out_clear(&out);
	/* deadlines pass first, then the event at the same instant withdraws it */
	replace_cert("x1", "C1", "2025-07-31T00:00:00+08:00", NULL);
	const struct partner_event_row *e = find_event(PE_CERT_EXPIRED_DOWNGRADE, "C1");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->retracted_at, T("2025-07-31T00:00:00+08:00"));
}
END_TEST

START_TEST(cert_registered_late_reminds_at_once)
{
	/* 2 months left when registered: the reminder is due at registration */
	register_cert("r1", "C1", "2025-05-10T10:00:00+08:00", "2025-07-10T00:00:00+08:00");
	const struct partner_event_row *e = find_event(PE_CERT_EXPIRY_REMINDER, "C1");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->at, T("2025-05-10T10:00:00+08:00"));
	/* registered already expired: only the downgrade, at once */
	register_cert("r2", "C2", "2025-05-10T11:00:00+08:00", "2025-05-01T00:00:00+08:00");
	ck_assert_ptr_null(find_event(PE_CERT_EXPIRY_REMINDER, "C2"));
	e = find_event(PE_CERT_EXPIRED_DOWNGRADE, "C2");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->at, T("2025-05-01T00:00:00+08:00"));
}
END_TEST

START_TEST(cert_renewed)
{
	register_cert("r1", "C1", "2025-01-10T10:00:00+08:00", "2025-07-31T00:00:00+08:00");
	/* renewed before the reminder, to a year later */
	register_cert("r2", "C1", "2025-03-01T10:00:00+08:00", "2026-07-31T00:00:00+08:00");
	ck_assert_int_eq(partners_next_due(ps) <= T("2025-03-31T00:00:00+08:00"), 1); /* may be early */
	partners_advance(ps, T("2025-12-31T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 0);
	ck_assert_int_eq(partners_next_due(ps), T("2026-03-31T00:00:00+08:00"));
	/* an older registration arriving late changes nothing */
	register_cert("r0", "C1", "2025-01-01T10:00:00+08:00", "2025-02-28T00:00:00+08:00");
	ck_assert_uint_eq(out.nevents, 0);
	partners_advance(ps, T("2026-08-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 2);
	ck_assert_int_eq(out.events[1].at, T("2026-07-31T00:00:00+08:00"));
}
END_TEST

static void depart(const char *id, const char *engineer, const char *at, bool declared)
{
	struct ab b;
	ab(&b, id, "P1", at, "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED);
	ab_departed(&b, engineer, declared);
	applied(&b);
}

static void replace_person(const char *id, const char *engineer, const char *at, const char *now)
{
	struct ab b;
	ab(&b, id, "P1", at, "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED);
	b.a.engineer_id = (char *)engineer;
	ck_assert_int_eq(apply_at(&b, now), SV_APPLIED);
}

START_TEST(key_person_buffer_expires)
{
	depart("d1", "E1", "2025-03-31T10:00:00+08:00", true);
	ck_assert_uint_eq(out.nevents, 0);
	ck_assert_int_eq(partners_next_due(ps), T("2025-05-31T10:00:00+08:00"));
	partners_advance(ps, T("2025-06-15T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_int_eq(out.events[0].code, PE_KEY_PERSON_BUFFER_EXPIRED);
	ck_assert_str_eq(out.events[0].subject_id, "E1");
	ck_assert_int_eq(out.events[0].at, T("2025-05-31T10:00:00+08:00"));
	/* replaced after the buffer: the row stands */
	partners_out_clear(&out);
	replace_person("r1", "E1", "2025-06-20T10:00:00+08:00", NULL);
	ck_assert_uint_eq(out.nevents, 0);
}
END_TEST

START_TEST(key_person_replaced_within_two_months)
{
	depart("d1", "E1", "2025-03-31T10:00:00+08:00", true);
	/* the successor's id: matched to the open declared departure */
	replace_person("r1", "E9", "2025-05-31T09:59:00+08:00", NULL);
	partners_advance(ps, T("2026-01-01T00:00:00+08:00"), &out);
	ck_assert_ptr_null(find_event(PE_KEY_PERSON_BUFFER_EXPIRED, "E1"));
	ck_assert_uint_eq(partners_timer_count(ps), 0);
	ck_assert_str_eq(partners_find(ps, "P1")->deps[0].replaced_by, "E9");
}
END_TEST

START_TEST(key_person_replacement_late_retracts)
{
	depart("d1", "E1", "2025-03-31T10:00:00+08:00", true);
	partners_advance(ps, T("2025-06-01T00:00:00+08:00"), &out);
	partners_out_clear(&out);
	replace_person("r1", "E1", "2025-05-20T10:00:00+08:00", "2025-06-02T00:00:00+08:00");
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_int_eq(out.events[0].code, PE_KEY_PERSON_BUFFER_EXPIRED);
	ck_assert_int_eq(out.events[0].at, T("2025-05-31T10:00:00+08:00"));
	ck_assert_int_eq(out.events[0].retracted_at, T("2025-06-02T00:00:00+08:00"));
}
END_TEST

START_TEST(key_person_replacement_before_departure_event)
{
	/* the replacement is reported first, naming the departed engineer */
	replace_person("r1", "E1", "2025-04-10T10:00:00+08:00", NULL);
	depart("d1", "E1", "2025-03-31T10:00:00+08:00", true);
	partners_advance(ps, T("2026-01-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 0);
}
END_TEST

START_TEST(key_person_undeclared_at_once)
{
	depart("d1", "E2", "2025-03-12T10:00:00+08:00", false);
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_int_eq(out.events[0].code, PE_KEY_PERSON_UNDECLARED);
	ck_assert_str_eq(out.events[0].subject_id, "E2");
	ck_assert_int_eq(out.events[0].at, T("2025-03-12T10:00:00+08:00"));
	ck_assert_uint_eq(partners_timer_count(ps), 0);
	/* reported twice: one departure */
	struct ab b;
	ab(&b, "d1-again", "P1", "2025-03-12T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED);
	ab_departed(&b, "E2", false);
	applied(&b);
	ck_assert_uint_eq(out.nevents, 1);
	ck_assert_int_eq(partners_find(ps, "P1")->ndeps, 1);
}
END_TEST

START_TEST(timers_across_partners_fire_in_time_order)
{
	struct ab b;
	const char *partners[] = {"P3", "P1", "P2"};
	const char *expiries[] = {"2025-09-03T00:00:00+08:00", "2025-09-01T00:00:00+08:00", "2025-09-02T00:00:00+08:00"};
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof(id), "r%d", i);
		ab(&b, id, partners[i], "2025-08-01T10:00:00+08:00", "2025Q3", SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED);
		ab_cert(&b, "E1", "C", expiries[i]);
		applied(&b);
	}
	partners_out_clear(&out); /* the three reminders, due at registration */
	ck_assert_int_eq(partners_next_due(ps), T("2025-09-01T00:00:00+08:00"));
	partners_advance(ps, T("2025-10-01T00:00:00+08:00"), &out);
	ck_assert_uint_eq(out.nevents, 3);
	ck_assert_str_eq(out.events[0].partner_id, "P1");
	ck_assert_str_eq(out.events[1].partner_id, "P2");
	ck_assert_str_eq(out.events[2].partner_id, "P3");
	ck_assert_uint_eq(out.ndirty, 3);
}
END_TEST

START_TEST(too_late_beyond_retention)
{
	struct ab b;
	close_quarter("c1", "P1", "2023-01-05T10:00:00+08:00", "2022Q4");
	ab(&b, "k1", "P1", "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, 1);
	applied(&b);
	const struct partner *p = partners_find(ps, "P1");
	ck_assert_ptr_null(partner_find_quarter(p, "2022Q4")); /* forgotten: ended over 2 years before */
	ck_assert_int_eq(p->nseen, 1);
	/* an event for it, or as old, is too late now */
	ab(&b, "k2", "P1", "2025-03-02T10:00:00+08:00", "2022Q4", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, 1);
	ck_assert_int_eq(apply_at(&b, NULL), SV_TOO_LATE);
	ab(&b, "c1", "P1", "2023-01-05T10:00:00+08:00", "2022Q4", SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED);
	ck_assert_int_eq(apply_at(&b, "2025-03-02T10:00:00+08:00"), SV_TOO_LATE);
	/* a qualification event is not bound to its quarter */
	ab(&b, "x1", "P1", "2025-03-02T10:00:00+08:00", "2022Q4", SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED);
	b.a.cert_id = "C1";
	ck_assert_int_eq(apply_at(&b, NULL), SV_APPLIED);
}
END_TEST

/* ---- a partner's state as bytes ---- */

static struct partners *ps2;
static struct partners_out out2;

static void build_rich_partner(void)
{
	struct ab b;
	ab(&b, "m1", "P1", "2025-02-10T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J1", 26.25);
	applied(&b);
	ab(&b, "cb", "P1", "2025-02-11T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK);
	ab_callback(&b, "J1", SLAD__V1__CALLBACK_RESULT__UNREACHABLE, 3);
	applied(&b);
	ab(&b, "ded", "P1", "2025-02-12T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION);
	b.a.reason = SLAD__V1__DEDUCTION_REASON__DEDUCTION_OTHER;
	ab_points(&b, 1.25);
	applied(&b);
	ab(&b, "ecr", "P1", "2025-02-13T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS);
	b.a._simple_issues_case = SLAD__V1__ASSESSMENT___SIMPLE_ISSUES_SIMPLE_ISSUES;
	b.a._total_issues_case = SLAD__V1__ASSESSMENT___TOTAL_ISSUES_TOTAL_ISSUES;
	b.a.simple_issues = 9;
	b.a.total_issues = 80;
	applied(&b);
	ab(&b, "tr", "P1", "2025-02-14T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__TRAINING);
	b.a._offline_completed_case = SLAD__V1__ASSESSMENT___OFFLINE_COMPLETED_OFFLINE_COMPLETED;
	b.a._offline_required_case = SLAD__V1__ASSESSMENT___OFFLINE_REQUIRED_OFFLINE_REQUIRED;
	b.a.offline_completed = 5;
	b.a.offline_required = 7;
	applied(&b);
	close_quarter("c", "P1", "2025-04-01T10:00:00+08:00", "2025Q1");
	register_cert("r1", "C1", "2025-02-15T10:00:00+08:00", "2025-09-30T00:00:00+08:00");
	register_cert("r2", "C2", "2025-02-15T10:00:00+08:00", "2025-08-31T00:00:00+08:00");
	replace_cert("x2", "C3", "2025-02-16T10:00:00+08:00", NULL); /* an unknown certificate */
	depart("d1", "E1", "2025-03-31T10:00:00+08:00", true);
	depart("d2", "E2", "2025-03-31T11:00:00+08:00", false);
	replace_person("rp", "E5", "2025-02-01T10:00:00+08:00", "2025-04-02T00:00:00+08:00"); /* before any */
	ab(&b, "m2", "P2", "2025-02-10T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE);
	ab_score(&b, "J7", 11);
	ck_assert_int_eq(apply_at(&b, "2025-04-02T00:00:00+08:00"), SV_APPLIED);
}

static void copy_state(void)
{
	ps2 = partners_new(2);
	ck_assert_ptr_nonnull(ps2);
	partners_out_init(&out2);
	for (size_t i = 0; i < out.ndirty; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		ck_assert(partner_encode(out.dirty[i], &buf, &len));
		ck_assert(partners_restore(ps2, buf, len));
		ck_assert(partners_restore(ps2, buf, len)); /* already there: kept */
		free(buf);
	}
}

static void same_partner(const char *id)
{
	uint8_t *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	ck_assert(partner_encode(partners_find(ps, id), &a, &la));
	ck_assert(partner_encode(partners_find(ps2, id), &b, &lb));
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(a, b, la), 0);
	free(a);
	free(b);
}

START_TEST(codec_round_trip_same_future)
{
	build_rich_partner();
	copy_state();
	ck_assert_uint_eq(partners_count(ps2), 2);
	same_partner("P1");
	same_partner("P2");
	ck_assert_uint_eq(partners_timer_count(ps2), partners_timer_count(ps));
	ck_assert_int_eq(partners_find(ps2, "P1")->partition, 2);

	/* both go on identically: the same rows */
	partners_out_clear(&out);
	struct ab b;
	ab(&b, "late", "P1", "2025-04-03T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__KEY_EVENT);
	ab_points(&b, -2.5);
	ck_assert_int_eq(partners_apply(ps, &b.ev, b.ev.occurred_at, &out, detail, sizeof(detail)), SV_APPLIED);
	ck_assert_int_eq(partners_apply(ps2, &b.ev, b.ev.occurred_at, &out2, detail, sizeof(detail)), SV_APPLIED);
	ck_assert_int_eq(partners_apply(ps2, &b.ev, b.ev.occurred_at, &out2, detail, sizeof(detail)), SV_DUPLICATE);
	partners_advance(ps, T("2026-01-01T00:00:00+08:00"), &out);
	partners_advance(ps2, T("2026-01-01T00:00:00+08:00"), &out2);
	ck_assert_uint_eq(out.nscores, 1);
	ck_assert_uint_eq(out2.nscores, 1);
	ck_assert_int_eq(memcmp(&out.scores[0], &out2.scores[0], sizeof(out.scores[0])), 0);
	ck_assert_uint_eq(out.nevents, out2.nevents);
	/* C1 and C2 reminders and downgrades, and E1's buffer: E5 was no
	 * successor of E1 (it came before E1 left) */
	ck_assert_uint_eq(out.nevents, 5);
	for (size_t i = 0; i < out.nevents; i++)
		ck_assert_int_eq(memcmp(&out.events[i], &out2.events[i], sizeof(out.events[i])), 0);
	same_partner("P1");
	partners_out_free(&out2);
	partners_free(ps2);
}
END_TEST

START_TEST(codec_rejects_damage)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	build_rich_partner();
	ck_assert(partner_encode(partners_find(ps, "P1"), &buf, &len));
	ps2 = partners_new(0);
	ck_assert_ptr_nonnull(ps2);
	for (size_t cut = 0; cut < len; cut++)
		ck_assert_msg(!partners_restore(ps2, buf, cut), "a %zu-byte prefix of %zu was accepted", cut, len);
	ck_assert_uint_eq(partners_count(ps2), 0);
	/* flipped bytes: no crash; accepted or not */
	for (size_t i = 0; i < len; i += 3) {
		uint8_t *copy = malloc(len);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, buf, len);
		copy[i] ^= 0x5a;
		struct partners *scratch = partners_new(0);
		ck_assert_ptr_nonnull(scratch);
		bool accepted = partners_restore(scratch, copy, len);
		(void)accepted;
		partners_free(scratch);
		free(copy);
	}
	buf[0] = 99; /* another version */
	ck_assert(!partners_restore(ps2, buf, len));
	free(buf);
	partners_free(ps2);
}
END_TEST

START_TEST(many_partners)
{
	struct ab b;
	char ids[300][8];
	for (int i = 0; i < 300; i++) {
		snprintf(ids[i], sizeof(ids[i]), "P%03d", i);
		ab(&b, "k", ids[i], "2025-03-01T10:00:00+08:00", "2025Q1", SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED);
		applied(&b);
	}
	ck_assert_uint_eq(partners_count(ps), 300);
	ck_assert_uint_eq(out.nscores, 300);
	ck_assert_uint_eq(out.ndirty, 300);
	for (int i = 0; i < 300; i++)
		ck_assert_ptr_nonnull(partners_find(ps, ids[i]));
	ck_assert_ptr_null(partners_find(ps, "P999"));
	partners_out_clear(&out);
	for (int i = 0; i < 300; i++)
		ck_assert(!partners_find(ps, ids[i])->in_dirty);
}
END_TEST

Suite *scoring_suite(void)
{
	Suite *s_ = suite_create("scoring");
	TCase *tc = tcase_create("score");
	tcase_add_checked_fixture(tc, q_setup, q_teardown);
	tcase_add_test(tc, nothing_reported_is_full_marks);
	tcase_add_test(tc, major_projects_mean);
	tcase_add_test(tc, major_projects_zero);
	tcase_add_test(tc, satisfaction_points_per_result);
	tcase_add_test(tc, satisfaction_mean_of_latest_reached);
	tcase_add_test(tc, satisfaction_none_reached);
	tcase_add_test(tc, satisfaction_unreachable_third_and_fourth);
	tcase_add_test(tc, satisfaction_fourth_attempt_reached);
	tcase_add_test(tc, satisfaction_floor_zero);
	tcase_add_test(tc, rep_office_deductions_and_consultations);
	tcase_add_test(tc, ecr_tiers_at_every_boundary);
	tcase_add_test(tc, training_online_tiers);
	tcase_add_test(tc, training_offline_tiers);
	tcase_add_test(tc, key_events_not_capped);
	tcase_add_test(tc, zero_item_above_seventy_is_downgrade);
	tcase_add_test(tc, seventy_is_the_line);
	tcase_add_test(tc, round_half_up_when_stored);
	tcase_add_test(tc, quarter_index);
	suite_add_tcase(s_, tc);

	tc = tcase_create("partners");
	tcase_add_checked_fixture(tc, p_setup, p_teardown);
	tcase_add_test(tc, score_written_on_close_and_rewritten_later);
	tcase_add_test(tc, two_computations_at_one_instant_are_one_row);
	tcase_add_test(tc, latest_score_per_project_by_event_time);
	tcase_add_test(tc, deductions_consultations_training_via_events);
	tcase_add_test(tc, duplicate_event_id_per_partner);
	tcase_add_test(tc, checks_name_the_field);
	tcase_add_test(tc, add_months_clamps_in_local_time);
	tcase_add_test(tc, cert_reminder_then_downgrade);
	tcase_add_test(tc, cert_replaced_in_time);
	tcase_add_test(tc, cert_replacement_late_retracts);
	tcase_add_test(tc, cert_replaced_at_the_due_instant);
	tcase_add_test(tc, cert_registered_late_reminds_at_once);
	tcase_add_test(tc, cert_renewed);
	tcase_add_test(tc, key_person_buffer_expires);
	tcase_add_test(tc, key_person_replaced_within_two_months);
	tcase_add_test(tc, key_person_replacement_late_retracts);
	tcase_add_test(tc, key_person_replacement_before_departure_event);
	tcase_add_test(tc, key_person_undeclared_at_once);
	tcase_add_test(tc, timers_across_partners_fire_in_time_order);
	tcase_add_test(tc, too_late_beyond_retention);
	tcase_add_test(tc, codec_round_trip_same_future);
	tcase_add_test(tc, codec_rejects_damage);
	tcase_add_test(tc, many_partners);
	suite_add_tcase(s_, tc);
	return s_;
}
