/* deadlines.h - the one deadline heap of the core: a binary min-heap of
 * instants, each naming its subject (a ticket's milestone, violation, held
 * event or attendance day; a partner). Pure.
 *
 * Entries go stale when what they were armed for changes (a milestone met,
 * a deadline moved, a partner re-armed earlier): lazy deletion. The owner
 * says which entries are live; when the heap has doubled since the last
 * compaction the stale ones are dropped and the heap rebuilt (amortised
 * O(1) a push, at most about half the entries stale). Popping returns stale
 * entries too: the owner skips them. */
#ifndef SLAD_CORE_DEADLINES_H
#define SLAD_CORE_DEADLINES_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/timeutil.h"

struct sla_ticket;
struct partner;

struct deadline {
	sla_time at;
	union {
		struct sla_ticket *ticket;
		struct partner *partner;
	} subject; /* which one: kind */
	int idx;   /* the subject's milestone, violation or held-event index */
	int kind;  /* the owner's kinds (core_internal.h enum timer_kind) */
};

typedef bool (*deadline_live_fn)(const void *ctx, const struct deadline *e);

struct deadlines {
	struct deadline *v;
	size_t n, cap;
	size_t compact_at; /* n that triggers dropping stale entries */
	deadline_live_fn live;
	const void *ctx;
};

void deadlines_init(struct deadlines *h, deadline_live_fn live, const void *ctx);
void deadlines_free(struct deadlines *h);
/* Out of line, rare: drop the stale entries; make room for one more. */
void deadlines_compact(struct deadlines *h);
bool deadlines_reserve(struct deadlines *h) __attribute__((warn_unused_result));
void deadlines_sift_down(struct deadlines *h, size_t i, struct deadline e);

/* Inline (every event pushes a few, every timer pops one: B2 counts them).
 * False: out of memory, the heap unchanged. */
static inline __attribute__((warn_unused_result)) bool deadlines_push(struct deadlines *h, const struct deadline *e)
{
	if (h->n >= h->compact_at && h->live)
		deadlines_compact(h);
	if (h->n == h->cap && !deadlines_reserve(h))
		return false;
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h->v[p].at <= e->at)
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = *e;
	return true;
}

/* The earliest entry; the heap must not be empty. */
static inline struct deadline deadlines_pop(struct deadlines *h)
{
	struct deadline top = h->v[0];
	struct deadline last = h->v[--h->n];
	if (h->n)
		deadlines_sift_down(h, 0, last);
	return top;
}

static inline bool deadlines_due(const struct deadlines *h, sla_time now)
{
	return h->n > 0 && h->v[0].at <= now;
}

static inline sla_time deadlines_next(const struct deadlines *h)
{
	return h->n ? h->v[0].at : SLA_TIME_NONE;
}

#endif
