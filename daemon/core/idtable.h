/* idtable.h - items by string id: an open-addressing hash table of pointers to
 * items that hold their id (tickets, partners). Pure. */
#ifndef SLAD_CORE_IDTABLE_H
#define SLAD_CORE_IDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct idtable {
	void **slots;   /* nslots (a power of two) pointers, NULL: empty; iterate them for every item */
	size_t nslots;
	size_t count;
	size_t key_off; /* offset of the item's NUL-terminated id (a char array in the item) */
};

/* FNV-1a, 64 bits. */
static inline uint64_t id_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* An empty table of nslots (a power of two) for items whose id is at key_off. */
bool idtable_init(struct idtable *t, size_t nslots, size_t key_off) __attribute__((warn_unused_result));
/* Frees the slots; with item_free (may be NULL), every item first. */
void idtable_free(struct idtable *t, void (*item_free)(void *item));
static inline void *idtable_get(const struct idtable *t, const char *id)
{
	size_t mask = t->nslots - 1;
	if (t->nslots == 0)
		return NULL;
	for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
		void *item = t->slots[i];
		if (!item || strcmp((const char *)item + t->key_off, id) == 0)
			return item;
	}
}
/* Adds an item whose id is not in the table; grows past 70 % full. False:
 * out of memory, the table unchanged. */
bool idtable_put(struct idtable *t, void *item) __attribute__((warn_unused_result));

#endif
