/* partners.c - partner assessment (scoring.md): the partners of a partition (table and timer heap),
 * duplicates and retention per partner, a quarter's assessments and its score rows. Pure. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "partners_internal.h"

/* Local time of the calendar-month arithmetic and of quarter boundaries:
 * Asia/Shanghai (UTC+8, no DST), the zone of the views' buckets. */
#define LOCAL_OFFSET (8 * SLA_HOUR)

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

void *partners_out_slot(struct partners_out *out, void **rows, size_t *cap, size_t *n, size_t size)
{
	if (!array_grow_sz(rows, cap, *n + 1, size)) {
		out->oom = true;
		return NULL;
	}
	void *r = (char *)*rows + *n * size;
	(*n)++;
	memset(r, 0, size);
	return r;
}

void partner_mark_dirty(struct partners_out *out, struct partner *p)
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
	if (!r && !(r = partners_out_slot(out, (void **)&out->scores, &out->capscores, &out->nscores,
					  sizeof(*out->scores))))
		return;
	memset(r, 0, sizeof(*r));
	snprintf(r->partner_id, sizeof(r->partner_id), "%s", p->partner_id);
	snprintf(r->quarter, sizeof(r->quarter), "%s", pq->in.quarter);
	score_compute(&pq->in, &r->score);
	r->computed_at = now;
}

/* ---- one partner ---- */

struct partner *partner_new(const char *partner_id, int32_t partition)
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

void partner_free(void *partner)
{
	struct partner *p = partner;
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

struct partner_quarter *partner_quarter_get(struct partner *p, const char *quarter)
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

struct score_project *quarter_project_get(struct score_quarter *q, const char *project_id)
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

bool partner_add_seen(struct partner *p, const char *event_id, sla_time occurred_at)
{
	if (!array_grow((void **)&p->seen, &p->capseen, p->nseen + 1, sizeof(*p->seen)))
		return false;
	struct partner_seen *s = &p->seen[p->nseen++];
	snprintf(s->event_id, sizeof(s->event_id), "%s", event_id);
	s->hash = id_hash(event_id);
	s->occurred_at = occurred_at;
	return true;
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
	qualifications_prune(p, horizon);
}

/* ---- the partners of a partition: table and timer heap ---- */

static bool timer_live(const void *ctx, const struct deadline *e)
{
	(void)ctx;
	return e->at == e->subject.partner->queued_at;
}

struct partners *partners_new(int32_t partition)
{
	struct partners *ps = calloc(1, sizeof(*ps));
	if (ps && subjects_init(&ps->s, 64, offsetof(struct partner, partner_id), timer_live, NULL)) {
		ps->partition = partition;
		return ps;
	}
	free(ps); /* a failed subjects_init holds nothing */
	return NULL;
}

void partners_free(struct partners *ps)
{
	if (!ps)
		return;
	subjects_free(&ps->s, partner_free);
	free(ps);
}

struct partner *partner_get(const struct partners *ps, const char *partner_id)
{
	return idtable_get(&ps->s.table, partner_id);
}

const struct partner *partners_find(const struct partners *ps, const char *partner_id)
{
	return partner_get(ps, partner_id);
}

bool partner_put(struct partners *ps, struct partner *p)
{
	return idtable_put(&ps->s.table, p);
}

size_t partners_count(const struct partners *ps)
{
	return ps->s.table.count;
}

size_t partners_timer_count(const struct partners *ps)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->s.table.nslots; i++)
		if (ps->s.table.slots[i])
			n += (size_t)qualifications_timer_count(ps->s.table.slots[i]);
	return n;
}

/* One heap entry counts per partner: the one at queued_at. An entry made
 * stale by an earlier one is skipped when popped. */
void partners_requeue(struct partners *ps, struct partner *p)
{
	sla_time next = qualifications_next_due(p);
	if (next == SLA_TIME_NONE)
		return;
	/* Out of memory: the partner's next change (or a restore) tries again. */
	struct deadline e = {.at = next, .subject.partner = p};
	if ((p->queued_at == SLA_TIME_NONE || next < p->queued_at) && deadlines_push(&ps->s.timers, &e))
		p->queued_at = next;
}

void partners_advance(struct partners *ps, sla_time now, struct partners_out *out)
{
	subjects_clock(&ps->s, now);
	while (deadlines_due(&ps->s.timers, now)) {
		struct deadline e = deadlines_pop(&ps->s.timers);
		struct partner *p = e.subject.partner;
		if (!timer_live(NULL, &e))
			continue;
		p->queued_at = SLA_TIME_NONE;
		qualifications_fire(p, now, out);
		partners_requeue(ps, p);
	}
}

sla_time partners_next_due(const struct partners *ps)
{
	return deadlines_next(&ps->s.timers);
}

/* ---- applying an assessment ---- */

/* A pair of counts whose latest value (by event time) stands: ECR, online and offline training. */
static void snapshot(bool *has, sla_time *seen_at, int64_t *x, int64_t *y, int64_t vx, int64_t vy, sla_time at)
{
	if (*has && at < *seen_at)
		return;
	*has = true;
	*x = vx;
	*y = vy;
	*seen_at = at;
}

/* Adds a scoring event to its quarter; false when out of memory. */
static bool apply_scoring(struct score_quarter *q, const Slad__V1__Assessment *a, sla_time at)
{
	struct score_project *pr;

	switch (a->kind) {
	case SLAD__V1__ASSESSMENT_KIND__MAJOR_PROJECT_SCORE:
		pr = quarter_project_get(q, a->project_id);
		if (!pr)
			return false;
		if (!pr->has_score || at >= pr->score_at) {
			pr->has_score = true;
			pr->score = a->score;
			pr->score_at = at;
		}
		return true;
	case SLAD__V1__ASSESSMENT_KIND__SATISFACTION_CALLBACK:
		pr = quarter_project_get(q, a->project_id);
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
		snapshot(&q->has_ecr, &q->ecr_at, &q->ecr_simple, &q->ecr_total, a->simple_issues, a->total_issues, at);
		return true;
	case SLAD__V1__ASSESSMENT_KIND__TRAINING:
		if (a->_online_required_case == SLAD__V1__ASSESSMENT___ONLINE_REQUIRED_ONLINE_REQUIRED)
			snapshot(&q->has_online, &q->online_at, &q->online_completed, &q->online_required,
				 a->online_completed, a->online_required, at);
		if (a->_offline_required_case == SLAD__V1__ASSESSMENT___OFFLINE_REQUIRED_OFFLINE_REQUIRED)
			snapshot(&q->has_offline, &q->offline_at, &q->offline_completed, &q->offline_required,
				 a->offline_completed, a->offline_required, at);
		return true;
	case SLAD__V1__ASSESSMENT_KIND__KEY_EVENT:
		q->key_event_points += a->points;
		q->nkey_events++;
		return true;
	default:
		return true;
	}
}

/* The partner an assessment is for, created when new; NULL with the verdict
 * when it is a duplicate, beyond what the partner keeps, or out of memory. */
static struct partner *partner_admit(struct partners *ps, const Slad__V1__Event *ev, enum sla_verdict *v,
				     char *detail, size_t detail_len)
{
	const Slad__V1__Assessment *a = ev->assessment;
	struct partner *p = partner_get(ps, ev->partner_id);
	if (p && partner_seen(p, ev->event_id)) {
		*v = SV_DUPLICATE;
		return NULL;
	}
	if (p && p->latest_at != SLA_TIME_NONE) {
		sla_time horizon = p->latest_at - PARTNER_RETAIN;
		if (ev->occurred_at < horizon ||
		    (!is_qualification(a->kind) && quarter_end(score_quarter_index(a->quarter)) < horizon)) {
			snprintf(detail, detail_len, "older than the %d days partner %s keeps",
				 (int)(PARTNER_RETAIN / SLA_DAY), p->partner_id);
			*v = SV_TOO_LATE;
			return NULL;
		}
	}
	if (p)
		return p;
	p = partner_new(ev->partner_id, ps->partition);
	if (!p || !partner_put(ps, p)) {
		partner_free(p);
		snprintf(detail, detail_len, "out of memory");
		*v = SV_BAD_VALUE;
		return NULL;
	}
	return p;
}

/* A scoring assessment: into its quarter; the score is computed on QUARTER_CLOSED and rewritten by
 * anything later. False when out of memory. */
static bool apply_to_quarter(struct partner *p, const Slad__V1__Event *ev, sla_time now, struct partners_out *out)
{
	const Slad__V1__Assessment *a = ev->assessment;
	struct partner_quarter *pq = partner_quarter_get(p, a->quarter);
	if (!pq || !apply_scoring(&pq->in, a, ev->occurred_at))
		return false;
	if (a->kind == SLAD__V1__ASSESSMENT_KIND__QUARTER_CLOSED) {
		pq->closed = true;
		if (pq->closed_at == SLA_TIME_NONE || ev->occurred_at > pq->closed_at)
			pq->closed_at = ev->occurred_at;
	}
	if (pq->closed)
		emit_score(out, p, pq, now);
	return true;
}

enum sla_verdict partners_apply(struct partners *ps, const Slad__V1__Event *ev, sla_time now,
				struct partners_out *out, char *detail, size_t detail_len)
{
	enum sla_verdict v;
	struct partner *p;
	const Slad__V1__Assessment *a;
	bool ok;

	partners_advance(ps, now, out);
	v = event_check(ev, detail, detail_len);
	if (v == SV_APPLIED)
		v = assessment_check(ev, detail, detail_len);
	if (v != SV_APPLIED)
		return v;
	a = ev->assessment;
	p = partner_admit(ps, ev, &v, detail, detail_len);
	if (!p)
		return v;
	if (is_qualification(a->kind))
		ok = qualifications_apply(p, a, ev->occurred_at, now, out);
	else
		ok = apply_to_quarter(p, ev, now, out);
	if (!ok || !partner_add_seen(p, ev->event_id, ev->occurred_at)) {
		snprintf(detail, detail_len, "out of memory");
		return SV_BAD_VALUE;
	}
	if (p->latest_at == SLA_TIME_NONE || ev->occurred_at > p->latest_at)
		p->latest_at = ev->occurred_at;
	partner_prune(p);
	/* A timer the event armed may be due already (registered late). */
	qualifications_fire(p, ps->s.now != SLA_TIME_NONE ? ps->s.now : now, out);
	partners_requeue(ps, p);
	partner_mark_dirty(out, p);
	return SV_APPLIED;
}
