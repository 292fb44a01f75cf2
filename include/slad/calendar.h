/* calendar.h - business calendars: time zone, office hours, working days. Pure.
 *
 * A calendar is an IANA time zone (given to the core as a table of UTC
 * offsets: the shell reads the tz database, see tzload.h), office hours, and
 * dated HOLIDAY / WORKDAY exceptions for its loaded years. calendar_compile
 * turns it, once at load, into tables over the loaded years: the first
 * instant of every local date, each date's working status with running
 * counts, and the sorted UTC working intervals (office hours of working days)
 * with running business time. Queries inside the loaded years are a binary
 * search plus a short walk in those tables, with no time-zone arithmetic.
 *
 * Local time: the local clock of an instant is UTC + the offset in force
 * (daylight saving included). "Local date D at minute m" as an instant is the
 * first instant at which the local clock reads D m or later: inside a
 * spring-forward gap that is the end of the gap; in a fall-back overlap the
 * first pass. 24:00 of a date is the first instant of the next date.
 *
 * Years outside the loaded ones: a working-day question about a date there is
 * answered Monday-Friday with no exceptions, and the year is remembered once
 * per calendar; the shell takes the new ones with calendar_take_unloaded_years
 * after each batch and logs and counts them. OFFICE_HOURS and RESPONSE_DAY
 * ask no working-day question (they use calendar dates) and never report.
 *
 * Threads: queries write only that per-calendar list of years; a calendar set
 * is used from one thread (the daemon's loop) at a time. */
#ifndef SLAD_CALENDAR_H
#define SLAD_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/timeutil.h"

#define CAL_ID_MAX 32
/* A calendar covers at most this many loaded years. */
#define CAL_MAX_YEARS 200
/* At most this many distinct unloaded years are remembered per calendar. */
#define CAL_UNLOADED_MAX 64

enum cal_exception_kind { CAL_HOLIDAY = 1, CAL_WORKDAY = 2 };

struct cal_exception {
	int64_t day; /* days since the epoch, local date */
	enum cal_exception_kind kind;
};

/* The UTC offset in force from `from` (inclusive) until the next entry's
 * `from`: the compiled form of the calendar's IANA zone. */
struct cal_offset {
	sla_time from;
	int32_t utc_offset_s; /* seconds east of UTC */
};

/* Built by calendar_compile; all arrays live in one allocation (`block`). */
struct cal_tables {
	bool ready;          /* calendar_compile succeeded (maybe with no loaded years) */
	void *block;
	int64_t day0;        /* first local date of the loaded years */
	size_t ndays;        /* 0: nothing compiled, every query takes the general path */
	sla_time *day_start; /* [ndays + 1]: first instant of local date day0 + i */
	sla_time *nine_am;   /* [ndays + 1]: 09:00 local of day0 + i (OFFICE_HOURS, RESPONSE_DAY) */
	int32_t *wcum;       /* [ndays + 1]: working days among day0 .. day0 + i - 1 */
	int32_t *wday;       /* [nwork]: index (from day0) of each working day */
	size_t nwork;
	sla_time *iv_open;   /* [niv]: UTC working intervals [iv_open, iv_close), sorted, */
	sla_time *iv_close;  /*        disjoint, not touching */
	sla_time *iv_cum;    /* [niv + 1]: business ms before interval i */
	size_t niv;
	size_t off_lo, off_hi; /* offsets[off_lo .. off_hi) cover [day_start[0], day_start[ndays]) */
};

struct cal_unloaded; /* the years outside the loaded ones that queries used */

struct calendar {
	char id[CAL_ID_MAX + 1];
	char tz[64];
	int office_open_min;  /* minutes after local midnight, e.g. 510 = 08:30 */
	int office_close_min; /* e.g. 1080 = 18:00; open < close <= 1440 */
	struct cal_exception *exceptions; /* owned; sorted by day, unique (after compiling) */
	size_t nexceptions;
	struct cal_offset *offsets; /* owned; sorted by from; offsets[0].from = INT64_MIN */
	size_t noffsets;
	/* The loaded years. Input to calendar_compile: both 0 = the span of the
	 * exceptions' years (none: no loaded year); both set = these years
	 * (exceptions outside them are an error). */
	int first_year, last_year;
	struct cal_tables tables;       /* owned; built by calendar_compile */
	struct cal_unloaded *unloaded;  /* owned; written by queries (see top) */
};

/* Owns every calendar it holds. */
struct calendar_set {
	struct calendar *cals;
	size_t ncals;
};

/* Built-in `CN` calendar (Asia/Shanghai, 08:30-18:00, a fixed UTC+8 without
 * tz data), no exceptions, not compiled: the core's fallback when no
 * calendar set is loaded. On allocation failure cal->offsets is NULL. */
void calendar_init_cn(struct calendar *cal);
/* Frees what the calendar owns and zeroes the pointers; NULL is fine. */
void calendar_free(struct calendar *cal);

/* Checks the calendar (office hours, offsets, exceptions, years), sorts the
 * exceptions, settles the loaded years and builds the tables; may be called
 * again after the inputs change. false with err set on bad input or no
 * memory; the calendar then stays usable through the general path. */
bool calendar_compile(struct calendar *cal, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Compiles the calendar unless it is already compiled, then moves it into
 * the set (cal is zeroed). On failure (bad calendar, duplicate id, no memory)
 * the caller still owns everything in cal. Pointers to calendars of the set
 * are valid until the next add. */
bool calendar_set_add(struct calendar_set *set, struct calendar *cal) __attribute__((warn_unused_result));
const struct calendar *calendar_set_find(const struct calendar_set *set, const char *id);
void calendar_set_free(struct calendar_set *set);

/* Up to `max` years outside cal's loaded years that queries have used since
 * the previous call, in the order first used; returns how many. Each year is
 * returned once over the calendar's life (a reload builds new calendars,
 * which report afresh); at most CAL_UNLOADED_MAX distinct years are kept.
 * The shell calls it for every calendar of its set after each batch. */
size_t calendar_take_unloaded_years(const struct calendar *cal, int *years, size_t max);

/* The UTC offset (seconds east) in force at t. */
int32_t calendar_utc_offset(const struct calendar *cal, sla_time t);
/* Local date (days since the epoch) and, if asked, minute of day of t. */
int64_t calendar_local_day(const struct calendar *cal, sla_time t, int *minute_of_day);
/* The instant of local date `day` at minute `minute` (0..1440), see top. */
sla_time calendar_instant(const struct calendar *cal, int64_t day, int minute);
bool calendar_is_working_day(const struct calendar *cal, int64_t day);
/* The n-th working day strictly after `day` (n <= 0: `day`). */
int64_t calendar_nth_working_day_after(const struct calendar *cal, int64_t day, int n);

/* Deadline kinds of rules.md section 2 that need the calendar. */
sla_time calendar_office_hours_due(const struct calendar *cal, sla_time start, int minutes);
sla_time calendar_response_day_due(const struct calendar *cal, sla_time start);
/* 24:00 local of the n-th working day strictly after start's local date. */
sla_time calendar_working_days_due(const struct calendar *cal, sla_time start, int n);
/* start + `minutes` counted inside office hours on working days; a start
 * outside them begins at the next opening; minutes <= 0: start. A due time
 * that uses up an interval exactly is that interval's close. */
sla_time calendar_business_minutes_due(const struct calendar *cal, sla_time start, int minutes);
/* Business time (ms) inside [from, to); 0 when to <= from. */
sla_time calendar_business_time_between(const struct calendar *cal, sla_time from, sla_time to);
/* The first instant >= t inside office hours of a working day: t itself when
 * t is inside them. */
sla_time calendar_next_opening(const struct calendar *cal, sla_time t);

#endif
