/* calendar.h - business calendars: time zone, office hours, working days. Pure.
 *
 * A calendar is compiled at load into per-year tables; queries never call
 * the C library's time-zone functions. */
#ifndef SLAD_CALENDAR_H
#define SLAD_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/timeutil.h"

#define CAL_ID_MAX 32

enum cal_exception_kind { CAL_HOLIDAY = 1, CAL_WORKDAY = 2 };

struct cal_exception {
	int64_t day; /* days since the epoch, local date */
	enum cal_exception_kind kind;
};

/* A UTC offset in force from `from` (inclusive) on: the compiled form of the
 * calendar's IANA zone. */
struct cal_offset {
	sla_time from;
	int32_t offset_min;
};

struct calendar {
	char id[CAL_ID_MAX + 1];
	char tz[64];
	int office_open_min;  /* minutes after local midnight, e.g. 510 = 08:30 */
	int office_close_min; /* e.g. 1080 = 18:00 */
	struct cal_exception *exceptions; /* sorted by day, unique */
	size_t nexceptions;
	struct cal_offset *offsets; /* sorted by from; offsets[0].from = INT64_MIN */
	size_t noffsets;
	int first_year, last_year; /* years with loaded exceptions; 0 = none */
};

/* Owns every calendar it holds. */
struct calendar_set {
	struct calendar *cals;
	size_t ncals;
};

/* Built-in `CN` calendar (Asia/Shanghai, 08:30-18:00, UTC+8 without DST),
 * without holidays: the database copy with exceptions replaces it. */
void calendar_init_cn(struct calendar *cal);
void calendar_free(struct calendar *cal);
/* Takes ownership of exceptions (sorted here) and offsets on success only;
 * on failure the caller still owns them. */
bool calendar_set_add(struct calendar_set *set, struct calendar *cal) __attribute__((warn_unused_result));
const struct calendar *calendar_set_find(const struct calendar_set *set, const char *id);
void calendar_set_free(struct calendar_set *set);

int32_t calendar_offset_at(const struct calendar *cal, sla_time t);
/* Local date (days since the epoch) and minute of day of an instant. */
int64_t calendar_local_day(const struct calendar *cal, sla_time t, int *minute_of_day);
/* The instant of local date `day` at minute `minute` (0..1440). */
sla_time calendar_instant(const struct calendar *cal, int64_t day, int minute);
bool calendar_is_working_day(const struct calendar *cal, int64_t day);
/* The n-th working day strictly after `day`. */
int64_t calendar_nth_working_day_after(const struct calendar *cal, int64_t day, int n);

/* Deadline kinds of rules.md section 2 that need the calendar. */
sla_time calendar_office_hours_due(const struct calendar *cal, sla_time start, int minutes);
sla_time calendar_response_day_due(const struct calendar *cal, sla_time start);
sla_time calendar_working_days_due(const struct calendar *cal, sla_time start, int n);
sla_time calendar_business_minutes_due(const struct calendar *cal, sla_time start, int minutes);

#endif
