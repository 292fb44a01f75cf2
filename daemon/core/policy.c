/* policy.c - the default SLA policy of rules.md section 3 and policy look-ups. Pure. */
#include "slad/policy.h"

#include <stdio.h>
#include <string.h>

#define T(x) (1u << (x))
#define ALL_BUT_INCIDENT                                                                                \
	(T(TT_MAINTENANCE) | T(TT_INSPECTION) | T(TT_RECTIFICATION) | T(TT_ONE_OFF) | T(TT_RESIDENT) | \
	 T(TT_CHANGE))
#define ALL (ALL_BUT_INCIDENT | T(TT_INCIDENT))

static struct sla_policy_rule default_rules[] = {
	{MS_DISPATCH, T(TT_MAINTENANCE), SC_HOURLY, 0, {DL_WITHIN, 10}},
	{MS_DISPATCH, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_NON_HOURLY, 0, {DL_OFFICE_HOURS, 30}},
	{MS_DISPATCH, T(TT_ONE_OFF), SC_HOURLY, 0, {DL_OFFICE_HOURS, 30}},
	{MS_DISPATCH, T(TT_INSPECTION) | T(TT_RECTIFICATION), SC_ANY, 0, {DL_WORKING_DAYS, 15}},
	{MS_DISPATCH, T(TT_RESIDENT), SC_ANY, 0, {DL_AT, 0}},
	{MS_DISPATCH, T(TT_INCIDENT), SC_ANY, 1, {DL_WITHIN, 5}},
	{MS_DISPATCH, T(TT_INCIDENT), SC_ANY, 2, {DL_WITHIN, 5}},
	{MS_DISPATCH, T(TT_INCIDENT), SC_ANY, 3, {DL_WITHIN, 10}},
	{MS_DISPATCH, T(TT_INCIDENT), SC_ANY, 4, {DL_WITHIN, 15}},
	{MS_SPARE_CONFIRM, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_HOURLY, 0, {DL_WITHIN, 15}},
	{MS_SPARE_CONFIRM, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_NON_HOURLY, 0, {DL_OFFICE_HOURS, 60}},
	{MS_SPARE_CONFIRM, T(TT_RECTIFICATION), SC_HOURLY, 0, {DL_WITHIN, 25}},
	{MS_SPARE_CONFIRM, T(TT_RECTIFICATION), SC_NON_HOURLY, 0, {DL_OFFICE_HOURS, 90}},
	{MS_RESERVATION, T(TT_MAINTENANCE) | T(TT_ONE_OFF), SC_ANY, 0, {DL_AT, 0}},
	{MS_ARRIVAL, ALL_BUT_INCIDENT, SC_ANY, 0, {DL_AT, 0}},
	{MS_CLOSURE, T(TT_MAINTENANCE) | T(TT_RECTIFICATION) | T(TT_ONE_OFF) | T(TT_RESIDENT), SC_ANY, 0,
	 {DL_WORKING_DAYS, 5}},
	{MS_CLOSURE, T(TT_INSPECTION), SC_ANY, 0, {DL_WORKING_DAYS, 10}},
	{MS_SPARE_RETURN, T(TT_RECTIFICATION), SC_ANY, 0, {DL_NATURAL_DAYS, 60}},
	{MS_SPARE_RETURN, ALL & ~T(TT_RECTIFICATION), SC_ANY, 0, {DL_NATURAL_DAYS, 30}},
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
		int n = snprintf(buf, sizeof(buf), "%d/%u/%d/%d/%d/%d;", (int)r->milestone, r->ticket_types,
				 (int)r->sla_class, r->severity, (int)r->deadline.kind, r->deadline.amount);
		for (int j = 0; j < n; j++) {
			h ^= (unsigned char)buf[j];
			h *= 1099511628211ULL;
		}
	}
	int n = snprintf(buf, sizeof(buf), "late=%lld;km=%.3f", (long long)pol->lateness_allowed,
			 pol->clock_max_distance_km);
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
		pol.clock_max_distance_km = 3.0;
		policy_finalize(&pol);
	}
	return &pol;
}

const struct sla_deadline *policy_deadline(const struct sla_policy *pol, enum sla_milestone_kind ms,
					   enum sla_ticket_type tt, enum sla_class sc, int severity)
{
	for (int i = 0; i < pol->nrules; i++) {
		const struct sla_policy_rule *r = &pol->rules[i];
		if (r->milestone != ms || !(r->ticket_types & T(tt)))
			continue;
		if (r->sla_class != SC_ANY && r->sla_class != sc)
			continue;
		if (r->severity != 0 && r->severity != severity)
			continue;
		return &r->deadline;
	}
	return NULL;
}
