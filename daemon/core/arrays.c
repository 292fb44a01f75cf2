/* arrays.c - growing dynamic arrays. Pure. */
#include "slad/arrays.h"

#include <stdlib.h>
#include <string.h>

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

bool array_grow_from(void **arr, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : first;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

bool array_grow_sz(void **arr, size_t *cap, size_t need, size_t elem)
{
	return array_grow_from(arr, cap, need, elem, 16);
}

void *array_insert(void **arr, int *n, int *cap, int at, size_t elem)
{
	if (!array_grow(arr, cap, *n + 1, elem))
		return NULL;
	unsigned char *slot = (unsigned char *)*arr + (size_t)at * elem;
	memmove(slot + elem, slot, (size_t)(*n - at) * elem);
	memset(slot, 0, elem);
	(*n)++;
	return slot;
}
