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

#include "slad/calendar.h"
#include "slad/tzload.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static bool add_exception(struct calendar *cal, size_t *cap, int64_t day, enum cal_exception_kind kind)
{
	if (cal->nexceptions == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct cal_exception *v = realloc(cal->exceptions, c * sizeof(*v));
		if (!v)
			return false;
		cal->exceptions = v;
		*cap = c;
	}
	cal->exceptions[cal->nexceptions].day = day;
	cal->exceptions[cal->nexceptions].kind = kind;
	cal->nexceptions++;
	return true;
}

/* The ('first', 'last', 'note') and ('day') tuples of the CN migration. */
static bool load_cn_holidays(struct calendar *cal, const char *schema_dir)
{
	char path[1024];
	size_t cap = 0;
	snprintf(path, sizeof(path), "%s/0002_cn_holidays.sql", schema_dir);
	char *sql = slurp(path);
	if (!sql) {
		fprintf(stderr, "cannot read %s\n", path);
		return false;
	}
	for (const char *p = strstr(sql, "('"); p; p = strstr(p + 2, "('")) {
		int64_t d1, d2;
		char a[11], b[11];
		if (strlen(p) < 14 || p[6] != '-' || p[12] != '\'')
			continue;
		memcpy(a, p + 2, 10);
		a[10] = '\0';
		if (!date_parse(a, &d1))
			continue;
		if (strncmp(p + 12, "')", 2) == 0) {
			if (!add_exception(cal, &cap, d1, CAL_WORKDAY))
				goto fail;
		} else if (strncmp(p + 12, "', '", 4) == 0 && strlen(p) > 27) {
			memcpy(b, p + 16, 10);
			b[10] = '\0';
			if (!date_parse(b, &d2))
				continue;
			for (int64_t d = d1; d <= d2; d++)
				if (!add_exception(cal, &cap, d, CAL_HOLIDAY))
					goto fail;
		}
	}
	free(sql);
	return cal->nexceptions > 0;
fail:
	free(sql);
	return false;
}

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
	} else if (!load_cn_holidays(&cal, argv[4])) {
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
