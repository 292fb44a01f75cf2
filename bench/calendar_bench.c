/* calendar_bench.c - the calendar benchmark: WORKING_DAYS and BUSINESS_MINUTES queries on the shipped CN calendar.
 *
 * Not a test. bench/run.sh runs it under callgrind, collecting only inside
 * the query function (--toggle-collect), so that total instructions / number
 * of queries is the cost of one query, call included.
 *
 * usage: calendar_bench QUERY N ZONEINFO SCHEMA_DIR [CALENDAR]
 *   QUERY     working_days | business_minutes | none (setup only)
 *   N         number of queries
 *   ZONEINFO  tz database directory (e.g. /usr/share/zoneinfo)
 *   SCHEMA_DIR  slad's schema/ (the CN holidays are read from 0002_cn_holidays.sql)
 *   CALENDAR  cn (Asia/Shanghai, the shipped holidays; default) or de (Europe/Berlin, no holidays, 2024-2026) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_core.h"
#include "slad/calendar.h"
#include "slad/tzload.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Keeps the results alive without a store per query. */
static volatile sla_time sink;

int main(int argc, char **argv)
{
	struct calendar cal;
	char err[512];
	if (argc < 5) {
		fprintf(stderr, "usage: %s working_days|business_minutes|none N ZONEINFO SCHEMA_DIR [cn|de]\n", argv[0]);
		return 2;
	}
	const char *query = argv[1], *which = argc > 5 ? argv[5] : "cn";
	long n = strtol(argv[2], NULL, 10);
	bool de = strcmp(which, "de") == 0;

	memset(&cal, 0, sizeof(cal));
	snprintf(cal.id, sizeof(cal.id), "%s", de ? "DE" : "CN");
	snprintf(cal.tz, sizeof(cal.tz), "%s", de ? "Europe/Berlin" : "Asia/Shanghai");
	cal.office_open_min = 8 * 60 + 30;
	cal.office_close_min = 18 * 60;
	if (!tzload_zone(argv[3], cal.tz, &cal.offsets, &cal.noffsets, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (de) {
		cal.first_year = 2024;
		cal.last_year = 2026;
	} else if (!bench_cn_holidays(&cal, argv[4])) {
		calendar_free(&cal);
		return 1;
	}
	if (!calendar_compile(&cal, err, sizeof(err))) {
		fprintf(stderr, "calendar: %s\n", err);
		calendar_free(&cal);
		return 1;
	}

	/* Starts anywhere in 2024-01-02 .. 2026-10-01 UTC, to the millisecond
	 * (inside the loaded years in either zone); amounts as contracts use them. */
	sla_time lo = days_from_civil(2024, 1, 2) * SLA_DAY;
	sla_time span = (days_from_civil(2026, 10, 1) - days_from_civil(2024, 1, 2)) * SLA_DAY;
	sla_time *starts = malloc((size_t)(n > 0 ? n : 1) * sizeof(*starts));
	int *amounts = malloc((size_t)(n > 0 ? n : 1) * sizeof(*amounts));
	if (!starts || !amounts) {
		free(starts);
		free(amounts);
		calendar_free(&cal);
		return 1;
	}
	bool wd = strcmp(query, "working_days") == 0, bm = strcmp(query, "business_minutes") == 0;
	for (long i = 0; i < n; i++) {
		starts[i] = lo + (sla_time)(rnd() % (uint64_t)span);
		amounts[i] = wd ? (int)(rnd() % 20) + 1 : (int)(rnd() % 2880) + 1;
	}
	if (wd)
		for (long i = 0; i < n; i++)
			sink = calendar_working_days_due(&cal, starts[i], amounts[i]);
	else if (bm)
		for (long i = 0; i < n; i++)
			sink = calendar_business_minutes_due(&cal, starts[i], amounts[i]);
	else if (strcmp(query, "none") != 0)
		fprintf(stderr, "unknown query %s\n", query);

	int years[4];
	size_t unloaded = calendar_take_unloaded_years(&cal, years, 4);
	printf("calendar %s: %zu loaded days, %zu working intervals; %ld %s queries; %zu unloaded years used\n", cal.id,
	       cal.tables.ndays, cal.tables.niv, n, query, unloaded);
	free(starts);
	free(amounts);
	calendar_free(&cal);
	return unloaded ? 1 : 0;
}
