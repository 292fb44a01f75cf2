/* partner_codec.c - a partner's state as bytes (sla.partner_state) and back: quarters, event ids seen,
 * certificates, departures and replacements. Version 1: 8-byte integers (bytes.h). Pure. */
#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "bytes.h"
#include "partners_internal.h"

#define CODEC_VERSION 1
#define CODEC_LIMIT 1000000

_Static_assert(COUNT_MAX == BYTES_COUNT_MAX, "a saved count is what assessment_check lets in");

/* A quarter's sums and snapshots, after its projects. */
#define QF(type, member) FIELD(type, struct score_quarter, member)
static const struct field quarter_fields[] = {
	QF(FIELD_F64, deduction_points),   QF(FIELD_INT, ndeductions),	  QF(FIELD_COUNT, consultations),
	QF(FIELD_BOOL64, has_ecr),	   QF(FIELD_COUNT, ecr_simple),	  QF(FIELD_COUNT, ecr_total),
	QF(FIELD_INSTANT, ecr_at),	   QF(FIELD_BOOL64, has_online),  QF(FIELD_COUNT, online_completed),
	QF(FIELD_COUNT, online_required),  QF(FIELD_INSTANT, online_at),  QF(FIELD_BOOL64, has_offline),
	QF(FIELD_COUNT, offline_completed), QF(FIELD_COUNT, offline_required), QF(FIELD_INSTANT, offline_at),
	QF(FIELD_F64, key_event_points),   QF(FIELD_INT, nkey_events),
};

/* A project's score, before its callbacks; a certificate, after its id; a departure; a replacement. */
#define PF(type, member) FIELD(type, struct score_project, member)
static const struct field project_fields[] = {PF(FIELD_BOOL64, has_score), PF(FIELD_F64, score),
					      PF(FIELD_INSTANT, score_at)};
#define CF(type, member) FIELD(type, struct partner_cert, member)
static const struct field cert_fields[] = {
	CF(FIELD_STR, engineer_id),	CF(FIELD_INSTANT, registered_at), CF(FIELD_INSTANT, expires_at),
	CF(FIELD_INSTANT, replaced_at), CF(FIELD_BOOL64, reminder_fired), CF(FIELD_BOOL64, expired_fired),
	CF(FIELD_INSTANT, reminder_due),
};
#define DF(type, member) FIELD(type, struct partner_departure, member)
static const struct field departure_fields[] = {
	DF(FIELD_STR, engineer_id),    DF(FIELD_INSTANT, departed_at), DF(FIELD_BOOL64, declared),
	DF(FIELD_INSTANT, replaced_at), DF(FIELD_STR, replaced_by),    DF(FIELD_BOOL64, fired),
};
#define RF(type, member) FIELD(type, struct partner_replacement, member)
static const struct field replacement_fields[] = {RF(FIELD_STR, engineer_id), RF(FIELD_INSTANT, at)};

static void put_quarter(struct wbuf *w, const struct partner_quarter *pq)
{
	const struct score_quarter *q = &pq->in;
	wbuf_str(w, q->quarter);
	wbuf_i64(w, pq->closed);
	wbuf_i64(w, pq->closed_at);
	wbuf_i64(w, q->nprojects);
	for (int i = 0; i < q->nprojects; i++) {
		const struct score_project *pr = &q->projects[i];
		wbuf_str(w, pr->project_id);
		wbuf_fields(w, pr, project_fields, FIELDS_LEN(project_fields));
		for (int a = 1; a <= SCORE_ATTEMPTS; a++) {
			wbuf_i64(w, pr->cb_result[a]);
			wbuf_i64(w, pr->cb_at[a]);
		}
	}
	wbuf_fields(w, q, quarter_fields, FIELDS_LEN(quarter_fields));
}

bool partner_encode(const struct partner *p, uint8_t **buf, size_t *len)
{
	struct wbuf w = {0};
	uint8_t version = CODEC_VERSION;

	wbuf_put(&w, &version, 1);
	wbuf_str(&w, p->partner_id);
	wbuf_i64(&w, p->partition);
	wbuf_i64(&w, p->latest_at);
	wbuf_i64(&w, p->nquarters);
	for (int i = 0; i < p->nquarters; i++)
		put_quarter(&w, &p->quarters[i]);
	wbuf_i64(&w, p->nseen);
	for (int i = 0; i < p->nseen; i++) {
		wbuf_str(&w, p->seen[i].event_id);
		wbuf_i64(&w, p->seen[i].occurred_at);
	}
	wbuf_i64(&w, p->ncerts);
	for (int i = 0; i < p->ncerts; i++) {
		wbuf_str(&w, p->certs[i].cert_id);
		wbuf_fields(&w, &p->certs[i], cert_fields, FIELDS_LEN(cert_fields));
	}
	wbuf_i64(&w, p->ndeps);
	for (int i = 0; i < p->ndeps; i++)
		wbuf_fields(&w, &p->deps[i], departure_fields, FIELDS_LEN(departure_fields));
	wbuf_i64(&w, p->nrepl);
	for (int i = 0; i < p->nrepl; i++)
		wbuf_fields(&w, &p->repl[i], replacement_fields, FIELDS_LEN(replacement_fields));
	if (w.fail) {
		free(w.p);
		return false;
	}
	*buf = w.p;
	*len = w.len;
	return true;
}

/* A saved instant: none, or within what events can produce (with room for
 * deadlines derived from them); anything else is a corrupt row. */
static sla_time rbuf_instant(struct rbuf *r)
{
	sla_time t = rbuf_i64(r);
	if (!bytes_instant_ok(t))
		r->fail = true;
	return t;
}

static void get_project(struct rbuf *r, struct score_quarter *q)
{
	char id[SLA_ID_MAX + 1];
	rbuf_str(r, id, sizeof(id));
	struct score_project *pr = r->fail ? NULL : quarter_project_get(q, id);
	if (!pr) {
		r->fail = true;
		return;
	}
	rbuf_fields(r, pr, project_fields, FIELDS_LEN(project_fields));
	for (int a = 1; a <= SCORE_ATTEMPTS; a++) {
		int64_t res = rbuf_i64(r);
		if (res < 0 || res > SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
			r->fail = true;
		pr->cb_result[a] = (Slad__V1__CallbackResult)res;
		pr->cb_at[a] = rbuf_instant(r);
	}
}

static void get_quarter(struct rbuf *r, struct partner *p)
{
	char quarter[SCORE_QUARTER_MAX + 1];
	rbuf_str(r, quarter, sizeof(quarter));
	if (r->fail || score_quarter_index(quarter) < 0 || partner_find_quarter(p, quarter)) {
		r->fail = true;
		return;
	}
	struct partner_quarter *pq = partner_quarter_get(p, quarter);
	if (!pq) {
		r->fail = true;
		return;
	}
	pq->closed = rbuf_bool(r);
	pq->closed_at = rbuf_instant(r);
	int n = rbuf_count(r, CODEC_LIMIT);
	for (int i = 0; i < n && !r->fail; i++)
		get_project(r, &pq->in);
	rbuf_fields(r, &pq->in, quarter_fields, FIELDS_LEN(quarter_fields));
}

static void get_seen(struct rbuf *r, struct partner *p)
{
	char eid[SLA_ID_MAX + 1];
	rbuf_str(r, eid, sizeof(eid));
	sla_time at = rbuf_instant(r);
	if (!r->fail && !partner_add_seen(p, eid, at))
		r->fail = true;
}

static void get_cert(struct rbuf *r, struct partner *p)
{
	char cid[SLA_ID_MAX + 1];
	rbuf_str(r, cid, sizeof(cid));
	struct partner_cert *c = r->fail || partner_cert_get(p, cid, false) ? NULL : partner_cert_get(p, cid, true);
	if (!c) {
		r->fail = true;
		return;
	}
	rbuf_fields(r, c, cert_fields, FIELDS_LEN(cert_fields));
}

static void get_departure(struct rbuf *r, struct partner *p)
{
	if (!array_grow((void **)&p->deps, &p->capdeps, p->ndeps + 1, sizeof(*p->deps))) {
		r->fail = true;
		return;
	}
	struct partner_departure *d = &p->deps[p->ndeps++];
	memset(d, 0, sizeof(*d));
	rbuf_fields(r, d, departure_fields, FIELDS_LEN(departure_fields));
}

static void get_replacement(struct rbuf *r, struct partner *p)
{
	if (!array_grow((void **)&p->repl, &p->caprepl, p->nrepl + 1, sizeof(*p->repl))) {
		r->fail = true;
		return;
	}
	rbuf_fields(r, &p->repl[p->nrepl++], replacement_fields, FIELDS_LEN(replacement_fields));
}

/* n entries of a list, each read by get, until one fails. */
static void get_list(struct rbuf *r, struct partner *p, void (*get)(struct rbuf *, struct partner *))
{
	int n = rbuf_count(r, CODEC_LIMIT);
	for (int i = 0; i < n && !r->fail; i++)
		get(r, p);
}

bool partners_restore(struct partners *ps, const uint8_t *buf, size_t len)
{
	struct rbuf r = {buf, len, 0, false, false, NULL, false};
	struct partner *p = NULL;
	char id[SLA_ID_MAX + 1];

	if (len < 1 || buf[0] != CODEC_VERSION)
		return false;
	r.pos = 1;
	rbuf_str(&r, id, sizeof(id));
	if (r.fail || !id[0])
		return false;
	if (partner_get(ps, id))
		return true; /* already live here */
	p = partner_new(id, 0);
	if (!p)
		return false;
	p->partition = rbuf_i32(&r);
	p->latest_at = rbuf_instant(&r);
	get_list(&r, p, get_quarter);
	get_list(&r, p, get_seen);
	get_list(&r, p, get_cert);
	get_list(&r, p, get_departure);
	get_list(&r, p, get_replacement);
	if (r.fail || r.pos != r.len || !partner_put(ps, p)) {
		partner_free(p);
		return false;
	}
	partners_requeue(ps, p);
	return true;
}
