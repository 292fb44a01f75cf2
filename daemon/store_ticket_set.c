/* store_ticket_set.c - a set of ticket ids: the tickets whose rows were
 * written (batch_build's fresh); open addressing, FNV-1a. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static uint64_t fnv1a(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

bool ticket_set_add(struct ticket_set *set, const char *id, bool *added)
{
	*added = false;
	if (2 * (set->n + 1) > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1024;
		char **keys = calloc(cap, sizeof *keys);

		if (keys == NULL)
			return false;
		for (size_t i = 0; i < set->cap; i++) {
			if (set->keys[i] == NULL)
				continue;
			size_t j = fnv1a(set->keys[i]) & (cap - 1);
			while (keys[j] != NULL)
				j = (j + 1) & (cap - 1);
			keys[j] = set->keys[i];
		}
		free((void *)set->keys);
		set->keys = keys;
		set->cap = cap;
	}
	size_t j = fnv1a(id) & (set->cap - 1);
	while (set->keys[j] != NULL) {
		if (strcmp(set->keys[j], id) == 0)
			return true;
		j = (j + 1) & (set->cap - 1);
	}
	set->keys[j] = strdup(id);
	if (set->keys[j] == NULL)
		return false;
	set->n++;
	*added = true;
	return true;
}

void ticket_set_free(struct ticket_set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->keys[i]);
	free((void *)set->keys);
	memset(set, 0, sizeof *set);
}
