/* store.c - the PostgreSQL side: connection, migrations, calendars, offsets,
 * a ticket's archived events and the escalation outbox (docs/storage.md).
 * Saved states load in store_load.c, batches commit in store_commit.c. */
#include "slad/store.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "slad/log.h"
#include "slad/migrations.h"
#include "slad/pgarr.h"
#include "slad/policy.h"
#include "slad/tzload.h"
#include "store_internal.h"

/* pg_advisory_xact_lock key of migrations: "slad". */
#define STORE_MIGRATION_LOCK "1936482660"
/* Server NOTICEs ("relation already exists, skipping") are expected noise. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Runs a command without parameters; COMMAND_OK or TUPLES_OK expected. */
bool store_exec_simple(struct store *st, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexec(st->conn, sql);
	ExecStatusType s = PQresultStatus(res);
	bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!ok)
		pg_set_err(err, errlen, "%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
	PQclear(res);
	return ok;
}

/* Runs a parameterised query; NULL (and err) unless COMMAND_OK/TUPLES_OK. */
PGresult *store_exec_params(struct store *st, const char *sql, int n, const char *const *vals, const char *what,
			   char *err, size_t errlen)
{
	PGresult *res = PQexecParams(st->conn, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return res;
	pg_set_err(err, errlen, "%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
	PQclear(res);
	return NULL;
}

/* Ends an open or failed transaction; used on error paths only. */
void store_rollback_quietly(struct store *st)
{
	PGTransactionStatusType ts;

	if (!store_conn_usable(st))
		return;
	if (PQpipelineStatus(st->conn) != PQ_PIPELINE_OFF)
		(void)PQexitPipelineMode(st->conn);
	ts = PQtransactionStatus(st->conn);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		PQclear(PQexec(st->conn, "ROLLBACK"));
}

/* Remembers who this session is on the server; see struct store. */
static const char sql_session_start[] = "SELECT (extract(epoch FROM backend_start) * 1000000)::bigint"
					" FROM pg_stat_activity WHERE pid = pg_backend_pid()";
static bool session_init(struct store *st, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool session_init(struct store *st, char *err, size_t errlen)
{
	PGresult *res;

	PQsetNoticeProcessor(st->conn, ignore_notice, NULL);
	st->backend_pid = PQbackendPID(st->conn);
	st->backend_start_us = -1;
	res = store_exec_params(st, sql_session_start, 0, NULL, "reading session start", err, errlen);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		st->backend_start_us = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

void store_free(struct store *st)
{
	if (st)
		PQfinish(st->conn); /* accepts NULL */
	free(st);
}

struct store *store_connect(const char *conninfo, char *err, size_t errlen)
{
	/* Later keywords override what the conninfo string sets: the store
	 * always speaks UTF-8 (everything it sends is sanitized to UTF-8). */
	const char *const keys[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
	const char *const vals[] = {conninfo ? conninfo : "", "slad", "UTF8", NULL};
	struct store *st = NULL;

	st = calloc(1, sizeof *st);
	if (st == NULL) {
		pg_set_err(err, errlen, "out of memory");
		goto fail;
	}
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (st->conn == NULL) {
		pg_set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (PQstatus(st->conn) != CONNECTION_OK) {
		/* libpq's message names host and user, never the password. */
		pg_set_err(err, errlen, "connecting to PostgreSQL: %s", PQerrorMessage(st->conn));
		goto fail;
	}
	if (!session_init(st, err, errlen))
		goto fail;
	return st;
fail:
	store_free(st);
	return NULL;
}

bool store_ok(struct store *st)
{
	return store_conn_usable(st);
}

bool store_ping(struct store *st, char *err, size_t errlen)
{
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	return store_exec_simple(st, "SELECT 1", "ping", err, errlen);
}

struct pg_conn *store_conn(struct store *st)
{
	return st ? st->conn : NULL;
}

void store_set_batch_hook(struct store *st, store_batch_hook hook, void *arg)
{
	st->batch_hook = hook;
	st->batch_hook_arg = arg;
}

bool store_reconnect(struct store *st, char *err, size_t errlen)
{
	if (st == NULL || st->conn == NULL) {
		pg_set_err(err, errlen, "no connection to reset");
		return false;
	}
	PQreset(st->conn);
	if (PQstatus(st->conn) != CONNECTION_OK) {
		pg_set_err(err, errlen, "reconnecting to PostgreSQL: %s", PQerrorMessage(st->conn));
		return false;
	}
	return session_init(st, err, errlen);
}

/* ---- migrations ---- */

static int migration_cmp(const void *a, const void *b)
{
	const struct migration *const *x = a;
	const struct migration *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static size_t migration_count(void)
{
	size_t n = 0;

	while (migrations[n].name != NULL)
		n++;
	return n;
}

/* BEGIN, the migration lock, then a first query (NULL: failed; the caller rolls back). */
static PGresult *begin_locked(struct store *st, const char *sql, int n, const char *const *vals, const char *what,
			      char *err, size_t errlen)
{
	if (!store_exec_simple(st, "BEGIN", "starting a migration transaction", err, errlen) ||
	    !store_exec_simple(st, "SELECT pg_advisory_xact_lock(" STORE_MIGRATION_LOCK ")", "taking the migration lock",
			       err, errlen))
		return NULL;
	return store_exec_params(st, sql, n, vals, what, err, errlen);
}

/* Runs one migration unless recorded; *ran tells which. */
static bool migrate_one(struct store *st, const struct migration *m, bool *ran, char *err, size_t errlen)
	__attribute__((warn_unused_result));

static bool migrate_one(struct store *st, const struct migration *m, bool *ran, char *err, size_t errlen)
{
	const char *vals[1] = {m->name};
	PGresult *res = NULL;
	char what[160];

	*ran = false;
	res = begin_locked(st, "SELECT 1 FROM sla.schema_migrations WHERE name = $1", 1, vals,
			   "reading sla.schema_migrations", err, errlen);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		/* A multi-statement simple query joins the open transaction. */
		snprintf(what, sizeof what, "migration %s", m->name);
		if (!store_exec_simple(st, m->sql, what, err, errlen))
			goto fail;
		if (PQtransactionStatus(st->conn) != PQTRANS_INTRANS) {
			pg_set_err(err, errlen, "migration %s ended its transaction (it must not contain BEGIN/COMMIT)",
				m->name);
			goto fail;
		}
		PQclear(res);
		res = store_exec_params(st, "INSERT INTO sla.schema_migrations (name) VALUES ($1)", 1, vals,
				  "recording the migration", err, errlen);
		if (res == NULL)
			goto fail;
		*ran = true;
	}
	PQclear(res);
	res = NULL;
	if (!store_exec_simple(st, "COMMIT", "committing the migration", err, errlen))
		goto fail;
	return true;
fail:
	PQclear(res);
	*ran = false;
	store_rollback_quietly(st);
	return false;
}

bool store_migrate(struct store *st, int *applied, char *err, size_t errlen)
{
	size_t n = migration_count();
	const struct migration **order = NULL;
	PGresult *res = NULL;
	int count = 0;
	bool bootstrap;

	if (applied != NULL)
		*applied = 0;
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		goto fail;
	}
	order = calloc(n + 1, sizeof *order);
	if (order == NULL) {
		pg_set_err(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = &migrations[i];
	qsort(order, n, sizeof *order, migration_cmp);

	/* The bookkeeping table must exist before it can be read; create it
	 * only when missing, since CREATE SCHEMA needs the database's CREATE
	 * privilege even with IF NOT EXISTS. */
	res = begin_locked(st, "SELECT to_regclass('sla.schema_migrations') IS NULL", 0, NULL,
			   "looking for sla.schema_migrations", err, errlen);
	if (res == NULL)
		goto fail;
	bootstrap = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	res = NULL;
	if (bootstrap && !store_exec_simple(st,
				      "CREATE SCHEMA IF NOT EXISTS sla;"
				      " CREATE TABLE IF NOT EXISTS sla.schema_migrations ("
				      " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
				      "creating sla.schema_migrations", err, errlen))
		goto fail;
	if (!store_exec_simple(st, "COMMIT", "committing sla.schema_migrations", err, errlen))
		goto fail;

	for (size_t i = 0; i < n; i++) {
		bool ran;

		if (!migrate_one(st, order[i], &ran, err, errlen))
			goto fail;
		if (ran)
			count++;
	}
	free(order);
	if (applied != NULL)
		*applied = count;
	return true;
fail:
	PQclear(res);
	store_rollback_quietly(st);
	free(order);
	if (applied != NULL)
		*applied = count;
	return false;
}

bool store_migrations_current(struct store *st, char *err, size_t errlen)
{
	PGresult *res = NULL;
	char missing[512] = "";
	size_t nmissing = 0;

	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	res = PQexec(st->conn, "SELECT name FROM sla.schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		/* 42P01 undefined_table, 3F000 invalid_schema_name */
		if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
			pg_set_err(err, errlen, "the database has no sla schema yet: run `slad migrate`");
		else
			pg_set_err(err, errlen, "reading sla.schema_migrations: %s",
				res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		PQclear(res);
		return false;
	}
	for (size_t i = 0; migrations[i].name != NULL; i++) {
		bool found = false;

		for (int r = 0; r < PQntuples(res) && !found; r++)
			found = strcmp(PQgetvalue(res, r, 0), migrations[i].name) == 0;
		if (found)
			continue;
		if (nmissing++ > 0)
			strncat(missing, ", ", sizeof missing - strlen(missing) - 1);
		strncat(missing, migrations[i].name, sizeof missing - strlen(missing) - 1);
	}
	PQclear(res);
	if (nmissing > 0) {
		pg_set_err(err, errlen, "the database lacks migration%s %s: run `slad migrate`", nmissing > 1 ? "s" : "",
			missing);
		return false;
	}
	return true;
}

/* ---- deferred indexes (schema/0012) ---- */

/* The one integer a query of 0012's functions returns, in a transaction of
 * its own. */
static bool call_int_function(struct store *st, const char *sql, const char *what, int *n, char *err, size_t errlen)
{
	PGresult *res = store_exec_params(st, sql, 0, NULL, what, err, errlen);

	*n = 0;
	if (res == NULL)
		return false;
	*n = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

bool store_indexes_defer(struct store *st, int *n, char *err, size_t errlen)
{
	return call_int_function(st, "SELECT sla.defer_indexes()", "deferring the secondary indexes", n, err, errlen);
}

bool store_indexes_restore(struct store *st, int *n, char *err, size_t errlen)
{
	return call_int_function(st, "SELECT count(*) FROM sla.restore_indexes()", "building the deferred indexes", n, err,
				 errlen);
}

bool store_indexes_deferred(struct store *st, int *n, char *err, size_t errlen)
{
	return call_int_function(st, "SELECT count(*) FROM sla.deferred_indexes", "reading sla.deferred_indexes", n,
				 err, errlen);
}

/* ---- loading ---- */

/* One calendar row of sla.calendars with its exceptions (rows of `exc`
 * belonging to it, found from *next_exc on: both results are ordered by
 * calendar_id) and the zone's offsets from the tz database, compiled. */
static bool calendar_from_rows(PGresult *cals, int i, PGresult *exc, int *next_exc, struct calendar *cal,
			       char *err, size_t errlen) __attribute__((warn_unused_result));

static bool calendar_from_rows(PGresult *cals, int i, PGresult *exc, int *next_exc, struct calendar *cal,
			       char *err, size_t errlen)
{
	const char *id = PQgetvalue(cals, i, 0);
	const char *tz = PQgetvalue(cals, i, 1);
	char why[384];
	int r, first, nexc = 0;

	memset(cal, 0, sizeof *cal);
	if (strlen(id) > CAL_ID_MAX || strlen(tz) >= sizeof cal->tz) {
		pg_set_err(err, errlen, "calendar %.40s: id or time zone too long", id);
		return false;
	}
	snprintf(cal->id, sizeof cal->id, "%s", id);
	snprintf(cal->tz, sizeof cal->tz, "%s", tz);
	cal->office_open_min = (int)strtol(PQgetvalue(cals, i, 2), NULL, 10);
	cal->office_close_min = (int)strtol(PQgetvalue(cals, i, 3), NULL, 10);
	if (!PQgetisnull(cals, i, 4) && !PQgetisnull(cals, i, 5)) {
		cal->first_year = (int)strtol(PQgetvalue(cals, i, 4), NULL, 10);
		cal->last_year = (int)strtol(PQgetvalue(cals, i, 5), NULL, 10);
	}
	if (!tzload_zone(NULL, tz, &cal->offsets, &cal->noffsets, why, sizeof why)) {
		pg_set_err(err, errlen, "calendar %s: %s", id, why);
		return false;
	}

	/* Exceptions of calendars that no longer exist cannot be there (foreign
	 * key); skip anything ordered before this id all the same. */
	for (r = *next_exc; r < PQntuples(exc) && strcmp(PQgetvalue(exc, r, 0), id) < 0; r++)
		;
	first = r;
	while (r < PQntuples(exc) && strcmp(PQgetvalue(exc, r, 0), id) == 0)
		r++, nexc++;
	*next_exc = r;
	if (nexc > 0) {
		cal->exceptions = calloc((size_t)nexc, sizeof *cal->exceptions);
		if (cal->exceptions == NULL) {
			pg_set_err(err, errlen, "out of memory");
			return false;
		}
	}
	for (r = first; r < first + nexc; r++) {
		struct cal_exception *e = &cal->exceptions[cal->nexceptions++];
		e->day = strtoll(PQgetvalue(exc, r, 1), NULL, 10);
		e->kind = strcmp(PQgetvalue(exc, r, 2), "WORKDAY") == 0 ? CAL_WORKDAY : CAL_HOLIDAY;
	}
	if (!calendar_compile(cal, why, sizeof why)) {
		pg_set_err(err, errlen, "calendar %s: %s", id, why);
		return false;
	}
	return true;
}

/* Both ordered by the same collation, so the exceptions of each calendar
 * follow one another in the order the calendars come. */
static const char sql_calendars[] =
	"SELECT c.calendar_id, c.tz,"
	" (extract(hour FROM c.office_open) * 60 + extract(minute FROM c.office_open))::int,"
	" (extract(hour FROM c.office_close) * 60 + extract(minute FROM c.office_close))::int,"
	" c.first_year, c.last_year"
	" FROM sla.calendars c ORDER BY c.calendar_id COLLATE \"C\"";
static const char sql_calendar_exceptions[] = "SELECT calendar_id, (day - DATE '1970-01-01')::bigint, kind"
					      " FROM sla.calendar_exceptions ORDER BY calendar_id COLLATE \"C\", day";

bool store_load_calendars(struct store *st, struct calendar_set *set, char *err, size_t errlen)
{
	PGresult *cals = NULL, *exc = NULL;
	struct calendar cal;
	int next_exc = 0;

	memset(&cal, 0, sizeof cal);
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		goto fail;
	}
	cals = store_exec_params(st, sql_calendars, 0, NULL, "reading sla.calendars", err, errlen);
	if (cals == NULL)
		goto fail;
	exc = store_exec_params(st, sql_calendar_exceptions, 0, NULL, "reading sla.calendar_exceptions", err, errlen);
	if (exc == NULL)
		goto fail;

	for (int i = 0; i < PQntuples(cals); i++) {
		if (!calendar_from_rows(cals, i, exc, &next_exc, &cal, err, errlen))
			goto fail;
		/* calendar_set_add keeps the arrays only on success. */
		if (!calendar_set_add(set, &cal)) {
			pg_set_err(err, errlen, "calendar %s: could not add it (out of memory)", cal.id);
			goto fail;
		}
	}
	PQclear(cals);
	PQclear(exc);
	return true;
fail:
	calendar_free(&cal);
	PQclear(cals);
	PQclear(exc);
	return false;
}

static const char sql_offset_read[] = "SELECT next_offset, greatest(next_offset, written_offset) FROM sla.consumer_offsets"
				      " WHERE consumer_group = $1 AND topic = $2 AND partition = $3";

bool store_load_offset(struct store *st, const char *group, const char *topic, int32_t partition,
		       int64_t *next_offset, int64_t *written, char *err, size_t errlen)
{
	char part[16];
	const char *vals[3] = {group, topic, part};
	PGresult *res;

	*next_offset = -1;
	if (written)
		*written = -1;
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	snprintf(part, sizeof part, "%" PRId32, partition);
	res = store_exec_params(st, sql_offset_read, 3, vals, "reading sla.consumer_offsets", err, errlen);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1) {
		*next_offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (written)
			*written = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return true;
}

bool store_ticket_history(struct store *st, const char *ticket_id, size_t limit, uint8_t **log, size_t *len,
			  char *err, size_t errlen)
{
	char lim[24];
	const char *vals[2] = {ticket_id, lim};
	bool ok = false;
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	*log = NULL;
	*len = 0;
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	snprintf(lim, sizeof lim, "%zu", limit);
	/* Binary results: the payloads come as they were written. */
	PGresult *res = PQexecParams(st->conn,
				     "SELECT payload FROM sla.ticket_events WHERE ticket_id = $1 AND payload IS NOT NULL"
				     " ORDER BY occurred_at, applied_at, topic, kafka_offset LIMIT $2::int",
				     2, NULL, vals, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_set_err(err, errlen, "reading the events of ticket %s: %s", ticket_id,
			   res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		goto done;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		size_t plen = (size_t)PQgetlength(res, i, 0);
		if (plen > UINT32_MAX)
			continue;
		if (n + 4 + plen > cap) {
			size_t ncap = cap ? cap : 4096;
			while (ncap < n + 4 + plen)
				ncap *= 2;
			uint8_t *nb = realloc(buf, ncap);
			if (nb == NULL) {
				pg_set_err(err, errlen, "out of memory");
				goto done;
			}
			buf = nb;
			cap = ncap;
		}
		for (int k = 0; k < 4; k++)
			buf[n++] = (uint8_t)((uint32_t)plen >> (8 * k));
		memcpy(buf + n, PQgetvalue(res, i, 0), plen);
		n += plen;
	}
	*log = buf;
	*len = n;
	buf = NULL;
	ok = true;
done:
	free(buf);
	PQclear(res);
	return ok;
}

static const char sql_outbox_read[] =
	"SELECT e.ticket_id, e.milestone, e.occurrence, e.level,"
	" (extract(epoch FROM e.at) * 1000)::bigint, coalesce(e.partner_id, ''),"
	" coalesce(e.engineer_id, ''), coalesce(e.policy_version, '')"
	" FROM sla.escalations e"
	" WHERE e.published_at IS NULL AND (e.partition = ANY ($1::int[]) OR (e.partition IS NULL AND EXISTS"
	" (SELECT 1 FROM sla.ticket_state s WHERE s.ticket_id = e.ticket_id AND s.partition = ANY ($1::int[]))))"
	" ORDER BY e.at, e.id LIMIT $2::int";

bool store_escalations_pending(struct store *st, const int32_t *partitions, size_t npartitions, size_t limit,
			       struct store_escalation **rows, size_t *nrows, char *err, size_t errlen)
{
	struct pgarr parts = {0};
	char lim[24];
	bool ok = false;
	PGresult *res = NULL;

	*rows = NULL;
	*nrows = 0;
	for (size_t i = 0; i < npartitions; i++)
		arr_int(&parts, partitions[i]);
	const char *vals[2] = {arr_finish(&parts), lim};
	snprintf(lim, sizeof lim, "%zu", limit);
	if (vals[0] == NULL) {
		pg_set_err(err, errlen, "out of memory");
		goto done;
	}
	res = store_exec_params(st, sql_outbox_read, 2, vals, "reading the escalation outbox", err, errlen);
	if (res == NULL)
		goto done;
	size_t n = (size_t)PQntuples(res);
	if (n) {
		*rows = calloc(n, sizeof(**rows));
		if (*rows == NULL) {
			pg_set_err(err, errlen, "out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct store_escalation *r = &(*rows)[i];
		snprintf(r->ticket_id, sizeof r->ticket_id, "%s", PQgetvalue(res, (int)i, 0));
		snprintf(r->milestone, sizeof r->milestone, "%s", PQgetvalue(res, (int)i, 1));
		r->occurrence = (int)strtol(PQgetvalue(res, (int)i, 2), NULL, 10);
		snprintf(r->level, sizeof r->level, "%s", PQgetvalue(res, (int)i, 3));
		r->at = strtoll(PQgetvalue(res, (int)i, 4), NULL, 10);
		snprintf(r->partner_id, sizeof r->partner_id, "%s", PQgetvalue(res, (int)i, 5));
		snprintf(r->engineer_id, sizeof r->engineer_id, "%s", PQgetvalue(res, (int)i, 6));
		snprintf(r->policy_version, sizeof r->policy_version, "%s", PQgetvalue(res, (int)i, 7));
	}
	*nrows = n;
	ok = true;
done:
	PQclear(res);
	arrs_free(&parts, 1);
	return ok;
}

static const char sql_outbox_mark[] =
	"UPDATE sla.escalations e SET published_at = now()"
	" FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS u (ticket_id, milestone, occurrence, level)"
	" WHERE e.ticket_id = u.ticket_id AND e.milestone = u.milestone AND e.occurrence = u.occurrence"
	" AND e.level = u.level AND e.published_at IS NULL";

bool store_escalations_mark(struct store *st, const struct store_escalation *rows, size_t nrows, char *err,
			    size_t errlen)
{
	struct pgarr cols[4];
	memset(cols, 0, sizeof cols);
	bool ok = false;
	PGresult *res = NULL;

	if (nrows == 0)
		return true;
	for (size_t i = 0; i < nrows; i++) {
		arr_text(&cols[0], rows[i].ticket_id);
		arr_text(&cols[1], rows[i].milestone);
		arr_int(&cols[2], rows[i].occurrence);
		arr_text(&cols[3], rows[i].level);
	}
	const char *vals[4] = {arr_finish(&cols[0]), arr_finish(&cols[1]), arr_finish(&cols[2]), arr_finish(&cols[3])};
	if (!vals[0] || !vals[1] || !vals[2] || !vals[3]) {
		pg_set_err(err, errlen, "out of memory");
		goto done;
	}
	res = store_exec_params(st, sql_outbox_mark, 4, vals, "marking escalations published", err, errlen);
	ok = res != NULL;
done:
	PQclear(res);
	arrs_free(cols, 4);
	return ok;
}
