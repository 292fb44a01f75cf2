/* runner.c - the unit-test runner: every suite, TAP or Check's own output.
 *
 * usage: slad_unit_tests [--tap] [--suite NAME] [CASES_DIR]
 *   --tap        TAP on stdout (what ctest runs)
 *   --suite      run one suite (timeutil, calendar, policy, event, rules, core, codec, scenarios, hardening, deadlines, idtable, engine,
 *                strpool, scoring)
 *   CASES_DIR    the tests/unit/cases directory (default: the source tree's) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_run.h"
#include "suites.h"
#include "table.h"

int main(int argc, char **argv)
{
	const char *only = NULL;
	int tap = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tap") == 0) {
			tap = 1;
		} else if (strcmp(argv[i], "--suite") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [--tap] [--suite NAME] [CASES_DIR]\n", argv[0]);
			return 2;
		} else {
			test_cases_dir = argv[i];
		}
	}

	SRunner *sr = srunner_create(timeutil_suite());
	srunner_add_suite(sr, calendar_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, event_suite());
	srunner_add_suite(sr, rules_suite());
	srunner_add_suite(sr, core_suite());
	srunner_add_suite(sr, codec_suite());
	srunner_add_suite(sr, scenarios_suite());
	srunner_add_suite(sr, scoring_suite());
	srunner_add_suite(sr, hardening_suite());
	srunner_add_suite(sr, deadlines_suite());
	srunner_add_suite(sr, idtable_suite());
	srunner_add_suite(sr, strpool_suite());
	srunner_add_suite(sr, engine_suite());
	return check_run(sr, only, tap);
}
