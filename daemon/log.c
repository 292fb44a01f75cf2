/* log.c - leveled logging to stderr, one line per message, with a syslog priority prefix for journald. */
#include "slad/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = LOG_LVL_INFO;

bool log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	return false;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = {"debug", "info", "warn", "error"};
	static const int prio[] = {7, 6, 4, 3}; /* sd-daemon.h <N> prefixes */
	char line[2048];
	va_list ap;
	if (lvl < log_min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (isatty(STDERR_FILENO) || getenv("INVOCATION_ID") == NULL) {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: %s\n", when, ts.tv_nsec / 1000000, tag[lvl], line);
	} else {
		fprintf(stderr, "<%d>%s: %s\n", prio[lvl], tag[lvl], line);
	}
}
