/* test_calendar.c - suite "calendar": compiling calendars, local dates, working days, the calendar deadline kinds.
 *
 * Table-driven from cases/calendar_*.tsv; the property test against a
 * minute-by-minute oracle is test_calendar_oracle.c, the tz database reader
 * test_tzload.c (both tcases of this suite). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar_fixture.h"
#include "evbuild.h"
#include "slad/calendar.h"
#include "suites.h"
#include "table.h"

#define D calfix_day

static const char *const path_name[] = {"compiled", "general"};

/* An instant at the calendar's own offset, for messages. */
static const char *fmt_local(const struct calendar *cal, sla_time t)
{
	static char bufs[4][48];
	static unsigned next;
	char *b = bufs[next++ % 4];
	rfc3339_format(t, calendar_utc_offset(cal, t) / 60, b, 48);
	return b;
}

static const char *fmt_day(int64_t day)
{
	static char bufs[4][16];
	static unsigned next;
	char *b = bufs[next++ % 4];
	int y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(b, 16, "%04d-%02u-%02u", y, m, d);
	return b;
}

/* One row of a query file; see the header of calendar_queries.tsv. */
static void run_query_row(const struct table *t, const struct table_row *r, const struct calendar_set *set,
			  enum calfix_path path)
{
	const char *kind = r->f[1], *arg = r->f[2], *start = r->f[3], *want = r->f[4];
	const struct calendar *cal;
	const char *where = path_name[path];

	ck_assert_msg(r->nf == 5, "%s:%d: want 5 fields", t->path, r->lineno);
	cal = calendar_set_find(set, r->f[0]);
	ck_assert_msg(cal != NULL, "%s:%d: no calendar %s", t->path, r->lineno, r->f[0]);
	if (strcmp(kind, "IS_WORKING") == 0) {
		bool got = calendar_is_working_day(cal, D(start));
		ck_assert_msg(got == (strcmp(want, "yes") == 0), "%s:%d (%s): %s %s: got %s", t->path, r->lineno, where,
			      r->f[0], start, got ? "yes" : "no");
		return;
	}
	if (strcmp(kind, "NTH") == 0) {
		int64_t got = calendar_nth_working_day_after(cal, D(start), atoi(arg));
		ck_assert_msg(got == D(want), "%s:%d (%s): %s NTH %s after %s: got %s", t->path, r->lineno, where, r->f[0],
			      arg, start, fmt_day(got));
		return;
	}
	sla_time s = T(start);
	if (strcmp(kind, "LOCAL_DAY") == 0) {
		int64_t got = calendar_local_day(cal, s, NULL);
		ck_assert_msg(got == D(want), "%s:%d (%s): %s local date of %s: got %s", t->path, r->lineno, where,
			      r->f[0], start, fmt_day(got));
		return;
	}
	if (strcmp(kind, "BETWEEN") == 0) {
		sla_time got = calendar_business_time_between(cal, s, T(arg));
		ck_assert_msg(got == (sla_time)atoi(want) * SLA_MINUTE, "%s:%d (%s): %s BETWEEN %s and %s: got %lld ms",
			      t->path, r->lineno, where, r->f[0], start, arg, (long long)got);
		return;
	}
	int amount = atoi(arg);
	sla_time got, due = T(want);
	if (strcmp(kind, "OFFICE_HOURS") == 0)
		got = calendar_office_hours_due(cal, s, amount);
	else if (strcmp(kind, "RESPONSE_DAY") == 0)
		got = calendar_response_day_due(cal, s);
	else if (strcmp(kind, "WORKING_DAYS") == 0)
		got = calendar_working_days_due(cal, s, amount);
	else if (strcmp(kind, "BUSINESS_MINUTES") == 0)
		got = calendar_business_minutes_due(cal, s, amount);
	else if (strcmp(kind, "NEXT_OPENING") == 0)
		got = calendar_next_opening(cal, s);
	else
		ck_abort_msg("%s:%d: unknown query %s", t->path, r->lineno, kind);
	ck_assert_msg(got == due, "%s:%d (%s): %s %s %s from %s: got %s, want %s", t->path, r->lineno, where, r->f[0],
		      kind, arg, start, fmt_local(cal, got), fmt_local(cal, due));
}

static void run_query_file(const char *name, int min_rows)
{
	for (int p = CALFIX_COMPILED; p <= CALFIX_GENERAL; p++) {
		struct table t;
		struct calendar_set set;
		calfix_set(&set, (enum calfix_path)p);
		table_load(&t, name);
		ck_assert_int_ge(t.nrows, min_rows);
		for (int i = 0; i < t.nrows; i++)
			run_query_row(&t, &t.rows[i], &set, (enum calfix_path)p);
		table_free(&t);
		calendar_set_free(&set);
	}
}

START_TEST(due_table)
{
	run_query_file("calendar_due.tsv", 40);
}
END_TEST

START_TEST(query_table)
{
	run_query_file("calendar_queries.tsv", 80);
}
END_TEST

/* The shipped holidays, checked day by day against the notices. */
START_TEST(shipped_cn_days)
{
	struct table t;
	struct calendar cn;
	calfix_build("CN", CALFIX_COMPILED, &cn);
	ck_assert_int_eq(cn.first_year, 2024);
	ck_assert_int_eq(cn.last_year, 2026);
	table_load(&t, "calendar_cn.tsv");
	ck_assert_int_gt(t.nrows, 100);
	for (int i = 0; i < t.nrows; i++) {
		const struct table_row *r = &t.rows[i];
		ck_assert_msg(r->nf == 2, "%s:%d: want 2 fields", t.path, r->lineno);
		bool got = calendar_is_working_day(&cn, D(r->f[0]));
		ck_assert_msg(got == (strcmp(r->f[1], "yes") == 0), "%s:%d: CN %s: got %s", t.path, r->lineno, r->f[0],
			      got ? "working" : "not working");
	}
	table_free(&t);

	/* 2025 as a whole: 365 days - 104 weekend days - 18 holidays on weekdays
	 * (New Year 1, Spring Festival 6, Qingming 1, Labour Day 3, Dragon Boat 1,
	 * October 6) + 5 adjusted working days */
	int n2025 = 0;
	for (int64_t d = D("2025-01-01"); d < D("2026-01-01"); d++)
		n2025 += calendar_is_working_day(&cn, d);
	ck_assert_int_eq(n2025, 365 - 104 - 18 + 5);
	calendar_free(&cn);
}
END_TEST

START_TEST(local_day_and_instant)
{
	struct calendar cn;
	int mod = -1;
	calendar_init_cn(&cn);
	ck_assert_ptr_nonnull(cn.offsets);
	ck_assert_int_eq(calendar_utc_offset(&cn, T("2025-03-14T00:00:00Z")), 8 * 3600);
	/* 16:00Z is midnight of the next local date */
	ck_assert_int_eq(calendar_local_day(&cn, T("2025-03-14T16:00:00Z"), &mod), D("2025-03-15"));
	ck_assert_int_eq(mod, 0);
	ck_assert_int_eq(calendar_local_day(&cn, T("2025-03-14T15:59:59.999Z"), &mod), D("2025-03-14"));
	ck_assert_int_eq(mod, 1439);
	ck_assert_int_eq(calendar_local_day(&cn, T("2025-03-14T17:50:00+08:00"), &mod), D("2025-03-14"));
	ck_assert_int_eq(mod, 17 * 60 + 50);
	/* before the epoch */
	ck_assert_int_eq(calendar_local_day(&cn, T("1969-12-31T23:00:00+08:00"), &mod), -1);
	ck_assert_int_eq(mod, 23 * 60);
	ck_assert_int_eq(calendar_instant(&cn, D("2025-03-14"), 9 * 60), T("2025-03-14T09:00:00+08:00"));
	ck_assert_int_eq(calendar_instant(&cn, D("2025-03-14"), 1440), T("2025-03-15T00:00:00+08:00"));
	ck_assert_int_eq(calendar_instant(&cn, D("2025-03-14"), 0), T("2025-03-13T16:00:00Z"));
	calendar_free(&cn);
	calendar_free(&cn); /* twice is harmless */
	calendar_free(NULL);

	/* Berlin: a time in the spring gap is the end of the gap; in the autumn
	 * overlap, the first pass. The same through the tables and without. */
	for (int p = CALFIX_COMPILED; p <= CALFIX_GENERAL; p++) {
		struct calendar de;
		calfix_build("DE", (enum calfix_path)p, &de);
		ck_assert_int_eq(calendar_instant(&de, D("2025-03-30"), 150), T("2025-03-30T03:00:00+02:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-03-30"), 120), T("2025-03-30T03:00:00+02:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-03-30"), 180), T("2025-03-30T03:00:00+02:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-03-30"), 119), T("2025-03-30T01:59:00+01:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-10-26"), 150), T("2025-10-26T02:30:00+02:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-10-26"), 180), T("2025-10-26T03:00:00+01:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-10-26"), 0), T("2025-10-26T00:00:00+02:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-10-26"), 540), T("2025-10-26T09:00:00+01:00"));
		ck_assert_int_eq(calendar_instant(&de, D("2025-03-30"), 540), T("2025-03-30T09:00:00+02:00"));
		ck_assert_int_eq(calendar_utc_offset(&de, T("2025-03-30T00:59:59.999Z")), 3600);
		ck_assert_int_eq(calendar_utc_offset(&de, T("2025-03-30T01:00:00Z")), 7200);
		ck_assert_int_eq(calendar_utc_offset(&de, T("2025-10-26T00:59:59.999Z")), 7200);
		ck_assert_int_eq(calendar_utc_offset(&de, T("2025-10-26T01:00:00Z")), 3600);
		ck_assert_int_eq(calendar_local_day(&de, T("2025-10-26T00:30:00Z"), &mod), D("2025-10-26"));
		ck_assert_int_eq(mod, 150);
		ck_assert_int_eq(calendar_local_day(&de, T("2025-10-26T01:30:00Z"), &mod), D("2025-10-26"));
		ck_assert_int_eq(mod, 150);
		calendar_free(&de);
	}
}
END_TEST

START_TEST(working_days)
{
	struct calendar_set set;
	calfix_set(&set, CALFIX_COMPILED);
	const struct calendar *cn = calendar_set_find(&set, "CN-PLAIN"), *ex = calendar_set_find(&set, "CN-EX");
	ck_assert_ptr_nonnull(cn);
	ck_assert_ptr_nonnull(ex);
	ck_assert_ptr_null(calendar_set_find(&set, "XX"));
	ck_assert_ptr_null(calendar_set_find(NULL, "CN"));

	/* Mon-Fri, weekends off */
	ck_assert(calendar_is_working_day(cn, D("2025-03-14")));
	ck_assert(!calendar_is_working_day(cn, D("2025-03-15")));
	ck_assert(!calendar_is_working_day(cn, D("2025-03-16")));
	ck_assert(calendar_is_working_day(cn, D("2025-03-17")));
	ck_assert(calendar_is_working_day(cn, D("2025-04-04")));
	/* HOLIDAY on a weekday, WORKDAY on a weekend */
	ck_assert(!calendar_is_working_day(ex, D("2025-04-04")));
	ck_assert(calendar_is_working_day(ex, D("2025-04-03")));
	ck_assert(calendar_is_working_day(ex, D("2025-02-08")));
	ck_assert(calendar_is_working_day(ex, D("2025-04-27")));
	ck_assert(!calendar_is_working_day(ex, D("2025-05-05")));
	ck_assert(calendar_is_working_day(ex, D("2025-05-06")));
	/* exceptions sorted (the fixture lists them unsorted), loaded years settled */
	for (size_t i = 1; i < ex->nexceptions; i++)
		ck_assert_int_lt(ex->exceptions[i - 1].day, ex->exceptions[i].day);
	ck_assert_int_eq(ex->first_year, 2025);
	ck_assert_int_eq(ex->last_year, 2025);
	ck_assert_int_eq(cn->first_year, 2025);

	/* strictly after; n <= 0 is the date itself */
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-03-14"), 1), D("2025-03-17"));
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-03-13"), 1), D("2025-03-14"));
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-03-14"), 15), D("2025-04-04"));
	ck_assert_int_eq(calendar_nth_working_day_after(ex, D("2025-03-14"), 15), D("2025-04-07"));
	ck_assert_int_eq(calendar_nth_working_day_after(ex, D("2025-03-14"), 0), D("2025-03-14"));
	ck_assert_int_eq(calendar_nth_working_day_after(ex, D("2025-03-14"), -3), D("2025-03-14"));
	/* from before the loaded years into them, and out of them */
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2024-12-27"), 3), D("2025-01-01"));
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-12-30"), 3), D("2026-01-02"));
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2024-12-30"), 300), D("2026-02-23"));
	calendar_set_free(&set);
	calendar_set_free(&set);
}
END_TEST

/* calendar.md: a date outside the loaded years counts Monday-Friday and is
 * reported once per calendar and year; OFFICE_HOURS and RESPONSE_DAY do not
 * ask about working days. */
START_TEST(unloaded_years_reported_once)
{
	for (int p = CALFIX_COMPILED; p <= CALFIX_GENERAL; p++) {
		struct calendar cn;
		int years[8];
		calfix_build("CN", (enum calfix_path)p, &cn);
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 8), 0);
		/* inside 2024-2026: nothing */
		(void)calendar_working_days_due(&cn, T("2025-03-14T10:00:00+08:00"), 15);
		(void)calendar_business_minutes_due(&cn, T("2025-12-31T17:30:00+08:00"), 600);
		(void)calendar_business_time_between(&cn, T("2024-01-01T00:00:00+08:00"), T("2027-01-01T00:00:00+08:00"));
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 8), 0);
		/* starting on the last day of 2023 asks nothing about 2023 */
		(void)calendar_working_days_due(&cn, T("2023-12-31T10:00:00+08:00"), 1);
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 8), 0);
		/* calendar dates only */
		(void)calendar_office_hours_due(&cn, T("2031-03-14T19:00:00+08:00"), 30);
		(void)calendar_response_day_due(&cn, T("2031-03-14T19:00:00+08:00"));
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 8), 0);

		ck_assert_int_eq(calendar_working_days_due(&cn, T("2026-12-29T10:00:00+08:00"), 3),
				 T("2027-01-02T00:00:00+08:00"));
		ck_assert_int_eq(calendar_working_days_due(&cn, T("2027-06-01T10:00:00+08:00"), 3),
				 T("2027-06-05T00:00:00+08:00"));
		ck_assert(!calendar_is_working_day(&cn, D("2023-12-31")));
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 8), 2);
		ck_assert_int_eq(years[0], 2027);
		ck_assert_int_eq(years[1], 2023);
		/* once: using them again reports nothing new */
		(void)calendar_business_minutes_due(&cn, T("2027-06-01T10:00:00+08:00"), 6000);
		(void)calendar_next_opening(&cn, T("2023-12-30T10:00:00+08:00"));
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 8), 0);
		/* max bounds each call; the rest comes next time */
		(void)calendar_is_working_day(&cn, D("2030-01-01"));
		(void)calendar_is_working_day(&cn, D("2031-01-01"));
		(void)calendar_business_time_between(&cn, T("2032-06-01T00:00:00+08:00"), T("2032-06-02T00:00:00+08:00"));
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 2), 2);
		ck_assert_int_eq(years[0], 2030);
		ck_assert_int_eq(years[1], 2031);
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 2), 1);
		ck_assert_int_eq(years[0], 2032);
		ck_assert_uint_eq(calendar_take_unloaded_years(&cn, years, 2), 0);
		/* at most CAL_UNLOADED_MAX years are kept */
		for (int y = 3000; y < 3000 + 2 * CAL_UNLOADED_MAX; y++)
			(void)calendar_is_working_day(&cn, days_from_civil(y, 6, 1));
		int total = 0, got;
		while ((got = (int)calendar_take_unloaded_years(&cn, years, 8)) > 0)
			total += got;
		ck_assert_int_eq(total, CAL_UNLOADED_MAX - 5);
		calendar_free(&cn);
	}
	/* the core's built-in fallback has no loaded years at all */
	struct calendar fb;
	int years[4];
	calendar_init_cn(&fb);
	ck_assert_int_eq(calendar_working_days_due(&fb, T("2025-03-14T10:00:00+08:00"), 15),
			 T("2025-04-05T00:00:00+08:00"));
	ck_assert_uint_eq(calendar_take_unloaded_years(&fb, years, 4), 1);
	ck_assert_int_eq(years[0], 2025);
	ck_assert_uint_eq(calendar_take_unloaded_years(NULL, years, 4), 0);
	calendar_free(&fb);
}
END_TEST

static bool compile_with(struct calendar *c, char *err, size_t len)
{
	err[0] = '\0';
	return calendar_compile(c, err, len);
}

START_TEST(compile_checks)
{
	struct calendar c;
	char err[256];
	calfix_build("CN-PLAIN", CALFIX_COMPILED, &c);

	c.office_open_min = 600;
	c.office_close_min = 600;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "office hours"));
	ck_assert(!c.tables.ready);
	/* still usable, through the general path */
	ck_assert(calendar_is_working_day(&c, D("2025-03-14")));
	c.office_close_min = 1441;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	c.office_open_min = 0;
	c.office_close_min = 1440;
	ck_assert(compile_with(&c, err, sizeof(err)));

	/* exceptions: unique days, inside explicit years */
	c.exceptions = calloc(2, sizeof(*c.exceptions));
	ck_assert_ptr_nonnull(c.exceptions);
	c.exceptions[0] = (struct cal_exception){D("2025-05-01"), CAL_HOLIDAY};
	c.exceptions[1] = (struct cal_exception){D("2025-05-01"), CAL_WORKDAY};
	c.nexceptions = 2;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "2025-05-01"));
	c.exceptions[1] = (struct cal_exception){D("2026-05-01"), CAL_HOLIDAY};
	ck_assert(!compile_with(&c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "2026"));
	c.last_year = 2026;
	ck_assert(compile_with(&c, err, sizeof(err)));
	ck_assert(!calendar_is_working_day(&c, D("2026-05-01")));
	c.exceptions[1].kind = (enum cal_exception_kind)7;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	c.exceptions[1].kind = CAL_HOLIDAY;

	/* years: at most CAL_MAX_YEARS, in order */
	c.first_year = 2025;
	c.last_year = 2025 + CAL_MAX_YEARS;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	c.last_year = 2024;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	c.last_year = 2025 + CAL_MAX_YEARS - 1;
	ck_assert(compile_with(&c, err, sizeof(err)));
	ck_assert_uint_eq(c.tables.ndays, (size_t)(days_from_civil(2025 + CAL_MAX_YEARS, 1, 1) - D("2025-01-01")));

	/* offsets: the first from INT64_MIN, then increasing */
	struct cal_offset first = c.offsets[0];
	c.offsets[0].from = 0;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	c.offsets[0] = first;
	c.offsets[0].utc_offset_s = 30 * 3600;
	ck_assert(!compile_with(&c, err, sizeof(err)));
	c.offsets[0] = first;
	ck_assert(calendar_compile(&c, NULL, 0));

	/* a set holds one calendar per id */
	struct calendar_set set = {0};
	struct calendar twin;
	calfix_build("CN-PLAIN", CALFIX_COMPILED, &twin);
	ck_assert(calendar_set_add(&set, &c));
	ck_assert_ptr_null(c.offsets);
	ck_assert(!calendar_set_add(&set, &twin));
	ck_assert_ptr_nonnull(twin.offsets); /* still the caller's */
	calendar_free(&twin);
	calendar_set_free(&set);
}
END_TEST

/* calendar_set_add compiles what is not compiled yet (scenario.c and the
 * core's callers hand in raw calendars). */
START_TEST(set_add_compiles)
{
	struct calendar c;
	struct calendar_set set = {0};
	calendar_init_cn(&c);
	c.exceptions = calloc(1, sizeof(*c.exceptions));
	ck_assert_ptr_nonnull(c.exceptions);
	c.exceptions[0] = (struct cal_exception){D("2025-04-04"), CAL_HOLIDAY};
	c.nexceptions = 1;
	ck_assert(!c.tables.ready);
	ck_assert(calendar_set_add(&set, &c));
	const struct calendar *cn = calendar_set_find(&set, "CN");
	ck_assert_ptr_nonnull(cn);
	ck_assert(cn->tables.ready);
	ck_assert_uint_eq(cn->tables.ndays, 365);
	ck_assert_int_eq(calendar_working_days_due(cn, T("2025-03-14T10:00:00+08:00"), 15),
			 T("2025-04-08T00:00:00+08:00"));
	calendar_set_free(&set);

	/* a bad calendar stays with the caller */
	calendar_init_cn(&c);
	c.office_open_min = 2000;
	ck_assert(!calendar_set_add(&set, &c));
	ck_assert_uint_eq(set.ncals, 0);
	calendar_free(&c);
}
END_TEST

Suite *calendar_suite(void)
{
	Suite *s = suite_create("calendar");
	TCase *tc = tcase_create("calendar");
	tcase_add_test(tc, due_table);
	tcase_add_test(tc, query_table);
	tcase_add_test(tc, shipped_cn_days);
	tcase_add_test(tc, local_day_and_instant);
	tcase_add_test(tc, working_days);
	tcase_add_test(tc, unloaded_years_reported_once);
	tcase_add_test(tc, compile_checks);
	tcase_add_test(tc, set_add_compiles);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, calendar_tzload_tcase());
	suite_add_tcase(s, calendar_oracle_tcase());
	return s;
}
