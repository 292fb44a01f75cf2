/* policy.c - the default SLA policy of rules.md section 3 and policy look-ups. Pure. */
#include "slad/policy.h"

#include <stdio.h>
#include <string.h>

#define T(x) (1u << (x))
#define ALL_BUT_INCIDENT                                                                                \
	(T(TT_MAINTENANCE) | T(TT_INSPECTION) | T(TT_RECTIFICATION) | T(TT_ONE_OFF) | T(TT_RESIDENT) | \
	 T(TT_CHANGE))
#define ALL (ALL_BUT_INCIDENT | T(TT_INCIDENT))

#define ANY_RISK 0, 0
#define W(m) {DL_WITHIN, (m), AF_NONE, 0, 0}
#define OH(m) {DL_OFFICE_HOURS, (m), AF_NONE, 0, 0}
#define WD(n) {DL_WORKING_DAYS, (n), AF_NONE, 0, 0}
#define ND(n) {DL_NATURAL_DAYS, (n), AF_NONE, 0, 0}
#define AT(f) {DL_AT, 0, (f), 0, 0}
/* An incident's four rows, severity I to IV. */
#define BY_SEVERITY(ms, d1, d2, d3, d4)                                                                  \
	{(ms), T(TT_INCIDENT), SC_ANY, 1, ANY_RISK, d1}, {(ms), T(TT_INCIDENT), SC_ANY, 2, ANY_RISK, d2}, \
		{(ms), T(TT_INCIDENT), SC_ANY, 3, ANY_RISK, d3}, {(ms), T(TT_INCIDENT), SC_ANY, 4, ANY_RISK, d4}

/* rules.md section 3, row by row. The first matching row wins. */
static struct sla_policy_rule default_rules[] = {
	{MS_DISPATCH, T(TT_MAINTENANCE), SC_HOURLY, 0, ANY_RISK, W(10)},
	{MS_DISPATCH, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_ANY, 0, ANY_RISK, OH(30)},
	{MS_DISPATCH, T(TT_INSPECTION) | T(TT_RECTIFICATION), SC_ANY, 0, ANY_RISK, WD(15)},
	{MS_DISPATCH, T(TT_RESIDENT), SC_ANY, 0, ANY_RISK, AT(AF_SERVICE_START)},
	BY_SEVERITY(MS_DISPATCH, W(5), W(5), W(10), W(15)),
	{MS_RESPONSE, T(TT_INSPECTION) | T(TT_RECTIFICATION), SC_ANY, 0, ANY_RISK, {DL_RESPONSE_DAY, 0, AF_NONE, 0, 0}},
	BY_SEVERITY(MS_RESPONSE, W(5), W(5), W(10), W(15)),
	{MS_SPARE_CONFIRM, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_HOURLY, 0, ANY_RISK, W(15)},
	{MS_SPARE_CONFIRM, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_NON_HOURLY, 0, ANY_RISK, OH(60)},
	{MS_SPARE_CONFIRM, T(TT_RECTIFICATION), SC_HOURLY, 0, ANY_RISK, W(25)},
	{MS_SPARE_CONFIRM, T(TT_RECTIFICATION), SC_NON_HOURLY, 0, ANY_RISK, OH(90)},
	{MS_RESERVATION, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_ANY, 0, ANY_RISK, AT(AF_REQUIRED_ARRIVAL)},
	{MS_RESERVATION, T(TT_INSPECTION) | T(TT_RECTIFICATION), SC_ANY, 0, ANY_RISK,
	 {DL_AT, 0, AF_REQUIRED_ARRIVAL, 0, 60}},
	{MS_ARRIVAL, ALL_BUT_INCIDENT, SC_ANY, 0, ANY_RISK, AT(AF_EFFECTIVE_ARRIVAL)},
	BY_SEVERITY(MS_ARRIVAL, W(10), W(15), W(20), W(20)),
	BY_SEVERITY(MS_DIAGNOSIS, W(60), W(60), W(120), W(120)),
	BY_SEVERITY(MS_SOLUTION, W(60), W(60), W(120), W(120)),
	{MS_CLOSURE, T(TT_MAINTENANCE) | T(TT_RECTIFICATION) | T(TT_ONE_OFF) | T(TT_RESIDENT), SC_ANY, 0, ANY_RISK, WD(5)},
	{MS_CLOSURE, T(TT_INSPECTION), SC_ANY, 0, ANY_RISK, WD(10)},
	{MS_SPARE_RETURN, T(TT_RECTIFICATION), SC_ANY, 0, ANY_RISK, ND(60)},
	{MS_SPARE_RETURN, ALL & ~T(TT_RECTIFICATION), SC_ANY, 0, ANY_RISK, ND(30)},
	/* The report deadlines are fixed by rules.md: the next working day from the
	 * Monday after the week / the first working day of the next month. */
	{MS_WEEKLY_REPORT, T(TT_RESIDENT), SC_ANY, 0, ANY_RISK, WD(0)},
	{MS_MONTHLY_REPORT, T(TT_RESIDENT), SC_ANY, 0, ANY_RISK, WD(0)},
	{MS_CHANGE_REVIEW, T(TT_CHANGE), SC_ANY, 0, 8, 13, {DL_AT, 0, AF_PLANNED_START, -7, 0}},
	{MS_CHANGE_REVIEW, T(TT_CHANGE), SC_ANY, 0, 14, 1000000, {DL_AT, 0, AF_PLANNED_START, -10, 0}},
	{MS_GUARANTOR_COMPLETE, T(TT_CHANGE), SC_ANY, 0, ANY_RISK, W(120)},
	{MS_RETROSPECTIVE, T(TT_CHANGE), SC_ANY, 0, ANY_RISK, WD(5)},
};

static const char *const milestone_names[MS_COUNT] = {
	"DISPATCH",     "RESPONSE",	 "SPARE_CONFIRM",  "RESERVATION",   "ARRIVAL",
	"DIAGNOSIS",    "SOLUTION",	 "CLOSURE",	   "SPARE_RETURN",  "WEEKLY_REPORT",
	"MONTHLY_REPORT", "CHANGE_REVIEW", "GUARANTOR_COMPLETE", "RETROSPECTIVE",
};

static const char *const ticket_type_names[TT_COUNT] = {
	"", "MAINTENANCE", "INSPECTION", "RECTIFICATION", "ONE_OFF", "RESIDENT", "CHANGE", "INCIDENT",
};

const char *milestone_name(enum sla_milestone_kind ms)
{
	return (unsigned)ms < MS_COUNT ? milestone_names[ms] : "";
}

const char *ticket_type_name(enum sla_ticket_type tt)
{
	return (unsigned)tt < TT_COUNT ? ticket_type_names[tt] : "";
}

const char *sla_class_name(enum sla_class sc)
{
	return sc == SC_HOURLY ? "HOURLY" : sc == SC_NON_HOURLY ? "NON_HOURLY" : NULL;
}

/* FNV-1a over the policy's content: the version recorded with every result. */
void policy_finalize(struct sla_policy *pol)
{
	uint64_t h = 14695981039346656037ULL;
	char buf[128];
	for (int i = 0; i < pol->nrules; i++) {
		const struct sla_policy_rule *r = &pol->rules[i];
		int n = snprintf(buf, sizeof(buf), "%d/%u/%d/%d/%d-%d/%d/%d/%d/%d/%d;", (int)r->milestone,
				 r->ticket_types, (int)r->sla_class, r->severity, r->risk_min, r->risk_max,
				 (int)r->deadline.kind, r->deadline.amount, (int)r->deadline.field,
				 r->deadline.offset_days, r->deadline.lead_days);
		for (int j = 0; j < n; j++) {
			h ^= (unsigned char)buf[j];
			h *= 1099511628211ULL;
		}
	}
	const struct sla_thresholds *th = &pol->th;
	int n = snprintf(buf, sizeof(buf), "late=%lld;km=%.3f;rj=%d/%d;plan=%d;verify=%d;warn=%d;att=%d/%d",
			 (long long)pol->lateness_allowed, pol->clock_max_distance_km, th->reject_late_min_hourly,
			 th->reject_late_min_other, th->change_plan_valid_days, th->change_verify_min, th->warning_pct,
			 th->attendance_improvement_month, th->attendance_replacement_3m);
	for (int j = 0; j < n; j++) {
		h ^= (unsigned char)buf[j];
		h *= 1099511628211ULL;
	}
	snprintf(pol->version, sizeof(pol->version), "%016llx", (unsigned long long)h);
}

const struct sla_policy *policy_defaults(void)
{
	static struct sla_policy pol;
	if (pol.rules == NULL) {
		pol.rules = default_rules;
		pol.nrules = (int)(sizeof(default_rules) / sizeof(default_rules[0]));
		pol.lateness_allowed = 15 * SLA_MINUTE;
		pol.archive_after = 7 * SLA_DAY;
		pol.clock_max_distance_km = 3.0;
		pol.th = (struct sla_thresholds){
			.reject_late_min_hourly = 10,
			.reject_late_min_other = 30,
			.change_plan_valid_days = 30,
			.change_verify_min = 30,
			.warning_pct = 80,
			.attendance_improvement_month = 4,
			.attendance_replacement_3m = 12,
		};
		policy_finalize(&pol);
	}
	return &pol;
}

const struct sla_deadline *policy_deadline(const struct sla_policy *pol, enum sla_milestone_kind ms,
					   enum sla_ticket_type tt, enum sla_class sc, int severity, int risk_score)
{
	for (int i = 0; i < pol->nrules; i++) {
		const struct sla_policy_rule *r = &pol->rules[i];
		if (r->milestone != ms || !(r->ticket_types & T(tt)))
			continue;
		if (r->sla_class != SC_ANY && r->sla_class != sc)
			continue;
		if (r->severity != 0 && r->severity != severity)
			continue;
		if ((r->risk_min || r->risk_max) && (risk_score < r->risk_min || risk_score > r->risk_max))
			continue;
		return &r->deadline;
	}
	return NULL;
}
