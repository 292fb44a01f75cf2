/* store_commit.c - the exactly-once batch commit: offsets (compare-and-set),
 * the batch's statements (store_batch.c), partition clocks and the
 * cross-ticket evaluation in one pipelined transaction, and reading a lost
 * COMMIT's outcome back (docs/storage.md, "The exactly-once commit"). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "slad/log.h"
#include "slad/pgarr.h"
#include "store_internal.h"

static const char sql_eng_eval[] = "SELECT sla.evaluate_pending($1, $2, $3::text[])";

/* Compare-and-set of one offset; last_batch lets a lost COMMIT be read back
 * even when the offset did not move (a batch of timer effects only). */
static const char sql_offset_cas[] =
	"UPDATE sla.consumer_offsets SET next_offset = $4, last_batch = $6, written_offset = $7, updated_at = now()"
	" WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $5";
/* from = -1: no row yet, or a row that still says -1 (nothing consumed). */
static const char sql_offset_first[] =
	"INSERT INTO sla.consumer_offsets AS o (consumer_group, topic, partition, next_offset, last_batch,"
	" written_offset) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consumer_group, topic, partition) DO UPDATE"
	" SET next_offset = excluded.next_offset, last_batch = excluded.last_batch,"
	" written_offset = excluded.written_offset, updated_at = now()"
	" WHERE o.next_offset = -1";
/* The partitions' processing clocks (schema/0006), never moving back. */
static const char sql_clocks[] =
	"INSERT INTO sla.partition_clocks AS c (consumer_group, topic, partition, clock_at)"
	" SELECT $1, u.topic, u.partition, coalesce(" MS_TS("u.clock") ", '-infinity')"
	" FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u (topic, partition, clock)"
	" ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET clock_at = greatest(c.clock_at, excluded.clock_at),"
	" updated_at = now()";

/* One statement queued in the pipeline. */
struct queued {
	const char *what;
	int offset_index; /* >= 0: a compare-and-set of offs[offset_index] */
};

struct pipeline {
	struct queued *q;
	size_t n, cap;
};

/* lengths and formats: NULL, or per parameter (format 1: binary, of that length). */
static bool pipe_send_fmt(struct store *st, struct pipeline *p, const char *sql, int nparams,
			  const char *const *vals, const int *lengths, const int *formats, const char *what,
			  int offset_index, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool pipe_send_fmt(struct store *st, struct pipeline *p, const char *sql, int nparams,
			  const char *const *vals, const int *lengths, const int *formats, const char *what,
			  int offset_index, char *err, size_t errlen)
{
	if (p->n == p->cap) {
		pg_set_err(err, errlen, "internal: pipeline too long");
		return false;
	}
	if (!PQsendQueryParams(st->conn, sql, nparams, NULL, vals, lengths, formats, 0)) {
		pg_set_err(err, errlen, "%s: %s", what, PQerrorMessage(st->conn));
		return false;
	}
	p->q[p->n].what = what;
	p->q[p->n].offset_index = offset_index;
	p->n++;
	return true;
}

static bool pipe_send(struct store *st, struct pipeline *p, const char *sql, int nparams, const char *const *vals,
		      const char *what, int offset_index, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool pipe_send(struct store *st, struct pipeline *p, const char *sql, int nparams, const char *const *vals,
		      const char *what, int offset_index, char *err, size_t errlen)
{
	return pipe_send_fmt(st, p, sql, nparams, vals, NULL, NULL, what, offset_index, err, errlen);
}

/* The next result of a pipeline, or NULL when nothing more will come: the
 * connection broke, or two NULLs in a row (one NULL ends each statement's
 * results; *nulls counts them across calls). */
static PGresult *pipe_next_result(PGconn *conn, int *nulls)
{
	for (;;) {
		PGresult *res = PQgetResult(conn);

		if (res != NULL) {
			*nulls = 0;
			return res;
		}
		if (PQstatus(conn) != CONNECTION_OK || ++*nulls > 1)
			return NULL;
	}
}

static int offset_cmp(const void *a, const void *b)
{
	const struct store_offset *x = *(const struct store_offset *const *)a;
	const struct store_offset *y = *(const struct store_offset *const *)b;
	int c = strcmp(x->topic, y->topic);

	if (c != 0)
		return c;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

bool store_sqlstate_is_data_error(const char *sqlstate)
{
	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return false;
	return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 || strncmp(sqlstate, "54", 2) == 0;
}

const char *store_last_sqlstate(const struct store *st)
{
	return st ? st->last_sqlstate : "";
}

const char *store_last_error_message(const struct store *st)
{
	return st ? st->last_message : "";
}

/* Keeps the SQLSTATE and primary message of a failed statement. */
static void store_remember_error(struct store *st, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(st->last_sqlstate, sizeof st->last_sqlstate, "%s", state ? state : "");
	pg_set_err(st->last_message, sizeof st->last_message, "%s", msg ? msg : "");
}

/* A batch's rows, built (store.h). */
struct store_rows {
	struct batch *b;
	char *policy_version; /* NULL: none */
	struct month_need months;
};

struct store_new_rows {
	struct ticket_set written; /* tickets whose rows were written */
};

struct store_new_rows *store_new_rows_new(void)
{
	return calloc(1, sizeof(struct store_new_rows));
}

void store_new_rows_free(struct store_new_rows *nr)
{
	if (nr == NULL)
		return;
	ticket_set_free(&nr->written);
	free(nr);
}

void store_rows_free(struct store_rows *rows)
{
	if (rows == NULL)
		return;
	batch_free(rows->b);
	free(rows->policy_version);
	free(rows);
}

struct store_rows *store_rows_build(const struct sla_out *out, const char *policy_version,
				    struct store_new_rows *new_rows, char *err, size_t errlen)
{
	struct store_rows *rows = calloc(1, sizeof *rows);
	const char *pv = empty_to_null(policy_version);

	if (rows == NULL || (rows->b = batch_new()) == NULL ||
	    (pv != NULL && (rows->policy_version = strdup(pv)) == NULL)) {
		pg_set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (!batch_build(rows->b, out, rows->policy_version, new_rows ? &new_rows->written : NULL, err, errlen))
		goto fail;
	store_months_needed(&rows->months, out);
	return rows;
fail:
	store_rows_free(rows);
	return NULL;
}

unsigned store_copy_conflicts(const struct store *st)
{
	return st ? st->copy_conflicts : 0;
}

bool store_tables_empty(struct store *st, bool *empty, char *err, size_t errlen)
{
	PGresult *res = store_exec_params(
		st,
		"SELECT NOT EXISTS (SELECT 1 FROM sla.ticket_events) AND NOT EXISTS (SELECT 1 FROM sla.escalations)"
		" AND NOT EXISTS (SELECT 1 FROM sla.ticket_state) AND NOT EXISTS (SELECT 1 FROM sla.tickets)"
		" AND NOT EXISTS (SELECT 1 FROM sla.milestones) AND NOT EXISTS (SELECT 1 FROM sla.violations)",
		0, NULL, "reading the results tables", err, errlen);

	if (res == NULL)
		return false;
	*empty = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return true;
}

/* COPY FROM STDIN of one table's binary rows, in the open transaction
 * (outside pipeline mode: libpq has no COPY in a pipeline). */
static bool run_copy(struct store *st, const struct batch_copy *c, char *err, size_t errlen)
{
	enum { CHUNK = 256 * 1024 };
	PGresult *res = PQexec(st->conn, c->sql);
	bool ok = PQresultStatus(res) == PGRES_COPY_IN;

	if (!ok) {
		pg_set_err(err, errlen, "%s: %s", c->what, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		store_remember_error(st, res);
		PQclear(res);
		return false;
	}
	PQclear(res);
	for (int at = 0; ok && at < c->len; at += CHUNK)
		ok = PQputCopyData(st->conn, c->data + at, c->len - at < CHUNK ? c->len - at : CHUNK) == 1;
	if (PQputCopyEnd(st->conn, ok ? NULL : "sending failed") != 1)
		ok = false;
	res = PQgetResult(st->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (ok) {
			pg_set_err(err, errlen, "%s: %s", c->what,
				   res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
			store_remember_error(st, res);
		} else {
			pg_set_err(err, errlen, "%s: %s", c->what, PQerrorMessage(st->conn));
		}
		ok = false;
	}
	PQclear(res);
	while ((res = PQgetResult(st->conn)) != NULL)
		PQclear(res);
	return ok;
}

/* One attempt at a batch's transaction, as its steps share it. */
struct commit_attempt {
	struct store *st;
	struct batch *b;
	const char *pv;
	const char *group;
	const struct store_offset *offs;
	size_t noffs;
	bool copying;
	char *err;
	size_t errlen;
	const struct store_offset **sorted; /* offs in lock order */
	char (*offnum)[4][24];              /* to, from, partition, written as text */
	char token[80];
	struct pipeline p;
	struct pgarr ck[3]; /* partition clocks: topic, partition, clock */
	struct pgarr tp;    /* the topics whose partitions carry a processing clock */
	bool failed, conflict;
};

/* After a failed statement: a data error (the batch's own fault) or not. */
static enum store_result commit_failure(const struct store *st)
{
	return store_sqlstate_is_data_error(st->last_sqlstate) ? STORE_DATA_ERROR : STORE_ERROR;
}

/* A connection fit to start the transaction on. */
static bool commit_conn_ready(struct store *st, char *err, size_t errlen)
{
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	/* A previous failure may have left a transaction or a pipeline open. */
	store_rollback_quietly(st);
	if (PQpipelineStatus(st->conn) != PQ_PIPELINE_OFF ||
	    PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
		pg_set_err(err, errlen, "the connection is busy: reconnect");
		return false;
	}
	return true;
}

/* The attempt's buffers, its offsets in lock order and its token. */
static bool commit_attempt_setup(struct commit_attempt *a)
{
	a->sorted = calloc(a->noffs + 1, sizeof *a->sorted);
	a->offnum = calloc(a->noffs + 1, sizeof *a->offnum);
	a->p.cap = a->noffs + 16 + STORE_HOOK_MAX; /* BEGIN, the tables, the engineer statements, the hook, COMMIT */
	a->p.q = calloc(a->p.cap, sizeof *a->p.q);
	if (a->sorted == NULL || a->offnum == NULL || a->p.q == NULL) {
		pg_set_err(a->err, a->errlen, "out of memory");
		return false;
	}
	/* Same lock order in every instance: no deadlock between two that
	 * both believe they own overlapping partitions. */
	for (size_t i = 0; i < a->noffs; i++)
		a->sorted[i] = &a->offs[i];
	qsort(a->sorted, a->noffs, sizeof *a->sorted, offset_cmp);
	snprintf(a->token, sizeof a->token, "%d.%lld.%llu", a->st->backend_pid, a->st->backend_start_us,
		 ++a->st->commit_seq);
	return true;
}

static void commit_attempt_cleanup(struct commit_attempt *a)
{
	arrs_free(a->ck, 3);
	arrs_free(&a->tp, 1);
	free(a->sorted);
	free(a->offnum);
	free(a->p.q);
}

/* BEGIN and the rows expected to be new, by COPY (no COPY in a pipeline);
 * violation_history's statement then finds their violations. On failure the
 * transaction is rolled back. */
static bool commit_copy_rows(struct commit_attempt *a)
{
	struct store *st = a->st;
	PGresult *res = PQexec(st->conn, "BEGIN");
	bool failed = PQresultStatus(res) != PGRES_COMMAND_OK;

	if (failed)
		pg_set_err(a->err, a->errlen, "BEGIN: %s", PQerrorMessage(st->conn));
	PQclear(res);
	for (size_t i = 0; !failed && i < batch_ncopies(); i++) {
		struct batch_copy c;

		switch (batch_copy(a->b, i, &c, a->err, a->errlen)) {
		case BATCH_SKIP: break;
		case BATCH_ERROR: failed = true; break;
		case BATCH_SEND: failed = !run_copy(st, &c, a->err, a->errlen); break;
		}
	}
	if (failed)
		store_rollback_quietly(st);
	return !failed;
}

/* The offsets' compare-and-sets, in lock order; gathers the partition
 * clocks on the way. */
static bool commit_send_offsets(struct commit_attempt *a)
{
	for (size_t i = 0; i < a->noffs; i++) {
		const struct store_offset *o = a->sorted[i];
		char(*num)[24] = a->offnum[i];
		const char *vals[7] = {a->group, o->topic, num[2], num[0], num[1], a->token, num[3]};
		int index = (int)(o - a->offs);

		snprintf(num[0], sizeof num[0], "%" PRId64, o->to);
		snprintf(num[1], sizeof num[1], "%" PRId64, o->from);
		snprintf(num[2], sizeof num[2], "%" PRId32, o->partition);
		snprintf(num[3], sizeof num[3], "%" PRId64, o->written > o->to ? o->written : o->to);
		if (o->clock != SLA_TIME_NONE) {
			arr_text(&a->ck[0], o->topic);
			arr_int(&a->ck[1], o->partition);
			arr_time(&a->ck[2], o->clock == STORE_CLOCK_UNKNOWN ? SLA_TIME_NONE : o->clock);
		}
		if (!store_offset_has_row(o))
			continue;
		if (o->from < 0) {
			vals[4] = a->token; /* no $5 (from) in the INSERT */
			vals[5] = num[3];
			if (!pipe_send(a->st, &a->p, sql_offset_first, 6, vals, "creating the consumer offset", index,
				       a->err, a->errlen))
				return false;
		} else if (!pipe_send(a->st, &a->p, sql_offset_cas, 7, vals, "moving the consumer offset", index,
				      a->err, a->errlen)) {
			return false;
		}
	}
	return true;
}

/* The batch's own statements (store_batch.c). */
static bool commit_send_batch(struct commit_attempt *a)
{
	for (size_t i = 0; i < batch_nstatements(); i++) {
		struct batch_statement bs;

		switch (batch_statement(a->b, i, a->group != NULL && a->group[0], a->copying, a->pv, &bs, a->err,
					a->errlen)) {
		case BATCH_SKIP: break;
		case BATCH_ERROR: return false;
		case BATCH_SEND:
			if (!pipe_send_fmt(a->st, &a->p, bs.sql, bs.nparams, bs.vals, bs.lengths, bs.formats, bs.what,
					   -1, a->err, a->errlen))
				return false;
			break;
		}
	}
	return true;
}

/* The partition clocks gathered with the offsets, if any. */
static bool commit_send_clocks(struct commit_attempt *a)
{
	if (a->ck[0].n == 0)
		return true;
	const char *cvals[4] = {a->group, arr_finish(&a->ck[0]), arr_finish(&a->ck[1]), arr_finish(&a->ck[2])};
	if (!cvals[1] || !cvals[2] || !cvals[3]) {
		pg_set_err(a->err, a->errlen, "partition clocks: out of memory");
		return false;
	}
	return pipe_send(a->st, &a->p, sql_clocks, 4, cvals, "writing sla.partition_clocks", -1, a->err, a->errlen);
}

/* The cross-ticket evaluation, over the topics with processing clocks. */
static bool commit_send_engineer_eval(struct commit_attempt *a)
{
	/* The topics with processing clocks, each once. */
	for (size_t i = 0; i < a->noffs; i++) {
		bool seen = false;
		if (a->sorted[i]->clock == SLA_TIME_NONE)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= a->sorted[j]->clock != SLA_TIME_NONE &&
				strcmp(a->sorted[j]->topic, a->sorted[i]->topic) == 0;
		if (!seen)
			arr_text(&a->tp, a->sorted[i]->topic);
	}
	const char *topics = arr_finish(&a->tp);
	const char *eval_vals[3] = {a->group, a->pv, topics};
	if (topics == NULL) {
		pg_set_err(a->err, a->errlen, "out of memory");
		return false;
	}
	return pipe_send(a->st, &a->p, sql_eng_eval, 3, eval_vals, "evaluating engineers across tickets", -1, a->err,
			 a->errlen);
}

/* The statements the batch hook queues, if there is one. */
static bool commit_send_hook(struct commit_attempt *a)
{
	struct store *st = a->st;

	if (!st->batch_hook)
		return true;
	int k = st->batch_hook(st->conn, st->batch_hook_arg, a->err, a->errlen);
	if (k < 0 || k > STORE_HOOK_MAX) {
		if (k >= 0)
			pg_set_err(a->err, a->errlen, "internal: the batch hook queued too many statements");
		return false;
	}
	for (int i = 0; i < k; i++)
		a->p.q[a->p.n++] = (struct queued){"writing the batch hook's rows", -1};
	return true;
}

/* Round trip 1: every statement of the transaction, one Sync. The offsets
 * go first: their row locks fence a rival owner before any result row is
 * touched (rows by COPY are only for callers without offsets: slactl
 * replay). */
static bool commit_send_pipeline(struct commit_attempt *a)
{
	if (!a->copying && !pipe_send(a->st, &a->p, "BEGIN", 0, NULL, "BEGIN", -1, a->err, a->errlen))
		return false;
	if (!commit_send_offsets(a) || !commit_send_batch(a) || !commit_send_clocks(a) ||
	    !commit_send_engineer_eval(a) || !commit_send_hook(a))
		return false;
	if (!PQpipelineSync(a->st->conn)) {
		pg_set_err(a->err, a->errlen, "sending the batch: %s", PQerrorMessage(a->st->conn));
		return false;
	}
	return true;
}

/* After a failed send: nothing was committed; a broken connection is left
 * for the caller to reconnect, a healthy one is cleaned up. */
static void commit_abandon_pipeline(struct store *st)
{
	int nulls = 0;

	if (!store_conn_usable(st))
		return;
	(void)PQpipelineSync(st->conn);
	while (PQstatus(st->conn) == CONNECTION_OK) {
		PGresult *res = pipe_next_result(st->conn, &nulls);

		if (res == NULL)
			break;
		bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (sync)
			break;
	}
	store_rollback_quietly(st);
}

/* An offset's compare-and-set that moved no row: a rival owner. */
static void commit_note_conflict(struct commit_attempt *a, const struct store_offset *o)
{
	if (a->failed)
		;
	else if (o->from < 0)
		pg_set_err(a->err, a->errlen,
			   "offset of %s/%" PRId32 " was created meanwhile: another instance owns the partition",
			   o->topic, o->partition);
	else
		pg_set_err(a->err, a->errlen,
			   "offset of %s/%" PRId32 " is no longer %" PRId64 ": another instance owns the partition",
			   o->topic, o->partition, o->from);
	a->conflict = true;
}

/* One queued statement's result: the first failure or conflict is kept. */
static void commit_note_result(struct commit_attempt *a, const struct queued *q, PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		if (q->offset_index >= 0 && strcmp(PQcmdTuples(res), "1") != 0 && !a->conflict)
			commit_note_conflict(a, &a->offs[q->offset_index]);
	} else if (s != PGRES_PIPELINE_ABORTED && !a->failed && !a->conflict) {
		pg_set_err(a->err, a->errlen, "%s: %s", q->what, PQresultErrorMessage(res));
		store_remember_error(a->st, res);
		a->failed = true;
	} else {
		a->failed = true;
	}
}

/* Every result of round trip 1, up to its Sync; false: the connection broke
 * before COMMIT was sent. */
static bool commit_read_results(struct commit_attempt *a)
{
	PGconn *conn = a->st->conn;
	bool broken = false;
	int nulls = 0;
	size_t got = 0;

	for (;;) {
		PGresult *res = pipe_next_result(conn, &nulls);

		if (res == NULL) {
			broken = true;
			break;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (got < a->p.n)
			commit_note_result(a, &a->p.q[got], res);
		got++;
		PQclear(res);
		if (PQstatus(conn) != CONNECTION_OK) {
			broken = true;
			break;
		}
	}
	if (broken || got != a->p.n) {
		/* COMMIT was never sent: nothing of this batch is in. */
		if (!a->failed)
			pg_set_err(a->err, a->errlen, "connection lost before COMMIT: %s", PQerrorMessage(conn));
		return false;
	}
	return true;
}

/* Round trip 2: COMMIT, and when its answer is lost, reading it back. */
static enum store_result commit_finish(struct commit_attempt *a)
{
	struct store *st = a->st;
	enum store_result rc = STORE_ERROR;
	PGresult *res = PQexec(st->conn, "COMMIT");

	if (PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0) {
		rc = STORE_OK;
	} else if (PQstatus(st->conn) != CONNECTION_OK) {
		rc = store_commit_readback(st, a->group, a->offs, a->noffs, a->token, a->err, a->errlen);
	} else {
		/* e.g. a deferred foreign key: the server rolled back. */
		pg_set_err(a->err, a->errlen, "COMMIT: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		store_remember_error(st, res);
		store_rollback_quietly(st);
		rc = commit_failure(st);
	}
	PQclear(res);
	return rc;
}

/* One attempt at the batch's transaction; copying: the rows expected to be
 * new by binary COPY (batch_copy), before the pipeline. */
static enum store_result commit_once(struct store *st, struct store_rows *rows, const char *group,
				     const struct store_offset *offs, size_t noffs, bool copying, char *err,
				     size_t errlen)
{
	struct commit_attempt a = {.st = st, .b = rows->b, .pv = rows->policy_version, .group = group,
				   .offs = offs, .noffs = noffs, .copying = copying, .err = err, .errlen = errlen};
	enum store_result rc = STORE_ERROR;

	if (st != NULL) {
		st->last_sqlstate[0] = '\0';
		st->last_message[0] = '\0';
	}
	if (!commit_conn_ready(st, err, errlen))
		return STORE_ERROR;
	store_months_ensure(st, &rows->months);
	if (!commit_attempt_setup(&a))
		goto done;
	if (copying && !commit_copy_rows(&a)) {
		rc = commit_failure(st);
		goto done;
	}
	if (!PQenterPipelineMode(st->conn)) {
		pg_set_err(err, errlen, "entering pipeline mode: %s", PQerrorMessage(st->conn));
		goto done;
	}
	if (!commit_send_pipeline(&a)) {
		commit_abandon_pipeline(st);
		goto done;
	}
	if (!commit_read_results(&a))
		goto done;
	if (!PQexitPipelineMode(st->conn)) {
		pg_set_err(err, errlen, "leaving pipeline mode: %s", PQerrorMessage(st->conn));
		goto done;
	}
	if (a.conflict || a.failed) {
		store_rollback_quietly(st);
		rc = a.conflict ? STORE_CONFLICT : commit_failure(st);
		goto done;
	}
	rc = commit_finish(&a);
done:
	commit_attempt_cleanup(&a);
	return rc;
}

enum store_result store_rows_commit(struct store *st, struct store_rows *rows, const char *group,
				    const struct store_offset *offs, size_t noffs, char *err, size_t errlen)
{
	enum store_result rc = commit_once(st, rows, group, offs, noffs, batch_copies(rows->b), err, errlen);

	/* A row expected to be new was there (unique_violation): the whole
	 * transaction was rolled back; once more, with ON CONFLICT. */
	if (rc == STORE_DATA_ERROR && st != NULL && batch_copies(rows->b) &&
	    strcmp(st->last_sqlstate, "23505") == 0) {
		log_info("a copied row was written before (%s): the batch again with ON CONFLICT", err);
		st->copy_conflicts++;
		rc = commit_once(st, rows, group, offs, noffs, false, err, errlen);
	}
	return rc;
}

enum store_result store_commit(struct store *st, const char *group, const struct sla_out *out,
			       const struct store_offset *offs, size_t noffs, const char *policy_version, char *err,
			       size_t errlen)
{
	struct store_rows *rows;
	enum store_result rc;

	if (st != NULL) {
		st->last_sqlstate[0] = '\0';
		st->last_message[0] = '\0';
	}
	rows = store_rows_build(out, policy_version, NULL, err, errlen);
	if (rows == NULL)
		return STORE_ERROR;
	rc = store_rows_commit(st, rows, group, offs, noffs, err, errlen);
	store_rows_free(rows);
	return rc;
}
