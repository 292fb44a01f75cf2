/* subjects.h - what each half of an engine holds (engine.h): its subjects
 * (tickets, partners) by id, the heap of their deadlines and its processing
 * clock. Pure. */
#ifndef SLAD_CORE_SUBJECTS_H
#define SLAD_CORE_SUBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlines.h"
#include "idtable.h"

struct subjects {
	struct idtable table;    /* the subjects by id (each holds its id at key_off) */
	struct deadlines timers; /* entries name their subject; `live` drops stale ones */
	sla_time now;            /* the processing clock; SLA_TIME_NONE before the first event */
};

/* An empty set of nslots (a power of two); false: out of memory, nothing to free. */
bool subjects_init(struct subjects *s, size_t nslots, size_t key_off, deadline_live_fn live, const void *ctx)
	__attribute__((warn_unused_result));
/* Frees every subject (item_free) and the table and heap. */
void subjects_free(struct subjects *s, void (*item_free)(void *item));

/* Moves the clock to `now` if that is later. */
static inline void subjects_clock(struct subjects *s, sla_time now)
{
	if (s->now == SLA_TIME_NONE || now > s->now)
		s->now = now;
}

#endif
