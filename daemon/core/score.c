/* score.c - a partner's quarterly score (scoring.md): the items, the total and the verdict, from what a
 * quarter's assessments add up to. Pure arithmetic: no state, no allocation. */
#include <math.h>
#include <string.h>

#include "slad/scoring.h"

const char *score_verdict_name(enum score_verdict v)
{
	return v == SCORE_PASS ? "PASS" : "DOWNGRADE";
}

double score_round2(double x)
{
	double a = fabs(x) * 100.0;
	double f = floor(a);

	/* 2.675 is 2.67499999... in binary: a decimal half must round up. */
	if (a - f >= 0.5 - 1e-9)
		f += 1.0;
	f /= 100.0;
	return x < 0 ? -f : f;
}

int score_quarter_index(const char *quarter)
{
	if (!quarter || strlen(quarter) != 6)
		return -1;
	for (int i = 0; i < 4; i++)
		if (quarter[i] < '0' || quarter[i] > '9')
			return -1;
	if (quarter[4] != 'Q' || quarter[5] < '1' || quarter[5] > '4')
		return -1;
	int year = (quarter[0] - '0') * 1000 + (quarter[1] - '0') * 100 + (quarter[2] - '0') * 10 + (quarter[3] - '0');
	return year * 4 + (quarter[5] - '1');
}

static double satisfaction_points(Slad__V1__CallbackResult r)
{
	switch (r) {
	case SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED: return 25;
	case SLAD__V1__CALLBACK_RESULT__SATISFIED: return 15;
	case SLAD__V1__CALLBACK_RESULT__NEUTRAL: return 10;
	case SLAD__V1__CALLBACK_RESULT__UNSATISFIED: return 5;
	default: return 0;
	}
}

/* completed / required >= pct %, exactly (no floating point at the tiers). */
static bool ratio_at_least(int64_t completed, int64_t required, int pct)
{
	return completed * 100 >= (int64_t)pct * required;
}

/* A tier: at most (ECR) or at least (training) pct %, worth points. */
struct tier {
	int pct;
	double points;
};

/* Major projects: the mean of each project's latest score; none: 30. */
static double major_projects(const struct score_quarter *q)
{
	double sum = 0;
	int n = 0;
	for (int i = 0; i < q->nprojects; i++) {
		if (q->projects[i].has_score) {
			sum += q->projects[i].score;
			n++;
		}
	}
	return n ? sum / n : 30;
}

/* Satisfaction: the mean over projects whose latest callback reached the
 * customer (none: 25), minus the unreachable 3rd / 4th attempts. */
static double satisfaction(const struct score_quarter *q)
{
	double sum = 0, deduct = 0;
	int n = 0;
	for (int i = 0; i < q->nprojects; i++) {
		const struct score_project *p = &q->projects[i];
		int latest = 0;

		for (int a = SCORE_ATTEMPTS; a >= 1 && !latest; a--)
			if (p->cb_result[a] != SLAD__V1__CALLBACK_RESULT__CALLBACK_RESULT_UNSPECIFIED)
				latest = a;
		if (latest && p->cb_result[latest] != SLAD__V1__CALLBACK_RESULT__UNREACHABLE) {
			sum += satisfaction_points(p->cb_result[latest]);
			n++;
		}
		if (p->cb_result[3] == SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
			deduct += 2;
		if (p->cb_result[4] == SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
			deduct += 5;
	}
	double points = (n ? sum / n : 25) - deduct;
	return points < 0 ? 0 : points;
}

/* Rep office: 10 minus deductions, minus 1 for 5-9 simple-issue
 * consultations or 3 for 10 and more. */
static double rep_office(const struct score_quarter *q)
{
	double points = 10 - q->deduction_points - (q->consultations >= 10 ? 3 : q->consultations >= 5 ? 1 : 0);
	return points < 0 ? 0 : points;
}

/* ECR: at most 5 simple issues is full marks; else by ratio tiers,
 * each bound inclusive (r <= 8 % is 15). */
static double ecr(const struct score_quarter *q)
{
	static const struct tier tiers[] = {{8, 15}, {10, 12}, {12, 9}, {14, 6}, {16, 3}};
	if (!q->has_ecr || q->ecr_simple <= 5)
		return 15;
	for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++)
		if (q->ecr_simple * 100 <= (int64_t)tiers[i].pct * q->ecr_total)
			return tiers[i].points;
	return 0;
}

/* Training: everything required done (or nothing required) is 10; else the first tier reached. */
static double training(bool has, int64_t completed, int64_t required, const struct tier *tiers, size_t ntiers)
{
	if (!has || required <= 0 || completed >= required)
		return 10;
	for (size_t i = 0; i < ntiers; i++)
		if (ratio_at_least(completed, required, tiers[i].pct))
			return tiers[i].points;
	return 0;
}

void score_compute(const struct score_quarter *q, struct score *s)
{
	static const struct tier online[] = {{80, 5}};             /* 100 % is 10, 80 % is 5 */
	static const struct tier offline[] = {{80, 8}, {60, 3}}; /* 100 % is 10, 80 % is 8, 60 % is 3 */

	memset(s, 0, sizeof(*s));
	s->major_projects = major_projects(q);
	s->satisfaction = satisfaction(q);
	s->rep_office = rep_office(q);
	s->ecr = ecr(q);
	s->training_online = training(q->has_online, q->online_completed, q->online_required, online, 1);
	s->training_offline = training(q->has_offline, q->offline_completed, q->offline_required, offline, 2);
	s->key_events = q->key_event_points;
	s->total = s->major_projects + s->satisfaction + s->rep_office + s->ecr + s->training_online +
		   s->training_offline + s->key_events;
	bool zero_item = s->major_projects <= 0 || s->satisfaction <= 0 || s->rep_office <= 0 || s->ecr <= 0 ||
			 s->training_online <= 0 || s->training_offline <= 0;
	s->verdict = !zero_item && s->total >= SCORE_PASS_TOTAL ? SCORE_PASS : SCORE_DOWNGRADE;
}
