/* merge.h - the event-time merge of a partition's two input topics: which
 * waiting message the partition applies next. Pure (no Kafka): intake.c
 * feeds it, tests/shell/test_merge.c checks it. */
#ifndef SLAD_MERGE_H
#define SLAD_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/timeutil.h"

/* One topic of the partition, as the intake sees it now. */
struct merge_side {
	bool assigned;    /* this instance consumes the topic's partition */
	size_t waiting;   /* messages consumed and not yet applied */
	sla_time head_at; /* the first waiting message's occurred_at (INT64_MIN: it did not decode) */
	bool eof;         /* the partition was at its end at the last look */
};

enum merge_take { MERGE_NONE, MERGE_WORKORDER, MERGE_CLOCKIN };

/* Both topics have a message waiting: the earlier goes first (a tie: the
 * work order). One has: it goes if the other cannot deliver an earlier one
 * (not assigned here, or at its end), or if more than max_wait wait behind
 * it (the other topic is stalled; lateness rules take over). MERGE_NONE:
 * wait for more messages. */
enum merge_take merge_next(const struct merge_side *wo, const struct merge_side *ci, size_t max_wait);

#endif
