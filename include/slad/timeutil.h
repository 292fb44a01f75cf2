/* timeutil.h - instants (ms since the Unix epoch, UTC), civil dates, RFC 3339. Pure. */
#ifndef SLAD_TIMEUTIL_H
#define SLAD_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t sla_time; /* milliseconds since 1970-01-01T00:00:00Z */

#define SLA_TIME_NONE INT64_MIN
#define SLA_MINUTE ((sla_time)60000)
#define SLA_HOUR (60 * SLA_MINUTE)
#define SLA_DAY (24 * SLA_HOUR)

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* Days in month m (1-12) of proleptic Gregorian year y. */
unsigned days_in_month(int y, unsigned m);
/* 0 = Monday .. 6 = Sunday */
unsigned weekday_from_days(int64_t z);

/* Floor division that rounds towards minus infinity. */
int64_t floor_div(int64_t a, int64_t b);

/* Parses "2025-03-14T17:50:00+08:00" (also 'Z', fractional seconds). */
bool rfc3339_parse(const char *s, sla_time *out) __attribute__((warn_unused_result));
/* Formats as UTC with offset "+00:00" (or at the given offset in minutes). */
void rfc3339_format(sla_time t, int offset_min, char *buf, size_t len);
/* Parses "YYYY-MM-DD" into days since the epoch. */
bool date_parse(const char *s, int64_t *days) __attribute__((warn_unused_result));
/* Parses "HH:MM" into minutes after midnight. */
bool hhmm_parse(const char *s, int *minutes) __attribute__((warn_unused_result));

#endif
