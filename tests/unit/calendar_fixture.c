/* calendar_fixture.c - calendars for the calendar tests, from cases/calendar_defs.tsv. */
#include "calendar_fixture.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slad/tzload.h"
#include "table.h"

#define FIX_MAX_CALS 32

int64_t calfix_day(const char *ymd)
{
	int64_t d;
	if (!date_parse(ymd, &d))
		ck_abort_msg("test bug: bad date \"%s\"", ymd);
	return d;
}

int calfix_minutes(const char *hhmm)
{
	int m;
	if (strcmp(hhmm, "24:00") == 0)
		return 1440;
	if (!hhmm_parse(hhmm, &m))
		ck_abort_msg("test bug: bad time \"%s\"", hhmm);
	return m;
}

const char *calfix_zoneinfo_dir(void)
{
	static char dir[600];
	snprintf(dir, sizeof(dir), "%s/zoneinfo", test_cases_dir);
	return dir;
}

void calfix_zone_path(const char *zone, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", calfix_zoneinfo_dir(), zone);
}

static char saved_tz[256];
static bool saved_tz_set, glibc_zone_on;

void calfix_glibc_zone(const char *zone)
{
	char path[700], abs[PATH_MAX], tz[PATH_MAX + 2];
	if (!glibc_zone_on) {
		const char *old = getenv("TZ");
		saved_tz_set = old != NULL;
		snprintf(saved_tz, sizeof(saved_tz), "%s", old ? old : "");
	}
	calfix_zone_path(zone, path, sizeof(path));
	ck_assert_msg(realpath(path, abs) != NULL, "no zone file %s", path);
	snprintf(tz, sizeof(tz), ":%s", abs);
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
	glibc_zone_on = true;
}

long calfix_glibc_offset(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!localtime_r(&tt, &tm))
		ck_abort_msg("localtime_r(%lld) failed", (long long)t);
	return tm.tm_gmtoff;
}

void calfix_glibc_restore(void)
{
	if (!glibc_zone_on)
		return;
	if (saved_tz_set)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	glibc_zone_on = false;
}

struct fix_exc {
	struct cal_exception *v;
	size_t n, cap;
};

static void exc_add(struct fix_exc *e, int64_t day, enum cal_exception_kind kind)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 32;
		e->v = realloc(e->v, e->cap * sizeof(*e->v));
		ck_assert_ptr_nonnull(e->v);
	}
	e->v[e->n].day = day;
	e->v[e->n].kind = kind;
	e->n++;
}

static void exc_add_range(struct fix_exc *e, const char *first, const char *last, enum cal_exception_kind kind)
{
	for (int64_t d = calfix_day(first); d <= calfix_day(last); d++)
		exc_add(e, d, kind);
}

/* The migration holds ('first', 'last', 'note') tuples of holiday blocks and
 * ('day') tuples of adjusted working days; read exactly those shapes. */
struct cal_exception *calfix_shipped_cn(size_t *n)
{
	char path[700], d1[11], d2[11];
	struct fix_exc e = {0};
	size_t holidays = 0, workdays = 0;
	snprintf(path, sizeof(path), "%s/../../../schema/0002_cn_holidays.sql", test_cases_dir);
	char *sql = read_file(path, NULL);
	ck_assert_msg(sql != NULL, "cannot read %s", path);
	for (const char *p = strstr(sql, "('"); p; p = strstr(p + 2, "('")) {
		if (strlen(p) < 14 || p[6] != '-' || p[9] != '-' || p[12] != '\'')
			continue;
		memcpy(d1, p + 2, 10);
		d1[10] = '\0';
		if (strncmp(p + 12, "')", 2) == 0) {
			exc_add(&e, calfix_day(d1), CAL_WORKDAY);
			workdays++;
		} else if (strncmp(p + 12, "', '", 4) == 0 && strlen(p) > 27 && p[26] == '\'') {
			memcpy(d2, p + 16, 10);
			d2[10] = '\0';
			exc_add_range(&e, d1, d2, CAL_HOLIDAY);
			holidays++;
		}
	}
	free(sql);
	/* 2024-2026: 7 + 6 + 7 holiday blocks, 8 + 5 + 6 adjusted working days */
	ck_assert_uint_eq(holidays, 20);
	ck_assert_uint_eq(workdays, 19);
	*n = e.n;
	return e.v;
}

static void parse_exceptions(struct fix_exc *e, char *list)
{
	if (strcmp(list, "-") == 0)
		return;
	if (strcmp(list, "shipped") == 0) {
		size_t n;
		struct cal_exception *v = calfix_shipped_cn(&n);
		for (size_t i = 0; i < n; i++)
			exc_add(e, v[i].day, v[i].kind);
		free(v);
		return;
	}
	for (char *tok = strtok(list, " "); tok; tok = strtok(NULL, " ")) {
		enum cal_exception_kind kind = tok[0] == 'H' ? CAL_HOLIDAY : CAL_WORKDAY;
		char *dots = strstr(tok, "..");
		ck_assert_msg((tok[0] == 'H' || tok[0] == 'W') && strlen(tok) >= 11, "bad exception \"%s\"", tok);
		if (dots) {
			*dots = '\0';
			exc_add_range(e, tok + 1, dots + 2, kind);
		} else {
			exc_add(e, calfix_day(tok + 1), kind);
		}
	}
}

static void build_row(const struct table *t, const struct table_row *r, enum calfix_path path, struct calendar *cal)
{
	char err[256], office[16], *dash;
	struct fix_exc e = {0};

	ck_assert_msg(r->nf == 5, "%s:%d: want 5 fields", t->path, r->lineno);
	memset(cal, 0, sizeof(*cal));
	snprintf(cal->id, sizeof(cal->id), "%s", r->f[0]);
	snprintf(cal->tz, sizeof(cal->tz), "%s", r->f[1]);
	ck_assert_msg(tzload_zone(calfix_zoneinfo_dir(), r->f[1], &cal->offsets, &cal->noffsets, err, sizeof(err)),
		      "%s:%d: %s", t->path, r->lineno, err);
	snprintf(office, sizeof(office), "%s", r->f[2]);
	dash = strchr(office, '-');
	ck_assert_msg(dash != NULL, "%s:%d: office hours HH:MM-HH:MM", t->path, r->lineno);
	*dash = '\0';
	cal->office_open_min = calfix_minutes(office);
	cal->office_close_min = calfix_minutes(dash + 1);
	if (strcmp(r->f[3], "-") != 0) {
		ck_assert_msg(sscanf(r->f[3], "%d-%d", &cal->first_year, &cal->last_year) == 2 ||
				      sscanf(r->f[3], "%d", &cal->first_year) == 1,
			      "%s:%d: years", t->path, r->lineno);
		if (cal->last_year == 0)
			cal->last_year = cal->first_year;
	}
	parse_exceptions(&e, r->f[4]);
	cal->exceptions = e.v;
	cal->nexceptions = e.n;
	ck_assert_msg(calendar_compile(cal, err, sizeof(err)), "%s:%d: %s", t->path, r->lineno, err);
	if (path == CALFIX_GENERAL) {
		/* The inputs stay (sorted, years settled); only the tables go. */
		free(cal->tables.block);
		memset(&cal->tables, 0, sizeof(cal->tables));
		cal->tables.ready = true;
	}
}

void calfix_build(const char *id, enum calfix_path path, struct calendar *cal)
{
	struct table t;
	table_load(&t, "calendar_defs.tsv");
	for (int i = 0; i < t.nrows; i++)
		if (strcmp(t.rows[i].f[0], id) == 0) {
			build_row(&t, &t.rows[i], path, cal);
			table_free(&t);
			return;
		}
	table_free(&t);
	ck_abort_msg("test bug: no calendar %s in calendar_defs.tsv", id);
}

void calfix_set(struct calendar_set *set, enum calfix_path path)
{
	struct table t;
	memset(set, 0, sizeof(*set));
	table_load(&t, "calendar_defs.tsv");
	for (int i = 0; i < t.nrows; i++) {
		struct calendar cal;
		build_row(&t, &t.rows[i], path, &cal);
		ck_assert_msg(calendar_set_add(set, &cal), "adding %s", t.rows[i].f[0]);
	}
	table_free(&t);
}

const char *const *calfix_ids(void)
{
	/* Called while suites are built, outside any test: no ck_assert here. */
	static char ids[FIX_MAX_CALS][CAL_ID_MAX + 1];
	static const char *list[FIX_MAX_CALS + 1];
	char path[600];
	int n = 0;
	snprintf(path, sizeof(path), "%s/calendar_defs.tsv", test_cases_dir);
	char *buf = read_file(path, NULL);
	for (char *line = buf, *next; line && *line && n < FIX_MAX_CALS; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		size_t len = strcspn(line, "\t");
		if (line[0] == '#' || line[0] == '\0' || line[len] != '\t' || len > CAL_ID_MAX)
			continue;
		memcpy(ids[n], line, len);
		ids[n][len] = '\0';
		list[n] = ids[n];
		n++;
	}
	free(buf);
	list[n] = NULL;
	return list;
}
