/* arrays.c - growing the core's dynamic arrays. Pure. */
#include "arrays.h"

#include <stdlib.h>

/* The first allocation is exactly what is needed: most of a ticket's arrays
 * (milestones, violations, clock-ins) hold one to three entries for its
 * whole life, and a million open tickets pay for every spare slot (B3). */
bool array_grow(void **arr, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return true;
	int ncap = *cap ? *cap * 2 : need;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, (size_t)ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

bool array_grow_sz(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}
