/* check.h - what the core's field checks share (event_check.c for work
 * orders and clock-ins, assessment_check.c for assessments): inside a function with
 * `char *detail, size_t detail_len` that returns an enum sla_verdict. Pure. */
#ifndef SLAD_CORE_CHECK_H
#define SLAD_CORE_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "slad/core.h"

/* The field is absent: MISSING_FIELD, "missing field NAME". */
#define MISSING(field)                                                   \
	do {                                                             \
		snprintf(detail, detail_len, "missing field %s", field); \
		return SV_MISSING_FIELD;                                 \
	} while (0)
/* The field is there but out of its domain: BAD_VALUE, a printf message naming it. */
#define BAD(...)                                            \
	do {                                                \
		snprintf(detail, detail_len, __VA_ARGS__); \
		return SV_BAD_VALUE;                        \
	} while (0)

static inline bool id_missing(const char *s)
{
	return !s || !s[0];
}

static inline bool id_too_long(const char *s)
{
	return s && strlen(s) > SLA_ID_MAX;
}

#endif
