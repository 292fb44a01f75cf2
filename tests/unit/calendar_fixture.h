/* calendar_fixture.h - the calendars of the calendar tests, built from data
 * files: cases/calendar_defs.tsv, the shipped CN holidays
 * (schema/0002_cn_holidays.sql) and the TZif copies under cases/zoneinfo. */
#ifndef SLAD_TEST_CALENDAR_FIXTURE_H
#define SLAD_TEST_CALENDAR_FIXTURE_H

#include <check.h>
#include <stdbool.h>

#include "slad/calendar.h"

/* How a calendar answers: through its compiled tables, or with the tables
 * dropped so that every query takes the general path. */
enum calfix_path { CALFIX_COMPILED, CALFIX_GENERAL };

/* Builds calendar `id` of calendar_defs.tsv into *cal (aborts the test if
 * it is not there or does not compile). calendar_free it. */
void calfix_build(const char *id, enum calfix_path path, struct calendar *cal);
/* Every calendar of calendar_defs.tsv, in file order, into an empty set. */
void calfix_set(struct calendar_set *set, enum calfix_path path);
/* The ids of calendar_defs.tsv (static storage), NULL-terminated. */
const char *const *calfix_ids(void);

/* cases/zoneinfo, and the path of one zone's file there. */
const char *calfix_zoneinfo_dir(void);
void calfix_zone_path(const char *zone, char *buf, size_t len);

/* glibc's own reading of a zone file (independent of tzload.c): select the
 * zone, ask for the offset (seconds east of UTC) at t (seconds since the
 * epoch), and put the process's TZ back. */
void calfix_glibc_zone(const char *zone);
long calfix_glibc_offset(int64_t t);
void calfix_glibc_restore(void);

/* The shipped CN exceptions, parsed from the migration; *n of them. */
struct cal_exception *calfix_shipped_cn(size_t *n);

/* "2025-03-30" -> days since the epoch; aborts on a typo. */
int64_t calfix_day(const char *ymd);
/* "HH:MM" with 24:00 allowed -> minutes. */
int calfix_minutes(const char *hhmm);

/* More tcases of the "calendar" suite. */
TCase *calendar_tzload_tcase(void); /* test_tzload.c */
TCase *calendar_oracle_tcase(void); /* test_calendar_oracle.c */

#endif
