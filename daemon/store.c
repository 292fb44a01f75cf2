/* store.c - the PostgreSQL side: connection, migrations, loading calendars,
 * offsets and ticket state, and the exactly-once batch commit (docs/storage.md). */
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

/* pg_advisory_xact_lock key of migrations: "slad". */
#define STORE_MIGRATION_LOCK "1936482660"
/* How long a commit-outcome readback waits for the old session to end. */
#define STORE_READBACK_WAIT_MS 10000
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
};

/* Server NOTICEs ("relation already exists, skipping") are expected noise. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static bool conn_usable(const struct store *st)
{
	return st != NULL && st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK;
}

/* Runs a command without parameters; COMMAND_OK or TUPLES_OK expected. */
static bool exec_simple(struct store *st, const char *sql, const char *what, char *err, size_t errlen)
	__attribute__((warn_unused_result));

static bool exec_simple(struct store *st, const char *sql, const char *what, char *err, size_t errlen)
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
static PGresult *exec_params(struct store *st, const char *sql, int n, const char *const *vals, const char *what,
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
static void rollback_quietly(struct store *st)
{
	PGTransactionStatusType ts;

	if (!conn_usable(st))
		return;
	if (PQpipelineStatus(st->conn) != PQ_PIPELINE_OFF)
		(void)PQexitPipelineMode(st->conn);
	ts = PQtransactionStatus(st->conn);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		PQclear(PQexec(st->conn, "ROLLBACK"));
}

/* Remembers who this session is on the server; see struct store. */
static bool session_init(struct store *st, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool session_init(struct store *st, char *err, size_t errlen)
{
	PGresult *res;

	PQsetNoticeProcessor(st->conn, ignore_notice, NULL);
	st->backend_pid = PQbackendPID(st->conn);
	st->backend_start_us = -1;
	res = exec_params(st,
			  "SELECT (extract(epoch FROM backend_start) * 1000000)::bigint"
			  " FROM pg_stat_activity WHERE pid = pg_backend_pid()",
			  0, NULL, "reading session start", err, errlen);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		st->backend_start_us = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
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

void store_free(struct store *st)
{
	if (st == NULL)
		return;
	PQfinish(st->conn);
	free(st);
}

bool store_ok(struct store *st)
{
	return conn_usable(st);
}

bool store_ping(struct store *st, char *err, size_t errlen)
{
	if (!conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	return exec_simple(st, "SELECT 1", "ping", err, errlen);
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

static bool begin_locked(struct store *st, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool begin_locked(struct store *st, char *err, size_t errlen)
{
	return exec_simple(st, "BEGIN", "starting a migration transaction", err, errlen) &&
	       exec_simple(st, "SELECT pg_advisory_xact_lock(" STORE_MIGRATION_LOCK ")", "taking the migration lock",
			   err, errlen);
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
	if (!begin_locked(st, err, errlen))
		goto fail;
	res = exec_params(st, "SELECT 1 FROM sla.schema_migrations WHERE name = $1", 1, vals,
			  "reading sla.schema_migrations", err, errlen);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		/* A multi-statement simple query joins the open transaction. */
		snprintf(what, sizeof what, "migration %s", m->name);
		if (!exec_simple(st, m->sql, what, err, errlen))
			goto fail;
		if (PQtransactionStatus(st->conn) != PQTRANS_INTRANS) {
			pg_set_err(err, errlen, "migration %s ended its transaction (it must not contain BEGIN/COMMIT)",
				m->name);
			goto fail;
		}
		PQclear(res);
		res = exec_params(st, "INSERT INTO sla.schema_migrations (name) VALUES ($1)", 1, vals,
				  "recording the migration", err, errlen);
		if (res == NULL)
			goto fail;
		*ran = true;
	}
	PQclear(res);
	res = NULL;
	if (!exec_simple(st, "COMMIT", "committing the migration", err, errlen))
		goto fail;
	return true;
fail:
	PQclear(res);
	*ran = false;
	rollback_quietly(st);
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
	if (!conn_usable(st)) {
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
	if (!begin_locked(st, err, errlen))
		goto fail;
	res = exec_params(st, "SELECT to_regclass('sla.schema_migrations') IS NULL", 0, NULL,
			  "looking for sla.schema_migrations", err, errlen);
	if (res == NULL)
		goto fail;
	bootstrap = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	res = NULL;
	if (bootstrap && !exec_simple(st,
				      "CREATE SCHEMA IF NOT EXISTS sla;"
				      " CREATE TABLE IF NOT EXISTS sla.schema_migrations ("
				      " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
				      "creating sla.schema_migrations", err, errlen))
		goto fail;
	if (!exec_simple(st, "COMMIT", "committing sla.schema_migrations", err, errlen))
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
	rollback_quietly(st);
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

	if (!conn_usable(st)) {
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

bool store_load_calendars(struct store *st, struct calendar_set *set, char *err, size_t errlen)
{
	PGresult *cals = NULL, *exc = NULL;
	struct calendar cal;
	int next_exc = 0;

	memset(&cal, 0, sizeof cal);
	if (!conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		goto fail;
	}
	/* Both ordered by the same collation, so the exceptions of each calendar
	 * follow one another in the order the calendars come. */
	cals = exec_params(st,
			   "SELECT c.calendar_id, c.tz,"
			   " (extract(hour FROM c.office_open) * 60 + extract(minute FROM c.office_open))::int,"
			   " (extract(hour FROM c.office_close) * 60 + extract(minute FROM c.office_close))::int,"
			   " c.first_year, c.last_year"
			   " FROM sla.calendars c ORDER BY c.calendar_id COLLATE \"C\"",
			   0, NULL, "reading sla.calendars", err, errlen);
	if (cals == NULL)
		goto fail;
	exc = exec_params(st,
			  "SELECT calendar_id, (day - DATE '1970-01-01')::bigint, kind"
			  " FROM sla.calendar_exceptions ORDER BY calendar_id COLLATE \"C\", day",
			  0, NULL, "reading sla.calendar_exceptions", err, errlen);
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

bool store_load_offset(struct store *st, const char *group, const char *topic, int32_t partition,
		       int64_t *next_offset, char *err, size_t errlen)
{
	char part[16];
	const char *vals[3] = {group, topic, part};
	PGresult *res;

	*next_offset = -1;
	if (!conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	snprintf(part, sizeof part, "%" PRId32, partition);
	res = exec_params(st,
			  "SELECT next_offset FROM sla.consumer_offsets"
			  " WHERE consumer_group = $1 AND topic = $2 AND partition = $3",
			  3, vals, "reading sla.consumer_offsets", err, errlen);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1)
		*next_offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

/* A row that does not restore: its bytes go to sla.dead_letters and the row
 * is emptied, in one statement (one transaction). The role has no DELETE
 * (schema/0001_init.sql, grants), so the row stays, empty, and loading skips
 * it; a new state of the ticket or partner overwrites it. Only the bytes that
 * were read are moved: a row written meanwhile is left alone. */
static const char sql_reject_ticket[] =
	"WITH old AS (SELECT ticket_id, partition, state FROM sla.ticket_state"
	" WHERE ticket_id = $1 AND partition = $2::int AND state = $3::bytea FOR UPDATE),"
	" emptied AS (UPDATE sla.ticket_state s SET state = ''::bytea, updated_at = now() FROM old"
	" WHERE s.ticket_id = old.ticket_id RETURNING s.ticket_id)"
	" INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)"
	" SELECT 'sla.ticket_state', old.partition, -1, 'DECODE_ERROR',"
	" 'saved state of ticket ' || old.ticket_id || ' does not restore', old.state"
	" FROM old JOIN emptied USING (ticket_id)";
static const char sql_reject_partner[] =
	"WITH old AS (SELECT partner_id, partition, state FROM sla.partner_state"
	" WHERE partner_id = $1 AND partition = $2::int AND state = $3::bytea FOR UPDATE),"
	" emptied AS (UPDATE sla.partner_state s SET state = ''::bytea, updated_at = now() FROM old"
	" WHERE s.partner_id = old.partner_id RETURNING s.partner_id)"
	" INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)"
	" SELECT 'sla.partner_state', old.partition, -1, 'DECODE_ERROR',"
	" 'saved state of partner ' || old.partner_id || ' does not restore', old.state"
	" FROM old JOIN emptied USING (partner_id)";

/* A saved state that did not restore, kept until the load's query is done. */
struct rejected_row {
	char *id;
	uint8_t *state;
	size_t len;
	int32_t partition;
	size_t slot; /* its partition's index in the load's list */
};

static bool reject_add(struct rejected_row **v, size_t *n, size_t *cap, const char *id, size_t idlen,
		       const uint8_t *buf, size_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct rejected_row *nv = realloc(*v, c * sizeof(*nv));
		if (nv == NULL)
			return false;
		*v = nv;
		*cap = c;
	}
	struct rejected_row *r = &(*v)[*n];
	r->id = strndup(id, idlen);
	r->state = malloc(len ? len : 1);
	if (r->id == NULL || r->state == NULL) {
		free(r->id);
		free(r->state);
		return false;
	}
	if (len)
		memcpy(r->state, buf, len);
	r->len = len;
	(*n)++;
	return true;
}

/* Dead-letters and empties one rejected row; false with err when PostgreSQL
 * fails or the row changed since it was read. */
static bool reject_row(struct store *st, enum store_state_table table, int32_t partition,
		       const struct rejected_row *r, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool reject_row(struct store *st, enum store_state_table table, int32_t partition,
		       const struct rejected_row *r, char *err, size_t errlen)
{
	const char *kind = table == STORE_TICKET_STATE ? "ticket" : "partner";
	char part[16];
	const char *vals[3] = {r->id, part, (const char *)r->state};
	int lengths[3] = {0, 0, (int)r->len};
	int formats[3] = {0, 0, 1};
	PGresult *res;
	bool ok;

	if (r->len > INT_MAX) {
		pg_set_err(err, errlen, "%s %.64s: saved state too large to dead-letter", kind, r->id);
		return false;
	}
	snprintf(part, sizeof part, "%" PRId32, partition);
	res = PQexecParams(st->conn, table == STORE_TICKET_STATE ? sql_reject_ticket : sql_reject_partner, 3, NULL,
			   vals, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_set_err(err, errlen, "%s %.64s: dead-lettering its saved state: %s", kind, r->id,
			   res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		PQclear(res);
		return false;
	}
	ok = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!ok)
		pg_set_err(err, errlen, "%s %.64s: its saved state changed while loading: load again", kind, r->id);
	return ok;
}

/* One load: binary COPY rows (partition int4, id text, state bytea) arrive
 * as a byte stream (in practice one CopyData message a row); `pending` holds
 * what an incomplete row left over. */
struct state_load {
	enum store_state_table table;
	const int32_t *partitions;
	size_t nparts;
	store_restore_part_fn restore;
	void *arg;
	size_t *counts, *rejected;
	struct rejected_row *bad;
	size_t nbad, capbad;
	uint8_t *pending;
	size_t npending, cappending;
	bool header, trailer;
	const char *fail; /* why the stream is not what we asked for */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static size_t load_slot(const struct state_load *l, int32_t partition)
{
	if (l->partitions == NULL)
		return 0; /* every partition: one slot */
	for (size_t i = 0; i < l->nparts; i++)
		if (l->partitions[i] == partition)
			return i;
	return l->nparts;
}

/* Parses what it can of buf[0..len): returns the bytes consumed (a partial
 * row is left), or sets l->fail. */
static size_t load_parse(struct state_load *l, const uint8_t *buf, size_t len)
{
	static const uint8_t sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
	size_t pos = 0;

	if (!l->header) {
		if (len < 19)
			return 0;
		if (memcmp(buf, sig, sizeof sig) != 0) {
			l->fail = "not a binary COPY stream";
			return 0;
		}
		uint32_t ext = be32(buf + 15);
		if (ext > len - 19)
			return 0;
		pos = 19 + ext;
		l->header = true;
	}
	while (!l->trailer && !l->fail && len - pos >= 2) {
		int16_t nf = (int16_t)((uint16_t)buf[pos] << 8 | buf[pos + 1]);
		if (nf == -1) {
			l->trailer = true;
			return pos + 2;
		}
		if (nf != 3) {
			l->fail = "a row of the wrong shape";
			return pos;
		}
		/* partition (4 + 4), id (4 + n), state (4 + n); NULLs (-1) are refused. */
		size_t p = pos + 2;
		const uint8_t *f[3];
		size_t fl[3];
		for (int i = 0; i < 3; i++) {
			if (len - p < 4)
				return pos;
			uint32_t n = be32(buf + p);
			if (n == UINT32_MAX || (i == 0 && n != 4)) {
				l->fail = "a NULL or malformed column";
				return pos;
			}
			if (n > len - p - 4)
				return pos;
			f[i] = buf + p + 4;
			fl[i] = n;
			p += 4 + n;
		}
		int32_t partition = (int32_t)be32(f[0]);
		size_t slot = load_slot(l, partition);
		if (l->partitions != NULL && slot == l->nparts) {
			l->fail = "a row of a partition not asked for";
			return pos;
		}
		if (l->restore(l->arg, partition, f[2], fl[2])) {
			if (l->counts != NULL)
				l->counts[slot]++;
		} else if (reject_add(&l->bad, &l->nbad, &l->capbad, (const char *)f[1], fl[1], f[2], fl[2])) {
			l->bad[l->nbad - 1].partition = partition;
			l->bad[l->nbad - 1].slot = slot;
		} else {
			l->fail = "out of memory setting aside a state that does not restore";
			return pos;
		}
		pos = p;
	}
	return pos;
}

/* Feeds one CopyData message: parsed in place when nothing is pending. */
static void load_feed(struct state_load *l, const uint8_t *buf, size_t len)
{
	if (l->npending == 0) {
		size_t used = load_parse(l, buf, len);
		buf += used;
		len -= used;
		if (len == 0 || l->fail)
			return;
	}
	if (l->npending + len > l->cappending) {
		size_t c = l->cappending ? l->cappending : 4096;
		while (c < l->npending + len)
			c *= 2;
		uint8_t *nb = realloc(l->pending, c);
		if (nb == NULL) {
			l->fail = "out of memory";
			return;
		}
		l->pending = nb;
		l->cappending = c;
	}
	memcpy(l->pending + l->npending, buf, len);
	l->npending += len;
	size_t used = load_parse(l, l->pending, l->npending);
	memmove(l->pending, l->pending + used, l->npending - used);
	l->npending -= used;
}

bool store_load_states_many(struct store *st, enum store_state_table table, const int32_t *partitions,
			    size_t nparts, store_restore_part_fn restore, void *arg, size_t *counts,
			    size_t *rejected, char *err, size_t errlen)
{
	const char *kind = table == STORE_TICKET_STATE ? "ticket" : "partner";
	const char *what = table == STORE_TICKET_STATE ? "reading sla.ticket_state" : "reading sla.partner_state";
	struct state_load l = {.table = table,
			       .partitions = partitions,
			       .nparts = nparts,
			       .restore = restore,
			       .arg = arg,
			       .counts = counts,
			       .rejected = rejected};
	bool failed = false;
	char *sql;
	size_t cap, n;
	PGresult *res;

	size_t nslots = partitions == NULL ? 1 : nparts;
	for (size_t i = 0; i < nslots; i++) {
		if (counts != NULL)
			counts[i] = 0;
		if (rejected != NULL)
			rejected[i] = 0;
	}
	if (partitions != NULL && nparts == 0)
		return true;
	if (!conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	/* One scan for every partition asked for: a partition's rows are spread
	 * over the whole table (states are written in commit order), so loading
	 * the partitions one by one would read every page once per partition.
	 * Binary COPY: the bytes as stored, no result object per row. */
	cap = 160 + 12 * nparts;
	sql = malloc(cap);
	if (sql == NULL) {
		pg_set_err(err, errlen, "%s: out of memory", what);
		return false;
	}
	n = (size_t)snprintf(sql, cap, "COPY (SELECT partition, %s, state FROM %s WHERE %s",
			     table == STORE_TICKET_STATE ? "ticket_id" : "partner_id",
			     table == STORE_TICKET_STATE ? "sla.ticket_state" : "sla.partner_state",
			     partitions == NULL ? "" : "partition IN (");
	for (size_t i = 0; partitions != NULL && i < nparts && n < cap; i++)
		n += (size_t)snprintf(sql + n, cap - n, "%s%" PRId32, i ? "," : "", partitions[i]);
	if (n < cap)
		n += (size_t)snprintf(sql + n, cap - n, "%slength(state) > 0) TO STDOUT (FORMAT binary)",
				      partitions == NULL ? "" : ") AND ");
	if (n >= cap) {
		free(sql);
		pg_set_err(err, errlen, "%s: query too long", what);
		return false;
	}
	res = PQexec(st->conn, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pg_set_err(err, errlen, "%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	for (;;) {
		char *row = NULL;
		int len = PQgetCopyData(st->conn, &row, 0);
		if (len < 0) {
			if (len == -2 && !failed) {
				pg_set_err(err, errlen, "%s: %s", what, PQerrorMessage(st->conn));
				failed = true;
			}
			break;
		}
		if (!failed && l.fail == NULL)
			load_feed(&l, (const uint8_t *)row, (size_t)len);
		PQfreemem(row);
	}
	while ((res = PQgetResult(st->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed) {
			pg_set_err(err, errlen, "%s: %s", what, PQresultErrorMessage(res));
			failed = true;
		}
		PQclear(res);
	}
	if (!failed && (l.fail != NULL || !l.trailer || l.npending != 0)) {
		pg_set_err(err, errlen, "%s: %s", what, l.fail ? l.fail : "the stream ended early");
		failed = true;
	}
	/* The connection is free again: set the rejected rows aside. */
	for (size_t i = 0; i < l.nbad && !failed; i++) {
		const struct rejected_row *b = &l.bad[i];
		if (!reject_row(st, table, b->partition, b, err, errlen)) {
			failed = true;
			break;
		}
		if (rejected != NULL)
			rejected[b->slot]++;
		log_error_f(&(struct log_fields){.topic = table == STORE_TICKET_STATE ? "sla.ticket_state"
										  : "sla.partner_state",
						 .partition = LOG_NUM(b->partition),
						 .ticket = table == STORE_TICKET_STATE ? b->id : NULL,
						 .reason = "DECODE_ERROR"},
			    "%spartition=%d %s=%.64s: its saved state (%zu bytes) does not restore: moved to "
			    "sla.dead_letters (DECODE_ERROR) and left out; the %s comes back only with new events",
			    table == STORE_TICKET_STATE ? "" : "assessments ", (int)b->partition, kind, b->id, b->len,
			    kind);
	}
	for (size_t i = 0; i < l.nbad; i++) {
		free(l.bad[i].id);
		free(l.bad[i].state);
	}
	free(l.bad);
	free(l.pending);
	return !failed;
}

bool store_snapshot(struct store *st, bool begin, char *err, size_t errlen)
{
	if (!conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	return exec_simple(st, begin ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "COMMIT",
			   begin ? "starting a snapshot" : "ending a snapshot", err, errlen);
}

struct one_partition {
	store_restore_fn restore;
	void *arg;
};

static bool restore_one(void *arg, int32_t partition, const uint8_t *buf, size_t len)
{
	const struct one_partition *o = arg;
	(void)partition;
	return o->restore(o->arg, buf, len);
}

bool store_load_states(struct store *st, enum store_state_table table, int32_t partition, store_restore_fn restore,
		       void *arg, size_t *count, size_t *rejected, char *err, size_t errlen)
{
	struct one_partition o = {restore, arg};
	size_t c = 0, r = 0;
	bool ok = store_load_states_many(st, table, &partition, 1, restore_one, &o, &c, &r, err, errlen);
	if (count != NULL)
		*count = c;
	if (rejected != NULL)
		*rejected = r;
	return ok;
}

static bool restore_ticket(void *arg, const uint8_t *buf, size_t len)
{
	return core_restore(arg, buf, len);
}

bool store_load_tickets(struct store *st, int32_t partition, struct sla_core *core, size_t *count, size_t *rejected,
			char *err, size_t errlen)
{
	return store_load_states(st, STORE_TICKET_STATE, partition, restore_ticket, core, count, rejected, err,
				 errlen);
}

/* ---- the batch commit ---- */

static const char *severity_name(int severity)
{
	static const char *const names[] = {NULL, "I", "II", "III", "IV"};

	return severity >= 1 && severity <= 4 ? names[severity] : NULL;
}

static const char *empty_to_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* milliseconds since the epoch (bigint) -> timestamptz, exactly. */
#define MS_TS(x) "('epoch'::timestamptz + (" x ") * interval '1 millisecond')"

enum { TK_ID, TK_TYPE, TK_CLASS, TK_SEV, TK_PARTNER, TK_ENGINEER, TK_CAL, TK_STATE, TK_CREATED, TK_CLOSED,
       TK_UPDATED, TK_NCOLS };
static const char sql_tickets[] =
	"INSERT INTO sla.tickets AS t (ticket_id, ticket_type, sla_class, severity, partner_id, engineer_id,"
	" calendar_id, state, created_at, closed_at, updated_at)"
	" SELECT DISTINCT ON (u.ticket_id) u.ticket_id, u.ticket_type, u.sla_class, u.severity,"
	" nullif(u.partner_id, ''), nullif(u.engineer_id, ''), nullif(u.calendar_id, ''), u.state,"
	" " MS_TS("u.created_at") ", " MS_TS("u.closed_at") ", coalesce(" MS_TS("u.updated_at") ", now())"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
	" $8::text[], $9::bigint[], $10::bigint[], $11::bigint[]) WITH ORDINALITY"
	" AS u (ticket_id, ticket_type, sla_class, severity, partner_id, engineer_id, calendar_id, state,"
	" created_at, closed_at, updated_at, ord)"
	" ORDER BY u.ticket_id, u.ord DESC"
	" ON CONFLICT (ticket_id) DO UPDATE SET ticket_type = excluded.ticket_type, sla_class = excluded.sla_class,"
	" severity = excluded.severity, partner_id = excluded.partner_id, engineer_id = excluded.engineer_id,"
	" calendar_id = excluded.calendar_id, state = excluded.state, created_at = excluded.created_at,"
	" closed_at = excluded.closed_at, updated_at = excluded.updated_at, written_at = now()";

enum { MS_ID, MS_NAME, MS_OCC, MS_STARTED, MS_DUE, MS_STOPPED, MS_STATUS, MS_PARTNER, MS_TTYPE, MS_PART, MS_NCOLS };
/* policy_version: the version of the first write is kept, since an open
 * milestone keeps the deadline it was armed with across reloads. */
static const char sql_milestones[] =
	"INSERT INTO sla.milestones AS m (ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status,"
	" partner_id, ticket_type, part_id, policy_version)"
	" SELECT DISTINCT ON (u.ticket_id, u.milestone, u.occurrence) u.ticket_id, u.milestone, u.occurrence,"
	" " MS_TS("u.started_at") ", " MS_TS("u.due_at") ", " MS_TS("u.stopped_at") ", u.status,"
	" nullif(u.partner_id, ''), u.ticket_type, nullif(u.part_id, ''), $11::text"
	" FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[],"
	" $8::text[], $9::text[], $10::text[]) WITH ORDINALITY"
	" AS u (ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status, partner_id, ticket_type,"
	" part_id, ord)"
	" ORDER BY u.ticket_id, u.milestone, u.occurrence, u.ord DESC"
	" ON CONFLICT (ticket_id, milestone, occurrence) DO UPDATE SET started_at = excluded.started_at,"
	" due_at = excluded.due_at, stopped_at = excluded.stopped_at, status = excluded.status,"
	" partner_id = excluded.partner_id, ticket_type = excluded.ticket_type, part_id = excluded.part_id,"
	" policy_version = coalesce(m.policy_version, excluded.policy_version), written_at = now()";

enum { VI_ID, VI_CODE, VI_MS, VI_OCC, VI_STATUS, VI_DUE, VI_OBSERVED, VI_DETECTED, VI_ENGINEER, VI_PARTNER,
       VI_DETAILS, VI_NCOLS };
/* detected_at is the first write's processing time: never updated. */
static const char sql_violations[] =
	"INSERT INTO sla.violations AS v (ticket_id, rule_code, milestone, occurrence, status, due_at, observed_at,"
	" detected_at, engineer_id, partner_id, details, policy_version)"
	" SELECT DISTINCT ON (u.ticket_id, u.rule_code, u.occurrence) u.ticket_id, u.rule_code, u.milestone,"
	" u.occurrence, u.status, " MS_TS("u.due_at") ", " MS_TS("u.observed_at") ","
	" coalesce(" MS_TS("u.detected_at") ", now()), nullif(u.engineer_id, ''), nullif(u.partner_id, ''),"
	" coalesce(nullif(u.details, ''), '{}')::jsonb, $12::text"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::bigint[],"
	" $8::bigint[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY"
	" AS u (ticket_id, rule_code, milestone, occurrence, status, due_at, observed_at, detected_at, engineer_id,"
	" partner_id, details, ord)"
	" ORDER BY u.ticket_id, u.rule_code, u.occurrence, u.ord DESC"
	" ON CONFLICT (ticket_id, rule_code, occurrence) DO UPDATE SET milestone = excluded.milestone,"
	" status = excluded.status, due_at = excluded.due_at, observed_at = excluded.observed_at,"
	" engineer_id = excluded.engineer_id, partner_id = excluded.partner_id, details = excluded.details,"
	" policy_version = coalesce(v.policy_version, excluded.policy_version), written_at = now()";

/* Rows a re-derived ticket no longer has (core.c, resequence): sent before
 * the tickets' rows, so that a row the new state writes again wins. Only
 * rows already written change; one that never was stays unwritten. */
enum { OR_ID, OR_NAME, OR_OCC, OR_NCOLS };
static const char sql_orphan_milestones[] =
	"UPDATE sla.milestones AS m SET status = 'CANCELLED', written_at = now()"
	" FROM unnest($1::text[], $2::text[], $3::int[]) AS u (ticket_id, milestone, occurrence)"
	" WHERE m.ticket_id = u.ticket_id AND m.milestone = u.milestone AND m.occurrence = u.occurrence"
	" AND m.status <> 'CANCELLED'";
static const char sql_orphan_violations[] =
	"UPDATE sla.violations AS v SET status = 'RETRACTED', written_at = now()"
	" FROM unnest($1::text[], $2::text[], $3::int[]) AS u (ticket_id, rule_code, occurrence)"
	" WHERE v.ticket_id = u.ticket_id AND v.rule_code = u.rule_code AND v.occurrence = u.occurrence"
	" AND v.status <> 'RETRACTED'";

enum { ST_ID, ST_PART, ST_STATE, ST_NCOLS };
static const char sql_states[] =
	"INSERT INTO sla.ticket_state AS s (ticket_id, partition, state, updated_at)"
	" SELECT DISTINCT ON (u.ticket_id) u.ticket_id, u.partition, u.state, now()"
	" FROM unnest($1::text[], $2::int[], $3::bytea[]) WITH ORDINALITY AS u (ticket_id, partition, state, ord)"
	" ORDER BY u.ticket_id, u.ord DESC"
	" ON CONFLICT (ticket_id) DO UPDATE SET partition = excluded.partition, state = excluded.state,"
	" updated_at = now()";

enum { HI_ID, HI_CODE, HI_OCC, HI_STATUS, HI_CHANGED, HI_CAUSE, HI_NCOLS };
static const char sql_history[] =
	"INSERT INTO sla.violation_history (violation_id, status, changed_at, cause_event_id)"
	" SELECT v.violation_id, u.status, coalesce(" MS_TS("u.changed_at") ", now()), nullif(u.cause, '')"
	" FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY"
	" AS u (ticket_id, rule_code, occurrence, status, changed_at, cause, ord)"
	" JOIN sla.violations v ON v.ticket_id = u.ticket_id AND v.rule_code = u.rule_code"
	" AND v.occurrence = u.occurrence"
	" ORDER BY u.ord"
	" ON CONFLICT (violation_id, status, changed_at) DO NOTHING";

enum { DL_TOPIC, DL_PART, DL_OFFSET, DL_REASON, DL_DETAIL, DL_PAYLOAD, DL_NCOLS };
static const char sql_dead[] =
	"INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)"
	" SELECT u.topic, u.partition, u.kafka_offset, u.reason, nullif(u.detail, ''), u.payload"
	" FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::bytea[]) WITH ORDINALITY"
	" AS u (topic, partition, kafka_offset, reason, detail, payload, ord)"
	" ORDER BY u.ord";
/* The daemon's: a message re-applied after a state checkpoint (docs/architecture.md)
 * was dead-lettered already. Not for slactl replay (group ''), whose positions are
 * line numbers: two files may share them. */
static const char sql_dead_once[] =
	"INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)"
	" SELECT u.topic, u.partition, u.kafka_offset, u.reason, nullif(u.detail, ''), u.payload"
	" FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::bytea[]) WITH ORDINALITY"
	" AS u (topic, partition, kafka_offset, reason, detail, payload, ord)"
	" WHERE u.kafka_offset < 0 OR NOT EXISTS (SELECT 1 FROM sla.dead_letters d WHERE d.topic = u.topic"
	" AND d.partition = u.partition AND d.kafka_offset = u.kafka_offset)"
	" ORDER BY u.ord";

enum { ES_ID, ES_MS, ES_OCC, ES_LEVEL, ES_AT, ES_PARTNER, ES_ENGINEER, ES_NCOLS };
static const char sql_escalations[] =
	"INSERT INTO sla.escalations (ticket_id, milestone, occurrence, level, at, partner_id, engineer_id,"
	" policy_version)"
	" SELECT u.ticket_id, u.milestone, u.occurrence, u.level, " MS_TS("u.at") ", nullif(u.partner, ''),"
	" nullif(u.engineer, ''), $8"
	" FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::text[], $7::text[])"
	" WITH ORDINALITY AS u (ticket_id, milestone, occurrence, level, at, partner, engineer, ord)"
	" ORDER BY u.ord"
	" ON CONFLICT (ticket_id, milestone, occurrence, level) DO NOTHING";

enum { EV_TICKET, EV_ID, EV_TYPE, EV_AT, EV_APPLIED, EV_TOPIC, EV_PART, EV_OFFSET, EV_PAYLOAD, EV_NCOLS };
static const char sql_events[] =
	"INSERT INTO sla.ticket_events (ticket_id, event_id, type, occurred_at, applied_at, topic, partition,"
	" kafka_offset, payload)"
	" SELECT u.ticket_id, u.event_id, u.type, " MS_TS("u.occurred_at") ", " MS_TS("u.applied_at") ","
	" nullif(u.topic, ''), u.partition, u.kafka_offset, u.payload"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::int[],"
	" $8::bigint[], $9::bytea[]) WITH ORDINALITY"
	" AS u (ticket_id, event_id, type, occurred_at, applied_at, topic, partition, kafka_offset, payload, ord)"
	" ORDER BY u.ord"
	" ON CONFLICT (ticket_id, event_id, occurred_at) DO NOTHING";

/* One engineer across tickets (schema/0006): record the batch's ONE_OFF
 * clock-ins; every commit then evaluates what the group's watermark passed. */
enum { EC_ENG, EC_TICKET, EC_EVENT, EC_PARTNER, EC_KIND, EC_AT, EC_DAY, EC_NCOLS };
static const char sql_eng_clocks[] =
	"INSERT INTO sla.engineer_clocks (engineer_id, ticket_id, event_id, partner_id, kind, at, local_day)"
	" SELECT u.engineer_id, u.ticket_id, u.event_id, nullif(u.partner_id, ''), u.kind, " MS_TS("u.at") ","
	" date '1970-01-01' + u.day"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[])"
	" AS u (engineer_id, ticket_id, event_id, partner_id, kind, at, day)"
	" ON CONFLICT (ticket_id, event_id) DO NOTHING";
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

/* The rows of one batch as array literals. */
struct batch {
	struct pgarr tk[TK_NCOLS], ms[MS_NCOLS], vi[VI_NCOLS], st[ST_NCOLS], hi[HI_NCOLS], dl[DL_NCOLS];
	struct pgarr es[ES_NCOLS];
	struct pgarr ev[EV_NCOLS];
	struct pgarr ec[EC_NCOLS];
	struct pgarr om[OR_NCOLS], ov[OR_NCOLS]; /* orphan milestones and violations */
	struct pgarr tp; /* the topics whose partitions carry a processing clock */
	struct pgarr ck[3]; /* partition clocks: topic, partition, clock */
};

static void batch_free(struct batch *b)
{
	arrs_free(b->tk, TK_NCOLS);
	arrs_free(b->ms, MS_NCOLS);
	arrs_free(b->vi, VI_NCOLS);
	arrs_free(b->st, ST_NCOLS);
	arrs_free(b->hi, HI_NCOLS);
	arrs_free(b->dl, DL_NCOLS);
	arrs_free(b->es, ES_NCOLS);
	arrs_free(b->ev, EV_NCOLS);
	arrs_free(b->ec, EC_NCOLS);
	arrs_free(b->om, OR_NCOLS);
	arrs_free(b->ov, OR_NCOLS);
	arrs_free(&b->tp, 1);
	arrs_free(b->ck, 3);
}

static void batch_add_ticket_rows(struct batch *b, const struct sla_ticket *t)
{
	const char *ttype = ticket_type_name(t->type);

	arr_text(&b->tk[TK_ID], t->ticket_id);
	arr_text(&b->tk[TK_TYPE], ttype);
	arr_text(&b->tk[TK_CLASS], t->sla_class == SC_ANY ? NULL : sla_class_name(t->sla_class));
	arr_text(&b->tk[TK_SEV], severity_name(t->severity));
	arr_text(&b->tk[TK_PARTNER], t->partner_id);
	arr_text(&b->tk[TK_ENGINEER], t->engineer_id);
	arr_text(&b->tk[TK_CAL], t->calendar_id);
	arr_text(&b->tk[TK_STATE], ticket_state_name(t->state));
	arr_time(&b->tk[TK_CREATED], t->created_at);
	arr_time(&b->tk[TK_CLOSED], t->closed_at);
	arr_time(&b->tk[TK_UPDATED], t->updated_at);

	for (int i = 0; i < t->nms; i++) {
		const struct sla_milestone *m = &t->ms[i];

		if (!m->dirty)
			continue;
		arr_text(&b->ms[MS_ID], t->ticket_id);
		arr_text(&b->ms[MS_NAME], milestone_name(m->kind));
		arr_int(&b->ms[MS_OCC], m->occurrence);
		arr_time(&b->ms[MS_STARTED], m->started_at);
		arr_time(&b->ms[MS_DUE], m->due_at);
		arr_time(&b->ms[MS_STOPPED], m->stopped_at);
		arr_text(&b->ms[MS_STATUS], ms_status_name(m->status));
		arr_text(&b->ms[MS_PARTNER], t->partner_id);
		arr_text(&b->ms[MS_TTYPE], ttype);
		arr_text(&b->ms[MS_PART], m->part_id);
	}

	for (int i = 0; i < t->nvs; i++) {
		const struct sla_violation *v = &t->vs[i];
		char code[64];

		if (!v->dirty)
			continue;
		arr_text(&b->vi[VI_ID], t->ticket_id);
		arr_text(&b->vi[VI_CODE], violation_code(v, code, sizeof code));
		arr_text(&b->vi[VI_MS], v->code == RC_MILESTONE_LATE ? milestone_name(v->milestone) : NULL);
		arr_int(&b->vi[VI_OCC], v->occurrence);
		arr_text(&b->vi[VI_STATUS], v_status_name(v->status));
		arr_time(&b->vi[VI_DUE], v->due_at);
		arr_time(&b->vi[VI_OBSERVED], v->observed_at);
		arr_time(&b->vi[VI_DETECTED], v->detected_at);
		arr_text(&b->vi[VI_ENGINEER], v->engineer_id);
		arr_text(&b->vi[VI_PARTNER], t->partner_id);
		arr_text(&b->vi[VI_DETAILS], v->details);
	}
}

static bool batch_add_state(struct batch *b, const struct sla_ticket *t, char *err, size_t errlen)
{
	uint8_t *state = NULL;
	size_t len = 0;

	if (!ticket_encode(t, &state, &len)) {
		pg_set_err(err, errlen, "ticket %s: cannot encode its state", t->ticket_id);
		return false;
	}
	arr_text(&b->st[ST_ID], t->ticket_id);
	arr_int(&b->st[ST_PART], t->partition);
	arr_bytea_bin(&b->st[ST_STATE], state, len);
	free(state);
	return true;
}

static bool batch_build(struct batch *b, const struct sla_out *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

static bool batch_build(struct batch *b, const struct sla_out *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < out->norphans; i++) {
		const struct sla_ticket *o = out->orphans[i];
		char code[64];

		for (int j = 0; j < o->nms; j++) {
			arr_text(&b->om[OR_ID], o->ticket_id);
			arr_text(&b->om[OR_NAME], milestone_name(o->ms[j].kind));
			arr_int(&b->om[OR_OCC], o->ms[j].occurrence);
		}
		for (int j = 0; j < o->nvs; j++) {
			arr_text(&b->ov[OR_ID], o->ticket_id);
			arr_text(&b->ov[OR_NAME], violation_code(&o->vs[j], code, sizeof code));
			arr_int(&b->ov[OR_OCC], o->vs[j].occurrence);
		}
	}
	for (size_t i = 0; i < out->ndirty; i++) {
		const struct sla_ticket *t = out->dirty[i];

		/* A placeholder (not created yet) has no rows, only its state:
		 * the early events it holds must survive a restart too. */
		if (t->created)
			batch_add_ticket_rows(b, t);
		if (!out->defer_state && !batch_add_state(b, t, err, errlen))
			return false;
	}
	for (size_t i = 0; i < out->nstates; i++)
		if (!batch_add_state(b, out->states[i], err, errlen))
			return false;

	for (size_t i = 0; i < out->nhist; i++) {
		const struct sla_history *h = &out->hist[i];

		arr_text(&b->hi[HI_ID], h->ticket_id);
		arr_text(&b->hi[HI_CODE], h->rule_code);
		arr_int(&b->hi[HI_OCC], h->occurrence);
		arr_text(&b->hi[HI_STATUS], v_status_name(h->status));
		arr_time(&b->hi[HI_CHANGED], h->changed_at);
		arr_text(&b->hi[HI_CAUSE], h->cause_event_id);
	}

	for (size_t i = 0; i < out->ndead; i++) {
		const struct sla_dead *d = &out->dead[i];
		const char *reason = verdict_reason(d->reason);
		char fallback[32];

		if (reason == NULL) {
			/* Not a dead-letter verdict: a core bug, but keep the message. */
			snprintf(fallback, sizeof fallback, "VERDICT_%d", (int)d->reason);
			reason = fallback;
		}
		arr_text(&b->dl[DL_TOPIC], d->topic);
		arr_int(&b->dl[DL_PART], d->partition);
		arr_int(&b->dl[DL_OFFSET], d->offset);
		arr_text(&b->dl[DL_REASON], reason);
		arr_text(&b->dl[DL_DETAIL], d->detail);
		arr_bytea_bin(&b->dl[DL_PAYLOAD], d->len ? d->payload : (const uint8_t *)"", d->len);
	}

	for (size_t i = 0; i < out->nesc; i++) {
		const struct sla_escalation *e = &out->esc[i];

		arr_text(&b->es[ES_ID], e->ticket_id);
		arr_text(&b->es[ES_MS], milestone_name(e->milestone));
		arr_int(&b->es[ES_OCC], e->occurrence);
		arr_text(&b->es[ES_LEVEL], esc_level_name(e->level));
		arr_time(&b->es[ES_AT], e->at);
		arr_text(&b->es[ES_PARTNER], e->partner_id);
		arr_text(&b->es[ES_ENGINEER], e->engineer_id);
	}

	for (size_t i = 0; i < out->napplied; i++) {
		const struct sla_applied *a = &out->applied[i];
		const ProtobufCEnumValue *tv =
			protobuf_c_enum_descriptor_get_value(&slad__v1__event_type__descriptor, a->type);

		arr_text(&b->ev[EV_TICKET], a->ticket_id);
		arr_text(&b->ev[EV_ID], a->event_id);
		arr_text(&b->ev[EV_TYPE], tv ? tv->name : "UNKNOWN");
		arr_time(&b->ev[EV_AT], a->occurred_at);
		arr_time(&b->ev[EV_APPLIED], a->applied_at);
		arr_text(&b->ev[EV_TOPIC], a->topic);
		arr_int(&b->ev[EV_PART], a->partition);
		arr_int(&b->ev[EV_OFFSET], a->offset);
		arr_bytea_bin(&b->ev[EV_PAYLOAD], a->payload, a->len);
	}

	for (size_t i = 0; i < out->neng; i++) {
		const struct sla_engclock *e = &out->eng[i];

		arr_text(&b->ec[EC_ENG], e->engineer_id);
		arr_text(&b->ec[EC_TICKET], e->ticket_id);
		arr_text(&b->ec[EC_EVENT], e->event_id);
		arr_text(&b->ec[EC_PARTNER], e->partner_id);
		arr_text(&b->ec[EC_KIND], e->kind);
		arr_time(&b->ec[EC_AT], e->at);
		arr_int(&b->ec[EC_DAY], e->local_day);
	}
	return true;
}

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

/* Queues one unnest() statement when its arrays hold rows. */
static bool pipe_send_arrays(struct store *st, struct pipeline *p, const char *sql, struct pgarr *cols, int ncols,
			     bool with_version, const char *version, const char *what, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* with_version: the statement takes policy_version as its last parameter. */
static bool pipe_send_arrays(struct store *st, struct pipeline *p, const char *sql, struct pgarr *cols, int ncols,
			     bool with_version, const char *version, const char *what, char *err, size_t errlen)
{
	const char *vals[16];
	int lengths[16], formats[16];

	if (cols[0].n == 0)
		return true;
	for (int i = 0; i < ncols; i++) {
		vals[i] = arr_finish(&cols[i]);
		if (vals[i] == NULL || cols[i].len > INT_MAX) {
			pg_set_err(err, errlen, "%s: out of memory", what);
			return false;
		}
		lengths[i] = cols[i].bin ? (int)cols[i].len : 0;
		formats[i] = cols[i].bin ? 1 : 0;
	}
	vals[ncols] = version;
	lengths[ncols] = 0;
	formats[ncols] = 0;
	return pipe_send_fmt(st, p, sql, ncols + (with_version ? 1 : 0), vals, lengths, formats, what, -1, err,
			     errlen);
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

	if (!exec_simple(st, "BEGIN", "reading back offsets", err, errlen) ||
	    !exec_simple(st, "SET LOCAL lock_timeout = '10s'", "reading back offsets", err, errlen))
		goto unknown;
	for (size_t i = 0; i < noffs; i++) {
		const char *vals[3] = {group, offs[i].topic, part};

		if (offs[i].to < 0) { /* nothing consumed there: only its clock was written */
			matched++;
			continue;
		}
		snprintf(part, sizeof part, "%" PRId32, offs[i].partition);
		res = exec_params(st, sql_offset_read, 3, vals, "reading back offsets", err, errlen);
		if (res == NULL)
			goto unknown;
		if (PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) == offs[i].to &&
		    strcmp(PQgetvalue(res, 0, 1), token) == 0)
			matched++;
		PQclear(res);
		res = NULL;
	}
	if (!exec_simple(st, "COMMIT", "reading back offsets", err, errlen))
		goto unknown;
	if (matched == noffs)
		return STORE_OK;
	pg_set_err(err, errlen, "connection lost during COMMIT; read back: not committed");
	return STORE_ERROR;
unknown:
	PQclear(res);
	rollback_quietly(st);
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
static void remember_error(struct store *st, const PGresult *res)
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

struct month_need {
	int v[16];
	size_t n;
};

static void month_need_add(const struct store *st, struct month_need *nd, sla_time t)
{
	int mo = month_of(t);

	if (mo < 0 || (st->months[mo / 8] >> (mo % 8)) & 1)
		return;
	for (size_t i = 0; i < nd->n; i++)
		if (nd->v[i] == mo)
			return;
	if (nd->n < sizeof nd->v / sizeof nd->v[0])
		nd->v[nd->n++] = mo; /* the rest: the next batch */
}

/* Before a batch's transaction, in a transaction of its own: the month
 * partitions its rows need (events by occurred_at, status changes by
 * changed_at, dead letters and undated changes by now). Once per month and
 * process; a failure only sends rows to the default partition. */
static void ensure_months(struct store *st, const struct sla_out *out)
{
	static const char sql[] = "SELECT sla.ensure_months(" MS_TS("$1::bigint") ", " MS_TS("$1::bigint") ")";
	struct month_need nd = {.n = 0};

	month_need_add(st, &nd, (sla_time)time(NULL) * 1000);
	for (size_t i = 0; i < out->napplied; i++)
		month_need_add(st, &nd, out->applied[i].occurred_at);
	for (size_t i = 0; i < out->nhist; i++)
		month_need_add(st, &nd, out->hist[i].changed_at);
	for (size_t i = 0; i < nd.n; i++) {
		int mo = nd.v[i];
		char from[24];
		const char *vals[1] = {from};

		snprintf(from, sizeof from, "%" PRId64,
			 (int64_t)days_from_civil(1970 + mo / 12, (unsigned)(mo % 12) + 1, 1) * SLA_DAY);
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

enum store_result store_commit(struct store *st, const char *group, const struct sla_out *out,
			       const struct store_offset *offs, size_t noffs, const char *policy_version, char *err,
			       size_t errlen)
{
	struct batch b;
	struct pipeline p = {0};
	const struct store_offset **sorted = NULL;
	char (*offnum)[3][24] = NULL; /* to, from, partition as text */
	char token[80];
	PGresult *res = NULL;
	bool failed = false, broken = false, conflict = false;
	int nulls = 0;
	size_t got = 0;
	enum store_result rc = STORE_ERROR;
	const char *pv = empty_to_null(policy_version);

	memset(&b, 0, sizeof b);
	if (st != NULL) {
		st->last_sqlstate[0] = '\0';
		st->last_message[0] = '\0';
	}
	if (!conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return STORE_ERROR;
	}
	/* A previous failure may have left a transaction or a pipeline open. */
	rollback_quietly(st);
	if (PQpipelineStatus(st->conn) != PQ_PIPELINE_OFF ||
	    PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
		pg_set_err(err, errlen, "the connection is busy: reconnect");
		return STORE_ERROR;
	}

	if (!batch_build(&b, out, err, errlen))
		goto done;
	ensure_months(st, out);
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

	/* Round trip 1: every statement of the transaction, one Sync. The
	 * offsets go first: their row locks fence a rival owner before any
	 * result row is touched. */
	if (!PQenterPipelineMode(st->conn)) {
		pg_set_err(err, errlen, "entering pipeline mode: %s", PQerrorMessage(st->conn));
		goto done;
	}
	if (!pipe_send(st, &p, "BEGIN", 0, NULL, "BEGIN", -1, err, errlen))
		goto send_failed;
	for (size_t i = 0; i < noffs; i++) {
		const struct store_offset *o = sorted[i];
		const char *vals[6] = {group, o->topic, offnum[i][2], offnum[i][0], offnum[i][1], token};

		snprintf(offnum[i][0], sizeof offnum[i][0], "%" PRId64, o->to);
		snprintf(offnum[i][1], sizeof offnum[i][1], "%" PRId64, o->from);
		snprintf(offnum[i][2], sizeof offnum[i][2], "%" PRId32, o->partition);
		if (o->clock != SLA_TIME_NONE) {
			arr_text(&b.ck[0], o->topic);
			arr_int(&b.ck[1], o->partition);
			arr_time(&b.ck[2], o->clock == STORE_CLOCK_UNKNOWN ? SLA_TIME_NONE : o->clock);
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
	if (!pipe_send_arrays(st, &p, sql_tickets, b.tk, TK_NCOLS, false, NULL, "writing sla.tickets", err, errlen) ||
	    !pipe_send_arrays(st, &p, sql_orphan_milestones, b.om, OR_NCOLS, false, NULL, "cancelling milestones", err,
			      errlen) ||
	    !pipe_send_arrays(st, &p, sql_orphan_violations, b.ov, OR_NCOLS, false, NULL, "retracting violations", err,
			      errlen) ||
	    !pipe_send_arrays(st, &p, sql_milestones, b.ms, MS_NCOLS, true, pv, "writing sla.milestones", err, errlen) ||
	    !pipe_send_arrays(st, &p, sql_violations, b.vi, VI_NCOLS, true, pv, "writing sla.violations", err, errlen) ||
	    !pipe_send_arrays(st, &p, sql_states, b.st, ST_NCOLS, false, NULL, "writing sla.ticket_state", err, errlen) ||
	    !pipe_send_arrays(st, &p, sql_history, b.hi, HI_NCOLS, false, NULL, "writing sla.violation_history", err,
			      errlen) ||
	    !pipe_send_arrays(st, &p, group != NULL && group[0] ? sql_dead_once : sql_dead, b.dl, DL_NCOLS, false, NULL, "writing sla.dead_letters", err, errlen) ||
	    !pipe_send_arrays(st, &p, sql_escalations, b.es, ES_NCOLS, true, pv, "writing sla.escalations", err,
			      errlen) ||
	    !pipe_send_arrays(st, &p, sql_events, b.ev, EV_NCOLS, false, NULL, "writing sla.ticket_events", err, errlen))
		goto send_failed;
	if (b.ck[0].n > 0) {
		const char *cvals[4] = {group, arr_finish(&b.ck[0]), arr_finish(&b.ck[1]), arr_finish(&b.ck[2])};
		if (!cvals[1] || !cvals[2] || !cvals[3]) {
			pg_set_err(err, errlen, "partition clocks: out of memory");
			goto send_failed;
		}
		if (!pipe_send(st, &p, sql_clocks, 4, cvals, "writing sla.partition_clocks", -1, err, errlen))
			goto send_failed;
	}
	if (!pipe_send_arrays(st, &p, sql_eng_clocks, b.ec, EC_NCOLS, false, NULL, "writing sla.engineer_clocks", err,
			      errlen))
		goto send_failed;
	{
		/* The topics with processing clocks, each once. */
		for (size_t i = 0; i < noffs; i++) {
			bool seen = false;
			if (sorted[i]->clock == SLA_TIME_NONE)
				continue;
			for (size_t j = 0; j < i; j++)
				seen |= sorted[j]->clock != SLA_TIME_NONE && strcmp(sorted[j]->topic, sorted[i]->topic) == 0;
			if (!seen)
				arr_text(&b.tp, sorted[i]->topic);
		}
		const char *topics = arr_finish(&b.tp);
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
				remember_error(st, res);
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
		rollback_quietly(st);
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
		remember_error(st, res);
		rollback_quietly(st);
		if (store_sqlstate_is_data_error(st->last_sqlstate))
			rc = STORE_DATA_ERROR;
	}
	PQclear(res);
	res = NULL;
	goto done;

send_failed:
	/* Nothing was committed; a broken connection is left for the caller
	 * to reconnect, a healthy one is cleaned up. */
	if (conn_usable(st)) {
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
		rollback_quietly(st);
	}
done:
	PQclear(res);
	batch_free(&b);
	free(sorted);
	free(offnum);
	free(p.q);
	return rc;
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
	if (!conn_usable(st)) {
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
	res = exec_params(st,
			  "SELECT e.ticket_id, e.milestone, e.occurrence, e.level,"
			  " (extract(epoch FROM e.at) * 1000)::bigint, coalesce(e.partner_id, ''),"
			  " coalesce(e.engineer_id, ''), coalesce(e.policy_version, '')"
			  " FROM sla.escalations e JOIN sla.ticket_state s USING (ticket_id)"
			  " WHERE e.published_at IS NULL AND s.partition = ANY ($1::int[])"
			  " ORDER BY e.at, e.id LIMIT $2::int",
			  2, vals, "reading the escalation outbox", err, errlen);
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
	res = exec_params(st,
			  "UPDATE sla.escalations e SET published_at = now()"
			  " FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS u (ticket_id, milestone, occurrence, level)"
			  " WHERE e.ticket_id = u.ticket_id AND e.milestone = u.milestone AND e.occurrence = u.occurrence"
			  " AND e.level = u.level AND e.published_at IS NULL",
			  4, vals, "marking escalations published", err, errlen);
	ok = res != NULL;
done:
	PQclear(res);
	arrs_free(cols, 4);
	return ok;
}
