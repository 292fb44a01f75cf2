/* arrays.h - growing the core's dynamic arrays (tickets, partners, output lists). Pure. */
#ifndef SLAD_CORE_ARRAYS_H
#define SLAD_CORE_ARRAYS_H

#include <stdbool.h>
#include <stddef.h>

/* Makes room for `need` elements of `elem` bytes in *arr (capacity *cap),
 * doubling; false when out of memory, with *arr untouched. */
bool array_grow(void **arr, int *cap, int need, size_t elem) __attribute__((warn_unused_result));
bool array_grow_sz(void **arr, size_t *cap, size_t need, size_t elem) __attribute__((warn_unused_result));

#endif
