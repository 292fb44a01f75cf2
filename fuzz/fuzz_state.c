/* fuzz_state.c - a saved state row into restore: the first byte chooses a
 * ticket (even: sla.ticket_state, core_restore) or a partner (odd:
 * sla.partner_state, partners_restore); the rest is the row's bytes. What
 * restores is exercised: its timers run to the end of the bounds, and the
 * tickets or partners they touch are encoded again. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "slad/core.h"
#include "slad/scoring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_ticket(const uint8_t *buf, size_t len)
{
	struct sla_core *core = core_new(policy_defaults(), fuzz_calendars());
	struct sla_out out;
	if (!core)
		abort();
	core_out_init(&out);
	if (core_restore(core, buf, len)) {
		core_advance(core, (sla_time)1767225600000, &out); /* 2026-01-01 */
		core_advance(core, SLA_TIME_MAX + 3660 * SLA_DAY, &out);
		for (size_t i = 0; i < out.ndirty; i++) {
			uint8_t *again = NULL;
			size_t n = 0;
			if (ticket_encode(out.dirty[i], &again, &n))
				free(again);
		}
	}
	core_out_free(&out);
	core_free(core);
}

static void run_partner(const uint8_t *buf, size_t len)
{
	struct partners *ps = partners_new(0);
	struct partners_out out;
	if (!ps)
		abort();
	partners_out_init(&out);
	if (partners_restore(ps, buf, len)) {
		partners_advance(ps, (sla_time)1767225600000, &out);
		partners_advance(ps, SLA_TIME_MAX + 3660 * SLA_DAY, &out);
		for (size_t i = 0; i < out.ndirty; i++) {
			uint8_t *again = NULL;
			size_t n = 0;
			if (partner_encode(out.dirty[i], &again, &n))
				free(again);
		}
	}
	partners_out_free(&out);
	partners_free(ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		run_partner(data + 1, size - 1);
	else
		run_ticket(data + 1, size - 1);
	return 0;
}
