/* test_calendar.c - suite "calendar": local dates, working days, the calendar deadline kinds. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/calendar.h"
#include "suites.h"
#include "table.h"

static int64_t D(const char *ymd)
{
	int64_t d;
	if (!date_parse(ymd, &d))
		ck_abort_msg("test bug: bad date %s", ymd);
	return d;
}

/* CN plus the exceptions calendar_due.tsv calls CN-EX. */
static void cn_ex(struct calendar_set *set)
{
	static const char *const holidays[] = {"2025-05-05", "2025-04-04", "2025-05-01", "2025-05-02",
					       "2025-05-03", "2025-05-04"};
	static const char *const workdays[] = {"2025-04-27", "2025-02-08"};
	struct calendar c;
	size_t n = 0;
	calendar_init_cn(&c);
	strcpy(c.id, "CN-EX");
	c.exceptions = calloc(8, sizeof(*c.exceptions));
	ck_assert_ptr_nonnull(c.exceptions);
	/* deliberately unsorted: calendar_set_add sorts */
	for (size_t i = 0; i < sizeof(holidays) / sizeof(holidays[0]); i++)
		c.exceptions[n++] = (struct cal_exception){D(holidays[i]), CAL_HOLIDAY};
	for (size_t i = 0; i < sizeof(workdays) / sizeof(workdays[0]); i++)
		c.exceptions[n++] = (struct cal_exception){D(workdays[i]), CAL_WORKDAY};
	c.nexceptions = n;
	ck_assert(calendar_set_add(set, &c));
}

static void two_calendars(struct calendar_set *set)
{
	struct calendar c;
	memset(set, 0, sizeof(*set));
	calendar_init_cn(&c);
	ck_assert(calendar_set_add(set, &c));
	cn_ex(set);
}

START_TEST(due_table)
{
	struct table t;
	struct calendar_set set;
	two_calendars(&set);
	table_load(&t, "calendar_due.tsv");
	ck_assert_int_gt(t.nrows, 40);
	for (int i = 0; i < t.nrows; i++) {
		const struct table_row *r = &t.rows[i];
		ck_assert_msg(r->nf == 5, "%s:%d: want 5 fields", t.path, r->lineno);
		const struct calendar *cal = calendar_set_find(&set, r->f[0]);
		ck_assert_msg(cal != NULL, "%s:%d: no calendar %s", t.path, r->lineno, r->f[0]);
		int amount = atoi(r->f[2]);
		sla_time start = T(r->f[3]), want = T(r->f[4]), got;
		if (strcmp(r->f[1], "OFFICE_HOURS") == 0)
			got = calendar_office_hours_due(cal, start, amount);
		else if (strcmp(r->f[1], "RESPONSE_DAY") == 0)
			got = calendar_response_day_due(cal, start);
		else if (strcmp(r->f[1], "WORKING_DAYS") == 0)
			got = calendar_working_days_due(cal, start, amount);
		else if (strcmp(r->f[1], "BUSINESS_MINUTES") == 0)
			got = calendar_business_minutes_due(cal, start, amount);
		else
			ck_abort_msg("%s:%d: unknown kind %s", t.path, r->lineno, r->f[1]);
		ck_assert_msg(got == want, "%s:%d: %s %s %d from %s: got %s, want %s", t.path, r->lineno, r->f[0],
			      r->f[1], amount, r->f[3], fmt8(got), fmt8(want));
	}
	table_free(&t);
	calendar_set_free(&set);
}
END_TEST

START_TEST(local_day_and_instant)
{
	struct calendar cn;
	int mod = -1;
	calendar_init_cn(&cn);
	ck_assert_int_eq(calendar_offset_at(&cn, T("2025-03-14T00:00:00Z")), 480);
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
}
END_TEST

START_TEST(working_days)
{
	struct calendar_set set;
	two_calendars(&set);
	const struct calendar *cn = calendar_set_find(&set, "CN"), *ex = calendar_set_find(&set, "CN-EX");
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
	/* exceptions sorted, loaded years known */
	for (size_t i = 1; i < ex->nexceptions; i++)
		ck_assert_int_lt(ex->exceptions[i - 1].day, ex->exceptions[i].day);
	ck_assert_int_eq(ex->first_year, 2025);
	ck_assert_int_eq(ex->last_year, 2025);
	ck_assert_int_eq(cn->first_year, 0);

	/* strictly after */
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-03-14"), 1), D("2025-03-17"));
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-03-13"), 1), D("2025-03-14"));
	ck_assert_int_eq(calendar_nth_working_day_after(cn, D("2025-03-14"), 15), D("2025-04-04"));
	ck_assert_int_eq(calendar_nth_working_day_after(ex, D("2025-03-14"), 15), D("2025-04-07"));
	calendar_set_free(&set);
	calendar_set_free(&set);
}
END_TEST

/* calendar.md: local time "with its daylight-saving rules". A zone at +01:00
 * that moves to +02:00 at 2025-03-30T01:00Z (like Europe/Berlin). */
START_TEST(daylight_saving_offsets)
{
	struct calendar c;
	memset(&c, 0, sizeof(c));
	strcpy(c.id, "DE");
	strcpy(c.tz, "Europe/Berlin");
	c.office_open_min = 8 * 60 + 30;
	c.office_close_min = 18 * 60;
	c.offsets = calloc(2, sizeof(*c.offsets));
	ck_assert_ptr_nonnull(c.offsets);
	c.offsets[0] = (struct cal_offset){INT64_MIN, 60};
	c.offsets[1] = (struct cal_offset){T("2025-03-30T01:00:00Z"), 120};
	c.noffsets = 2;

	ck_assert_int_eq(calendar_offset_at(&c, T("2025-03-30T00:59:59Z")), 60);
	ck_assert_int_eq(calendar_offset_at(&c, T("2025-03-30T01:00:00Z")), 120);
	ck_assert_int_eq(calendar_instant(&c, D("2025-03-28"), 9 * 60), T("2025-03-28T09:00:00+01:00"));
	ck_assert_int_eq(calendar_instant(&c, D("2025-03-31"), 9 * 60), T("2025-03-31T09:00:00+02:00"));
	/* Fri 28 March + 1 working day = Mon 31 March, due 24:00 local (+02:00) */
	ck_assert_int_eq(calendar_working_days_due(&c, T("2025-03-28T12:00:00+01:00"), 1),
			 T("2025-04-01T00:00:00+02:00"));
	/* 18:00 local on Sat 29 (+01:00): 09:00 local on Sun 30 (+02:00) */
	ck_assert_int_eq(calendar_office_hours_due(&c, T("2025-03-29T18:00:00+01:00"), 30),
			 T("2025-03-30T09:00:00+02:00"));
	calendar_free(&c);
}
END_TEST

Suite *calendar_suite(void)
{
	Suite *s = suite_create("calendar");
	TCase *tc = tcase_create("calendar");
	tcase_add_test(tc, due_table);
	tcase_add_test(tc, local_day_and_instant);
	tcase_add_test(tc, working_days);
	tcase_add_test(tc, daylight_saving_offsets);
	suite_add_tcase(s, tc);
	return s;
}
