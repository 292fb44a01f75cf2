/* store_commit.c - the exactly-once batch commit: offsets (compare-and-set),
 * the batch's statements (store_batch.c), partition clocks and the
 * cross-ticket evaluation in one pipelined transaction, and reading a lost
 * COMMIT's outcome back (docs/storage.md, "The exactly-once commit"). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "slad/log.h"
#include "slad/pgarr.h"
#include "store_internal.h"

/* How long a commit-outcome readback waits for the old session to end. */
#define STORE_READBACK_WAIT_MS 10000

static const char sql_eng_eval[] = "SELECT sla.evaluate_pending($1, $2, $3::text[])";

/* Compare-and-set of one offset; last_batch lets a lost COMMIT be read back
 * even when the offset did not move (a batch of timer effects only). */
static const char sql_offset_cas[] =
	"UPDATE sla.consumer_offsets SET next_offset = $4, last_batch = $6, updated_at = now()"
	" WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $5";
/* from = -1: no row yet, or a row that still says -1 (nothing consumed). */
static const char sql_offset_first[] =
	"INSERT INTO sla.consumer_offsets AS o (consumer_group, topic, partition, next_offset, last_batch)"
	" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consumer_group, topic, partition) DO UPDATE"
	" SET next_offset = excluded.next_offset, last_batch = excluded.last_batch, updated_at = now()"
	" WHERE o.next_offset = -1";
/* The partitions' processing clocks (schema/0006), never moving back. */
static const char sql_clocks[] =
	"INSERT INTO sla.partition_clocks AS c (consumer_group, topic, partition, clock_at)"
	" SELECT $1, u.topic, u.partition, coalesce(" MS_TS("u.clock") ", '-infinity')"
	" FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u (topic, partition, clock)"
	" ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET clock_at = greatest(c.clock_at, excluded.clock_at),"
	" updated_at = now()";
static const char sql_offset_read[] =
	"SELECT next_offset, last_batch FROM sla.consumer_offsets"
	" WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR SHARE";

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

static int offset_cmp(const void *a, const void *b)
{
	const struct store_offset *x = *(const struct store_offset *const *)a;
	const struct store_offset *y = *(const struct store_offset *const *)b;
	int c = strcmp(x->topic, y->topic);

	if (c != 0)
		return c;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

/* After a COMMIT whose answer was lost: ends the old session if it is still
 * there (so its transaction is decided), then reads the offsets back. The
 * batch committed iff every offset holds `to` and this batch's token. */
static enum store_result commit_readback(struct store *st, const char *group, const struct store_offset *offs,
					 size_t noffs, const char *token, char *err, size_t errlen)
{
	int old_pid = st->backend_pid;
	long long old_start = st->backend_start_us;
	char pid_s[16], start_s[24], part[16];
	char why[256];
	PGresult *res = NULL;
	size_t matched = 0;

	if (!store_reconnect(st, why, sizeof why)) {
		pg_set_err(err, errlen, "connection lost during COMMIT; outcome unknown (%s)", why);
		return STORE_ERROR;
	}
	if (noffs == 0) {
		pg_set_err(err, errlen, "connection lost during COMMIT; outcome unknown (no offsets to read back)");
		return STORE_ERROR;
	}
	if (old_start >= 0) {
		const char *vals[2] = {pid_s, start_s};
		struct timespec pause = {0, 100 * 1000 * 1000};

		snprintf(pid_s, sizeof pid_s, "%d", old_pid);
		snprintf(start_s, sizeof start_s, "%lld", old_start);
		for (int waited = 0; waited < STORE_READBACK_WAIT_MS; waited += 100) {
			res = PQexecParams(st->conn,
					   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1"
					   " AND (extract(epoch FROM backend_start) * 1000000)::bigint = $2",
					   2, NULL, vals, NULL, NULL, 0);
			/* Not allowed to signal it: the row lock below still waits. */
			if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0)
				break;
			PQclear(res);
			res = NULL;
			nanosleep(&pause, NULL);
		}
		PQclear(res);
		res = NULL;
	}

	if (!store_exec_simple(st, "BEGIN", "reading back offsets", err, errlen) ||
	    !store_exec_simple(st, "SET LOCAL lock_timeout = '10s'", "reading back offsets", err, errlen))
		goto unknown;
	for (size_t i = 0; i < noffs; i++) {
		const char *vals[3] = {group, offs[i].topic, part};

		if (offs[i].to < 0) { /* nothing consumed there: only its clock was written */
			matched++;
			continue;
		}
		snprintf(part, sizeof part, "%" PRId32, offs[i].partition);
		res = store_exec_params(st, sql_offset_read, 3, vals, "reading back offsets", err, errlen);
		if (res == NULL)
			goto unknown;
		if (PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) == offs[i].to &&
		    strcmp(PQgetvalue(res, 0, 1), token) == 0)
			matched++;
		PQclear(res);
		res = NULL;
	}
	if (!store_exec_simple(st, "COMMIT", "reading back offsets", err, errlen))
		goto unknown;
	if (matched == noffs)
		return STORE_OK;
	pg_set_err(err, errlen, "connection lost during COMMIT; read back: not committed");
	return STORE_ERROR;
unknown:
	PQclear(res);
	store_rollback_quietly(st);
	snprintf(why, sizeof why, "%s", err ? err : "");
	pg_set_err(err, errlen, "connection lost during COMMIT; outcome unknown (%s)", why);
	return STORE_ERROR;
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

/* ---- month partitions (schema/0010) ---- */

/* The UTC month of an instant as months since 1970-01; -1 outside the span
 * the store tracks (those rows go to the default partition). */
static int month_of(sla_time t)
{
	int y;
	unsigned m, d;

	if (t == SLA_TIME_NONE)
		return -1;
	civil_from_days(floor_div(t, SLA_DAY), &y, &m, &d);
	if (y < 1970 || y >= 1970 + STORE_MONTHS / 12)
		return -1;
	return (y - 1970) * 12 + (int)m - 1;
}

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

static sla_time month_start(int mo)
{
	return (sla_time)days_from_civil(1970 + mo / 12, (unsigned)(mo % 12) + 1, 1) * SLA_DAY;
}

static void month_need_add(struct month_need *nd, sla_time t)
{
	if (t >= nd->lo && t < nd->hi)
		return;
	int mo = month_of(t);

	if (mo < 0)
		return;
	nd->lo = month_start(mo);
	nd->hi = month_start(mo + 1);
	for (size_t i = 0; i < nd->n; i++)
		if (nd->v[i] == mo)
			return;
	if (nd->n < sizeof nd->v / sizeof nd->v[0])
		nd->v[nd->n++] = mo;
}

/* The month partitions a batch's rows need (events by occurred_at, status
 * changes by changed_at, dead letters and undated changes by now). */
static void months_needed(struct month_need *nd, const struct sla_out *out)
{
	month_need_add(nd, (sla_time)time(NULL) * 1000);
	for (size_t i = 0; i < out->napplied; i++)
		month_need_add(nd, out->applied[i].occurred_at);
	for (size_t i = 0; i < out->nhist; i++)
		month_need_add(nd, out->hist[i].changed_at);
}

/* Before a batch's transaction, in a transaction of its own: the month
 * partitions it needs that this process has not made sure of yet. Once per
 * month and process; a failure only sends rows to the default partition. */
static void ensure_months(struct store *st, const struct month_need *nd)
{
	static const char sql[] = "SELECT sla.ensure_months(" MS_TS("$1::bigint") ", " MS_TS("$1::bigint") ")";

	for (size_t i = 0; i < nd->n; i++) {
		int mo = nd->v[i];
		char from[24];
		const char *vals[1] = {from};

		if ((st->months[mo / 8] >> (mo % 8)) & 1)
			continue;
		snprintf(from, sizeof from, "%" PRId64, (int64_t)month_start(mo));
		PGresult *res = PQexecParams(st->conn, sql, 1, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			st->months[mo / 8] |= (uint8_t)(1u << (mo % 8));
		else {
			char why[256];

			pg_set_err(why, sizeof why, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
			log_warn("creating the partitions of %04d-%02d: %s (its rows go to the default partitions)",
				 1970 + mo / 12, mo % 12 + 1, why);
		}
		PQclear(res);
	}
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
	months_needed(&rows->months, out);
	return rows;
fail:
	store_rows_free(rows);
	return NULL;
}

void store_rows_free(struct store_rows *rows)
{
	if (rows == NULL)
		return;
	batch_free(rows->b);
	free(rows->policy_version);
	free(rows);
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

/* One attempt at the batch's transaction; copying: the rows expected to be
 * new by binary COPY (batch_copy), before the pipeline. */
static enum store_result commit_once(struct store *st, struct store_rows *rows, const char *group,
				     const struct store_offset *offs, size_t noffs, bool copying, char *err,
				     size_t errlen)
{
	struct batch *b = rows->b;
	struct pgarr ck[3] = {{0}}; /* partition clocks: topic, partition, clock */
	struct pgarr tp = {0};      /* the topics whose partitions carry a processing clock */
	struct pipeline p = {0};
	const struct store_offset **sorted = NULL;
	char (*offnum)[3][24] = NULL; /* to, from, partition as text */
	char token[80];
	PGresult *res = NULL;
	bool failed = false, broken = false, conflict = false;
	int nulls = 0;
	size_t got = 0;
	enum store_result rc = STORE_ERROR;
	const char *pv = rows->policy_version;

	if (st != NULL) {
		st->last_sqlstate[0] = '\0';
		st->last_message[0] = '\0';
	}
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return STORE_ERROR;
	}
	/* A previous failure may have left a transaction or a pipeline open. */
	store_rollback_quietly(st);
	if (PQpipelineStatus(st->conn) != PQ_PIPELINE_OFF ||
	    PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
		pg_set_err(err, errlen, "the connection is busy: reconnect");
		return STORE_ERROR;
	}

	ensure_months(st, &rows->months);
	sorted = calloc(noffs + 1, sizeof *sorted);
	offnum = calloc(noffs + 1, sizeof *offnum);
	p.cap = noffs + 16 + STORE_HOOK_MAX; /* BEGIN, the tables, the engineer statements, the hook, COMMIT */
	p.q = calloc(p.cap, sizeof *p.q);
	if (sorted == NULL || offnum == NULL || p.q == NULL) {
		pg_set_err(err, errlen, "out of memory");
		goto done;
	}
	/* Same lock order in every instance: no deadlock between two that
	 * both believe they own overlapping partitions. */
	for (size_t i = 0; i < noffs; i++)
		sorted[i] = &offs[i];
	qsort(sorted, noffs, sizeof *sorted, offset_cmp);
	snprintf(token, sizeof token, "%d.%lld.%llu", st->backend_pid, st->backend_start_us, ++st->commit_seq);

	/* Rows expected to be new go first, by COPY (no COPY in a pipeline);
	 * violation_history's statement then finds their violations. */
	if (copying) {
		res = PQexec(st->conn, "BEGIN");
		failed = PQresultStatus(res) != PGRES_COMMAND_OK;
		if (failed)
			pg_set_err(err, errlen, "BEGIN: %s", PQerrorMessage(st->conn));
		PQclear(res);
		res = NULL;
		for (size_t i = 0; !failed && i < batch_ncopies(); i++) {
			struct batch_copy c;

			switch (batch_copy(b, i, &c, err, errlen)) {
			case BATCH_SKIP: break;
			case BATCH_ERROR: failed = true; break;
			case BATCH_SEND: failed = !run_copy(st, &c, err, errlen); break;
			}
		}
		if (failed) {
			store_rollback_quietly(st);
			rc = store_sqlstate_is_data_error(st->last_sqlstate) ? STORE_DATA_ERROR : STORE_ERROR;
			goto done;
		}
	}

	/* Round trip 1: every statement of the transaction, one Sync. The
	 * offsets go first: their row locks fence a rival owner before any
	 * result row is touched (rows by COPY, above, are only for callers
	 * without offsets: slactl replay). */
	if (!PQenterPipelineMode(st->conn)) {
		pg_set_err(err, errlen, "entering pipeline mode: %s", PQerrorMessage(st->conn));
		goto done;
	}
	if (!copying && !pipe_send(st, &p, "BEGIN", 0, NULL, "BEGIN", -1, err, errlen))
		goto send_failed;
	for (size_t i = 0; i < noffs; i++) {
		const struct store_offset *o = sorted[i];
		const char *vals[6] = {group, o->topic, offnum[i][2], offnum[i][0], offnum[i][1], token};

		snprintf(offnum[i][0], sizeof offnum[i][0], "%" PRId64, o->to);
		snprintf(offnum[i][1], sizeof offnum[i][1], "%" PRId64, o->from);
		snprintf(offnum[i][2], sizeof offnum[i][2], "%" PRId32, o->partition);
		if (o->clock != SLA_TIME_NONE) {
			arr_text(&ck[0], o->topic);
			arr_int(&ck[1], o->partition);
			arr_time(&ck[2], o->clock == STORE_CLOCK_UNKNOWN ? SLA_TIME_NONE : o->clock);
		}
		if (o->to < 0)
			continue; /* nothing consumed yet: only its clock */
		if (o->from < 0) {
			vals[4] = token; /* no $5 (from) in the INSERT */
			if (!pipe_send(st, &p, sql_offset_first, 5, vals, "creating the consumer offset",
				       (int)(o - offs), err, errlen))
				goto send_failed;
		} else if (!pipe_send(st, &p, sql_offset_cas, 6, vals, "moving the consumer offset", (int)(o - offs),
				      err, errlen)) {
			goto send_failed;
		}
	}
	for (size_t i = 0; i < batch_nstatements(); i++) {
		struct batch_statement bs;

		switch (batch_statement(b, i, group != NULL && group[0], copying, pv, &bs, err, errlen)) {
		case BATCH_SKIP: break;
		case BATCH_ERROR: goto send_failed;
		case BATCH_SEND:
			if (!pipe_send_fmt(st, &p, bs.sql, bs.nparams, bs.vals, bs.lengths, bs.formats, bs.what, -1,
					   err, errlen))
				goto send_failed;
			break;
		}
	}
	if (ck[0].n > 0) {
		const char *cvals[4] = {group, arr_finish(&ck[0]), arr_finish(&ck[1]), arr_finish(&ck[2])};
		if (!cvals[1] || !cvals[2] || !cvals[3]) {
			pg_set_err(err, errlen, "partition clocks: out of memory");
			goto send_failed;
		}
		if (!pipe_send(st, &p, sql_clocks, 4, cvals, "writing sla.partition_clocks", -1, err, errlen))
			goto send_failed;
	}
	{
		/* The topics with processing clocks, each once. */
		for (size_t i = 0; i < noffs; i++) {
			bool seen = false;
			if (sorted[i]->clock == SLA_TIME_NONE)
				continue;
			for (size_t j = 0; j < i; j++)
				seen |= sorted[j]->clock != SLA_TIME_NONE && strcmp(sorted[j]->topic, sorted[i]->topic) == 0;
			if (!seen)
				arr_text(&tp, sorted[i]->topic);
		}
		const char *topics = arr_finish(&tp);
		const char *eval_vals[3] = {group, pv, topics};
		if (topics == NULL) {
			pg_set_err(err, errlen, "out of memory");
			goto send_failed;
		}
		if (!pipe_send(st, &p, sql_eng_eval, 3, eval_vals, "evaluating engineers across tickets", -1, err,
			       errlen))
			goto send_failed;
	}
	if (st->batch_hook) {
		int k = st->batch_hook(st->conn, st->batch_hook_arg, err, errlen);
		if (k < 0 || k > STORE_HOOK_MAX) {
			if (k >= 0)
				pg_set_err(err, errlen, "internal: the batch hook queued too many statements");
			goto send_failed;
		}
		for (int i = 0; i < k; i++)
			p.q[p.n++] = (struct queued){"writing the batch hook's rows", -1};
	}
	if (!PQpipelineSync(st->conn)) {
		pg_set_err(err, errlen, "sending the batch: %s", PQerrorMessage(st->conn));
		goto send_failed;
	}

	for (;;) {
		ExecStatusType s;

		res = PQgetResult(st->conn);
		if (res == NULL) {
			/* One NULL ends each statement's results; two in a row
			 * mean nothing more will come. */
			if (PQstatus(st->conn) != CONNECTION_OK || ++nulls > 1) {
				broken = true;
				break;
			}
			continue;
		}
		nulls = 0;
		s = PQresultStatus(res);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			res = NULL;
			break;
		}
		if (got < p.n) {
			const struct queued *q = &p.q[got];

			if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
				if (q->offset_index >= 0 && strcmp(PQcmdTuples(res), "1") != 0 && !conflict) {
					const struct store_offset *o = &offs[q->offset_index];

					if (failed)
						;
					else if (o->from < 0)
						pg_set_err(err, errlen,
							"offset of %s/%" PRId32
							" was created meanwhile: another instance owns the partition",
							o->topic, o->partition);
					else
						pg_set_err(err, errlen,
							"offset of %s/%" PRId32 " is no longer %" PRId64
							": another instance owns the partition",
							o->topic, o->partition, o->from);
					conflict = true;
				}
			} else if (s != PGRES_PIPELINE_ABORTED && !failed && !conflict) {
				pg_set_err(err, errlen, "%s: %s", q->what, PQresultErrorMessage(res));
				store_remember_error(st, res);
				failed = true;
			} else {
				failed = true;
			}
		}
		got++;
		PQclear(res);
		res = NULL;
		if (PQstatus(st->conn) != CONNECTION_OK) {
			broken = true;
			break;
		}
	}
	if (broken || got != p.n) {
		/* COMMIT was never sent: nothing of this batch is in. */
		if (!failed)
			pg_set_err(err, errlen, "connection lost before COMMIT: %s", PQerrorMessage(st->conn));
		goto done;
	}
	if (!PQexitPipelineMode(st->conn)) {
		pg_set_err(err, errlen, "leaving pipeline mode: %s", PQerrorMessage(st->conn));
		goto done;
	}
	if (conflict || failed) {
		store_rollback_quietly(st);
		rc = conflict ? STORE_CONFLICT
		     : store_sqlstate_is_data_error(st->last_sqlstate) ? STORE_DATA_ERROR
									: STORE_ERROR;
		goto done;
	}

	/* Round trip 2. */
	res = PQexec(st->conn, "COMMIT");
	if (PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0) {
		rc = STORE_OK;
	} else if (PQstatus(st->conn) != CONNECTION_OK) {
		rc = commit_readback(st, group, offs, noffs, token, err, errlen);
	} else {
		/* e.g. a deferred foreign key: the server rolled back. */
		pg_set_err(err, errlen, "COMMIT: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		store_remember_error(st, res);
		store_rollback_quietly(st);
		if (store_sqlstate_is_data_error(st->last_sqlstate))
			rc = STORE_DATA_ERROR;
	}
	PQclear(res);
	res = NULL;
	goto done;

send_failed:
	/* Nothing was committed; a broken connection is left for the caller
	 * to reconnect, a healthy one is cleaned up. */
	if (store_conn_usable(st)) {
		(void)PQpipelineSync(st->conn);
		while (PQstatus(st->conn) == CONNECTION_OK) {
			res = PQgetResult(st->conn);
			if (res == NULL) {
				if (++nulls > 1)
					break;
				continue;
			}
			nulls = 0;
			if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
				PQclear(res);
				res = NULL;
				break;
			}
			PQclear(res);
			res = NULL;
		}
		store_rollback_quietly(st);
	}
done:
	PQclear(res);
	arrs_free(ck, 3);
	arrs_free(&tp, 1);
	free(sorted);
	free(offnum);
	free(p.q);
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
