/* tzload.h - the system time-zone database (TZif files, RFC 8536) read into
 * the UTC offset table a calendar is compiled from.
 *
 * Shell side: this module reads files; the core only ever sees the table.
 * Leap-second ("right/") files are refused. Rules in a file's footer (the
 * POSIX TZ string that governs times after the last listed transition) are
 * expanded into explicit transitions through TZLOAD_LAST_YEAR; after that
 * the last offset stays in force. */
#ifndef SLAD_TZLOAD_H
#define SLAD_TZLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/calendar.h"

#define TZLOAD_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZLOAD_LAST_YEAR 2200
/* A zone file larger than this is refused (real ones are below 4 KiB). */
#define TZLOAD_MAX_FILE (1024 * 1024)

/* The offsets of zone `name` ("Europe/Berlin") from directory `dir` (NULL:
 * $TZDIR if set, else TZLOAD_DEFAULT_DIR). On success *out (malloc'ed, the
 * caller frees it or hands it to a struct calendar) holds *n entries sorted by
 * `from`, the first with from == INT64_MIN, no two neighbours with the same
 * offset. On failure *out is NULL and err says why. */
bool tzload_zone(const char *dir, const char *name, struct cal_offset **out, size_t *n, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The same from the bytes of a TZif file. */
bool tzload_parse(const unsigned char *buf, size_t len, struct cal_offset **out, size_t *n, char *err,
		  size_t errlen) __attribute__((warn_unused_result));

/* The offsets a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3", the TZif
 * footer) gives for local years first_year..last_year: its standard offset
 * from INT64_MIN, then every transition of those years. */
bool tzload_posix(const char *tz, int first_year, int last_year, struct cal_offset **out, size_t *n, char *err,
		  size_t errlen) __attribute__((warn_unused_result));

#endif
