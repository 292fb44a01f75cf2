/* test_timeutil.c - suite "timeutil": civil dates, weekdays, RFC 3339, HH:MM and dates. */
#include <check.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "slad/timeutil.h"
#include "suites.h"
#include "table.h"

START_TEST(rfc3339_table)
{
	struct table t;
	table_load(&t, "rfc3339.tsv");
	ck_assert_int_gt(t.nrows, 40);
	for (int i = 0; i < t.nrows; i++) {
		const struct table_row *r = &t.rows[i];
		ck_assert_msg(r->nf == 2, "%s:%d: want 2 fields", t.path, r->lineno);
		const char *in = strcmp(r->f[0], "<empty>") == 0 ? "" : r->f[0];
		sla_time got = 12345;
		bool ok = rfc3339_parse(in, &got);
		if (strcmp(r->f[1], "ERR") == 0) {
			ck_assert_msg(!ok, "%s:%d: \"%s\" accepted as %" PRId64 ", want an error", t.path, r->lineno,
				      in, got);
		} else {
			sla_time want = strtoll(r->f[1], NULL, 10);
			ck_assert_msg(ok, "%s:%d: \"%s\" rejected", t.path, r->lineno, in);
			ck_assert_msg(got == want, "%s:%d: \"%s\": got %" PRId64 ", want %" PRId64, t.path, r->lineno,
				      in, got, want);
		}
	}
	table_free(&t);
}
END_TEST

START_TEST(rfc3339_format_round_trip)
{
	static const struct {
		sla_time t;
		int off;
		const char *want;
	} cases[] = {
		{1741945800000, 480, "2025-03-14T17:50:00+08:00"},
		{1741945800000, 0, "2025-03-14T09:50:00+00:00"},
		{1741945800000, -330, "2025-03-14T04:20:00-05:30"},
		{1741945800123, 480, "2025-03-14T17:50:00.123+08:00"},
		{-1000, 0, "1969-12-31T23:59:59+00:00"},
		{-1, 0, "1969-12-31T23:59:59.999+00:00"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		sla_time back;
		rfc3339_format(cases[i].t, cases[i].off, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].want);
		ck_assert(rfc3339_parse(buf, &back));
		ck_assert_int_eq(back, cases[i].t);
	}
}
END_TEST

START_TEST(civil_table)
{
	struct table t;
	table_load(&t, "civil.tsv");
	for (int i = 0; i < t.nrows; i++) {
		const struct table_row *r = &t.rows[i];
		int64_t day;
		int y;
		unsigned m, d;
		ck_assert_msg(r->nf == 3, "%s:%d: want 3 fields", t.path, r->lineno);
		ck_assert_msg(date_parse(r->f[0], &day), "%s:%d: date_parse(%s)", t.path, r->lineno, r->f[0]);
		ck_assert_msg(day == strtoll(r->f[1], NULL, 10), "%s:%d: %s is day %" PRId64, t.path, r->lineno,
			      r->f[0], day);
		int cy = atoi(r->f[0]);
		unsigned cm = (unsigned)atoi(r->f[0] + 5), cd = (unsigned)atoi(r->f[0] + 8);
		ck_assert_int_eq(days_from_civil(cy, cm, cd), day);
		civil_from_days(day, &y, &m, &d);
		ck_assert_int_eq(y, cy);
		ck_assert_uint_eq(m, cm);
		ck_assert_uint_eq(d, cd);
		ck_assert_msg(weekday_from_days(day) == (unsigned)atoi(r->f[2]), "%s:%d: weekday of %s is %u",
			      t.path, r->lineno, r->f[0], weekday_from_days(day));
	}
	table_free(&t);
}
END_TEST

/* Every day from year 1 to 9999: civil -> days -> civil, consecutive days
 * and weekdays that cycle. */
START_TEST(civil_round_trip_every_day)
{
	int64_t first = days_from_civil(1, 1, 1), last = days_from_civil(9999, 12, 31);
	int py = 0;
	unsigned pm = 0, pd = 0;
	for (int64_t z = first; z <= last; z++) {
		int y;
		unsigned m, d;
		civil_from_days(z, &y, &m, &d);
		if (days_from_civil(y, m, d) != z)
			ck_abort_msg("day %" PRId64 " -> %d-%u-%u -> %" PRId64, z, y, m, d, days_from_civil(y, m, d));
		if (z > first && !((y == py && m == pm && d == pd + 1) || (y == py && m == pm + 1 && d == 1) ||
				   (y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31)))
			ck_abort_msg("%d-%u-%u does not follow %d-%u-%u", y, m, d, py, pm, pd);
		if (weekday_from_days(z) != (weekday_from_days(z - 1) + 1) % 7)
			ck_abort_msg("weekday of day %" PRId64, z);
		py = y, pm = m, pd = d;
	}
}
END_TEST

START_TEST(floor_div_rounds_down)
{
	ck_assert_int_eq(floor_div(999, 1000), 0);
	ck_assert_int_eq(floor_div(1000, 1000), 1);
	ck_assert_int_eq(floor_div(0, 1000), 0);
	ck_assert_int_eq(floor_div(-1, 1000), -1);
	ck_assert_int_eq(floor_div(-1000, 1000), -1);
	ck_assert_int_eq(floor_div(-1001, 1000), -2);
	ck_assert_int_eq(floor_div(7, -2), -4);
}
END_TEST

START_TEST(date_and_hhmm)
{
	int64_t day;
	int min;
	ck_assert(date_parse("2025-04-04", &day));
	ck_assert_int_eq(day, days_from_civil(2025, 4, 4));
	ck_assert(!date_parse("2025-4-04", &day));
	ck_assert(!date_parse("2025-04-31", &day));
	ck_assert(!date_parse("2025-04-04T", &day));
	ck_assert(!date_parse("", &day));

	ck_assert(hhmm_parse("00:00", &min) && min == 0);
	ck_assert(hhmm_parse("08:30", &min) && min == 510);
	ck_assert(hhmm_parse("18:00", &min) && min == 1080);
	ck_assert(hhmm_parse("24:00", &min) && min == 1440);
	ck_assert(!hhmm_parse("24:01", &min));
	ck_assert(!hhmm_parse("25:00", &min));
	ck_assert(!hhmm_parse("08:60", &min));
	ck_assert(!hhmm_parse("8:30", &min));
	ck_assert(!hhmm_parse("08:30:00", &min));
	ck_assert(!hhmm_parse("08-30", &min));
}
END_TEST

Suite *timeutil_suite(void)
{
	Suite *s = suite_create("timeutil");
	TCase *tc = tcase_create("timeutil");
	tcase_add_test(tc, rfc3339_table);
	tcase_add_test(tc, rfc3339_format_round_trip);
	tcase_add_test(tc, civil_table);
	tcase_add_test(tc, civil_round_trip_every_day);
	tcase_add_test(tc, floor_div_rounds_down);
	tcase_add_test(tc, date_and_hhmm);
	suite_add_tcase(s, tc);
	return s;
}
