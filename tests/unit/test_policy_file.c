/* test_policy_file.c - deploy/policies.yaml is exactly the compiled-in defaults; bad files say where. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/policy_file.h"

static char err[512];

START_TEST(shipped_file_equals_defaults)
{
	struct sla_policy *pol = policy_load_file(SLAD_POLICIES_FILE, err, sizeof(err));
	ck_assert_msg(pol != NULL, "%s", err);
	const struct sla_policy *def = policy_defaults();
	ck_assert_int_eq(pol->nrules, def->nrules);
	ck_assert_mem_eq(pol->rules, def->rules, (size_t)def->nrules * sizeof(*def->rules));
	ck_assert_mem_eq(&pol->th, &def->th, sizeof(def->th));
	ck_assert_str_eq(pol->version, def->version);
	policy_free(pol);
}
END_TEST

static struct sla_policy *parse(const char *text)
{
	return policy_parse(text, strlen(text), "p.yaml", err, sizeof(err));
}

START_TEST(changed_minutes_change_the_version)
{
	struct sla_policy *pol = parse("milestones:\n"
				       "  - {milestone: DISPATCH, ticket_types: [MAINTENANCE], deadline: WITHIN 20}\n");
	ck_assert_msg(pol != NULL, "%s", err);
	ck_assert_int_eq(pol->nrules, 1);
	ck_assert_int_eq(pol->rules[0].deadline.kind, DL_WITHIN);
	ck_assert_int_eq(pol->rules[0].deadline.amount, 20);
	ck_assert_str_ne(pol->version, policy_defaults()->version);
	const struct sla_deadline *d = policy_deadline(pol, MS_DISPATCH, TT_MAINTENANCE, SC_HOURLY, 0, -1);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->amount, 20);
	ck_assert_ptr_null(policy_deadline(pol, MS_ARRIVAL, TT_MAINTENANCE, SC_HOURLY, 0, -1));
	policy_free(pol);
}
END_TEST

START_TEST(at_with_offset_and_thresholds)
{
	struct sla_policy *pol = parse("thresholds:\n  warning_percent: 75\n  clock_max_distance_km: 1.5\n"
				       "milestones:\n"
				       "  - milestone: CHANGE_REVIEW\n    ticket_types: [CHANGE]\n"
				       "    risk_score: [5, 9]\n    deadline: AT planned_start_at - 3d\n");
	ck_assert_msg(pol != NULL, "%s", err);
	ck_assert_int_eq(pol->th.warning_pct, 75);
	ck_assert(pol->clock_max_distance_km == 1.5);
	ck_assert_int_eq(pol->rules[0].deadline.field, AF_PLANNED_START);
	ck_assert_int_eq(pol->rules[0].deadline.offset_days, -3);
	ck_assert_ptr_nonnull(policy_deadline(pol, MS_CHANGE_REVIEW, TT_CHANGE, SC_NON_HOURLY, 0, 5));
	ck_assert_ptr_null(policy_deadline(pol, MS_CHANGE_REVIEW, TT_CHANGE, SC_NON_HOURLY, 0, 10));
	policy_free(pol);
}
END_TEST

static void expect_error(const char *text, const char *want)
{
	struct sla_policy *pol = parse(text);
	ck_assert_msg(pol == NULL, "accepted: %s", text);
	ck_assert_msg(strstr(err, want) != NULL, "error [%s] lacks [%s]", err, want);
}

START_TEST(bad_files_name_line_and_key)
{
	expect_error("milestones:\n  - {milestone: DISPATCH, ticket_types: [MAINTENANCE], deadline: WITHIN ten}\n",
		     "p.yaml:2: deadline \"WITHIN ten\"");
	expect_error("milestones:\n  - {milestone: LUNCH, ticket_types: [MAINTENANCE], deadline: WITHIN 1}\n",
		     "p.yaml:2: milestone: unknown milestone \"LUNCH\"");
	expect_error("milestones:\n  - {milestone: DISPATCH, ticket_types: [REPAIR], deadline: WITHIN 1}\n",
		     "unknown ticket type \"REPAIR\"");
	expect_error("milestones:\n  - {milestone: DISPATCH, ticket_types: [MAINTENANCE]}\n",
		     "needs milestone, ticket_types and deadline");
	expect_error("thresholds:\n  warning_percent: 120\nmilestones: []\n", "p.yaml:2: warning_percent");
	expect_error("thresholds:\n  coffee: 1\nmilestones: []\n", "unknown key \"coffee\"");
	expect_error("milestones: [\n", "p.yaml:");
	expect_error("thresholds: {}\n", "milestones: missing");
	expect_error("milestones:\n  - {milestone: DISPATCH, ticket_types: [MAINTENANCE], deadline: AT nowhere}\n",
		     "AT takes");
}
END_TEST

START_TEST(missing_file)
{
	ck_assert_ptr_null(policy_load_file("/nonexistent/policies.yaml", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/policies.yaml"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_file");
	TCase *tc = tcase_create("policy_file");
	tcase_add_test(tc, shipped_file_equals_defaults);
	tcase_add_test(tc, changed_minutes_change_the_version);
	tcase_add_test(tc, at_with_offset_and_thresholds);
	tcase_add_test(tc, bad_files_name_line_and_key);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
