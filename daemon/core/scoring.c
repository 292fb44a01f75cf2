/* scoring.c - partner assessment, pure: quarterly scores (scoring.md), the
 * qualification timers, duplicates per partner, a partner's state as bytes. */
#include "slad/scoring.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "bytes.h"
#include "check.h"
#include "deadlines.h"
#include "idtable.h"

/* Local time of the calendar-month arithmetic and of quarter boundaries:
 * Asia/Shanghai (UTC+8, no DST), the zone of the views' buckets. */
#define LOCAL_OFFSET (8 * SLA_HOUR)
#define COUNT_MAX 1000000000000000LL /* counts beyond this are not counts */
#define CODEC_VERSION 1
#define CODEC_LIMIT 1000000

/* ---- the score ---- */

const char *score_verdict_name(enum score_verdict v)
{
	return v == SCORE_PASS ? "PASS" : "DOWNGRADE";
}

double score_round2(double x)
{
	double a = fabs(x) * 100.0;
	double f = floor(a);

	/* 2.675 is 2.67499999... in binary: a decimal half must round up. */
	if (a - f >= 0.5 - 1e-9)
		f += 1.0;
	f /= 100.0;
	return x < 0 ? -f : f;
}

int score_quarter_index(const char *quarter)
{
	if (!quarter || strlen(quarter) != 6)
		return -1;
	for (int i = 0; i < 4; i++)
		if (quarter[i] < '0' || quarter[i] > '9')
			return -1;
	if (quarter[4] != 'Q' || quarter[5] < '1' || quarter[5] > '4')
		return -1;
	int year = (quarter[0] - '0') * 1000 + (quarter[1] - '0') * 100 + (quarter[2] - '0') * 10 + (quarter[3] - '0');
	return year * 4 + (quarter[5] - '1');
}

static double satisfaction_points(Slad__V1__CallbackResult r)
{
	switch (r) {
	case SLAD__V1__CALLBACK_RESULT__VERY_SATISFIED: return 25;
	case SLAD__V1__CALLBACK_RESULT__SATISFIED: return 15;
	case SLAD__V1__CALLBACK_RESULT__NEUTRAL: return 10;
	case SLAD__V1__CALLBACK_RESULT__UNSATISFIED: return 5;
	default: return 0;
	}
}

/* completed / required >= pct %, exactly (no floating point at the tiers). */
static bool ratio_at_least(int64_t completed, int64_t required, int pct)
{
	return completed * 100 >= (int64_t)pct * required;
}

void score_compute(const struct score_quarter *q, struct score *s)
{
	double sum = 0, deduct = 0;
	int n = 0;

	memset(s, 0, sizeof(*s));
	/* Major projects: the mean of each project's latest score; none: 30. */
	for (int i = 0; i < q->nprojects; i++) {
		if (q->projects[i].has_score) {
			sum += q->projects[i].score;
			n++;
		}
	}
	s->major_projects = n ? sum / n : 30;

	/* Satisfaction: the mean over projects whose latest callback reached the
	 * customer (none: 25), minus the unreachable 3rd / 4th attempts. */
	sum = 0;
	n = 0;
	for (int i = 0; i < q->nprojects; i++) {
		const struct score_project *p = &q->projects[i];
		int latest = 0;

		for (int a = SCORE_ATTEMPTS; a >= 1 && !latest; a--)
			if (p->cb_result[a] != SLAD__V1__CALLBACK_RESULT__CALLBACK_RESULT_UNSPECIFIED)
				latest = a;
		if (latest && p->cb_result[latest] != SLAD__V1__CALLBACK_RESULT__UNREACHABLE) {
			sum += satisfaction_points(p->cb_result[latest]);
			n++;
		}
		if (p->cb_result[3] == SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
			deduct += 2;
		if (p->cb_result[4] == SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
			deduct += 5;
	}
	s->satisfaction = (n ? sum / n : 25) - deduct;
	if (s->satisfaction < 0)
		s->satisfaction = 0;

	/* Rep office: 10 minus deductions, minus 1 for 5-9 simple-issue
	 * consultations or 3 for 10 and more. */
	s->rep_office = 10 - q->deduction_points - (q->consultations >= 10 ? 3 : q->consultations >= 5 ? 1 : 0);
	if (s->rep_office < 0)
		s->rep_office = 0;

	/* ECR: at most 5 simple issues is full marks; else by ratio tiers,
	 * each bound inclusive (r <= 8 % is 15). */
	if (!q->has_ecr || q->ecr_simple <= 5)
		s->ecr = 15;
	else if (q->ecr_simple * 100 <= 8 * q->ecr_total)
		s->ecr = 15;
	else if (q->ecr_simple * 100 <= 10 * q->ecr_total)
		s->ecr = 12;
	else if (q->ecr_simple * 100 <= 12 * q->ecr_total)
		s->ecr = 9;
	else if (q->ecr_simple * 100 <= 14 * q->ecr_total)
		s->ecr = 6;
	else if (q->ecr_simple * 100 <= 16 * q->ecr_total)
		s->ecr = 3;
	else
		s->ecr = 0;

	/* Online training: 100 % is 10, 80 % is 5; nothing required is 10. */
	if (!q->has_online || q->online_required <= 0 || q->online_completed >= q->online_required)
		s->training_online = 10;
	else if (ratio_at_least(q->online_completed, q->online_required, 80))
		s->training_online = 5;
	else
		s->training_online = 0;

	/* Offline training: 100 % is 10, 80 % is 8, 60 % is 3. */
	if (!q->has_offline || q->offline_required <= 0 || q->offline_completed >= q->offline_required)
		s->training_offline = 10;
	else if (ratio_at_least(q->offline_completed, q->offline_required, 80))
		s->training_offline = 8;
	else if (ratio_at_least(q->offline_completed, q->offline_required, 60))
		s->training_offline = 3;
	else
		s->training_offline = 0;

	s->key_events = q->key_event_points;
	s->total = s->major_projects + s->satisfaction + s->rep_office + s->ecr + s->training_online +
		   s->training_offline + s->key_events;
	bool zero_item = s->major_projects <= 0 || s->satisfaction <= 0 || s->rep_office <= 0 || s->ecr <= 0 ||
			 s->training_online <= 0 || s->training_offline <= 0;
	s->verdict = !zero_item && s->total >= SCORE_PASS_TOTAL ? SCORE_PASS : SCORE_DOWNGRADE;
}

/* ---- calendar months ---- */

sla_time partners_add_months(sla_time t, int months)
{
	sla_time local = t + LOCAL_OFFSET;
	int64_t days = floor_div(local, SLA_DAY);
	sla_time tod = local - days * SLA_DAY;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	int64_t mi = (int64_t)y * 12 + (m - 1) + months;
	y = (int)floor_div(mi, 12);
	m = (unsigned)(mi - (int64_t)y * 12) + 1;
	if (d > days_in_month(y, m))
		d = days_in_month(y, m);
	return days_from_civil(y, m, d) * SLA_DAY + tod - LOCAL_OFFSET;
}

/* The first instant after the quarter (local time). */
static sla_time quarter_end(int qindex)
{
	int y = qindex / 4;
	unsigned m = (unsigned)(qindex % 4) * 3 + 1;
	return partners_add_months(days_from_civil(y, m, 1) * SLA_DAY - LOCAL_OFFSET, 3);
}

const char *partner_event_code_name(enum partner_event_code c)
{
	static const char *const names[PE_COUNT] = {"CERT_EXPIRY_REMINDER", "CERT_EXPIRED_DOWNGRADE",
						    "KEY_PERSON_BUFFER_EXPIRED", "KEY_PERSON_UNDECLARED"};
	return (unsigned)c < PE_COUNT ? names[c] : "";
}

/* ---- partner ids ---- */

/* ---- outputs ---- */

void partners_out_init(struct partners_out *out)
{
	memset(out, 0, sizeof(*out));
}

void partners_out_clear(struct partners_out *out)
{
	for (size_t i = 0; i < out->ndirty; i++)
		out->dirty[i]->in_dirty = false;
	out->ndirty = out->nscores = out->nevents = 0;
	out->oom = false;
}

void partners_out_free(struct partners_out *out)
{
	partners_out_clear(out);
	free(out->dirty);
	free(out->scores);
	free(out->events);
	memset(out, 0, sizeof(*out));
}

static void mark_dirty(struct partners_out *out, struct partner *p)
{
	if (p->in_dirty)
		return;
	if (!array_grow_sz((void **)&out->dirty, &out->capdirty, out->ndirty + 1, sizeof(*out->dirty))) {
		out->oom = true;
		return;
	}
	out->dirty[out->ndirty++] = p;
	p->in_dirty = true;
}

static void emit_score(struct partners_out *out, const struct partner *p, const struct partner_quarter *pq,
		       sla_time now)
{
	struct score_row *r = NULL;

	/* Two computations at one processing time: the later one is the score. */
	for (size_t i = 0; i < out->nscores && !r; i++)
		if (out->scores[i].computed_at == now && strcmp(out->scores[i].partner_id, p->partner_id) == 0 &&
		    strcmp(out->scores[i].quarter, pq->in.quarter) == 0)
			r = &out->scores[i];
	if (!r) {
		if (!array_grow_sz((void **)&out->scores, &out->capscores, out->nscores + 1, sizeof(*out->scores))) {
			out->oom = true;
			return;
		}
		r = &out->scores[out->nscores++];
	}
	memset(r, 0, sizeof(*r));
	snprintf(r->partner_id, sizeof(r->partner_id), "%s", p->partner_id);
	snprintf(r->quarter, sizeof(r->quarter), "%s", pq->in.quarter);
	score_compute(&pq->in, &r->score);
	r->computed_at = now;
}

static void emit_event(struct partners_out *out, const struct partner *p, enum partner_event_code code,
		       const char *subject, sla_time at, sla_time retracted_at, const char *details)
{
	struct partner_event_row *r;

	if (!array_grow_sz((void **)&out->events, &out->capevents, out->nevents + 1, sizeof(*out->events))) {
		out->oom = true;
		return;
	}
	r = &out->events[out->nevents++];
	memset(r, 0, sizeof(*r));
	snprintf(r->partner_id, sizeof(r->partner_id), "%s", p->partner_id);
	r->code = code;
	snprintf(r->subject_id, sizeof(r->subject_id), "%s", subject);
	r->at = at;
	r->retracted_at = retracted_at;
	snprintf(r->details, sizeof(r->details), "%s", details ? details : "{}");
}

/* ---- one partner ---- */

static struct partner *partner_new(const char *partner_id, int32_t partition)
{
	struct partner *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->partner_id, sizeof(p->partner_id), "%s", partner_id);
	p->partition = partition;
	p->latest_at = SLA_TIME_NONE;
	p->queued_at = SLA_TIME_NONE;
	return p;
}

static void partner_free(struct partner *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nquarters; i++)
		free(p->quarters[i].in.projects);
	free(p->quarters);
	free(p->seen);
	free(p->certs);
	free(p->deps);
	free(p->repl);
	free(p);
}

const struct partner_quarter *partner_find_quarter(const struct partner *p, const char *quarter)
{
	for (int i = 0; i < p->nquarters; i++)
		if (strcmp(p->quarters[i].in.quarter, quarter) == 0)
			return &p->quarters[i];
	return NULL;
}

static struct partner_quarter *quarter_get(struct partner *p, const char *quarter)
{
	struct partner_quarter *pq = (struct partner_quarter *)partner_find_quarter(p, quarter);
	if (pq)
		return pq;
	if (!array_grow((void **)&p->quarters, &p->capquarters, p->nquarters + 1, sizeof(*p->quarters)))
		return NULL;
	pq = &p->quarters[p->nquarters++];
	memset(pq, 0, sizeof(*pq));
	snprintf(pq->in.quarter, sizeof(pq->in.quarter), "%s", quarter);
	pq->in.ecr_at = pq->in.online_at = pq->in.offline_at = SLA_TIME_NONE;
	pq->closed_at = SLA_TIME_NONE;
	return pq;
}

static struct score_project *project_get(struct score_quarter *q, const char *project_id)
{
	for (int i = 0; i < q->nprojects; i++)
		if (strcmp(q->projects[i].project_id, project_id) == 0)
			return &q->projects[i];
	if (!array_grow((void **)&q->projects, &q->capprojects, q->nprojects + 1, sizeof(*q->projects)))
		return NULL;
	struct score_project *pr = &q->projects[q->nprojects++];
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->project_id, sizeof(pr->project_id), "%s", project_id);
	pr->score_at = SLA_TIME_NONE;
	for (int a = 0; a <= SCORE_ATTEMPTS; a++)
		pr->cb_at[a] = SLA_TIME_NONE;
	return pr;
}

static bool partner_seen(const struct partner *p, const char *event_id)
{
	uint64_t h = id_hash(event_id);
	for (int i = p->nseen - 1; i >= 0; i--)
		if (p->seen[i].hash == h && strcmp(p->seen[i].event_id, event_id) == 0)
			return true;
	return false;
}

static bool partner_add_seen(struct partner *p, const char *event_id, sla_time occurred_at)
{
	if (!array_grow((void **)&p->seen, &p->capseen, p->nseen + 1, sizeof(*p->seen)))
		return false;
	struct partner_seen *s = &p->seen[p->nseen++];
	snprintf(s->event_id, sizeof(s->event_id), "%s", event_id);
	s->hash = id_hash(event_id);
	s->occurred_at = occurred_at;
	return true;
}

/* A timer due at `due` is void when the subject was replaced by then. */
static bool replaced_by(sla_time replaced_at, sla_time due)
{
	return replaced_at != SLA_TIME_NONE && replaced_at <= due;
}

static sla_time cert_reminder_due(const struct partner_cert *c)
{
	if (c->registered_at == SLA_TIME_NONE || c->registered_at >= c->expires_at)
		return SLA_TIME_NONE; /* registered expired: only the downgrade */
	sla_time due = partners_add_months(c->expires_at, -4);
	/* Registered with less than 4 months left: remind at once. */
	return due < c->registered_at ? c->registered_at : due;
}

static sla_time dep_due(const struct partner_departure *d)
{
	return partners_add_months(d->departed_at, 2);
}

/* The earliest pending timer of a partner, or SLA_TIME_NONE. */
static sla_time partner_next_due(const struct partner *p)
{
	sla_time next = SLA_TIME_NONE;
#define CONSIDER(t)                                                  \
	do {                                                         \
		sla_time t_ = (t);                                   \
		if (next == SLA_TIME_NONE || t_ < next)              \
			next = t_;                                   \
	} while (0)
	for (int i = 0; i < p->ncerts; i++) {
		const struct partner_cert *c = &p->certs[i];
		if (c->registered_at == SLA_TIME_NONE)
			continue;
		sla_time rd = cert_reminder_due(c);
		if (rd != SLA_TIME_NONE && !c->reminder_fired && !replaced_by(c->replaced_at, rd))
			CONSIDER(rd);
		if (!c->expired_fired && !replaced_by(c->replaced_at, c->expires_at))
			CONSIDER(c->expires_at);
	}
	for (int i = 0; i < p->ndeps; i++) {
		const struct partner_departure *d = &p->deps[i];
		if (d->declared && !d->fired && !replaced_by(d->replaced_at, dep_due(d)))
			CONSIDER(dep_due(d));
	}
#undef CONSIDER
	return next;
}

static int partner_timer_count(const struct partner *p)
{
	int n = 0;
	for (int i = 0; i < p->ncerts; i++) {
		const struct partner_cert *c = &p->certs[i];
		if (c->registered_at == SLA_TIME_NONE)
			continue;
		sla_time rd = cert_reminder_due(c);
		n += rd != SLA_TIME_NONE && !c->reminder_fired && !replaced_by(c->replaced_at, rd);
		n += !c->expired_fired && !replaced_by(c->replaced_at, c->expires_at);
	}
	for (int i = 0; i < p->ndeps; i++) {
		const struct partner_departure *d = &p->deps[i];
		n += d->declared && !d->fired && !replaced_by(d->replaced_at, dep_due(d));
	}
	return n;
}

/* s as the inside of a JSON string: ids are producer text. */
static void json_text(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", ch);
		} else {
			dst[n++] = (char)ch;
		}
	}
	dst[n] = '\0';
}

static void cert_details(const struct partner_cert *c, char *buf, size_t len)
{
	char exp[40], eng[2 * SLA_ID_MAX + 8];
	rfc3339_format(c->expires_at, 480, exp, sizeof(exp));
	json_text(eng, sizeof(eng), c->engineer_id);
	snprintf(buf, len, "{\"engineer_id\":\"%s\",\"expires_at\":\"%s\"}", eng, exp);
}

/* Fires every timer of p due at or before now. */
static void partner_fire(struct partner *p, sla_time now, struct partners_out *out)
{
	char details[256];
	bool fired = false;

	for (int i = 0; i < p->ncerts; i++) {
		struct partner_cert *c = &p->certs[i];
		if (c->registered_at == SLA_TIME_NONE)
			continue;
		sla_time rd = cert_reminder_due(c);
		if (rd != SLA_TIME_NONE && !c->reminder_fired && rd <= now && !replaced_by(c->replaced_at, rd)) {
			cert_details(c, details, sizeof(details));
			emit_event(out, p, PE_CERT_EXPIRY_REMINDER, c->cert_id, rd, SLA_TIME_NONE, details);
			c->reminder_fired = true;
			c->reminder_due = rd;
			fired = true;
		}
		if (!c->expired_fired && c->expires_at <= now && !replaced_by(c->replaced_at, c->expires_at)) {
			cert_details(c, details, sizeof(details));
			emit_event(out, p, PE_CERT_EXPIRED_DOWNGRADE, c->cert_id, c->expires_at, SLA_TIME_NONE,
				   details);
			c->expired_fired = true;
			fired = true;
		}
	}
	for (int i = 0; i < p->ndeps; i++) {
		struct partner_departure *d = &p->deps[i];
		sla_time due = dep_due(d);
		if (d->declared && !d->fired && due <= now && !replaced_by(d->replaced_at, due)) {
			char dep[40];
			rfc3339_format(d->departed_at, 480, dep, sizeof(dep));
			snprintf(details, sizeof(details), "{\"departed_at\":\"%s\"}", dep);
			emit_event(out, p, PE_KEY_PERSON_BUFFER_EXPIRED, d->engineer_id, due, SLA_TIME_NONE, details);
			d->fired = true;
			fired = true;
		}
	}
	if (fired)
		mark_dirty(out, p);
}

/* Forgets what lies beyond the retention horizon (event time). */
static void partner_prune(struct partner *p)
{
	if (p->latest_at == SLA_TIME_NONE)
		return;
	sla_time horizon = p->latest_at - PARTNER_RETAIN;
	int keep = 0;

	for (int i = 0; i < p->nseen; i++)
		if (p->seen[i].occurred_at >= horizon)
			p->seen[keep++] = p->seen[i];
	p->nseen = keep;

	keep = 0;
	for (int i = 0; i < p->nquarters; i++) {
		if (quarter_end(score_quarter_index(p->quarters[i].in.quarter)) < horizon)
			free(p->quarters[i].in.projects);
		else
			p->quarters[keep++] = p->quarters[i];
	}
	p->nquarters = keep;

	keep = 0;
	for (int i = 0; i < p->ncerts; i++) {
		const struct partner_cert *c = &p->certs[i];
		sla_time last = c->registered_at;
		if (c->expires_at > last)
			last = c->expires_at;
		if (c->replaced_at > last)
			last = c->replaced_at;
		bool pending = c->registered_at != SLA_TIME_NONE &&
			       ((!c->expired_fired && !replaced_by(c->replaced_at, c->expires_at)) ||
				(!c->reminder_fired && cert_reminder_due(c) != SLA_TIME_NONE &&
				 !replaced_by(c->replaced_at, cert_reminder_due(c))));
		if (pending || last >= horizon)
			p->certs[keep++] = *c;
	}
	p->ncerts = keep;

	keep = 0;
	for (int i = 0; i < p->ndeps; i++) {
		const struct partner_departure *d = &p->deps[i];
		bool pending = d->declared && !d->fired && !replaced_by(d->replaced_at, dep_due(d));
		if (pending || dep_due(d) >= horizon || d->replaced_at >= horizon)
			p->deps[keep++] = *d;
	}
	p->ndeps = keep;

	keep = 0;
	for (int i = 0; i < p->nrepl; i++)
		if (p->repl[i].at >= horizon)
			p->repl[keep++] = p->repl[i];
	p->nrepl = keep;
}

/* ---- the partners of a partition: table and timer heap ---- */

struct partners {
	int32_t partition;
	struct idtable partners; /* struct partner by partner_id */
	struct deadlines timers; /* one live entry per partner: the one at its queued_at */
	sla_time now;
};

static bool timer_live(const void *ctx, const struct deadline *e)
{
	(void)ctx;
	return e->at == e->subject.partner->queued_at;
}

struct partners *partners_new(int32_t partition)
{
	struct partners *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->partition = partition;
	deadlines_init(&ps->timers, timer_live, NULL);
	if (!idtable_init(&ps->partners, 64, offsetof(struct partner, partner_id))) {
		free(ps);
		return NULL;
	}
	ps->now = SLA_TIME_NONE;
	return ps;
}

void partners_free(struct partners *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->partners.nslots; i++)
		partner_free(ps->partners.slots[i]);
	idtable_free(&ps->partners);
	deadlines_free(&ps->timers);
	free(ps);
}

static struct partner *partner_get(const struct partners *ps, const char *partner_id)
{
	return idtable_get(&ps->partners, partner_id);
}

const struct partner *partners_find(const struct partners *ps, const char *partner_id)
{
	return partner_get(ps, partner_id);
}

static bool partner_put(struct partners *ps, struct partner *p)
{
	return idtable_put(&ps->partners, p);
}

size_t partners_count(const struct partners *ps)
{
	return ps->partners.count;
}

size_t partners_timer_count(const struct partners *ps)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->partners.nslots; i++)
		if (ps->partners.slots[i])
			n += (size_t)partner_timer_count(ps->partners.slots[i]);
	return n;
}

/* One heap entry counts per partner: the one at queued_at. An entry made
 * stale by an earlier one is skipped when popped. */
static void requeue(struct partners *ps, struct partner *p)
{
	sla_time next = partner_next_due(p);
	if (next == SLA_TIME_NONE)
		return;
	/* Out of memory: the partner's next change (or a restore) tries again. */
	struct deadline e = {.at = next, .subject.partner = p};
	if ((p->queued_at == SLA_TIME_NONE || next < p->queued_at) && deadlines_push(&ps->timers, &e))
		p->queued_at = next;
}

void partners_advance(struct partners *ps, sla_time now, struct partners_out *out)
{
	if (ps->now == SLA_TIME_NONE || now > ps->now)
		ps->now = now;
	while (deadlines_due(&ps->timers, now)) {
		struct deadline e = deadlines_pop(&ps->timers);
		struct partner *p = e.subject.partner;
		if (!timer_live(NULL, &e))
			continue;
		p->queued_at = SLA_TIME_NONE;
		partner_fire(p, now, out);
		requeue(ps, p);
	}
}

sla_time partners_next_due(const struct partners *ps)
{
	return deadlines_next(&ps->timers);
}

/* ---- checking an assessment ---- */

enum sla_verdict assessment_check(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__Assessment *a = ev->assessment;

	if (ev->type != SLAD__V1__EVENT_TYPE__ASSESSMENT)
		BAD("not an ASSESSMENT event");
	if (ev->payload_case != SLAD__V1__EVENT__PAYLOAD_ASSESSMENT || !a)
		MISSING("quarter");
	if (id_missing(ev->partner_id))
		MISSING("partner_id");
	if (id_too_long(ev->partner_id))
		BAD("partner_id longer than %d bytes", SLA_ID_MAX);
	if (id_missing(a->quarter))
		MISSING("quarter");
	if (score_quarter_index(a->quarter) < 0)
		BAD("quarter must look like 2025Q2");
	if (score_quarter_index(a->quarter) / 4 < 2000 || score_quarter_index(a->quarter) / 4 >= 2200)
		BAD("quarter out of range (2000Q1 to 2199Q4)");
	if (id_too_long(a->project_id) || id_too_long(a->engineer_id) || id_too_long(a->cert_id))
		BAD("an id is longer than %d bytes", SLA_ID_MAX);
	if (a->reason_text && strlen(a->reason_text) > 256)
		BAD("reason longer than 256 bytes");

	switch (a->kind) {
	case SLAD__V1__ASSESSMENT_KIND__ASSESSMENT_KIND_UNSPECIFIED:
		MISSING("kind");
	case SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE:
		if (id_missing(a->project_id))
			MISSING("project_id");
		if (a->_score_case != SLAD__V1__ASSESSMENT___SCORE_SCORE)
			MISSING("score");
		if (!isfinite(a->score) || a->score < 0 || a->score > 30)
			BAD("score must be between 0 and 30");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK:
		if (id_missing(a->project_id))
			MISSING("project_id");
		if (a->result == SLAD__V1__CALLBACK_RESULT__CALLBACK_RESULT_UNSPECIFIED)
			MISSING("result");
		if (a->result < 0 || a->result > SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
			BAD("unknown result %d", (int)a->result);
		if (a->_attempt_case != SLAD__V1__ASSESSMENT___ATTEMPT_ATTEMPT)
			MISSING("attempt");
		if (a->attempt < 1 || a->attempt > SCORE_ATTEMPTS)
			BAD("attempt must be between 1 and %d", SCORE_ATTEMPTS);
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION:
		if (a->reason == SLAD__V1__DEDUCTION_REASON__DEDUCTION_REASON_UNSPECIFIED)
			MISSING("reason");
		if (a->reason < 0 || a->reason > SLAD__V1__DEDUCTION_REASON__DEDUCTION_OTHER)
			BAD("unknown reason %d", (int)a->reason);
		if (a->_points_case != SLAD__V1__ASSESSMENT___POINTS_POINTS) {
			if (a->reason != SLAD__V1__DEDUCTION_REASON__UNCERTIFIED_WORK &&
			    a->reason != SLAD__V1__DEDUCTION_REASON__VENDOR_HELP)
				MISSING("points");
		} else if (!isfinite(a->points) || a->points < 0 || a->points > 1000) {
			BAD("points must be between 0 and 1000");
		}
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__SIMPLE_ISSUE_CONSULTATIONS:
		if (a->_count_case != SLAD__V1__ASSESSMENT___COUNT_COUNT)
			MISSING("count");
		if (a->count < 0 || a->count > COUNT_MAX)
			BAD("count out of range");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS:
		if (a->_simple_issues_case != SLAD__V1__ASSESSMENT___SIMPLE_ISSUES_SIMPLE_ISSUES)
			MISSING("simple_issues");
		if (a->_total_issues_case != SLAD__V1__ASSESSMENT___TOTAL_ISSUES_TOTAL_ISSUES)
			MISSING("total_issues");
		if (a->simple_issues < 0 || a->total_issues < 0 || a->total_issues > COUNT_MAX)
			BAD("issue counts out of range");
		if (a->simple_issues > a->total_issues)
			BAD("simple_issues greater than total_issues");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__TRAINING: {
		bool oc = a->_online_completed_case == SLAD__V1__ASSESSMENT___ONLINE_COMPLETED_ONLINE_COMPLETED;
		bool orq = a->_online_required_case == SLAD__V1__ASSESSMENT___ONLINE_REQUIRED_ONLINE_REQUIRED;
		bool fc = a->_offline_completed_case == SLAD__V1__ASSESSMENT___OFFLINE_COMPLETED_OFFLINE_COMPLETED;
		bool frq = a->_offline_required_case == SLAD__V1__ASSESSMENT___OFFLINE_REQUIRED_OFFLINE_REQUIRED;
		if (!oc && !orq && !fc && !frq)
			MISSING("online_completed/online_required or offline_completed/offline_required");
		if (oc != orq)
			MISSING(oc ? "online_required" : "online_completed");
		if (fc != frq)
			MISSING(fc ? "offline_required" : "offline_completed");
		if ((oc && (a->online_completed < 0 || a->online_completed > COUNT_MAX)) ||
		    (orq && (a->online_required < 0 || a->online_required > COUNT_MAX)) ||
		    (fc && (a->offline_completed < 0 || a->offline_completed > COUNT_MAX)) ||
		    (frq && (a->offline_required < 0 || a->offline_required > COUNT_MAX)))
			BAD("training counts out of range");
		return SV_APPLIED;
	}
	case SLAD__V1__ASSESSMENT_KIND__KEY_EVENT:
		if (a->_points_case != SLAD__V1__ASSESSMENT___POINTS_POINTS)
			MISSING("points");
		if (!isfinite(a->points) || fabs(a->points) > 1000)
			BAD("points must be between -1000 and 1000");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED:
		if (id_missing(a->engineer_id))
			MISSING("engineer_id");
		if (id_missing(a->cert_id))
			MISSING("cert_id");
		if (a->_expires_at_case != SLAD__V1__ASSESSMENT___EXPIRES_AT_EXPIRES_AT)
			MISSING("expires_at");
		if (!sla_instant_ok(a->expires_at))
			BAD("expires_at out of range (2000-01-01 to 2200-01-01)");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED:
		if (id_missing(a->cert_id))
			MISSING("cert_id");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED:
		if (id_missing(a->engineer_id))
			MISSING("engineer_id");
		if (a->_declared_case != SLAD__V1__ASSESSMENT___DECLARED_DECLARED)
			MISSING("declared");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED:
		if (id_missing(a->engineer_id))
			MISSING("engineer_id");
		return SV_APPLIED;
	case SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED:
		return SV_APPLIED;
	default:
		BAD("unknown kind %d", (int)a->kind);
	}
}

#undef MISSING
#undef BAD

/* ---- applying an assessment ---- */

static struct partner_cert *cert_get(struct partner *p, const char *cert_id, bool create)
{
	for (int i = 0; i < p->ncerts; i++)
		if (strcmp(p->certs[i].cert_id, cert_id) == 0)
			return &p->certs[i];
	if (!create || !array_grow((void **)&p->certs, &p->capcerts, p->ncerts + 1, sizeof(*p->certs)))
		return NULL;
	struct partner_cert *c = &p->certs[p->ncerts++];
	memset(c, 0, sizeof(*c));
	snprintf(c->cert_id, sizeof(c->cert_id), "%s", cert_id);
	c->registered_at = c->expires_at = c->replaced_at = c->reminder_due = SLA_TIME_NONE;
	return c;
}

/* A late replacement (or renewal) at `by` withdraws the rows of timers
 * that were due at or after it. */
static void cert_retract(struct partner *p, struct partner_cert *c, sla_time by, sla_time now,
			 struct partners_out *out)
{
	char details[256];
	cert_details(c, details, sizeof(details));
	if (c->reminder_fired && c->reminder_due >= by) {
		emit_event(out, p, PE_CERT_EXPIRY_REMINDER, c->cert_id, c->reminder_due, now, details);
		c->reminder_fired = false;
	}
	if (c->expired_fired && c->expires_at >= by) {
		emit_event(out, p, PE_CERT_EXPIRED_DOWNGRADE, c->cert_id, c->expires_at, now, details);
		c->expired_fired = false;
	}
}

static bool apply_cert_registered(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
				  struct partners_out *out)
{
	struct partner_cert *c = cert_get(p, a->cert_id, true);
	if (!c)
		return false;
	if (c->registered_at != SLA_TIME_NONE) {
		if (at < c->registered_at)
			return true; /* an older registration, late: the newer one stands */
		if (a->expires_at != c->expires_at) {
			/* A renewal: a new instance of the certificate. */
			cert_retract(p, c, at, now, out);
			c->reminder_fired = c->expired_fired = false;
			c->reminder_due = SLA_TIME_NONE;
			c->expires_at = a->expires_at;
		}
	} else {
		c->expires_at = a->expires_at;
	}
	if (c->replaced_at != SLA_TIME_NONE && c->replaced_at < at)
		c->replaced_at = SLA_TIME_NONE; /* it replaced an earlier instance */
	c->registered_at = at;
	snprintf(c->engineer_id, sizeof(c->engineer_id), "%s", a->engineer_id);
	return true;
}

static bool apply_cert_replaced(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
				struct partners_out *out)
{
	struct partner_cert *c = cert_get(p, a->cert_id, true);
	if (!c)
		return false;
	if (c->registered_at != SLA_TIME_NONE && at < c->registered_at)
		return true; /* it replaced an earlier instance */
	if (c->replaced_at == SLA_TIME_NONE || at < c->replaced_at)
		c->replaced_at = at;
	if (c->registered_at != SLA_TIME_NONE)
		cert_retract(p, c, c->replaced_at, now, out);
	return true;
}

static void dep_replace(struct partner *p, struct partner_departure *d, const char *by, sla_time at, sla_time now,
			struct partners_out *out)
{
	d->replaced_at = at;
	snprintf(d->replaced_by, sizeof(d->replaced_by), "%s", by);
	if (d->declared && d->fired && at <= dep_due(d)) {
		char details[256], dep[40];
		rfc3339_format(d->departed_at, 480, dep, sizeof(dep));
		snprintf(details, sizeof(details), "{\"departed_at\":\"%s\"}", dep);
		emit_event(out, p, PE_KEY_PERSON_BUFFER_EXPIRED, d->engineer_id, dep_due(d), now, details);
		d->fired = false;
	}
}

static bool apply_departed(struct partner *p, const Slad__V1__Assessment *a, sla_time at,
			   struct partners_out *out)
{
	for (int i = 0; i < p->ndeps; i++)
		if (p->deps[i].departed_at == at && strcmp(p->deps[i].engineer_id, a->engineer_id) == 0)
			return true; /* the same departure, reported twice */
	if (!array_grow((void **)&p->deps, &p->capdeps, p->ndeps + 1, sizeof(*p->deps)))
		return false;
	struct partner_departure *d = &p->deps[p->ndeps++];
	memset(d, 0, sizeof(*d));
	snprintf(d->engineer_id, sizeof(d->engineer_id), "%s", a->engineer_id);
	d->departed_at = at;
	d->declared = a->declared;
	d->replaced_at = SLA_TIME_NONE;
	if (!d->declared) {
		char details[64];
		snprintf(details, sizeof(details), "{\"declared\":false}");
		emit_event(out, p, PE_KEY_PERSON_UNDECLARED, d->engineer_id, at, SLA_TIME_NONE, details);
		d->fired = true;
	}
	/* A replacement that came first. */
	for (int i = 0; i < p->nrepl; i++) {
		if (strcmp(p->repl[i].engineer_id, d->engineer_id) == 0) {
			d->replaced_at = p->repl[i].at;
			snprintf(d->replaced_by, sizeof(d->replaced_by), "%s", p->repl[i].engineer_id);
			p->repl[i] = p->repl[--p->nrepl];
			break;
		}
	}
	return true;
}

static bool apply_replaced(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
			   struct partners_out *out)
{
	struct partner_departure *match = NULL;

	/* The departed engineer's own id, else the earliest open declared
	 * departure before it (the id then names the successor). */
	for (int i = 0; i < p->ndeps && !match; i++)
		if (p->deps[i].replaced_at == SLA_TIME_NONE && strcmp(p->deps[i].engineer_id, a->engineer_id) == 0)
			match = &p->deps[i];
	bool own = match != NULL;
	for (int i = 0; i < p->ndeps && !own; i++) {
		struct partner_departure *d = &p->deps[i];
		if (d->declared && d->replaced_at == SLA_TIME_NONE && d->departed_at <= at &&
		    (!match || d->departed_at < match->departed_at))
			match = d;
	}
	if (match) {
		dep_replace(p, match, a->engineer_id, at, now, out);
		return true;
	}
	if (!array_grow((void **)&p->repl, &p->caprepl, p->nrepl + 1, sizeof(*p->repl)))
		return false;
	snprintf(p->repl[p->nrepl].engineer_id, sizeof(p->repl[p->nrepl].engineer_id), "%s", a->engineer_id);
	p->repl[p->nrepl++].at = at;
	return true;
}

/* Adds a scoring event to its quarter; false when out of memory. */
static bool apply_scoring(struct score_quarter *q, const Slad__V1__Assessment *a, sla_time at)
{
	struct score_project *pr;

	switch (a->kind) {
	case SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE:
		pr = project_get(q, a->project_id);
		if (!pr)
			return false;
		if (!pr->has_score || at >= pr->score_at) {
			pr->has_score = true;
			pr->score = a->score;
			pr->score_at = at;
		}
		return true;
	case SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK:
		pr = project_get(q, a->project_id);
		if (!pr)
			return false;
		if (pr->cb_at[a->attempt] == SLA_TIME_NONE || at >= pr->cb_at[a->attempt]) {
			pr->cb_result[a->attempt] = a->result;
			pr->cb_at[a->attempt] = at;
		}
		return true;
	case SLAD__V1__ASSESSMENT_KIND__REP_OFFICE_DEDUCTION:
		q->deduction_points += a->_points_case == SLAD__V1__ASSESSMENT___POINTS_POINTS ? a->points : 0.5;
		q->ndeductions++;
		return true;
	case SLAD__V1__ASSESSMENT_KIND__SIMPLE_ISSUE_CONSULTATIONS:
		q->consultations += a->count;
		if (q->consultations > COUNT_MAX)
			q->consultations = COUNT_MAX;
		return true;
	case SLAD__V1__ASSESSMENT_KIND__ECR_COUNTS:
		if (!q->has_ecr || at >= q->ecr_at) {
			q->has_ecr = true;
			q->ecr_simple = a->simple_issues;
			q->ecr_total = a->total_issues;
			q->ecr_at = at;
		}
		return true;
	case SLAD__V1__ASSESSMENT_KIND__TRAINING:
		if (a->_online_required_case == SLAD__V1__ASSESSMENT___ONLINE_REQUIRED_ONLINE_REQUIRED &&
		    (!q->has_online || at >= q->online_at)) {
			q->has_online = true;
			q->online_completed = a->online_completed;
			q->online_required = a->online_required;
			q->online_at = at;
		}
		if (a->_offline_required_case == SLAD__V1__ASSESSMENT___OFFLINE_REQUIRED_OFFLINE_REQUIRED &&
		    (!q->has_offline || at >= q->offline_at)) {
			q->has_offline = true;
			q->offline_completed = a->offline_completed;
			q->offline_required = a->offline_required;
			q->offline_at = at;
		}
		return true;
	case SLAD__V1__ASSESSMENT_KIND__KEY_EVENT:
		q->key_event_points += a->points;
		q->nkey_events++;
		return true;
	default:
		return true;
	}
}

static bool is_qualification(Slad__V1__AssessmentKind k)
{
	return k == SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED || k == SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED ||
	       k == SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED || k == SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED;
}

enum sla_verdict partners_apply(struct partners *ps, const Slad__V1__Event *ev, sla_time now,
				struct partners_out *out, char *detail, size_t detail_len)
{
	enum sla_verdict v;
	struct partner *p;
	const Slad__V1__Assessment *a;
	bool ok = true;

	partners_advance(ps, now, out);
	v = event_check(ev, detail, detail_len);
	if (v == SV_APPLIED)
		v = assessment_check(ev, detail, detail_len);
	if (v != SV_APPLIED)
		return v;
	a = ev->assessment;

	p = partner_get(ps, ev->partner_id);
	if (p && partner_seen(p, ev->event_id))
		return SV_DUPLICATE;
	if (p && p->latest_at != SLA_TIME_NONE) {
		sla_time horizon = p->latest_at - PARTNER_RETAIN;
		if (ev->occurred_at < horizon ||
		    (!is_qualification(a->kind) && quarter_end(score_quarter_index(a->quarter)) < horizon)) {
			snprintf(detail, detail_len, "older than the %d days partner %s keeps",
				 (int)(PARTNER_RETAIN / SLA_DAY), p->partner_id);
			return SV_TOO_LATE;
		}
	}
	if (!p) {
		p = partner_new(ev->partner_id, ps->partition);
		if (!p || !partner_put(ps, p)) {
			partner_free(p);
			snprintf(detail, detail_len, "out of memory");
			return SV_BAD_VALUE;
		}
	}

	switch (a->kind) {
	case SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED:
		ok = apply_cert_registered(p, a, ev->occurred_at, now, out);
		break;
	case SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED:
		ok = apply_cert_replaced(p, a, ev->occurred_at, now, out);
		break;
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED:
		ok = apply_departed(p, a, ev->occurred_at, out);
		break;
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED:
		ok = apply_replaced(p, a, ev->occurred_at, now, out);
		break;
	default: {
		struct partner_quarter *pq = quarter_get(p, a->quarter);
		ok = pq && apply_scoring(&pq->in, a, ev->occurred_at);
		if (!ok)
			break;
		if (a->kind == SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED) {
			pq->closed = true;
			if (pq->closed_at == SLA_TIME_NONE || ev->occurred_at > pq->closed_at)
				pq->closed_at = ev->occurred_at;
		}
		/* Computed on QUARTER_CLOSED, rewritten by anything later. */
		if (pq->closed)
			emit_score(out, p, pq, now);
		break;
	}
	}
	if (!ok || !partner_add_seen(p, ev->event_id, ev->occurred_at)) {
		snprintf(detail, detail_len, "out of memory");
		return SV_BAD_VALUE;
	}
	if (p->latest_at == SLA_TIME_NONE || ev->occurred_at > p->latest_at)
		p->latest_at = ev->occurred_at;
	partner_prune(p);
	/* A timer the event armed may be due already (registered late). */
	partner_fire(p, ps->now != SLA_TIME_NONE ? ps->now : now, out);
	requeue(ps, p);
	mark_dirty(out, p);
	return SV_APPLIED;
}

/* ---- the state as bytes ---- */

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
		wbuf_i64(w, pr->has_score);
		wbuf_f64(w, pr->score);
		wbuf_i64(w, pr->score_at);
		for (int a = 1; a <= SCORE_ATTEMPTS; a++) {
			wbuf_i64(w, pr->cb_result[a]);
			wbuf_i64(w, pr->cb_at[a]);
		}
	}
	wbuf_f64(w, q->deduction_points);
	wbuf_i64(w, q->ndeductions);
	wbuf_i64(w, q->consultations);
	wbuf_i64(w, q->has_ecr);
	wbuf_i64(w, q->ecr_simple);
	wbuf_i64(w, q->ecr_total);
	wbuf_i64(w, q->ecr_at);
	wbuf_i64(w, q->has_online);
	wbuf_i64(w, q->online_completed);
	wbuf_i64(w, q->online_required);
	wbuf_i64(w, q->online_at);
	wbuf_i64(w, q->has_offline);
	wbuf_i64(w, q->offline_completed);
	wbuf_i64(w, q->offline_required);
	wbuf_i64(w, q->offline_at);
	wbuf_f64(w, q->key_event_points);
	wbuf_i64(w, q->nkey_events);
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
		const struct partner_cert *c = &p->certs[i];
		wbuf_str(&w, c->cert_id);
		wbuf_str(&w, c->engineer_id);
		wbuf_i64(&w, c->registered_at);
		wbuf_i64(&w, c->expires_at);
		wbuf_i64(&w, c->replaced_at);
		wbuf_i64(&w, c->reminder_fired);
		wbuf_i64(&w, c->expired_fired);
		wbuf_i64(&w, c->reminder_due);
	}
	wbuf_i64(&w, p->ndeps);
	for (int i = 0; i < p->ndeps; i++) {
		const struct partner_departure *d = &p->deps[i];
		wbuf_str(&w, d->engineer_id);
		wbuf_i64(&w, d->departed_at);
		wbuf_i64(&w, d->declared);
		wbuf_i64(&w, d->replaced_at);
		wbuf_str(&w, d->replaced_by);
		wbuf_i64(&w, d->fired);
	}
	wbuf_i64(&w, p->nrepl);
	for (int i = 0; i < p->nrepl; i++) {
		wbuf_str(&w, p->repl[i].engineer_id);
		wbuf_i64(&w, p->repl[i].at);
	}
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
	if (t != SLA_TIME_NONE && (t < SLA_TIME_MIN - 3660 * SLA_DAY || t >= SLA_TIME_MAX + 3660 * SLA_DAY))
		r->fail = true;
	return t;
}

/* A saved count: what assessment_check lets in. */
static int64_t rbuf_countval(struct rbuf *r)
{
	int64_t v = rbuf_i64(r);
	if (v < 0 || v > COUNT_MAX)
		r->fail = true;
	return v;
}

static void get_quarter(struct rbuf *r, struct partner *p)
{
	char quarter[SCORE_QUARTER_MAX + 1];
	rbuf_str(r, quarter, sizeof(quarter));
	if (r->fail || score_quarter_index(quarter) < 0 || partner_find_quarter(p, quarter)) {
		r->fail = true;
		return;
	}
	struct partner_quarter *pq = quarter_get(p, quarter);
	if (!pq) {
		r->fail = true;
		return;
	}
	struct score_quarter *q = &pq->in;
	pq->closed = rbuf_bool(r);
	pq->closed_at = rbuf_instant(r);
	int n = rbuf_count(r, CODEC_LIMIT);
	for (int i = 0; i < n && !r->fail; i++) {
		char id[SLA_ID_MAX + 1];
		rbuf_str(r, id, sizeof(id));
		struct score_project *pr = r->fail ? NULL : project_get(q, id);
		if (!pr) {
			r->fail = true;
			break;
		}
		pr->has_score = rbuf_bool(r);
		pr->score = rbuf_f64(r);
		pr->score_at = rbuf_instant(r);
		for (int a = 1; a <= SCORE_ATTEMPTS; a++) {
			int64_t res = rbuf_i64(r);
			if (res < 0 || res > SLAD__V1__CALLBACK_RESULT__UNREACHABLE)
				r->fail = true;
			pr->cb_result[a] = (Slad__V1__CallbackResult)res;
			pr->cb_at[a] = rbuf_instant(r);
		}
	}
	q->deduction_points = rbuf_f64(r);
	q->ndeductions = rbuf_i32(r);
	q->consultations = rbuf_countval(r);
	q->has_ecr = rbuf_bool(r);
	q->ecr_simple = rbuf_countval(r);
	q->ecr_total = rbuf_countval(r);
	q->ecr_at = rbuf_instant(r);
	q->has_online = rbuf_bool(r);
	q->online_completed = rbuf_countval(r);
	q->online_required = rbuf_countval(r);
	q->online_at = rbuf_instant(r);
	q->has_offline = rbuf_bool(r);
	q->offline_completed = rbuf_countval(r);
	q->offline_required = rbuf_countval(r);
	q->offline_at = rbuf_instant(r);
	q->key_event_points = rbuf_f64(r);
	q->nkey_events = rbuf_i32(r);
}

bool partners_restore(struct partners *ps, const uint8_t *buf, size_t len)
{
	struct rbuf r = {buf, len, 0, false, false};
	struct partner *p = NULL;
	char id[SLA_ID_MAX + 1];
	int n;

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
	n = rbuf_count(&r, CODEC_LIMIT);
	for (int i = 0; i < n && !r.fail; i++)
		get_quarter(&r, p);
	n = rbuf_count(&r, CODEC_LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		char eid[SLA_ID_MAX + 1];
		rbuf_str(&r, eid, sizeof(eid));
		sla_time at = rbuf_instant(&r);
		if (!r.fail && !partner_add_seen(p, eid, at))
			r.fail = true;
	}
	n = rbuf_count(&r, CODEC_LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		char cid[SLA_ID_MAX + 1];
		rbuf_str(&r, cid, sizeof(cid));
		struct partner_cert *c = r.fail || cert_get(p, cid, false) ? NULL : cert_get(p, cid, true);
		if (!c) {
			r.fail = true;
			break;
		}
		rbuf_str(&r, c->engineer_id, sizeof(c->engineer_id));
		c->registered_at = rbuf_instant(&r);
		c->expires_at = rbuf_instant(&r);
		c->replaced_at = rbuf_instant(&r);
		c->reminder_fired = rbuf_bool(&r);
		c->expired_fired = rbuf_bool(&r);
		c->reminder_due = rbuf_instant(&r);
	}
	n = rbuf_count(&r, CODEC_LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		if (!array_grow((void **)&p->deps, &p->capdeps, p->ndeps + 1, sizeof(*p->deps))) {
			r.fail = true;
			break;
		}
		struct partner_departure *d = &p->deps[p->ndeps++];
		memset(d, 0, sizeof(*d));
		rbuf_str(&r, d->engineer_id, sizeof(d->engineer_id));
		d->departed_at = rbuf_instant(&r);
		d->declared = rbuf_bool(&r);
		d->replaced_at = rbuf_instant(&r);
		rbuf_str(&r, d->replaced_by, sizeof(d->replaced_by));
		d->fired = rbuf_bool(&r);
	}
	n = rbuf_count(&r, CODEC_LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		if (!array_grow((void **)&p->repl, &p->caprepl, p->nrepl + 1, sizeof(*p->repl))) {
			r.fail = true;
			break;
		}
		struct partner_replacement *rp = &p->repl[p->nrepl++];
		rbuf_str(&r, rp->engineer_id, sizeof(rp->engineer_id));
		rp->at = rbuf_instant(&r);
	}
	if (r.fail || r.pos != r.len || !partner_put(ps, p)) {
		partner_free(p);
		return false;
	}
	requeue(ps, p);
	return true;
}
