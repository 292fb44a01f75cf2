/* check_run.h - how every Check runner of the tree ends: TAP on stdout (what
 * ctest runs) or Check's own output, one suite (only) or all, and a run that
 * ran nothing (an unknown suite) counts as a failure. Frees sr. */
#ifndef SLAD_TEST_CHECK_RUN_H
#define SLAD_TEST_CHECK_RUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline int check_run(SRunner *sr, const char *only, int tap)
{
	if (tap)
		srunner_set_tap(sr, "-");
	srunner_run(sr, only, NULL, tap ? CK_SILENT : CK_ENV);
	int failed = srunner_ntests_failed(sr);
	int run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (run == 0) {
		fprintf(stderr, "no tests ran (unknown suite \"%s\"?)\n", only ? only : "");
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
