/* store_partners.c - partner scores, qualification events and partner state in
 * PostgreSQL, written inside store_commit's batch transaction (docs/scoring.md). */
#include "slad/store_partners.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "slad/pgarr.h"

/* Points, rounded half-up to 2 places here, where they are stored. */
static void put_points(struct pgarr *a, double v)
{
	arr_fixed(a, score_round2(v), 2);
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
static int send_cols(PGconn *conn, const char *sql, struct pgarr *cols, int ncols, const char *what, char *err,
		     size_t errlen)
{
	const char *vals[SC_NCOLS];

	if (cols[0].n == 0)
		return 0;
	for (int i = 0; i < ncols; i++) {
		vals[i] = arr_finish(&cols[i]);
		if (vals[i] == NULL) {
			pg_set_err(err, errlen, "%s: out of memory", what);
			return -1;
		}
	}
	/* libpq copies the parameters into its output buffer here. */
	if (!PQsendQueryParams(conn, sql, ncols, NULL, vals, NULL, NULL, 0)) {
		pg_set_err(err, errlen, "%s: %s", what, PQerrorMessage(conn));
		return -1;
	}
	return 1;
}

static void partners_add_scores(struct pgarr *sc, const struct partners_out *out)
{
	for (size_t i = 0; i < out->nscores; i++) {
		const struct score_row *r = &out->scores[i];

		arr_text(&sc[SC_PARTNER], r->partner_id);
		arr_text(&sc[SC_QUARTER], r->quarter);
		put_points(&sc[SC_MAJOR], r->score.major_projects);
		put_points(&sc[SC_SAT], r->score.satisfaction);
		put_points(&sc[SC_REP], r->score.rep_office);
		put_points(&sc[SC_ECR], r->score.ecr);
		put_points(&sc[SC_ONLINE], r->score.training_online);
		put_points(&sc[SC_OFFLINE], r->score.training_offline);
		put_points(&sc[SC_KEY], r->score.key_events);
		put_points(&sc[SC_TOTAL], r->score.total);
		arr_text(&sc[SC_VERDICT], score_verdict_name(r->score.verdict));
		arr_time(&sc[SC_COMPUTED], r->computed_at);
	}
}

static void partners_add_events(struct pgarr *pe, const struct partners_out *out)
{
	for (size_t i = 0; i < out->nevents; i++) {
		const struct partner_event_row *r = &out->events[i];

		arr_text(&pe[PE_COL_PARTNER], r->partner_id);
		arr_text(&pe[PE_COL_CODE], partner_event_code_name(r->code));
		arr_text(&pe[PE_COL_SUBJECT], r->subject_id);
		arr_time(&pe[PE_COL_AT], r->at);
		arr_time(&pe[PE_COL_RETRACTED], r->retracted_at);
		arr_text(&pe[PE_COL_DETAILS], r->details);
	}
}

static bool partners_add_states(struct pgarr *st, const struct partners_out *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < out->ndirty; i++) {
		const struct partner *p = out->dirty[i];
		uint8_t *state = NULL;
		size_t len = 0;

		if (!partner_encode(p, &state, &len)) {
			pg_set_err(err, errlen, "partner %s: cannot encode its state", p->partner_id);
			return false;
		}
		arr_text(&st[ST_COL_PARTNER], p->partner_id);
		arr_int(&st[ST_COL_PARTITION], p->partition);
		arr_bytea(&st[ST_COL_STATE], state, len);
		free(state);
	}
	return true;
}

/* The scores and their history; the statements sent, or -1. */
static int send_scores(PGconn *conn, struct pgarr *sc, char *err, size_t errlen)
{
	int k = send_cols(conn, sql_scores, sc, SC_NCOLS, "writing sla.partner_scores", err, errlen);

	/* The columns were finished (closed) by the first statement: the
	 * history takes the very same literals. */
	if (k > 0) {
		const char *vals[SC_NCOLS];

		for (int i = 0; i < SC_NCOLS; i++)
			vals[i] = sc[i].p;
		if (!PQsendQueryParams(conn, sql_history, SC_NCOLS, NULL, vals, NULL, NULL, 0)) {
			pg_set_err(err, errlen, "writing sla.partner_score_history: %s", PQerrorMessage(conn));
			return -1;
		}
		k++;
	}
	return k;
}

/* A batch's partner rows, built (store_partners.h). */
struct store_partners_rows {
	struct pgarr sc[SC_NCOLS], pe[PE_NCOLS], st[ST_NCOLS];
};

void store_partners_rows_free(struct store_partners_rows *r)
{
	if (r == NULL)
		return;
	arrs_free(r->sc, SC_NCOLS);
	arrs_free(r->pe, PE_NCOLS);
	arrs_free(r->st, ST_NCOLS);
	free(r);
}

struct store_partners_rows *store_partners_build(const struct partners_out *out, char *err, size_t errlen)
{
	struct store_partners_rows *r;

	if (out->oom) {
		pg_set_err(err, errlen, "partner assessment: out of memory, outputs were lost");
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		pg_set_err(err, errlen, "partner assessment: out of memory");
		return NULL;
	}
	partners_add_scores(r->sc, out);
	partners_add_events(r->pe, out);
	if (!partners_add_states(r->st, out, err, errlen)) {
		store_partners_rows_free(r);
		return NULL;
	}
	return r;
}

int store_partners_send(struct pg_conn *conn, struct store_partners_rows *r, char *err, size_t errlen)
{
	int queued = 0, k;

	if (r == NULL)
		return 0;
	if ((k = send_scores(conn, r->sc, err, errlen)) < 0)
		return -1;
	queued += k;
	if ((k = send_cols(conn, sql_events, r->pe, PE_NCOLS, "writing sla.partner_events", err, errlen)) < 0)
		return -1;
	queued += k;
	if ((k = send_cols(conn, sql_states, r->st, ST_NCOLS, "writing sla.partner_state", err, errlen)) < 0)
		return -1;
	return queued + k;
}

int store_partners_rows_hook(struct pg_conn *conn, void *arg, char *err, size_t errlen)
{
	return store_partners_send(conn, arg, err, errlen);
}

int store_partners_queue(struct pg_conn *conn, const struct partners_out *out, char *err, size_t errlen)
{
	struct store_partners_rows *r = store_partners_build(out, err, errlen);
	int queued;

	if (r == NULL)
		return -1;
	queued = store_partners_send(conn, r, err, errlen);
	store_partners_rows_free(r);
	return queued;
}

int store_partners_hook(struct pg_conn *conn, void *arg, char *err, size_t errlen)
{
	return store_partners_queue(conn, (const struct partners_out *)arg, err, errlen);
}

static bool restore_partner(void *arg, const uint8_t *buf, size_t len)
{
	return partners_restore(arg, buf, len);
}

bool store_partners_load(struct store *st, int32_t partition, struct partners *ps, size_t *count, size_t *rejected,
			 char *err, size_t errlen)
{
	return store_load_states(st, STORE_PARTNER_STATE, partition, restore_partner, ps, count, rejected, err,
				 errlen);
}
