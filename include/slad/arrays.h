/* arrays.h - growing dynamic arrays: the core's (tickets, partners, output
 * lists) and the shell's and tools' buffers. Pure, no dependencies. */
#ifndef SLAD_ARRAYS_H
#define SLAD_ARRAYS_H

#include <stdbool.h>
#include <stddef.h>

/* Makes room for `need` elements of `elem` bytes in *arr (capacity *cap),
 * doubling; false when out of memory, with *arr untouched. */
bool array_grow(void **arr, int *cap, int need, size_t elem) __attribute__((warn_unused_result));
bool array_grow_sz(void **arr, size_t *cap, size_t need, size_t elem) __attribute__((warn_unused_result));
/* The same with the first capacity chosen by the caller (what a typical user
 * needs, or a malloc size class); array_grow_sz starts at 16. */
bool array_grow_from(void **arr, size_t *cap, size_t need, size_t elem, size_t first)
	__attribute__((warn_unused_result));

/* Grows the array of *n elements by one at index `at` (0..*n), moving the
 * ones from `at` up; the new element is zeroed. NULL when out of memory,
 * with the array untouched. */
void *array_insert(void **arr, int *n, int *cap, int at, size_t elem) __attribute__((warn_unused_result));

#endif
