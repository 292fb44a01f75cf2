/* bench_util.h - small helpers the benchmark tools share (header only: each tool is one file). */
#ifndef SLAD_BENCH_UTIL_H
#define SLAD_BENCH_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* A whole decimal number of at least min, the whole string. */
static inline bool parse_i64(const char *s, int64_t min, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min)
		return false;
	*out = v;
	return true;
}

#endif
