/* store_internal.h - what the store's files share: the connection object and
 * its helpers (store.c), loading saved states (store_load.c), a batch's rows
 * and the statements that write them (store_batch.c), the exactly-once commit
 * (store_commit.c), its month partitions (store_months.c) and the readback of
 * a lost COMMIT (store_readback.c). Not for use outside daemon/store*.c. */
#ifndef SLAD_STORE_INTERNAL_H
#define SLAD_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "slad/core.h"
#include "slad/store.h"

#include "core/idtable.h"

/* Statements a batch hook may queue. */
#define STORE_HOOK_MAX 16

/* Month partitions tracked by the store: 1970-01 to 2169-12; rows outside
 * go to the default partition. */
#define STORE_MONTHS 2400

struct store {
	PGconn *conn;
	/* Identity of the current server session, to end it after a COMMIT
	 * whose answer was lost (pid alone may be reused). */
	int backend_pid;
	long long backend_start_us;
	unsigned long long commit_seq;
	store_batch_hook batch_hook; /* more statements for every batch; may be NULL */
	void *batch_hook_arg;
	/* The statement that failed the last store_commit (store_last_sqlstate). */
	char last_sqlstate[6];
	char last_message[256];
	/* Months (UTC, since 1970-01) whose partitions of the append-only
	 * tables exist: sla.ensure_months ran for them (schema/0010). */
	uint8_t months[STORE_MONTHS / 8];
	/* Commits whose rows were built with new_rows and met one there
	 * already (store_copy_conflicts). */
	unsigned copy_conflicts;
};

/* milliseconds since the epoch (bigint) -> timestamptz, exactly. */
#define MS_TS(x) "('epoch'::timestamptz + (" x ") * interval '1 millisecond')"

static inline const char *empty_to_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static inline bool store_conn_usable(const struct store *st)
{
	return st != NULL && st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK;
}

/* store.c */
/* Runs a command without parameters; COMMAND_OK or TUPLES_OK expected. */
bool store_exec_simple(struct store *st, const char *sql, const char *what, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Runs a parameterised query; NULL (and err) unless COMMAND_OK/TUPLES_OK. */
PGresult *store_exec_params(struct store *st, const char *sql, int n, const char *const *vals, const char *what,
			    char *err, size_t errlen);
/* Ends an open or failed transaction; used on error paths only. */
void store_rollback_quietly(struct store *st);

/* store_batch.c: the rows of one batch as array literals, one unnest()
 * statement per table, in commit order. */
struct batch;
struct batch *batch_new(void);
void batch_free(struct batch *b);
/* store_ticket_set.c: a set of ticket ids, in the core's id table (its
 * items are the ids themselves); zeroed when empty. */
struct ticket_set {
	struct idtable ids;
};
/* *added: id was not in the set (and is now). False: out of memory. */
bool ticket_set_add(struct ticket_set *set, const char *id, bool *added) __attribute__((warn_unused_result));
void ticket_set_free(struct ticket_set *set);

/* fresh (NULL: none): the tables are expected to hold none of the rows of
 * the append-only tables (ticket_events, escalations), of ticket_state, and
 * of the tickets not in the set (which this adds): those rows are also
 * built as binary COPY data (batch_copy), and their unnest() statements
 * too, for when they are there after all. */
bool batch_build(struct batch *b, const struct sla_out *out, const char *policy_version, struct ticket_set *fresh,
		 char *err, size_t errlen) __attribute__((warn_unused_result));
/* Statement i (0 <= i < batch_nstatements()) ready to send. */
struct batch_statement {
	const char *sql, *what;
	int nparams;
	const char *vals[16];
	int lengths[16], formats[16]; /* format 1: binary, of that length */
};
enum batch_statement_result { BATCH_SKIP, BATCH_SEND, BATCH_ERROR };
size_t batch_nstatements(void);
/* BATCH_SKIP: no rows, or a statement of the other caller (daemon: slad, which
 * skips a dead letter written already; else slactl replay). */
/* copying: the tables whose rows batch_copy writes are skipped. */
enum batch_statement_result batch_statement(struct batch *b, size_t i, bool daemon, bool copying,
					    const char *policy_version, struct batch_statement *s, char *err, size_t errlen);
/* The binary COPY data of table i (0 <= i < batch_ncopies()); BATCH_SKIP
 * when it has no rows or batch_build did not build it. */
struct batch_copy {
	const char *sql, *what, *data;
	int len;
};
bool batch_copies(const struct batch *b);
size_t batch_ncopies(void);
enum batch_statement_result batch_copy(struct batch *b, size_t i, struct batch_copy *c, char *err, size_t errlen);

/* Whether the commit writes o's consumer_offsets row (the readback reads
 * it back): not for a partition with nothing consumed, whose clock alone is
 * written. Before its first checkpoint (to -1) the row at -1 records
 * written_offset and fences the batch. */
static inline bool store_offset_has_row(const struct store_offset *o)
{
	return o->to >= 0 || o->written >= 0;
}

/* store_months.c */
/* The months a batch's rows need, found when it is built: distinct months of
 * its rows, at most STORE_ROWS_MONTHS (the rest: the next batch's turn). */
#define STORE_ROWS_MONTHS 64
struct month_need {
	int v[STORE_ROWS_MONTHS];
	size_t n;
	/* The month of the last row looked at, [lo, hi) in ms: a batch's rows
	 * mostly share it, and then cost a comparison instead of a civil-date
	 * conversion each. */
	sla_time lo, hi;
};
/* Adds the months of the batch's rows (events by occurred_at, status changes
 * by changed_at, dead letters and undated changes by now). */
void store_months_needed(struct month_need *nd, const struct sla_out *out);
/* The UTC month of an instant as months since 1970-01; -1 outside the
 * months the store tracks (their rows go to the default partitions). */
int store_month_of(sla_time t);
/* Before a batch's transaction, in a transaction of its own: the partitions
 * of the months this process has not made sure of yet; a failure only sends
 * rows to the default partitions. */
void store_months_ensure(struct store *st, const struct month_need *nd);

/* store_readback.c */
/* After a COMMIT whose answer was lost: STORE_OK iff every offset holds its
 * `to` and this batch's token. */
enum store_result store_commit_readback(struct store *st, const char *group, const struct store_offset *offs,
					 size_t noffs, const char *token, char *err, size_t errlen);

#endif
