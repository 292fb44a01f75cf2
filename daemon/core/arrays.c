/* arrays.c - growing the core's dynamic arrays. Pure. */
#include "arrays.h"

#include <stdlib.h>

/* Up to four entries the capacity is exactly what is needed, then it
 * doubles: most of a ticket's arrays (milestones, violations, clock-ins)
 * hold one to four entries for its whole life, and a million open tickets
 * pay for every spare slot (B3). */
bool array_grow(void **arr, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return true;
	int ncap = need <= 4 ? need : (*cap > 4 ? *cap * 2 : 8);
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
