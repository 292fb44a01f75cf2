/* assessment_check.c - the required fields and value ranges of an ASSESSMENT event (events.md), per kind. Pure. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "partners_internal.h"

/* What every kind needs: a partner, a quarter in range, ids and a reason that fit. */
static enum sla_verdict check_common(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__Assessment *a = ev->assessment;

	if (ev->type != SLAD__V1__EVENT_TYPE__ASSESSMENT)
		BAD("not an ASSESSMENT event");
	if (ev->payload_case != SLAD__V1__EVENT__PAYLOAD_ASSESSMENT || !a)
		MISSING("quarter");
	if (id_missing(ev->partner_id))
		MISSING("partner_id");
	if (id_too_long(ev->partner_id))
		BAD("partner_id longer than %d bytes", SLA_ID_MAX);
	if (id_missing(a->quarter))
		MISSING("quarter");
	if (score_quarter_index(a->quarter) < 0)
		BAD("quarter must look like 2025Q2");
	if (score_quarter_index(a->quarter) / 4 < 2000 || score_quarter_index(a->quarter) / 4 >= 2200)
		BAD("quarter out of range (2000Q1 to 2199Q4)");
	if (id_too_long(a->project_id) || id_too_long(a->engineer_id) || id_too_long(a->cert_id))
		BAD("an id is longer than %d bytes", SLA_ID_MAX);
	if (a->reason_text && strlen(a->reason_text) > 256)
		BAD("reason longer than 256 bytes");
	return SV_APPLIED;
}

static enum sla_verdict check_project_score(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	if (id_missing(a->project_id))
		MISSING("project_id");
	if (a->_score_case != SLAD__V1__ASSESSMENT___SCORE_SCORE)
		MISSING("score");
	if (!isfinite(a->score) || a->score < 0 || a->score > 30)
		BAD("score must be between 0 and 30");
	return SV_APPLIED;
}

static enum sla_verdict check_callback(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	if (id_missing(a->project_id))
		MISSING("project_id");
	if (a->result == SLAD__V1__CALLBACK_RESULT__CALLBACK_RESULT_UNSPECIFIED)
		MISSING("result");
	if (a->result < 0 || a->result > SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
		BAD("unknown result %d", (int)a->result);
	if (a->_attempt_case != SLAD__V1__ASSESSMENT___ATTEMPT_ATTEMPT)
		MISSING("attempt");
	if (a->attempt < 1 || a->attempt > SCORE_ATTEMPTS)
		BAD("attempt must be between 1 and %d", SCORE_ATTEMPTS);
	return SV_APPLIED;
}

static enum sla_verdict check_deduction(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	if (a->reason == SLAD__V1__DEDUCTION_REASON__DEDUCTION_REASON_UNSPECIFIED)
		MISSING("reason");
	if (a->reason < 0 || a->reason > SLAD__V1__DEDUCTION_REASON__DEDUCTION_OTHER)
		BAD("unknown reason %d", (int)a->reason);
	if (a->_points_case != SLAD__V1__ASSESSMENT___POINTS_POINTS) {
		if (a->reason != SLAD__V1__DEDUCTION_REASON__UNCERTIFIED_WORK &&
		    a->reason != SLAD__V1__DEDUCTION_REASON__VENDOR_HELP)
			MISSING("points");
	} else if (!isfinite(a->points) || a->points < 0 || a->points > 1000) {
		BAD("points must be between 0 and 1000");
	}
	return SV_APPLIED;
}

static enum sla_verdict check_ecr(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	if (a->_simple_issues_case != SLAD__V1__ASSESSMENT___SIMPLE_ISSUES_SIMPLE_ISSUES)
		MISSING("simple_issues");
	if (a->_total_issues_case != SLAD__V1__ASSESSMENT___TOTAL_ISSUES_TOTAL_ISSUES)
		MISSING("total_issues");
	if (a->simple_issues < 0 || a->total_issues < 0 || a->total_issues > COUNT_MAX)
		BAD("issue counts out of range");
	if (a->simple_issues > a->total_issues)
		BAD("simple_issues greater than total_issues");
	return SV_APPLIED;
}

static bool count_bad(bool present, int64_t v)
{
	return present && (v < 0 || v > COUNT_MAX);
}

static enum sla_verdict check_training(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	bool oc = a->_online_completed_case == SLAD__V1__ASSESSMENT___ONLINE_COMPLETED_ONLINE_COMPLETED;
	bool orq = a->_online_required_case == SLAD__V1__ASSESSMENT___ONLINE_REQUIRED_ONLINE_REQUIRED;
	bool fc = a->_offline_completed_case == SLAD__V1__ASSESSMENT___OFFLINE_COMPLETED_OFFLINE_COMPLETED;
	bool frq = a->_offline_required_case == SLAD__V1__ASSESSMENT___OFFLINE_REQUIRED_OFFLINE_REQUIRED;
	if (!oc && !orq && !fc && !frq)
		MISSING("online_completed/online_required or offline_completed/offline_required");
	if (oc != orq)
		MISSING(oc ? "online_required" : "online_completed");
	if (fc != frq)
		MISSING(fc ? "offline_required" : "offline_completed");
	if (count_bad(oc, a->online_completed) || count_bad(orq, a->online_required) ||
	    count_bad(fc, a->offline_completed) || count_bad(frq, a->offline_required))
		BAD("training counts out of range");
	return SV_APPLIED;
}

static enum sla_verdict check_cert_registered(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	if (id_missing(a->engineer_id))
		MISSING("engineer_id");
	if (id_missing(a->cert_id))
		MISSING("cert_id");
	if (a->_expires_at_case != SLAD__V1__ASSESSMENT___EXPIRES_AT_EXPIRES_AT)
		MISSING("expires_at");
	if (!sla_instant_ok(a->expires_at))
		BAD("expires_at out of range (2000-01-01 to 2200-01-01)");
	return SV_APPLIED;
}

/* The fields of a kind that needs little. */
static enum sla_verdict check_small_kind(const Slad__V1__Assessment *a, char *detail, size_t detail_len)
{
	switch (a->kind) {
	case SLAD__V1__ASSESSMENT_KIND__SIMPLE_ISSUE_CONSULTATIONS:
		if (a->_count_case != SLAD__V1__ASSESSMENT___COUNT_COUNT)
			MISSING("count");
		if (a->count < 0 || a->count > COUNT_MAX)
			BAD("count out of range");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__KEY_EVENT:
		if (a->_points_case != SLAD__V1__ASSESSMENT___POINTS_POINTS)
			MISSING("points");
		if (!isfinite(a->points) || fabs(a->points) > 1000)
			BAD("points must be between -1000 and 1000");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED:
		if (id_missing(a->cert_id))
			MISSING("cert_id");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED:
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED:
		if (id_missing(a->engineer_id))
			MISSING("engineer_id");
		if (a->kind == SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED &&
		    a->_declared_case != SLAD__V1__ASSESSMENT___DECLARED_DECLARED)
			MISSING("declared");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED:
		return SV_APPLIED;
	default:
		BAD("unknown kind %d", (int)a->kind);
	}
}

/* The kinds with a check of their own; the others: check_small_kind. */
static enum sla_verdict (*const kind_checks[])(const Slad__V1__Assessment *a, char *detail, size_t detail_len) = {
	[SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE] = check_project_score,
	[SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK] = check_callback,
	[SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION] = check_deduction,
	[SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS] = check_ecr,
	[SLAD__V1__ASSESSMENT_KIND__TRAINING] = check_training,
	[SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED] = check_cert_registered,
};

enum sla_verdict assessment_check(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	enum sla_verdict v = check_common(ev, detail, detail_len);
	if (v != SV_APPLIED)
		return v;
	const Slad__V1__Assessment *a = ev->assessment;
	if (a->kind == SLAD__V1__ASSESSMENT_KIND__ASSESSMENT_KIND_UNSPECIFIED)
		MISSING("kind");
	if ((unsigned)a->kind < sizeof(kind_checks) / sizeof(kind_checks[0]) && kind_checks[a->kind])
		return kind_checks[a->kind](a, detail, detail_len);
	return check_small_kind(a, detail, detail_len);
}
