/* calendar.c - business calendars: local dates, working days, the calendar deadline kinds. Pure. */
#include "slad/calendar.h"

#include <stdlib.h>
#include <string.h>

#define NINE_AM (9 * 60)

void calendar_init_cn(struct calendar *cal)
{
	memset(cal, 0, sizeof(*cal));
	strcpy(cal->id, "CN");
	strcpy(cal->tz, "Asia/Shanghai");
	cal->office_open_min = 8 * 60 + 30;
	cal->office_close_min = 18 * 60;
	cal->offsets = malloc(sizeof(*cal->offsets));
	if (cal->offsets) {
		cal->offsets[0].from = INT64_MIN;
		cal->offsets[0].offset_min = 480;
		cal->noffsets = 1;
	}
}

void calendar_free(struct calendar *cal)
{
	if (!cal)
		return;
	free(cal->exceptions);
	free(cal->offsets);
	cal->exceptions = NULL;
	cal->offsets = NULL;
	cal->nexceptions = cal->noffsets = 0;
}

static int exception_cmp(const void *a, const void *b)
{
	const struct cal_exception *x = a, *y = b;
	return (x->day > y->day) - (x->day < y->day);
}

bool calendar_set_add(struct calendar_set *set, struct calendar *cal)
{
	struct calendar *n = realloc(set->cals, (set->ncals + 1) * sizeof(*n));
	if (!n)
		return false;
	set->cals = n;
	if (cal->nexceptions)
		qsort(cal->exceptions, cal->nexceptions, sizeof(*cal->exceptions), exception_cmp);
	for (size_t i = 0; i < cal->nexceptions; i++) {
		int y;
		unsigned m, d;
		civil_from_days(cal->exceptions[i].day, &y, &m, &d);
		if (cal->first_year == 0 || y < cal->first_year)
			cal->first_year = y;
		if (y > cal->last_year)
			cal->last_year = y;
	}
	set->cals[set->ncals++] = *cal;
	memset(cal, 0, sizeof(*cal));
	return true;
}

const struct calendar *calendar_set_find(const struct calendar_set *set, const char *id)
{
	for (size_t i = 0; set && i < set->ncals; i++)
		if (strcmp(set->cals[i].id, id) == 0)
			return &set->cals[i];
	return NULL;
}

void calendar_set_free(struct calendar_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->ncals; i++)
		calendar_free(&set->cals[i]);
	free(set->cals);
	set->cals = NULL;
	set->ncals = 0;
}

int32_t calendar_offset_at(const struct calendar *cal, sla_time t)
{
	size_t lo = 0, hi = cal->noffsets;
	if (hi == 0)
		return 0;
	/* last entry with from <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->offsets[mid].from <= t)
			lo = mid;
		else
			hi = mid;
	}
	return cal->offsets[lo].offset_min;
}

int64_t calendar_local_day(const struct calendar *cal, sla_time t, int *minute_of_day)
{
	sla_time local = t + (sla_time)calendar_offset_at(cal, t) * SLA_MINUTE;
	int64_t day = floor_div(local, SLA_DAY);
	if (minute_of_day)
		*minute_of_day = (int)((local - day * SLA_DAY) / SLA_MINUTE);
	return day;
}

sla_time calendar_instant(const struct calendar *cal, int64_t day, int minute)
{
	sla_time local = day * SLA_DAY + (sla_time)minute * SLA_MINUTE;
	int32_t off = calendar_offset_at(cal, local);
	sla_time t = local - (sla_time)off * SLA_MINUTE;
	int32_t off2 = calendar_offset_at(cal, t);
	if (off2 != off)
		t = local - (sla_time)off2 * SLA_MINUTE;
	return t;
}

bool calendar_is_working_day(const struct calendar *cal, int64_t day)
{
	size_t lo = 0, hi = cal->nexceptions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->exceptions[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < cal->nexceptions && cal->exceptions[lo].day == day)
		return cal->exceptions[lo].kind == CAL_WORKDAY;
	return weekday_from_days(day) < 5;
}

int64_t calendar_nth_working_day_after(const struct calendar *cal, int64_t day, int n)
{
	while (n > 0) {
		day++;
		if (calendar_is_working_day(cal, day))
			n--;
	}
	return day;
}

sla_time calendar_office_hours_due(const struct calendar *cal, sla_time start, int minutes)
{
	int mod;
	int64_t day = calendar_local_day(cal, start, &mod);
	if (mod >= cal->office_open_min && mod < cal->office_close_min)
		return start + (sla_time)minutes * SLA_MINUTE;
	if (mod < cal->office_open_min)
		return calendar_instant(cal, day, NINE_AM);
	return calendar_instant(cal, day + 1, NINE_AM);
}

sla_time calendar_response_day_due(const struct calendar *cal, sla_time start)
{
	int mod;
	int64_t day = calendar_local_day(cal, start, &mod);
	if (mod < cal->office_open_min)
		return calendar_instant(cal, day, NINE_AM);
	if (mod < cal->office_close_min)
		return calendar_instant(cal, day + 1, 0);
	return calendar_instant(cal, day + 1, NINE_AM);
}

sla_time calendar_working_days_due(const struct calendar *cal, sla_time start, int n)
{
	int64_t day = calendar_local_day(cal, start, NULL);
	return calendar_instant(cal, calendar_nth_working_day_after(cal, day, n) + 1, 0);
}

sla_time calendar_business_minutes_due(const struct calendar *cal, sla_time start, int minutes)
{
	sla_time left = (sla_time)minutes * SLA_MINUTE;
	sla_time t = start;
	int64_t day = calendar_local_day(cal, start, NULL);
	if (minutes <= 0)
		return start;
	for (int guard = 0; guard < 100000; guard++, day++) {
		if (!calendar_is_working_day(cal, day))
			continue;
		sla_time open = calendar_instant(cal, day, cal->office_open_min);
		sla_time close = calendar_instant(cal, day, cal->office_close_min);
		if (t < open)
			t = open;
		if (t >= close)
			continue;
		if (close - t >= left)
			return t + left;
		left -= close - t;
		t = close;
	}
	return t;
}
