/* runner.c - the shell's unit-test runner: the parts of daemon/ that need
 * neither Kafka nor PostgreSQL (configuration, the event-time merge), one suite each.
 *
 * usage: slad_shell_tests [--tap] [--suite NAME] */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell_suites.h"

int main(int argc, char **argv)
{
	const char *only = NULL;
	int tap = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tap") == 0) {
			tap = 1;
		} else if (strcmp(argv[i], "--suite") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--tap] [--suite NAME]\n", argv[0]);
			return 2;
		}
	}
	SRunner *sr = srunner_create(shell_config_suite());
	srunner_add_suite(sr, shell_merge_suite());
	if (tap)
		srunner_set_tap(sr, "-");
	srunner_run(sr, only, NULL, tap ? CK_SILENT : CK_ENV);
	int failed = srunner_ntests_failed(sr);
	int run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (run == 0) {
		fprintf(stderr, "no tests ran (unknown suite \"%s\"?)\n", only ? only : "");
		return 1;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
