/* bench_core.h - what the core benchmarks share: the CN calendar as slad loads it (header only). */
#ifndef SLAD_BENCH_CORE_H
#define SLAD_BENCH_CORE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "slad/calendar.h"
#include "slad/tzload.h"

static inline bool bench_add_exception(struct calendar *cal, size_t *cap, int64_t day, enum cal_exception_kind kind)
{
	if (!array_grow_from((void **)&cal->exceptions, cap, cal->nexceptions + 1, sizeof(*cal->exceptions), 64))
		return false;
	cal->exceptions[cal->nexceptions].day = day;
	cal->exceptions[cal->nexceptions].kind = kind;
	cal->nexceptions++;
	return true;
}

/* The ('first', 'last', 'note') holiday and ('day') workday tuples of the
 * shipped CN migration, as the daemon reads them from sla.calendar_exceptions. */
static inline bool bench_cn_holidays(struct calendar *cal, const char *schema_dir)
{
	char path[1024];
	size_t cap = 0;
	long n;
	char *sql = NULL;
	bool ok = false;
	snprintf(path, sizeof(path), "%s/0002_cn_holidays.sql", schema_dir);
	FILE *f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (sql = malloc((size_t)n + 1)) == NULL || fread(sql, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		goto done;
	}
	sql[n] = '\0';
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
			if (!bench_add_exception(cal, &cap, d1, CAL_WORKDAY))
				goto done;
		} else if (strncmp(p + 12, "', '", 4) == 0 && strlen(p) > 27) {
			memcpy(b, p + 16, 10);
			b[10] = '\0';
			if (!date_parse(b, &d2))
				continue;
			for (int64_t d = d1; d <= d2; d++)
				if (!bench_add_exception(cal, &cap, d, CAL_HOLIDAY))
					goto done;
		}
	}
	ok = cal->nexceptions > 0;
done:
	free(sql);
	if (f)
		fclose(f);
	return ok;
}

/* The calendar set the daemon runs with by default: CN (Asia/Shanghai,
 * 08:30-18:00, the shipped holidays), compiled. */
static inline bool bench_calendars(struct calendar_set *set, const char *zoneinfo, const char *schema_dir)
{
	struct calendar cal;
	char err[512];
	memset(set, 0, sizeof(*set));
	memset(&cal, 0, sizeof(cal));
	snprintf(cal.id, sizeof(cal.id), "CN");
	snprintf(cal.tz, sizeof(cal.tz), "Asia/Shanghai");
	cal.office_open_min = 8 * 60 + 30;
	cal.office_close_min = 18 * 60;
	if (!tzload_zone(zoneinfo, cal.tz, &cal.offsets, &cal.noffsets, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return false;
	}
	if (!bench_cn_holidays(&cal, schema_dir) || !calendar_set_add(set, &cal)) {
		fprintf(stderr, "cannot build the CN calendar\n");
		calendar_free(&cal);
		return false;
	}
	return true;
}

#endif
