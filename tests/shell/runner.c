/* runner.c - the shell's unit-test runner: the parts of daemon/ that need
 * neither Kafka nor PostgreSQL (configuration, the event-time merge, the
 * store's statement building), one suite each.
 *
 * usage: slad_shell_tests [--tap] [--suite NAME] */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_run.h"
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
	srunner_add_suite(sr, shell_statements_suite());
	return check_run(sr, only, tap);
}
