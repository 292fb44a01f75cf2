/* test_policy.c - suite "policy": the compiled-in defaults of rules.md section 3. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/policy.h"
#include "suites.h"
#include "table.h"

static int by_name(const char *name, const char *(*namefn)(int), int count)
{
	for (int i = 0; i < count; i++)
		if (namefn(i) && strcmp(namefn(i), name) == 0)
			return i;
	return -1;
}

static const char *ms_name_i(int i) { return milestone_name((enum sla_milestone_kind)i); }
static const char *tt_name_i(int i) { return ticket_type_name((enum sla_ticket_type)i); }

static const char *deadline_kind_name(enum sla_deadline_kind k)
{
	static const char *const n[] = {"NONE", "WITHIN", "OFFICE_HOURS", "RESPONSE_DAY", "WORKING_DAYS",
					"NATURAL_DAYS", "AT", "BUSINESS_MINUTES"};
	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

START_TEST(defaults_table)
{
	struct table t;
	const struct sla_policy *pol = policy_defaults();
	table_load(&t, "policy.tsv");
	for (int i = 0; i < t.nrows; i++) {
		const struct table_row *r = &t.rows[i];
		ck_assert_msg(r->nf == 5, "%s:%d: want 5 fields", t.path, r->lineno);
		int ms = by_name(r->f[0], ms_name_i, MS_COUNT);
		int tt = by_name(r->f[1], tt_name_i, TT_COUNT);
		ck_assert_msg(ms >= 0 && tt > 0, "%s:%d: unknown milestone or type", t.path, r->lineno);
		enum sla_class sc = strcmp(r->f[2], "HOURLY") == 0 ? SC_HOURLY : SC_NON_HOURLY;
		const struct sla_deadline *d = policy_deadline(pol, (enum sla_milestone_kind)ms,
							       (enum sla_ticket_type)tt, sc, atoi(r->f[3]), -1);
		char got[64];
		if (!d)
			snprintf(got, sizeof(got), "NONE");
		else if (d->kind == DL_AT || d->kind == DL_RESPONSE_DAY)
			snprintf(got, sizeof(got), "%s 0", deadline_kind_name(d->kind));
		else
			snprintf(got, sizeof(got), "%s %d", deadline_kind_name(d->kind), d->amount);
		ck_assert_msg(strcmp(got, r->f[4]) == 0, "%s:%d: %s %s %s sev %s: got %s, want %s", t.path,
			      r->lineno, r->f[0], r->f[1], r->f[2], r->f[3], got, r->f[4]);
	}
	table_free(&t);
}
END_TEST

START_TEST(defaults_settings)
{
	const struct sla_policy *pol = policy_defaults();
	ck_assert_ptr_eq(pol, policy_defaults());
	ck_assert_int_eq(pol->lateness_allowed, 15 * SLA_MINUTE);
	ck_assert(pol->clock_max_distance_km == 3.0);
	ck_assert_uint_eq(strlen(pol->version), 16);
	ck_assert_uint_eq(strspn(pol->version, "0123456789abcdef"), 16);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(milestone_name(MS_DISPATCH), "DISPATCH");
	ck_assert_str_eq(milestone_name(MS_SPARE_RETURN), "SPARE_RETURN");
	ck_assert_str_eq(milestone_name(MS_RETROSPECTIVE), "RETROSPECTIVE");
	ck_assert_str_eq(milestone_name(MS_COUNT), "");
	ck_assert_str_eq(ticket_type_name(TT_MAINTENANCE), "MAINTENANCE");
	ck_assert_str_eq(ticket_type_name(TT_INCIDENT), "INCIDENT");
	ck_assert_str_eq(sla_class_name(SC_HOURLY), "HOURLY");
	ck_assert_str_eq(sla_class_name(SC_NON_HOURLY), "NON_HOURLY");
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");
	tcase_add_test(tc, defaults_table);
	tcase_add_test(tc, defaults_settings);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
