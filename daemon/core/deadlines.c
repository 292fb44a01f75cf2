/* deadlines.c - the deadline heap (deadlines.h). Pure. */
#include "deadlines.h"

#include <stdlib.h>

#include "slad/arrays.h"

/* The first compaction: below this many entries stale ones cost nothing. */
#define COMPACT_MIN 4096

void deadlines_init(struct deadlines *h, deadline_live_fn live, const void *ctx)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->compact_at = COMPACT_MIN;
	h->live = live;
	h->ctx = ctx;
}

void deadlines_free(struct deadlines *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

void deadlines_sift_down(struct deadlines *h, size_t i, struct deadline e)
{
	size_t n = h->n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h->v[c + 1].at < h->v[c].at)
			c++;
		if (h->v[c].at >= e.at)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	h->v[i] = e;
}

void deadlines_compact(struct deadlines *h)
{
	size_t k = 0;
	for (size_t i = 0; i < h->n; i++)
		if (h->live(h->ctx, &h->v[i]))
			h->v[k++] = h->v[i];
	h->n = k;
	for (size_t i = k / 2; i-- > 0;)
		deadlines_sift_down(h, i, h->v[i]);
	h->compact_at = 2 * k + COMPACT_MIN;
}

bool deadlines_reserve(struct deadlines *h)
{
	return array_grow_from((void **)&h->v, &h->cap, h->cap + 1, sizeof(*h->v), 256);
}
