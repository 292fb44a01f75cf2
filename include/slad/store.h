/* store.h - the PostgreSQL side: one libpq connection, migrations, loading
 * calendars, offsets and ticket state, and the exactly-once batch commit.
 *
 * Every fallible function returns bool (or enum store_result) and explains a
 * failure in err (never with the conninfo or a password). The connection is
 * blocking; one `struct store` is used by one thread. */
#ifndef SLAD_STORE_H
#define SLAD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/calendar.h"
#include "slad/core.h"

struct store;

/* conninfo: a libpq connection string or URI; "" or NULL uses the PG*
 * environment. NULL on failure. */
struct store *store_connect(const char *conninfo, char *err, size_t errlen) __attribute__((warn_unused_result));
void store_free(struct store *st); /* accepts NULL */
/* The connection is usable (PQstatus). */
bool store_ok(struct store *st);
/* A round trip (SELECT 1): false with err when PostgreSQL does not answer,
 * after which store_ok is false. For health checks between batches. */
bool store_ping(struct store *st, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Drops and reopens the connection with the same parameters. */
bool store_reconnect(struct store *st, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The libpq connection (PGconn *), for modules with tables of their own
 * (store_partners.c). Owned by st; NULL when there is none. */
struct pg_conn;
struct pg_conn *store_conn(struct store *st);

/* Statements that join every store_commit transaction, after its own rows
 * and before COMMIT: store_commit calls the hook with the connection in
 * pipeline mode; it queues at most 16 statements with PQsendQueryParams
 * and returns how many, or -1 with err set (the batch is then not
 * committed). Each must succeed, or the batch rolls back. NULL removes it. */
typedef int (*store_batch_hook)(struct pg_conn *conn, void *arg, char *err, size_t errlen);
void store_set_batch_hook(struct store *st, store_batch_hook hook, void *arg);

/* Applies every embedded migration not yet in sla.schema_migrations, in name
 * order, each in its own transaction holding an advisory lock so concurrent
 * migrators serialize. Works on an empty database. *applied = how many ran
 * (may be NULL). */
bool store_migrate(struct store *st, int *applied, char *err, size_t errlen) __attribute__((warn_unused_result));
/* true when every embedded migration is recorded; false with err naming the
 * missing one(s), or the failure. */
bool store_migrations_current(struct store *st, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Adds sla.calendars with their sla.calendar_exceptions to set (normally
 * empty). On failure set may hold some of them: free it. */
bool store_load_calendars(struct store *st, struct calendar_set *set, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* next_offset of (group, topic, partition), or -1 when there is no row;
 * *written (NULL: not wanted): the offset the batches' results were written
 * up to (written_offset, schema/0012; next_offset when not known). */
bool store_load_offset(struct store *st, const char *group, const char *topic, int32_t partition,
		       int64_t *next_offset, int64_t *written, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The tables of saved state, one row per ticket or partner. */
enum store_state_table { STORE_TICKET_STATE, STORE_PARTNER_STATE };
/* Restores one saved state (core_restore, partners_restore); false when the
 * bytes do not restore. */
typedef bool (*store_restore_fn)(void *arg, const uint8_t *buf, size_t len);

/* Calls restore on every row of `table` in `partition`. A row that does not
 * restore does not fail the load: it is logged (error), written to
 * sla.dead_letters (topic "sla.ticket_state" or "sla.partner_state", the
 * partition, kafka_offset -1, DECODE_ERROR, payload = its bytes) and emptied
 * (state = '', skipped by later loads) in one statement, so that the rest of
 * the partition restores and the ticket or partner comes back only with new
 * events. *count = rows restored, *rejected = rows dead-lettered (either may
 * be NULL). Fails only when PostgreSQL does (or a rejected row changed
 * meanwhile: load again). */
bool store_load_states(struct store *st, enum store_state_table table, int32_t partition, store_restore_fn restore,
		       void *arg, size_t *count, size_t *rejected, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Restores one saved state of `partition`. */
typedef bool (*store_restore_part_fn)(void *arg, int32_t partition, const uint8_t *buf, size_t len);

/* store_load_states for several partitions in one scan of the table (a
 * partition's rows are spread over all of it): counts[i] and rejected[i]
 * (either may be NULL) are those of partitions[i]. partitions NULL: every
 * partition's rows, counted in counts[0] and rejected[0]. */
bool store_load_states_many(struct store *st, enum store_state_table table, const int32_t *partitions,
			    size_t nparts, store_restore_part_fn restore, void *arg, size_t *counts,
			    size_t *rejected, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Starts (begin) or commits a REPEATABLE READ transaction: the reads in
 * between (states, offsets) see one snapshot. */
bool store_snapshot(struct store *st, bool begin, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The consumer offsets a batch covers: next_offset moves from `from` (the
 * value read at assignment or written by this instance's last commit; -1:
 * no row yet) to `to`. */
struct store_offset {
	const char *topic;
	int32_t partition;
	int64_t from;
	int64_t to;
	sla_time clock; /* the partition's processing clock; SLA_TIME_NONE: none (e.g. assessments);
			 * STORE_CLOCK_UNKNOWN: assigned, nothing consumed yet (holds the watermark back) */
	int64_t written; /* the batch's results cover the messages before this offset (written_offset) */
};
#define STORE_CLOCK_UNKNOWN (INT64_MIN + 1)

enum store_result {
	STORE_OK = 0,
	STORE_CONFLICT,   /* another instance moved an offset: rolled back, the partition is not ours */
	STORE_ERROR,      /* not committed (or outcome unknown): reload state and offsets */
	STORE_DATA_ERROR, /* rolled back: PostgreSQL rejected a value of the batch (store_sqlstate_is_data_error;
			   * store_last_sqlstate says which); retrying the same batch would fail again */
};

/* SQLSTATE classes that a row's values cause, not the server or the
 * session: 22 data exception (encoding, range, invalid text), 23 integrity
 * constraint violation, 54 program limit exceeded (row too big). Everything
 * else (08 connection, 40 serialization, 53 resources, 57 operator
 * intervention, 55P03 lock, 42 privileges and schema, ...) is not. */
bool store_sqlstate_is_data_error(const char *sqlstate);
/* The SQLSTATE and primary message of the statement that failed the last
 * store_commit; "" when it did not fail that way. Owned by st, valid until
 * the next store_commit. */
const char *store_last_sqlstate(const struct store *st);
const char *store_last_error_message(const struct store *st);

/* Writes the batch in ONE transaction: the dirty tickets' rows, milestones,
 * violations and states, the violation history, the dead letters, and the
 * compare-and-set of every offset (docs/storage.md). STORE_CONFLICT when an
 * offset no longer holds `from`. If the connection drops during COMMIT, the
 * outcome is read back from sla.consumer_offsets after reconnecting.
 * STORE_DATA_ERROR when a statement or the COMMIT failed with a data error
 * (never when the connection broke). Does not clear `out`: the caller does,
 * after STORE_OK. policy_version may be NULL. */
enum store_result store_commit(struct store *st, const char *group, const struct sla_out *out,
			       const struct store_offset *offs, size_t noffs, const char *policy_version, char *err,
			       size_t errlen) __attribute__((warn_unused_result));

/* store_commit in two steps, so that the caller may apply the next events
 * while another thread commits (slactl replay): store_rows_build copies what
 * the batch writes out of `out` (which the caller may then clear and reuse),
 * and store_rows_commit writes it as store_commit does; it uses only st and
 * rows.
 *
 * new_rows (NULL: none) is for a caller without offsets writing into tables
 * that were empty when it started (slactl replay): the rows of the
 * append-only tables (ticket_events, escalations), the states (ticket_state,
 * which replay writes once) and the rows of every ticket that new_rows has
 * not seen written yet (tickets, milestones, violations) are expected to be
 * new, so they go by binary COPY instead of INSERT ... ON CONFLICT; should
 * one be there after all, the transaction rolls back and runs again the
 * usual way (store_copy_conflicts counts those). NULL when out of memory. */
struct store_new_rows;
struct store_new_rows *store_new_rows_new(void);
void store_new_rows_free(struct store_new_rows *nr); /* accepts NULL */
struct store_rows;
struct store_rows *store_rows_build(const struct sla_out *out, const char *policy_version,
				    struct store_new_rows *new_rows, char *err, size_t errlen)
	__attribute__((warn_unused_result));
enum store_result store_rows_commit(struct store *st, struct store_rows *rows, const char *group,
				    const struct store_offset *offs, size_t noffs, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void store_rows_free(struct store_rows *rows); /* accepts NULL */
unsigned store_copy_conflicts(const struct store *st);
/* *empty: the tables that store_rows_build's new_rows may COPY into
 * (ticket_events, escalations, ticket_state, tickets, milestones,
 * violations) hold no row. */
bool store_tables_empty(struct store *st, bool *empty, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Secondary indexes a replay builds after its last batch (schema/0012):
 * store_indexes_defer drops them, recording their definitions (only the
 * tables' owner may; false and err otherwise), store_indexes_restore
 * builds what is recorded, store_indexes_deferred counts the records. *n:
 * how many. Each in a transaction of its own. */
bool store_indexes_defer(struct store *st, int *n, char *err, size_t errlen) __attribute__((warn_unused_result));
bool store_indexes_restore(struct store *st, int *n, char *err, size_t errlen) __attribute__((warn_unused_result));
bool store_indexes_deferred(struct store *st, int *n, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The events sla.ticket_events holds for one ticket (at most `limit`),
 * packed for the core's history source (sla_history_fn): [u32
 * little-endian length][protobuf]..., in event-time order. *log: malloc'd
 * (NULL when there are none). */
bool store_ticket_history(struct store *st, const char *ticket_id, size_t limit, uint8_t **log, size_t *len,
			  char *err, size_t errlen) __attribute__((warn_unused_result));

/* The escalation outbox (schema/0007): rows not yet acknowledged by the
 * broker, of tickets on the given partitions, oldest first. */
struct store_escalation {
	char ticket_id[65], milestone[32], level[16], partner_id[65], engineer_id[65], policy_version[24];
	int occurrence;
	sla_time at;
};
bool store_escalations_pending(struct store *st, const int32_t *partitions, size_t npartitions, size_t limit,
			       struct store_escalation **rows, size_t *nrows, char *err, size_t errlen)
	__attribute__((warn_unused_result));
bool store_escalations_mark(struct store *st, const struct store_escalation *rows, size_t nrows, char *err,
			    size_t errlen) __attribute__((warn_unused_result));

#endif
