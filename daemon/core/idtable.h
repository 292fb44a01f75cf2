/* idtable.h - items by string id: an open-addressing hash table of pointers to
 * items that hold their id (tickets, partners). Pure. */
#ifndef SLAD_CORE_IDTABLE_H
#define SLAD_CORE_IDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idtable {
	void **slots;   /* nslots (a power of two) pointers, NULL: empty; iterate them for every item */
	size_t nslots;
	size_t count;
	size_t key_off; /* offset of the item's NUL-terminated id (a char array in the item) */
};

/* FNV-1a, 64 bits. */
uint64_t id_hash(const char *s);

/* An empty table of nslots (a power of two) for items whose id is at key_off. */
bool idtable_init(struct idtable *t, size_t nslots, size_t key_off) __attribute__((warn_unused_result));
/* Frees the slots, not the items. */
void idtable_free(struct idtable *t);
void *idtable_get(const struct idtable *t, const char *id);
/* Adds an item whose id is not in the table; grows past 70 % full. False:
 * out of memory, the table unchanged. */
bool idtable_put(struct idtable *t, void *item) __attribute__((warn_unused_result));

#endif
