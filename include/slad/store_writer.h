/* store_writer.h - a thread that commits one batch while its caller applies
 * the next (slad in a backlog, slactl replay).
 *
 * The caller builds the batch's rows (store_rows_build, store_partners_build),
 * which copies them out of the core and the partners, and hands them over
 * with store_writer_submit; the thread then owns the store until the commit
 * is done. Between a submit and the store_writer_wait that follows it, the
 * caller must not use the store: every other read or write waits first. */
#ifndef SLAD_STORE_WRITER_H
#define SLAD_STORE_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/store.h"
#include "slad/store_partners.h"

struct store_writer;

/* Starts the thread, with every signal blocked in it (they stay with the
 * caller's thread). notify_fd >= 0: one byte is written to it whenever a
 * commit is done (an event loop's wake-up; a full pipe is not an error).
 * NULL (and err) when the thread cannot start. */
struct store_writer *store_writer_new(struct store *st, int notify_fd, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Lets the commit in hand finish, then ends the thread. Accepts NULL. */
void store_writer_free(struct store_writer *w);

/* One commit, as store_rows_commit with the partners' rows joining its
 * transaction (store_partners_rows_hook). */
struct store_job {
	struct store_rows *rows;              /* owned by the writer from the submit on */
	struct store_partners_rows *partners; /* the same; NULL: none */
	/* Borrowed until the wait: */
	const char *group;
	const struct store_offset *offs;
	size_t noffs;
};

/* Hands a commit over. The writer must be idle: nothing submitted, or
 * waited for since. */
void store_writer_submit(struct store_writer *w, const struct store_job *job);
/* A commit is in hand and not done yet. */
bool store_writer_busy(struct store_writer *w);
/* Waits until the commit submitted last is done; its result, error (err
 * NULL: not wanted) and duration in seconds (secs NULL: not wanted).
 * STORE_OK, 0 s, when nothing was submitted since the last wait. */
enum store_result store_writer_wait(struct store_writer *w, char *err, size_t errlen, double *secs);

#endif
