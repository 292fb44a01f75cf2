/* store_partners.c - partner scores, qualification events and partner state in
 * PostgreSQL, written inside store_commit's batch transaction (docs/scoring.md). */
#include "slad/store_partners.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (err[i] == '\n')
			err[i] = ' ';
}

/* ---- PostgreSQL array literals, one per column (as store.c) ---- */

struct col {
	char *p;
	size_t len, cap, n;
	bool oom;
};

static bool col_reserve(struct col *c, size_t extra)
{
	size_t cap;
	char *p;

	if (c->oom)
		return false;
	if (c->len + extra + 1 <= c->cap)
		return true;
	cap = c->cap ? c->cap : 256;
	while (cap < c->len + extra + 1)
		cap *= 2;
	p = realloc(c->p, cap);
	if (p == NULL) {
		c->oom = true;
		return false;
	}
	c->p = p;
	c->cap = cap;
	return true;
}

static void col_put(struct col *c, const char *s, size_t n)
{
	if (!col_reserve(c, n))
		return;
	memcpy(c->p + c->len, s, n);
	c->len += n;
	c->p[c->len] = '\0';
}

static void col_sep(struct col *c)
{
	col_put(c, c->n++ ? "," : "{", 1);
}

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned ch = s[0];

	if (ch < 0x80)
		return 1;
	if (ch >= 0xC2 && ch <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (ch >= 0xE0 && ch <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((ch == 0xE0 && s[1] < 0xA0) || (ch == 0xED && s[1] >= 0xA0))
			return 0;
		return 3;
	}
	if (ch >= 0xF0 && ch <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((ch == 0xF0 && s[1] < 0x90) || (ch == 0xF4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* A quoted element; invalid UTF-8 becomes '?' so that no producer's byte
 * can make a batch that never commits. */
static void col_text(struct col *c, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	col_sep(c);
	col_put(c, "\"", 1);
	while (*p != '\0') {
		size_t n = utf8_len(p);

		if (n == 0) {
			col_put(c, "?", 1);
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\')
			col_put(c, "\\", 1);
		col_put(c, (const char *)p, n);
		p += n;
	}
	col_put(c, "\"", 1);
}

static void col_int(struct col *c, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);

	col_sep(c);
	col_put(c, tmp, (size_t)n);
}

/* Milliseconds since the epoch; NULL for SLA_TIME_NONE. */
static void col_time(struct col *c, sla_time t)
{
	if (t == SLA_TIME_NONE) {
		col_sep(c);
		col_put(c, "NULL", 4);
	} else {
		col_int(c, t);
	}
}

/* Points, rounded half-up to 2 places here, where they are stored. */
static void col_points(struct col *c, double v)
{
	char tmp[48];
	int n = snprintf(tmp, sizeof tmp, "%.2f", score_round2(v));

	col_sep(c);
	col_put(c, tmp, (size_t)n);
}

static void col_bytea(struct col *c, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	col_sep(c);
	if (!col_reserve(c, 2 * len + 6))
		return;
	col_put(c, "\"\\\\x", 4); /* "\\x: the array parser leaves \x for bytea */
	for (size_t i = 0; i < len; i++) {
		c->p[c->len++] = hex[p[i] >> 4];
		c->p[c->len++] = hex[p[i] & 15];
	}
	c->p[c->len] = '\0';
	col_put(c, "\"", 1);
}

static const char *col_finish(struct col *c)
{
	if (c->n == 0)
		col_put(c, "{", 1);
	col_put(c, "}", 1);
	return c->oom ? NULL : c->p;
}

static void cols_free(struct col *c, int n)
{
	for (int i = 0; i < n; i++) {
		free(c[i].p);
		memset(&c[i], 0, sizeof c[i]);
	}
}

/* milliseconds since the epoch (bigint) -> timestamptz, exactly. */
#define MS_TS(x) "('epoch'::timestamptz + (" x ") * interval '1 millisecond')"

#define SCORE_COLS                                                                                             \
	" partner_id, quarter, major_projects, satisfaction, rep_office, ecr, training_online, training_offline," \
	" key_events, total, verdict, computed_at"
#define SCORE_UNNEST                                                                                          \
	" FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[],"    \
	" $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::text[], $12::bigint[])"           \
	" WITH ORDINALITY AS u (partner_id, quarter, major_projects, satisfaction, rep_office, ecr,"          \
	" training_online, training_offline, key_events, total, verdict, computed_at, ord)"
#define SCORE_SELECT                                                                                          \
	" u.partner_id, u.quarter, u.major_projects, u.satisfaction, u.rep_office, u.ecr, u.training_online," \
	" u.training_offline, u.key_events, u.total, u.verdict, " MS_TS("u.computed_at")
#define SCORE_SET                                                                                              \
	" major_projects = excluded.major_projects, satisfaction = excluded.satisfaction,"                     \
	" rep_office = excluded.rep_office, ecr = excluded.ecr, training_online = excluded.training_online,"   \
	" training_offline = excluded.training_offline, key_events = excluded.key_events,"                    \
	" total = excluded.total, verdict = excluded.verdict, computed_at = excluded.computed_at,"             \
	" written_at = now()"

enum { SC_PARTNER, SC_QUARTER, SC_MAJOR, SC_SAT, SC_REP, SC_ECR, SC_ONLINE, SC_OFFLINE, SC_KEY, SC_TOTAL,
       SC_VERDICT, SC_COMPUTED, SC_NCOLS };

/* The current score of a quarter: the latest computation wins. */
static const char sql_scores[] =
	"INSERT INTO sla.partner_scores AS s (" SCORE_COLS ")"
	" SELECT DISTINCT ON (u.partner_id, u.quarter)" SCORE_SELECT SCORE_UNNEST
	" ORDER BY u.partner_id, u.quarter, u.ord DESC"
	" ON CONFLICT (partner_id, quarter) DO UPDATE SET" SCORE_SET;

/* Every computation; the same one written again (a replay) is one row. */
static const char sql_history[] =
	"INSERT INTO sla.partner_score_history AS s (" SCORE_COLS ")"
	" SELECT DISTINCT ON (u.partner_id, u.quarter, u.computed_at)" SCORE_SELECT SCORE_UNNEST
	" ORDER BY u.partner_id, u.quarter, u.computed_at, u.ord DESC"
	" ON CONFLICT (partner_id, quarter, computed_at) DO UPDATE SET" SCORE_SET;

enum { PE_COL_PARTNER, PE_COL_CODE, PE_COL_SUBJECT, PE_COL_AT, PE_COL_RETRACTED, PE_COL_DETAILS, PE_NCOLS };

/* Natural key (partner, code, subject, at); a retraction is the same row
 * with retracted_at set, and the last write of a batch wins. */
static const char sql_events[] =
	"INSERT INTO sla.partner_events AS e (partner_id, code, subject_id, at, retracted_at, details)"
	" SELECT DISTINCT ON (u.partner_id, u.code, u.subject_id, u.at) u.partner_id, u.code, u.subject_id,"
	" " MS_TS("u.at") ", " MS_TS("u.retracted_at") ", coalesce(nullif(u.details, ''), '{}')::jsonb"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY"
	" AS u (partner_id, code, subject_id, at, retracted_at, details, ord)"
	" ORDER BY u.partner_id, u.code, u.subject_id, u.at, u.ord DESC"
	" ON CONFLICT (partner_id, code, subject_id, at) DO UPDATE SET retracted_at = excluded.retracted_at,"
	" details = excluded.details, written_at = now()";

enum { ST_COL_PARTNER, ST_COL_PARTITION, ST_COL_STATE, ST_NCOLS };

static const char sql_states[] =
	"INSERT INTO sla.partner_state AS s (partner_id, partition, state, updated_at)"
	" SELECT DISTINCT ON (u.partner_id) u.partner_id, u.partition, u.state, now()"
	" FROM unnest($1::text[], $2::int[], $3::bytea[]) WITH ORDINALITY AS u (partner_id, partition, state, ord)"
	" ORDER BY u.partner_id, u.ord DESC"
	" ON CONFLICT (partner_id) DO UPDATE SET partition = excluded.partition, state = excluded.state,"
	" updated_at = now()";

/* Sends one statement over the columns; 1 when sent, 0 when there are no
 * rows, -1 on failure. */
static int send_cols(PGconn *conn, const char *sql, struct col *cols, int ncols, const char *what, char *err,
		     size_t errlen)
{
	const char *vals[SC_NCOLS];

	if (cols[0].n == 0)
		return 0;
	for (int i = 0; i < ncols; i++) {
		vals[i] = col_finish(&cols[i]);
		if (vals[i] == NULL) {
			set_err(err, errlen, "%s: out of memory", what);
			return -1;
		}
	}
	/* libpq copies the parameters into its output buffer here. */
	if (!PQsendQueryParams(conn, sql, ncols, NULL, vals, NULL, NULL, 0)) {
		set_err(err, errlen, "%s: %s", what, PQerrorMessage(conn));
		return -1;
	}
	return 1;
}

int store_partners_queue(struct pg_conn *conn, const struct partners_out *out, char *err, size_t errlen)
{
	struct col sc[SC_NCOLS], pe[PE_NCOLS], st[ST_NCOLS];
	int queued = 0, k;

	if (out->oom) {
		set_err(err, errlen, "partner assessment: out of memory, outputs were lost");
		return -1;
	}
	memset(sc, 0, sizeof sc);
	memset(pe, 0, sizeof pe);
	memset(st, 0, sizeof st);

	for (size_t i = 0; i < out->nscores; i++) {
		const struct score_row *r = &out->scores[i];

		col_text(&sc[SC_PARTNER], r->partner_id);
		col_text(&sc[SC_QUARTER], r->quarter);
		col_points(&sc[SC_MAJOR], r->score.major_projects);
		col_points(&sc[SC_SAT], r->score.satisfaction);
		col_points(&sc[SC_REP], r->score.rep_office);
		col_points(&sc[SC_ECR], r->score.ecr);
		col_points(&sc[SC_ONLINE], r->score.training_online);
		col_points(&sc[SC_OFFLINE], r->score.training_offline);
		col_points(&sc[SC_KEY], r->score.key_events);
		col_points(&sc[SC_TOTAL], r->score.total);
		col_text(&sc[SC_VERDICT], score_verdict_name(r->score.verdict));
		col_time(&sc[SC_COMPUTED], r->computed_at);
	}
	for (size_t i = 0; i < out->nevents; i++) {
		const struct partner_event_row *r = &out->events[i];

		col_text(&pe[PE_COL_PARTNER], r->partner_id);
		col_text(&pe[PE_COL_CODE], partner_event_code_name(r->code));
		col_text(&pe[PE_COL_SUBJECT], r->subject_id);
		col_time(&pe[PE_COL_AT], r->at);
		col_time(&pe[PE_COL_RETRACTED], r->retracted_at);
		col_text(&pe[PE_COL_DETAILS], r->details);
	}
	for (size_t i = 0; i < out->ndirty; i++) {
		const struct partner *p = out->dirty[i];
		uint8_t *state = NULL;
		size_t len = 0;

		if (!partner_encode(p, &state, &len)) {
			set_err(err, errlen, "partner %s: cannot encode its state", p->partner_id);
			queued = -1;
			goto done;
		}
		col_text(&st[ST_COL_PARTNER], p->partner_id);
		col_int(&st[ST_COL_PARTITION], p->partition);
		col_bytea(&st[ST_COL_STATE], state, len);
		free(state);
	}

	if ((k = send_cols(conn, sql_scores, sc, SC_NCOLS, "writing sla.partner_scores", err, errlen)) < 0)
		goto fail;
	queued += k;
	/* The columns were finished (closed) by the first statement: the
	 * history takes the very same literals. */
	if (k > 0) {
		const char *vals[SC_NCOLS];

		for (int i = 0; i < SC_NCOLS; i++)
			vals[i] = sc[i].p;
		if (!PQsendQueryParams(conn, sql_history, SC_NCOLS, NULL, vals, NULL, NULL, 0)) {
			set_err(err, errlen, "writing sla.partner_score_history: %s", PQerrorMessage(conn));
			goto fail;
		}
		queued++;
	}
	if ((k = send_cols(conn, sql_events, pe, PE_NCOLS, "writing sla.partner_events", err, errlen)) < 0)
		goto fail;
	queued += k;
	if ((k = send_cols(conn, sql_states, st, ST_NCOLS, "writing sla.partner_state", err, errlen)) < 0)
		goto fail;
	queued += k;
	goto done;
fail:
	queued = -1;
done:
	cols_free(sc, SC_NCOLS);
	cols_free(pe, PE_NCOLS);
	cols_free(st, ST_NCOLS);
	return queued;
}

int store_partners_hook(struct pg_conn *conn, void *arg, char *err, size_t errlen)
{
	return store_partners_queue(conn, (const struct partners_out *)arg, err, errlen);
}

static bool restore_row(struct partners *ps, const PGresult *res, int row, char *err, size_t errlen)
{
	if (partners_restore(ps, (const uint8_t *)PQgetvalue(res, row, 1), (size_t)PQgetlength(res, row, 1)))
		return true;
	set_err(err, errlen, "partner %.64s: its stored state cannot be restored", PQgetvalue(res, row, 0));
	return false;
}

bool store_partners_load(struct store *st, int32_t partition, struct partners *ps, size_t *count, char *err,
			 size_t errlen)
{
	PGconn *conn = store_conn(st);
	char part[16];
	const char *vals[1] = {part};
	PGresult *res;
	size_t n = 0;
	bool failed = false;

	if (count != NULL)
		*count = 0;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	snprintf(part, sizeof part, "%" PRId32, partition);
	/* Binary results: bytea arrives as raw bytes. */
	if (!PQsendQueryParams(conn, "SELECT partner_id, state FROM sla.partner_state WHERE partition = $1", 1, NULL,
			       vals, NULL, NULL, 1)) {
		set_err(err, errlen, "reading sla.partner_state: %s", PQerrorMessage(conn));
		return false;
	}
	(void)PQsetSingleRowMode(conn);
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType s = PQresultStatus(res);

		if ((s == PGRES_SINGLE_TUPLE || s == PGRES_TUPLES_OK) && !failed) {
			for (int r = 0; r < PQntuples(res) && !failed; r++) {
				if (restore_row(ps, res, r, err, errlen))
					n++;
				else
					failed = true;
			}
		} else if (s != PGRES_SINGLE_TUPLE && s != PGRES_TUPLES_OK && !failed) {
			set_err(err, errlen, "reading sla.partner_state: %s", PQresultErrorMessage(res));
			failed = true;
		}
		PQclear(res);
	}
	if (count != NULL)
		*count = n;
	return !failed;
}
