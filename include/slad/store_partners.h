/* store_partners.h - the PostgreSQL side of partner assessment: scores
 * (sla.partner_scores and sla.partner_score_history), qualification events
 * (sla.partner_events) and partner state (sla.partner_state), written inside
 * the batch transaction of store_commit; loading partner state.
 *
 * Wiring (docs/scoring.md): once after store_connect,
 *     store_set_batch_hook(st, store_partners_hook, &partners_out);
 * then every store_commit also writes what partners_out lists, in the same
 * transaction as the ticket rows and the consumer offsets. After the commit,
 * whatever its outcome, call partners_out_clear(&partners_out). */
#ifndef SLAD_STORE_PARTNERS_H
#define SLAD_STORE_PARTNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/scoring.h"
#include "slad/store.h"

/* Queues up to 4 statements on conn, which store_commit has in pipeline
 * mode inside its transaction: the scores, their history, the partner
 * events and the dirty partners' states. Returns how many it queued, or -1
 * with err set (out of memory, or out->oom: outputs were lost, so the batch
 * must not commit). Borrows out; it must stay unchanged until the commit
 * returns. */
int store_partners_queue(struct pg_conn *conn, const struct partners_out *out, char *err, size_t errlen);

/* A store_batch_hook: arg is the `struct partners_out *` to write. */
int store_partners_hook(struct pg_conn *conn, void *arg, char *err, size_t errlen);

/* The same in two steps, for a commit on another thread (store_writer.h):
 * store_partners_build copies what `out` lists (encoding the dirty partners'
 * states), after which the caller may clear `out` and change the partners;
 * store_partners_send queues the rows as store_partners_queue does. NULL
 * (and err) as store_partners_queue fails. */
struct store_partners_rows;
struct store_partners_rows *store_partners_build(const struct partners_out *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int store_partners_send(struct pg_conn *conn, struct store_partners_rows *rows, char *err, size_t errlen);
void store_partners_rows_free(struct store_partners_rows *rows); /* accepts NULL */
/* A store_batch_hook: arg is the `struct store_partners_rows *` to write (NULL: none). */
int store_partners_rows_hook(struct pg_conn *conn, void *arg, char *err, size_t errlen);

/* partners_restore()s every sla.partner_state row of `partition`, as
 * store_load_states: a row that does not restore is dead-lettered and left
 * out, the rest restores. *count = rows restored, *rejected = rows
 * dead-lettered (either may be NULL). */
bool store_partners_load(struct store *st, int32_t partition, struct partners *ps, size_t *count, size_t *rejected,
			 char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
