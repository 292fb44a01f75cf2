/* fuzz_common.h - what every harness shares: the CN calendar and the default
 * policy, built once per process (the harnesses free everything else per input). */
#ifndef SLAD_FUZZ_COMMON_H
#define SLAD_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdlib.h>

#include "slad/calendar.h"

static inline const struct calendar_set *fuzz_calendars(void)
{
	static struct calendar_set cals;
	static bool ready;
	if (!ready) {
		struct calendar cn;
		calendar_init_cn(&cn);
		if (!calendar_set_add(&cals, &cn))
			abort();
		ready = true;
	}
	return &cals;
}

#endif
