/* merge.c - the event-time merge of a partition's work-order and clock-in topics (merge.h). */
#include "merge.h"

enum merge_take merge_next(const struct merge_side *wo, const struct merge_side *ci, size_t max_wait)
{
	bool wo_has = wo->assigned && wo->waiting > 0, ci_has = ci->assigned && ci->waiting > 0;
	if (wo_has && ci_has)
		return ci->head_at < wo->head_at ? MERGE_CLOCKIN : MERGE_WORKORDER;
	if (wo_has && (!ci->assigned || ci->eof || wo->waiting > max_wait))
		return MERGE_WORKORDER;
	if (ci_has && (!wo->assigned || wo->eof || ci->waiting > max_wait))
		return MERGE_CLOCKIN;
	return MERGE_NONE;
}
