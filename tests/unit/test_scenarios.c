/* test_scenarios.c - suite "scenarios": every cases/NAME.scn file, one loop iteration each (scenario.h). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "suites.h"
#include "table.h"

#define MAX_SCENARIOS 256

static char *scenario_files[MAX_SCENARIOS];
static int nscenarios;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_scenarios(void)
{
	DIR *d = opendir(test_cases_dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && nscenarios < MAX_SCENARIOS) {
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".scn") == 0)
			scenario_files[nscenarios++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(scenario_files, (size_t)nscenarios, sizeof(scenario_files[0]), name_cmp);
}

START_TEST(scenario_file)
{
	char path[1024], err[2048];
	snprintf(path, sizeof(path), "%s/%s", test_cases_dir, scenario_files[_i]);
	bool ok = scenario_run(path, err, sizeof(err));
	ck_assert_msg(ok, "%s", err);
}
END_TEST

START_TEST(scenarios_exist)
{
	ck_assert_msg(nscenarios >= 20, "found %d scenario files in %s", nscenarios, test_cases_dir);
}
END_TEST

Suite *scenarios_suite(void)
{
	Suite *s = suite_create("scenarios");
	TCase *tc = tcase_create("scenarios");
	find_scenarios();
	tcase_add_test(tc, scenarios_exist);
	if (nscenarios)
		tcase_add_loop_test(tc, scenario_file, 0, nscenarios);
	suite_add_tcase(s, tc);
	return s;
}
