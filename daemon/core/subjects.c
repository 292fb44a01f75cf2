/* subjects.c - an engine half's subjects, deadline heap and clock. Pure. */
#include "subjects.h"

bool subjects_init(struct subjects *s, size_t nslots, size_t key_off, deadline_live_fn live, const void *ctx)
{
	deadlines_init(&s->timers, live, ctx);
	s->now = SLA_TIME_NONE;
	return idtable_init(&s->table, nslots, key_off);
}

void subjects_free(struct subjects *s, void (*item_free)(void *item))
{
	idtable_free(&s->table, item_free);
	deadlines_free(&s->timers);
}
