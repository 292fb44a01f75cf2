/* idtable.c - items by string id (idtable.h). Pure. */
#include "idtable.h"

#include <stdlib.h>
#include <string.h>

static const char *key_of(const struct idtable *t, const void *item)
{
	return (const char *)item + t->key_off;
}

bool idtable_init(struct idtable *t, size_t nslots, size_t key_off)
{
	t->slots = calloc(nslots, sizeof(*t->slots));
	t->nslots = t->slots ? nslots : 0;
	t->count = 0;
	t->key_off = key_off;
	return t->slots != NULL;
}

void idtable_free(struct idtable *t, void (*item_free)(void *item))
{
	for (size_t i = 0; item_free && i < t->nslots; i++)
		if (t->slots[i])
			item_free(t->slots[i]);
	free(t->slots);
	t->slots = NULL;
	t->nslots = t->count = 0;
}

static void slot_insert(const struct idtable *t, void **slots, size_t nslots, void *item)
{
	size_t mask = nslots - 1;
	size_t i = id_hash(key_of(t, item)) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = item;
}

bool idtable_put(struct idtable *t, void *item)
{
	if ((t->count + 1) * 10 > t->nslots * 7) {
		size_t n = t->nslots ? t->nslots * 2 : 64;
		void **slots = calloc(n, sizeof(*slots));
		if (!slots)
			return false;
		for (size_t i = 0; i < t->nslots; i++)
			if (t->slots[i])
				slot_insert(t, slots, n, t->slots[i]);
		free(t->slots);
		t->slots = slots;
		t->nslots = n;
	}
	slot_insert(t, t->slots, t->nslots, item);
	t->count++;
	return true;
}
