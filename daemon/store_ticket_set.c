/* store_ticket_set.c - a set of ticket ids: the tickets whose rows were
 * written (batch_build's fresh), kept in the core's id table. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

bool ticket_set_add(struct ticket_set *set, const char *id, bool *added)
{
	*added = false;
	if (idtable_get(&set->ids, id) != NULL)
		return true;
	char *copy = strdup(id);
	if (copy == NULL)
		return false;
	if (!idtable_put(&set->ids, copy)) {
		free(copy);
		return false;
	}
	*added = true;
	return true;
}

void ticket_set_free(struct ticket_set *set)
{
	idtable_free(&set->ids, free);
	memset(set, 0, sizeof *set);
}
