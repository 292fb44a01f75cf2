/* fuzz_events.c - protobuf bytes into the core's raw entry point, several
 * messages per input so that ticket and partner state builds up.
 *
 * Input: a sequence of [u16 little-endian length][that many bytes]; each part
 * is one Kafka message value. The processing clock is the largest valid
 * occurred_at so far (as a replay's); work orders and clock-ins go through
 * core_apply_raw, assessments through partners_apply, as the daemon does.
 * At the end the clock runs 400 days on so that every timer fires. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "slad/core.h"
#include "slad/scoring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sla_core *core = core_new(policy_defaults(), fuzz_calendars());
	struct partners *ps = partners_new(0);
	struct sla_out out;
	struct partners_out pout;
	sla_time clock = SLA_TIME_NONE;
	size_t pos = 0;
	int64_t offset = 0;

	if (!core || !ps)
		abort();
	core_out_init(&out);
	partners_out_init(&pout);
	while (pos + 2 <= size) {
		size_t n = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		const uint8_t *msg = data + pos;
		pos += n;

		char detail[256];
		Slad__V1__Event *ev = NULL;
		enum sla_verdict v = event_decode(msg, n, &ev, detail, sizeof(detail));
		if (v == SV_APPLIED && sla_instant_ok(ev->occurred_at) && (clock == SLA_TIME_NONE || ev->occurred_at > clock))
			clock = ev->occurred_at;
		sla_time now = clock == SLA_TIME_NONE ? SLA_TIME_MIN : clock;
		if (v == SV_APPLIED && ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT) {
			v = event_check(ev, detail, sizeof(detail));
			if (v == SV_APPLIED)
				(void)partners_apply(ps, ev, now, &pout, detail, sizeof(detail));
		} else {
			struct sla_origin origin = {"fsm.workorders", 0, offset, msg, n, 0};
			(void)core_apply_raw(core, &origin, now, &out);
		}
		offset++;
		if (ev)
			sla_event_free(ev);
		core_out_clear(&out);
		partners_out_clear(&pout);
	}
	if (clock != SLA_TIME_NONE) {
		core_advance(core, clock + 400 * SLA_DAY, &out);
		partners_advance(ps, clock + 400 * SLA_DAY, &pout);
	}
	core_out_free(&out);
	partners_out_free(&pout);
	core_free(core);
	partners_free(ps);
	return 0;
}
