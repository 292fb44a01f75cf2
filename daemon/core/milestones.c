/* milestones.c - a ticket's timed milestones (rules.md 1): due times, stops,
 * escalations, their timers, and the archive timer. Pure. */
#include <stdio.h>
#include <string.h>

#include "rules_internal.h"

static sla_time at_field(const struct sla_ticket *t, enum sla_at_field f)
{
	switch (f) {
	case AF_REQUIRED_ARRIVAL: return t->required_arrival_at;
	case AF_EFFECTIVE_ARRIVAL: return effective_required_arrival(t);
	case AF_SERVICE_START: return ticket_more(t)->service_start_at;
	case AF_PLANNED_START: return ticket_more(t)->planned_start_at;
	default: return SLA_TIME_NONE;
	}
}

/* The due time of a deadline started at `start`; SLA_TIME_NONE when it needs
 * a field the ticket lacks. */
static sla_time deadline_due(const struct sla_ticket *t, const struct sla_deadline *d, sla_time start)
{
	switch (d->kind) {
	case DL_WITHIN: return start + (sla_time)d->amount * SLA_MINUTE;
	case DL_NATURAL_DAYS: return start + (sla_time)d->amount * SLA_DAY;
	case DL_OFFICE_HOURS: return calendar_office_hours_due(t->cal, start, d->amount);
	case DL_RESPONSE_DAY: return calendar_response_day_due(t->cal, start);
	case DL_WORKING_DAYS: return calendar_working_days_due(t->cal, start, d->amount);
	case DL_BUSINESS_MINUTES: return calendar_business_minutes_due(t->cal, start, d->amount);
	case DL_AT: {
		sla_time v = at_field(t, d->field);
		if (v == SLA_TIME_NONE)
			return SLA_TIME_NONE;
		if (d->lead_days && t->first_dispatched_at != SLA_TIME_NONE &&
		    v - t->first_dispatched_at > (sla_time)d->lead_days * SLA_DAY)
			return v - (sla_time)d->lead_days * SLA_DAY;
		return v + (sla_time)d->offset_days * SLA_DAY;
	}
	default: return SLA_TIME_NONE;
	}
}

/* Escalation instants (rules.md 1): WARNING at pct of the allowance, TIER3 at due + allowance. */
static sla_time warning_at(const struct sla_core *core, const struct sla_milestone *m)
{
	return m->started_at + (m->due_at - m->started_at) * core->pol->th.warning_pct / 100;
}

static sla_time tier3_at(const struct sla_milestone *m)
{
	return m->due_at + (m->due_at - m->started_at);
}

/* Escalations are reckoned between start and deadline: both needed (a saved
 * state may lack a start), the deadline after the start. */
static bool escalates(const struct sla_milestone *m)
{
	return m->started_at != SLA_TIME_NONE && m->due_at != SLA_TIME_NONE && m->due_at > m->started_at;
}

/* An open milestone's timers are its WARNING, its deadline (TIER2) and its
 * TIER3, one after another: only the earliest still to come is in the heap,
 * and firing it arms the next (B3: one heap entry per open milestone instead
 * of three). False: none is to come. */
static bool next_timer(const struct sla_core *core, const struct sla_milestone *m, enum timer_kind *kind, sla_time *at)
{
	if (!ms_open(m))
		return false;
	bool esc = escalates(m);
	const struct {
		bool to_come;
		enum timer_kind kind;
		sla_time at;
	} c[] = {
		{esc && !(m->flags & MS_ESCALATED(ESC_WARNING)), TK_WARNING, esc ? warning_at(core, m) : 0},
		{!(m->flags & MS_FIRED), TK_DEADLINE, m->due_at},
		{esc && !(m->flags & MS_ESCALATED(ESC_TIER3)), TK_TIER3, esc ? tier3_at(m) : 0},
	};
	bool any = false;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (c[i].to_come && (!any || c[i].at < *at)) {
			*kind = c[i].kind;
			*at = c[i].at;
			any = true;
		}
	}
	return any;
}

/* Arms the milestone's next timer; false: out of memory. */
static bool arm_next(struct sla_core *core, struct sla_ticket *t, const struct sla_milestone *m)
{
	enum timer_kind kind;
	sla_time at;
	return !next_timer(core, m, &kind, &at) || core_timer_push(core, at, t, kind, (int)(m - t->ms));
}

void milestone_arm(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m)
{
	(void)arm_next(core, t, m);
}

struct sla_milestone *milestone_add(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
				    sla_time start, sla_time due, const char *key)
{
	struct sla_milestone *m = ticket_add_milestone(t, kind);
	if (!m)
		return NULL;
	m->started_at = start;
	m->due_at = due;
	if (key && key[0] && !ticket_set_ms_key(core->ids, t, (int)(m - t->ms), key)) {
		/* Out of memory: the milestone keeps no key, as strpool_set failing left it before. */
	}
	milestone_arm(core, t, m);
	return m;
}

struct sla_milestone *milestone_open(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
				     sla_time start, const char *key)
{
	const struct sla_deadline *d =
		policy_deadline(core->pol, kind, t->type, t->sla_class, t->severity, ticket_more(t)->risk_score);
	if (!d)
		return NULL;
	sla_time due = deadline_due(t, d, start);
	if (due == SLA_TIME_NONE)
		return NULL;
	return milestone_add(core, t, kind, start, due, key);
}

/* A closed or cancelled ticket is archived once archive.after has passed
 * since it closed and its last milestone ended (rules.md 1, "Archiving"). */
void archive_arm(struct sla_core *core, struct sla_ticket *t, sla_time from)
{
	if (t->state != TS_CLOSED && t->state != TS_CANCELLED)
		return;
	if (t->closed_at != SLA_TIME_NONE && t->closed_at > from)
		from = t->closed_at;
	sla_time at = from + core->pol->archive_after;
	if (t->archive_at != SLA_TIME_NONE && t->archive_at >= at)
		return;
	t->archive_at = at;
	(void)core_timer_push(core, at, t, TK_ARCHIVE, 0);
}

void milestone_stop(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m, sla_time at,
		    const char *cause, sla_time now, struct sla_out *out)
{
	struct sla_violation *v = ms_violation(t, m);
	m->stopped_at = at;
	m->dirty = true;
	ticket_mark_dirty(out, t);
	archive_arm(core, t, at);
	if (at <= m->due_at) {
		m->status = MSS_MET;
		if (v && v->status != VS_RETRACTED) {
			v->observed_at = at;
			violation_set_status(t, v, VS_RETRACTED, now, cause, out);
		}
		return;
	}
	m->status = MSS_BREACHED;
	if (!v) {
		(void)violation_raise(core, t, RC_MILESTONE_LATE, m, VS_CONFIRMED, at, NULL, cause, now, out);
		return;
	}
	v->observed_at = at;
	v->dirty = true;
	if (!v->engineer_id[0])
		str_copy(v->engineer_id, sizeof(v->engineer_id), t->engineer_id);
	violation_set_status(t, v, VS_CONFIRMED, now, cause, out);
}

void milestones_stop(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind, const char *key,
		     sla_time at, const char *cause, sla_time now, struct sla_out *out)
{
	for (int i = 0; i < t->nms; i++) {
		struct sla_milestone *m = &t->ms[i];
		if (m->kind != kind || m->status == MSS_CANCELLED)
			continue;
		if (key && strcmp(ms_part_id(t, i), key) != 0)
			continue;
		/* Stopped already: only an earlier "first" stop event (delivered late) counts. */
		if (!ms_open(m) && !((kind == MS_ARRIVAL || kind == MS_RESERVATION) && at < m->stopped_at))
			continue;
		milestone_stop(core, t, m, at, cause, now, out);
	}
}

void milestones_cancel_open(struct sla_ticket *t, struct sla_out *out)
{
	for (int i = 0; i < t->nms; i++) {
		struct sla_milestone *m = &t->ms[i];
		if (ms_open(m)) {
			m->status = MSS_CANCELLED;
			m->dirty = true;
			ticket_mark_dirty(out, t);
		}
	}
}

/* CLOSURE starts at a LEAVE or COMPLETE; synced late, that clock-in may come
 * after the CLOSE_REQUESTED that stops it, which then stops it at once. */
void milestone_open_closure(struct sla_core *core, struct sla_ticket *t, sla_time at, const char *cause,
			    sla_time now, struct sla_out *out)
{
	struct sla_milestone *m = milestone_open(core, t, MS_CLOSURE, at, NULL);
	sla_time requested = ticket_more(t)->close_requested_at;
	if (m && requested != SLA_TIME_NONE && requested >= at)
		milestone_stop(core, t, m, requested, cause, now, out);
}

/* ---- RESIDENT reports ---- */

static void format_week(int64_t monday, char *buf, size_t len)
{
	/* ISO 8601 week: the week's Thursday decides the year. */
	int y;
	unsigned m, d;
	civil_from_days(monday + 3, &y, &m, &d);
	int64_t jan1 = days_from_civil(y, 1, 1);
	int week = (int)((monday + 3 - jan1) / 7) + 1;
	snprintf(buf, len, "%04d-W%02d", y, week);
}

/* A report for the period before `next_first` (local day) is due at the end
 * of the first working day from then. */
static void add_report(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
		       int64_t next_first, const char *key)
{
	sla_time start = calendar_instant(t->cal, next_first, 0);
	int64_t first_working = calendar_nth_working_day_after(t->cal, next_first - 1, 1);
	sla_time due = calendar_instant(t->cal, first_working + 1, 0);
	(void)milestone_add(core, t, kind, start, due, key);
}

static bool has_deadline(const struct sla_core *core, const struct sla_ticket *t, enum sla_milestone_kind kind)
{
	return policy_deadline(core->pol, kind, t->type, t->sla_class, t->severity, ticket_more(t)->risk_score) != NULL;
}

/* One WEEKLY_REPORT per ISO week and one MONTHLY_REPORT per month overlapping the service period. */
void milestones_open_reports(struct sla_core *core, struct sla_ticket *t)
{
	const struct sla_ticket_more *x = ticket_more(t);
	if (x->service_start_at == SLA_TIME_NONE || x->service_end_at == SLA_TIME_NONE ||
	    x->service_end_at < x->service_start_at)
		return;
	int64_t first = calendar_local_day(t->cal, x->service_start_at, NULL);
	int64_t last = calendar_local_day(t->cal, x->service_end_at, NULL);
	if (last - first > 3660)
		last = first + 3660; /* ten years at most */
	char key[32];
	if (has_deadline(core, t, MS_WEEKLY_REPORT)) {
		for (int64_t mon = first - weekday_from_days(first); mon <= last; mon += 7) {
			format_week(mon, key, sizeof(key));
			add_report(core, t, MS_WEEKLY_REPORT, mon + 7, key);
		}
	}
	if (!has_deadline(core, t, MS_MONTHLY_REPORT))
		return;
	int y;
	unsigned m, d;
	civil_from_days(first, &y, &m, &d);
	while (days_from_civil(y, m, 1) <= last) {
		snprintf(key, sizeof(key), "%04d-%02u", y, m);
		int ny = m == 12 ? y + 1 : y;
		unsigned nm = m == 12 ? 1 : m + 1;
		add_report(core, t, MS_MONTHLY_REPORT, days_from_civil(ny, nm, 1), key);
		y = ny;
		m = nm;
	}
}

/* ---- timers ---- */

static void escalate(struct sla_ticket *t, struct sla_milestone *m, enum sla_esc_level level, sla_time at,
		     struct sla_out *out)
{
	if (m->flags & MS_ESCALATED(level))
		return;
	m->flags |= (uint8_t)MS_ESCALATED(level);
	(void)out_escalation(out, t, m, level, at);
	ticket_mark_dirty(out, t);
}

static void fire_deadline(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m, sla_time now,
			  struct sla_out *out)
{
	m->flags |= MS_FIRED;
	m->dirty = true;
	escalate(t, m, ESC_TIER2, m->due_at, out);
	struct sla_violation *v = ms_violation(t, m);
	if (v) {
		/* Retracted when the deadline moved; the moved deadline has now passed too. */
		v->due_at = m->due_at;
		v->observed_at = SLA_TIME_NONE;
		violation_reopen(core, t, v, now, NULL, out);
		return;
	}
	(void)violation_raise(core, t, RC_MILESTONE_LATE, m, VS_PROVISIONAL, SLA_TIME_NONE, NULL, NULL, now, out);
}

void milestone_fire(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
		    struct sla_out *out)
{
	if (e->idx >= t->nms)
		return;
	struct sla_milestone *m = &t->ms[e->idx];
	if (!milestone_timer_live(core, e))
		return;
	if (e->kind == TK_DEADLINE)
		fire_deadline(core, t, m, now, out);
	else
		escalate(t, m, e->kind == TK_WARNING ? ESC_WARNING : ESC_TIER3, e->at, out);
	milestone_arm(core, t, m);
}

/* From now on only the id (TOO_LATE) and the event ids seen (duplicates) matter; the rest
 * is freed by ticket_compact once this batch's rows are written (core_out_clear). */
void archive_fire(struct sla_ticket *t, const struct deadline *e, struct sla_out *out)
{
	if (e->at != t->archive_at || t->archived)
		return;
	for (int i = 0; i < t->nms; i++)
		if (ms_open(&t->ms[i]))
			return; /* its end re-arms the timer */
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].status == VS_PROVISIONAL)
			return; /* its confirmation re-arms the timer */
	if (t->more)
		t->more->att_next_day = INT64_MIN;
	t->archived = true;
	ticket_mark_dirty(out, t);
}

bool milestone_timer_live(const struct sla_core *core, const struct deadline *e)
{
	const struct sla_ticket *t = e->subject.ticket;
	if (e->idx >= t->nms)
		return false;
	enum timer_kind kind;
	sla_time at;
	return next_timer(core, &t->ms[e->idx], &kind, &at) && (int)kind == e->kind && at == e->at;
}

bool milestones_rearm(struct sla_core *core, struct sla_ticket *t)
{
	for (int i = 0; i < t->nms; i++)
		if (!arm_next(core, t, &t->ms[i]))
			return false;
	return true;
}
