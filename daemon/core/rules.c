/* rules.c - the ticket state machine, timed milestones, escalations and instant checks of rules.md. Pure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

#define EARTH_RADIUS_KM 6371.0088
#define T(x) (1u << (x))

static enum sla_ticket_type map_ticket_type(Slad__V1__TicketType tt)
{
	switch (tt) {
	case SLAD__V1__TICKET_TYPE__MAINTENANCE: return TT_MAINTENANCE;
	case SLAD__V1__TICKET_TYPE__INSPECTION: return TT_INSPECTION;
	case SLAD__V1__TICKET_TYPE__RECTIFICATION: return TT_RECTIFICATION;
	case SLAD__V1__TICKET_TYPE__ONE_OFF: return TT_ONE_OFF;
	case SLAD__V1__TICKET_TYPE__RESIDENT: return TT_RESIDENT;
	case SLAD__V1__TICKET_TYPE__CHANGE: return TT_CHANGE;
	case SLAD__V1__TICKET_TYPE__INCIDENT: return TT_INCIDENT;
	default: return TT_NONE;
	}
}

static bool type_in(const struct sla_ticket *t, uint32_t mask)
{
	return (T(t->type) & mask) != 0;
}

static bool is_implementer(Slad__V1__Role r)
{
	return r != SLAD__V1__ROLE__GUARANTOR;
}

static bool ms_open(const struct sla_milestone *m)
{
	return m->stopped_at == SLA_TIME_NONE && m->status != MSS_CANCELLED;
}

static struct sla_violation *ms_violation(struct sla_ticket *t, const struct sla_milestone *m)
{
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].code == RC_MILESTONE_LATE && t->vs[i].milestone == m->kind &&
		    t->vs[i].occurrence == m->occurrence)
			return &t->vs[i];
	return NULL;
}

static sla_time effective_required_arrival(const struct sla_ticket *t)
{
	return t->reservation_appoint != SLA_TIME_NONE ? t->reservation_appoint : t->required_arrival_at;
}

static sla_time at_field(const struct sla_ticket *t, enum sla_at_field f)
{
	switch (f) {
	case AF_REQUIRED_ARRIVAL: return t->required_arrival_at;
	case AF_EFFECTIVE_ARRIVAL: return effective_required_arrival(t);
	case AF_SERVICE_START: return t->service_start_at;
	case AF_PLANNED_START: return t->planned_start_at;
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

static void arm_milestone(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m)
{
	int idx = (int)(m - t->ms);
	(void)core_timer_push(core, m->due_at, t, TK_DEADLINE, idx);
	if (escalates(m)) {
		if (!(m->escalated & (1u << ESC_WARNING)))
			(void)core_timer_push(core, warning_at(core, m), t, TK_WARNING, idx);
		if (!(m->escalated & (1u << ESC_TIER3)))
			(void)core_timer_push(core, tier3_at(m), t, TK_TIER3, idx);
	}
}

static struct sla_milestone *add_milestone(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
					   sla_time start, sla_time due, const char *key)
{
	struct sla_milestone *m = ticket_add_milestone(t, kind);
	if (!m)
		return NULL;
	m->started_at = start;
	m->due_at = due;
	if (key)
		str_copy(m->part_id, sizeof(m->part_id), key);
	arm_milestone(core, t, m);
	return m;
}

/* Opens a milestone if the policy has a deadline for it on this ticket. */
static struct sla_milestone *open_milestone(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
					    sla_time start, const char *key)
{
	const struct sla_deadline *d =
		policy_deadline(core->pol, kind, t->type, t->sla_class, t->severity, t->risk_score);
	if (!d)
		return NULL;
	sla_time due = deadline_due(t, d, start);
	if (due == SLA_TIME_NONE)
		return NULL;
	return add_milestone(core, t, kind, start, due, key);
}

static void set_violation_status(struct sla_ticket *t, struct sla_violation *v, enum sla_v_status st, sla_time at,
				 const char *cause, struct sla_out *out)
{
	if (v->status == st)
		return;
	v->status = st;
	v->dirty = true;
	ticket_mark_dirty(out, t);
	(void)out_history(out, t, v, at, cause);
}

/* A new violation. PROVISIONAL ones get a confirmation timer. */
static struct sla_violation *raise_violation(struct sla_core *core, struct sla_ticket *t, enum sla_rule_code code,
					     const struct sla_milestone *m, enum sla_v_status st, sla_time observed,
					     const char *engineer_id, const char *cause, sla_time now,
					     struct sla_out *out)
{
	struct sla_violation *v = ticket_add_violation(t, code);
	if (!v)
		return NULL;
	if (m) {
		v->milestone = m->kind;
		v->occurrence = m->occurrence;
		v->due_at = m->due_at;
	}
	v->status = st;
	v->observed_at = observed;
	v->detected_at = now;
	str_copy(v->engineer_id, sizeof(v->engineer_id), engineer_id ? engineer_id : t->engineer_id);
	if (st == VS_PROVISIONAL) {
		/* Confirmed when the clock passes due (or the offending event) + allowed lateness. */
		v->confirm_at = (m ? m->due_at : observed) + core->pol->lateness_allowed;
		if (!core_timer_push(core, v->confirm_at, t, TK_CONFIRM, (int)(v - t->vs)))
			v->confirm_at = SLA_TIME_NONE;
	}
	ticket_mark_dirty(out, t);
	(void)out_history(out, t, v, now, cause);
	return v;
}

static void reopen_violation(struct sla_core *core, struct sla_ticket *t, struct sla_violation *v, sla_time now,
			     const char *cause, struct sla_out *out)
{
	v->confirm_at = (v->code == RC_MILESTONE_LATE ? v->due_at : v->observed_at) + core->pol->lateness_allowed;
	set_violation_status(t, v, VS_PROVISIONAL, now, cause, out);
	(void)core_timer_push(core, v->confirm_at, t, TK_CONFIRM, (int)(v - t->vs));
}

/* A closed or cancelled ticket is archived once archive.after has passed
 * since it closed and its last milestone ended (rules.md 1, "Archiving"). */
static void arm_archive(struct sla_core *core, struct sla_ticket *t, sla_time from)
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

/* A stop event for milestone m at `at`. */
static void stop_milestone(struct sla_ticket *t, struct sla_milestone *m, sla_time at, const char *cause,
			   sla_time now, struct sla_core *core, struct sla_out *out)
{
	struct sla_violation *v = ms_violation(t, m);
	m->stopped_at = at;
	m->dirty = true;
	ticket_mark_dirty(out, t);
	arm_archive(core, t, at);
	if (at <= m->due_at) {
		m->status = MSS_MET;
		if (v && v->status != VS_RETRACTED) {
			v->observed_at = at;
			set_violation_status(t, v, VS_RETRACTED, now, cause, out);
		}
		return;
	}
	m->status = MSS_BREACHED;
	if (!v) {
		(void)raise_violation(core, t, RC_MILESTONE_LATE, m, VS_CONFIRMED, at, NULL, cause, now, out);
		return;
	}
	v->observed_at = at;
	v->dirty = true;
	if (!v->engineer_id[0])
		str_copy(v->engineer_id, sizeof(v->engineer_id), t->engineer_id);
	set_violation_status(t, v, VS_CONFIRMED, now, cause, out);
}

static void stop_open(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind, const char *key,
		      sla_time at, const char *cause, sla_time now, struct sla_out *out)
{
	for (int i = 0; i < t->nms; i++) {
		struct sla_milestone *m = &t->ms[i];
		if (m->kind != kind || m->status == MSS_CANCELLED)
			continue;
		if (key && strcmp(m->part_id, key) != 0)
			continue;
		/* Stopped already: only an earlier "first" stop event (delivered late) counts. */
		if (!ms_open(m) && !((kind == MS_ARRIVAL || kind == MS_RESERVATION) && at < m->stopped_at))
			continue;
		stop_milestone(t, m, at, cause, now, core, out);
	}
}

static void cancel_all_open(struct sla_ticket *t, struct sla_out *out)
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

static struct sla_milestone *find_open(struct sla_ticket *t, enum sla_milestone_kind kind)
{
	for (int i = t->nms - 1; i >= 0; i--)
		if (t->ms[i].kind == kind && ms_open(&t->ms[i]))
			return &t->ms[i];
	return NULL;
}

static bool has_milestone(const struct sla_ticket *t, enum sla_milestone_kind kind)
{
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == kind)
			return true;
	return false;
}

static double distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * EARTH_RADIUS_KM * asin(fmin(1.0, sqrt(a)));
}

static bool auth_rules_apply(const struct sla_ticket *t)
{
	return t->type != TT_RESIDENT && t->type != TT_INCIDENT;
}

/* ---- Checks that depend on several events: evaluated on the whole ticket ----
 *
 * The verdict of these checks can change when a late event arrives (an
 * authorization, an ARRIVE synced late). After every event that can matter,
 * the wanted set of violations is computed from the ticket's events in
 * event-time order and compared with what is recorded: new ones are raised
 * PROVISIONAL, vanished ones RETRACTED, returning ones reopened. */

struct wanted {
	enum sla_rule_code code;
	sla_time observed;
	const char *engineer;
	char details[96];
};

#define WANTED_MAX 256

struct wanted_set {
	struct wanted w[WANTED_MAX];
	int n;
};

static void want(struct wanted_set *ws, enum sla_rule_code code, sla_time observed, const char *engineer,
		 const char *details)
{
	if (ws->n == WANTED_MAX)
		return;
	struct wanted *w = &ws->w[ws->n++];
	w->code = code;
	w->observed = observed;
	w->engineer = engineer;
	str_copy(w->details, sizeof(w->details), details ? details : "{}");
}

static bool is_dependent(enum sla_rule_code rc)
{
	switch (rc) {
	case RC_START_WITHOUT_AUTH:
	case RC_START_OUTSIDE_AUTH:
	case RC_LEAVE_OUTSIDE_AUTH:
	case RC_CLOCK_SEQUENCE:
	case RC_CROSS_DAY_VISIT:
	case RC_PERSON_DAYS_MISMATCH:
	case RC_START_BEFORE_PO:
	case RC_CHANGE_PLAN_EXPIRED:
	case RC_GUARANTOR_LATE:
	case RC_CHANGE_VERIFY_TOO_SHORT:
	case RC_ATTENDANCE_LATE:
	case RC_ATTENDANCE_EARLY_LEAVE:
	case RC_ATTENDANCE_MISSING:
		return true;
	default:
		return false;
	}
}

/* The authorization verdict for a clock-in at `at`: RC_COUNT when it passes. */
static enum sla_rule_code auth_check(const struct sla_ticket *t, bool is_start, sla_time at)
{
	const struct sla_auth *latest = NULL;
	for (int i = 0; i < t->nauths; i++)
		if (t->auths[i].granted_at <= at && (!latest || t->auths[i].granted_at >= latest->granted_at))
			latest = &t->auths[i];
	if (!latest)
		return is_start ? RC_START_WITHOUT_AUTH : RC_COUNT;
	if (at < latest->window_start || at > latest->window_end)
		return is_start ? RC_START_OUTSIDE_AUTH : RC_LEAVE_OUTSIDE_AUTH;
	return RC_COUNT;
}

static void want_clock_checks(const struct sla_core *core, const struct sla_ticket *t, struct wanted_set *ws)
{
	const struct sla_thresholds *th = &core->pol->th;
	bool first_start_seen = false;
	sla_time guarantor_arrive = SLA_TIME_NONE;
	for (int i = 0; i < t->nclocks; i++)
		if (t->clocks[i].guarantor && t->clocks[i].kind == SLAD__V1__CLOCK_KIND__ARRIVE) {
			guarantor_arrive = t->clocks[i].at;
			break;
		}

	for (int i = 0; i < t->nclocks; i++) {
		const struct sla_clock *c = &t->clocks[i];
		if (c->guarantor)
			continue;
		if (c->kind == SLAD__V1__CLOCK_KIND__START) {
			if (auth_rules_apply(t)) {
				enum sla_rule_code rc = auth_check(t, true, c->at);
				if (rc != RC_COUNT)
					want(ws, rc, c->at, c->engineer_id, "{\"clock\":\"START\"}");
			}
			/* CLOCK_SEQUENCE: the last ARRIVE/LEAVE before this START must be an ARRIVE. */
			int last = 0; /* 0 none, 1 arrive, 2 leave */
			for (int j = i - 1; j >= 0 && !last; j--) {
				if (t->clocks[j].guarantor)
					continue;
				if (t->clocks[j].kind == SLAD__V1__CLOCK_KIND__ARRIVE)
					last = 1;
				else if (t->clocks[j].kind == SLAD__V1__CLOCK_KIND__LEAVE)
					last = 2;
			}
			if (last != 1)
				want(ws, RC_CLOCK_SEQUENCE, c->at, c->engineer_id,
				     last ? "{\"after\":\"LEAVE\"}" : "{\"after\":\"nothing\"}");
			if (!first_start_seen) {
				first_start_seen = true;
				if (t->type == TT_RESIDENT && t->po_start_at != SLA_TIME_NONE && c->at < t->po_start_at)
					want(ws, RC_START_BEFORE_PO, c->at, c->engineer_id, NULL);
				if (t->type == TT_CHANGE && t->plan_approved_at != SLA_TIME_NONE &&
				    c->at > t->plan_approved_at + (sla_time)th->change_plan_valid_days * SLA_DAY)
					want(ws, RC_CHANGE_PLAN_EXPIRED, c->at, c->engineer_id, NULL);
				if (t->type == TT_CHANGE && t->has_guarantor &&
				    (guarantor_arrive == SLA_TIME_NONE || guarantor_arrive > c->at))
					want(ws, RC_GUARANTOR_LATE, c->at, c->engineer_id, NULL);
			}
		}
		if ((c->kind == SLAD__V1__CLOCK_KIND__LEAVE || c->kind == SLAD__V1__CLOCK_KIND__COMPLETE) &&
		    auth_rules_apply(t) && auth_check(t, false, c->at) != RC_COUNT)
			want(ws, RC_LEAVE_OUTSIDE_AUTH, c->at, c->engineer_id,
			     c->kind == SLAD__V1__CLOCK_KIND__LEAVE ? "{\"clock\":\"LEAVE\"}"
								    : "{\"clock\":\"COMPLETE\"}");
		if ((c->kind == SLAD__V1__CLOCK_KIND__LEAVE || c->kind == SLAD__V1__CLOCK_KIND__PAUSE) &&
		    type_in(t, T(TT_MAINTENANCE) | T(TT_INSPECTION) | T(TT_RECTIFICATION) | T(TT_ONE_OFF))) {
			for (int j = i - 1; j >= 0; j--) {
				const struct sla_clock *a = &t->clocks[j];
				if (a->guarantor || a->kind != SLAD__V1__CLOCK_KIND__ARRIVE)
					continue;
				if (calendar_local_day(t->cal, a->at, NULL) != calendar_local_day(t->cal, c->at, NULL))
					want(ws, RC_CROSS_DAY_VISIT, c->at, c->engineer_id, NULL);
				break;
			}
		}
		if (c->kind == SLAD__V1__CLOCK_KIND__COMPLETE && t->type == TT_CHANGE) {
			for (int j = i - 1; j >= 0; j--) {
				const struct sla_clock *vf = &t->clocks[j];
				if (vf->guarantor || vf->kind != SLAD__V1__CLOCK_KIND__VERIFY)
					continue;
				if (c->at - vf->at < (sla_time)th->change_verify_min * SLA_MINUTE) {
					char d[64];
					snprintf(d, sizeof(d), "{\"verify_minutes\":%lld}",
						 (long long)((c->at - vf->at) / SLA_MINUTE));
					want(ws, RC_CHANGE_VERIFY_TOO_SHORT, c->at, c->engineer_id, d);
				}
				break;
			}
		}
	}
	/* PERSON_DAYS_MISMATCH: distinct local dates with an implementer ARRIVE at CLOSE_REQUESTED. */
	if (t->type == TT_ONE_OFF && t->person_days >= 0 && t->close_requested_at != SLA_TIME_NONE) {
		int days = 0;
		int64_t last = INT64_MIN;
		for (int i = 0; i < t->nclocks; i++) {
			const struct sla_clock *c = &t->clocks[i];
			if (c->guarantor || c->kind != SLAD__V1__CLOCK_KIND__ARRIVE || c->at > t->close_requested_at)
				continue;
			int64_t d = calendar_local_day(t->cal, c->at, NULL);
			if (d != last) {
				days++;
				last = d;
			}
		}
		if (days != t->person_days) {
			char d[64];
			snprintf(d, sizeof(d), "{\"days\":%d,\"person_days\":%d}", days, t->person_days);
			want(ws, RC_PERSON_DAYS_MISMATCH, t->close_requested_at, NULL, d);
		}
	}
}

/* Resident attendance of the days whose end has passed (rules.md 6). */
static void want_attendance(const struct sla_ticket *t, struct wanted_set *ws)
{
	if (t->type != TT_RESIDENT || t->service_start_at == SLA_TIME_NONE)
		return;
	for (int i = 0; i < t->natt; i++) {
		const struct sla_attendance *a = &t->att[i];
		if (!calendar_is_working_day(t->cal, a->day))
			continue;
		bool excused = a->leave_approved && a->leave_prior;
		if (excused)
			continue;
		sla_time shift_start = calendar_instant(t->cal, a->day, t->shift_start_min);
		sla_time shift_end = calendar_instant(t->cal, a->day, t->shift_end_min);
		sla_time day_end = calendar_instant(t->cal, a->day + 1, 0);
		bool ended = t->att_next_day != INT64_MIN && a->day < t->att_next_day;
		if (a->first_in != SLA_TIME_NONE && a->first_in > shift_start)
			want(ws, RC_ATTENDANCE_LATE, a->first_in, NULL, NULL);
		if (!ended)
			continue;
		if (a->last_out != SLA_TIME_NONE && a->last_out < shift_end)
			want(ws, RC_ATTENDANCE_EARLY_LEAVE, a->last_out, NULL, NULL);
		if (a->first_in == SLA_TIME_NONE || a->last_out == SLA_TIME_NONE)
			want(ws, RC_ATTENDANCE_MISSING, day_end, NULL,
			     a->first_in == SLA_TIME_NONE ? "{\"missing\":\"IN\"}" : "{\"missing\":\"OUT\"}");
	}
}

static void reconcile(struct sla_core *core, struct sla_ticket *t, const char *cause, sla_time now,
		      struct sla_out *out)
{
	static struct wanted_set ws; /* the core is single-threaded; this keeps 25 KB off the stack */
	ws.n = 0;
	want_clock_checks(core, t, &ws);
	want_attendance(t, &ws);

	int n = t->nvs;
	for (int i = 0; i < n; i++) {
		struct sla_violation *v = &t->vs[i];
		if (!is_dependent(v->code))
			continue;
		bool wanted = false;
		for (int k = 0; k < ws.n; k++)
			if (ws.w[k].code == v->code && ws.w[k].observed == v->observed_at) {
				wanted = true;
				ws.w[k].code = RC_COUNT; /* matched */
				if (v->status == VS_RETRACTED)
					reopen_violation(core, t, v, now, cause, out);
				break;
			}
		if (!wanted && v->status != VS_RETRACTED)
			set_violation_status(t, v, VS_RETRACTED, now, cause, out);
	}
	for (int k = 0; k < ws.n; k++) {
		if (ws.w[k].code == RC_COUNT)
			continue;
		struct sla_violation *v = raise_violation(core, t, ws.w[k].code, NULL, VS_PROVISIONAL, ws.w[k].observed,
							  ws.w[k].engineer, cause, now, out);
		if (v)
			str_copy(v->details, sizeof(v->details), ws.w[k].details);
	}
}

/* ---- Events ---- */

static void clock_location(struct sla_core *core, struct sla_ticket *t, const Slad__V1__ClockIn *c, sla_time at,
			   const char *cause, sla_time now, struct sla_out *out)
{
	if (t->site_classified)
		return;
	if (!c->_lat_case || !c->_lon_case) {
		(void)raise_violation(core, t, RC_CLOCK_NO_LOCATION, NULL, VS_CONFIRMED, at, c->engineer_id, cause, now,
				      out);
		return;
	}
	if (!t->has_site)
		return;
	double km = distance_km(t->site_lat, t->site_lon, c->lat, c->lon);
	if (km > core->pol->clock_max_distance_km) {
		struct sla_violation *v = raise_violation(core, t, RC_CLOCK_TOO_FAR, NULL, VS_CONFIRMED, at,
							  c->engineer_id, cause, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"distance_km\":%.3f}", km);
	}
}

static void format_week(const struct sla_ticket *t, int64_t monday, char *buf, size_t len)
{
	/* ISO 8601 week: the week's Thursday decides the year. */
	int y;
	unsigned m, d;
	(void)t;
	civil_from_days(monday + 3, &y, &m, &d);
	int64_t jan1 = days_from_civil(y, 1, 1);
	int week = (int)((monday + 3 - jan1) / 7) + 1;
	snprintf(buf, len, "%04d-W%02d", y, week);
}

static int64_t first_working_day_from(const struct sla_ticket *t, int64_t day)
{
	return calendar_nth_working_day_after(t->cal, day - 1, 1);
}

/* RESIDENT: one WEEKLY_REPORT per ISO week and one MONTHLY_REPORT per month overlapping the service period. */
static void open_report_milestones(struct sla_core *core, struct sla_ticket *t)
{
	if (t->service_start_at == SLA_TIME_NONE || t->service_end_at == SLA_TIME_NONE ||
	    t->service_end_at < t->service_start_at)
		return;
	int64_t first = calendar_local_day(t->cal, t->service_start_at, NULL);
	int64_t last = calendar_local_day(t->cal, t->service_end_at, NULL);
	if (last - first > 3660)
		last = first + 3660; /* ten years at most */
	char key[32];
	if (policy_deadline(core->pol, MS_WEEKLY_REPORT, t->type, t->sla_class, t->severity, t->risk_score)) {
		for (int64_t mon = first - weekday_from_days(first); mon <= last; mon += 7) {
			int64_t next_mon = mon + 7;
			format_week(t, mon, key, sizeof(key));
			sla_time start = calendar_instant(t->cal, next_mon, 0);
			sla_time due = calendar_instant(t->cal, first_working_day_from(t, next_mon) + 1, 0);
			(void)add_milestone(core, t, MS_WEEKLY_REPORT, start, due, key);
		}
	}
	if (policy_deadline(core->pol, MS_MONTHLY_REPORT, t->type, t->sla_class, t->severity, t->risk_score)) {
		int y;
		unsigned m, d;
		civil_from_days(first, &y, &m, &d);
		for (;;) {
			int64_t month_first = days_from_civil(y, m, 1);
			if (month_first > last)
				break;
			snprintf(key, sizeof(key), "%04d-%02u", y, m);
			int ny = m == 12 ? y + 1 : y;
			unsigned nm = m == 12 ? 1 : m + 1;
			int64_t next_first = days_from_civil(ny, nm, 1);
			sla_time start = calendar_instant(t->cal, next_first, 0);
			sla_time due = calendar_instant(t->cal, first_working_day_from(t, next_first) + 1, 0);
			(void)add_milestone(core, t, MS_MONTHLY_REPORT, start, due, key);
			y = ny;
			m = nm;
		}
	}
}

/* RESIDENT attendance: one timer at the end of each day of the service period, in turn. */
static void arm_attendance(struct sla_core *core, struct sla_ticket *t)
{
	if (t->att_next_day == INT64_MIN)
		return;
	int64_t last = calendar_local_day(t->cal, t->service_end_at, NULL);
	if (t->att_next_day > last)
		return;
	(void)core_timer_push(core, calendar_instant(t->cal, t->att_next_day + 1, 0), t, TK_ATTENDANCE, 0);
}

static void on_created(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev)
{
	const Slad__V1__TicketCreated *tc = ev->ticket_created;
	t->created = true;
	t->type = map_ticket_type(tc->ticket_type);
	t->sla_class = tc->sla_class == SLAD__V1__SLA_CLASS__HOURLY ? SC_HOURLY : SC_NON_HOURLY;
	t->severity = (int)tc->severity;
	str_copy(t->partner_id, sizeof(t->partner_id), ev->partner_id);
	if (tc->calendar_id && tc->calendar_id[0])
		str_copy(t->calendar_id, sizeof(t->calendar_id), tc->calendar_id);
	t->cal = core_calendar(core, t->calendar_id);
	t->site_classified = tc->site_classified;
	t->has_site = tc->_site_lat_case && tc->_site_lon_case;
	t->site_lat = t->has_site ? tc->site_lat : 0;
	t->site_lon = t->has_site ? tc->site_lon : 0;
	t->required_arrival_at = tc->_required_arrival_at_case ? tc->required_arrival_at : SLA_TIME_NONE;
	if (tc->product_line)
		str_copy(t->product_line, sizeof(t->product_line), tc->product_line);
	t->required_skill_level = tc->_required_skill_level_case ? tc->required_skill_level : -1;
	t->person_days = tc->_person_days_case ? tc->person_days : -1;
	t->risk_score = tc->_risk_score_case ? tc->risk_score : -1;
	t->service_start_at = tc->_service_start_at_case ? tc->service_start_at : SLA_TIME_NONE;
	t->service_end_at = tc->_service_end_at_case ? tc->service_end_at : SLA_TIME_NONE;
	t->po_start_at = tc->_po_start_at_case ? tc->po_start_at : SLA_TIME_NONE;
	t->planned_start_at = tc->_planned_start_at_case ? tc->planned_start_at : SLA_TIME_NONE;
	int minutes;
	if (tc->shift_start && hhmm_parse(tc->shift_start, &minutes))
		t->shift_start_min = minutes;
	if (tc->shift_end && hhmm_parse(tc->shift_end, &minutes))
		t->shift_end_min = minutes;
	t->created_at = ev->occurred_at;
	t->state = TS_CREATED;

	if (t->type == TT_CHANGE)
		(void)open_milestone(core, t, MS_CHANGE_REVIEW, ev->occurred_at, NULL);
	if (t->type == TT_RESIDENT) {
		open_report_milestones(core, t);
		if (t->service_start_at != SLA_TIME_NONE && t->service_end_at != SLA_TIME_NONE) {
			t->att_next_day = calendar_local_day(t->cal, t->service_start_at, NULL);
			arm_attendance(core, t);
		}
	}
}

static void on_dispatched(struct sla_core *core, struct sla_ticket *t, sla_time at)
{
	if (t->first_dispatched_at != SLA_TIME_NONE)
		return;
	t->first_dispatched_at = at;
	(void)open_milestone(core, t, MS_DISPATCH, at, NULL);
	(void)open_milestone(core, t, MS_RESPONSE, at, NULL);
	if (t->type == TT_INCIDENT) {
		(void)open_milestone(core, t, MS_ARRIVAL, at, NULL);
		(void)open_milestone(core, t, MS_DIAGNOSIS, at, NULL);
		(void)open_milestone(core, t, MS_SOLUTION, at, NULL);
	}
}

static void on_assigned(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			struct sla_out *out)
{
	const Slad__V1__EngineerAssigned *a = ev->engineer_assigned;
	sla_time at = ev->occurred_at;
	if (!is_implementer(a->role)) {
		t->has_guarantor = true;
		return;
	}
	str_copy(t->engineer_id, sizeof(t->engineer_id), a->engineer_id);
	t->last_assigned_at = at;
	stop_open(core, t, MS_DISPATCH, NULL, at, ev->event_id, now, out);
	if (type_in(t, T(TT_ONE_OFF) | T(TT_RESIDENT))) {
		bool skill = t->required_skill_level >= 0 && a->_engineer_skill_level_case &&
			     a->engineer_skill_level < t->required_skill_level;
		bool line = t->product_line[0] && a->engineer_product_line && a->engineer_product_line[0] &&
			    strcmp(t->product_line, a->engineer_product_line) != 0;
		if (skill || line) {
			struct sla_violation *v = raise_violation(core, t, RC_SKILL_MISMATCH, NULL, VS_CONFIRMED, at,
								  a->engineer_id, ev->event_id, now, out);
			if (v)
				snprintf(v->details, sizeof(v->details), "{\"skill\":%s,\"product_line\":%s}",
					 skill ? "true" : "false", line ? "true" : "false");
		}
	}
	if (t->first_assigned_at == SLA_TIME_NONE) {
		t->first_assigned_at = at;
		(void)open_milestone(core, t, MS_RESERVATION, at, NULL);
		if (t->type != TT_INCIDENT && effective_required_arrival(t) != SLA_TIME_NONE &&
		    t->first_arrive_at == SLA_TIME_NONE)
			(void)open_milestone(core, t, MS_ARRIVAL, at, NULL);
	}
	if (t->state < TS_ASSIGNED)
		t->state = TS_ASSIGNED;
}

static void on_rejected(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			struct sla_out *out)
{
	sla_time at = ev->occurred_at;
	if (ev->ticket_rejected->rejected_by == SLAD__V1__REJECTOR__FSE) {
		int limit = (t->sla_class == SC_HOURLY || t->type == TT_INCIDENT) ? core->pol->th.reject_late_min_hourly
										 : core->pol->th.reject_late_min_other;
		if (t->last_assigned_at != SLA_TIME_NONE && at - t->last_assigned_at > (sla_time)limit * SLA_MINUTE) {
			struct sla_violation *v = raise_violation(core, t, RC_REJECT_LATE, NULL, VS_CONFIRMED, at, NULL,
								  ev->event_id, now, out);
			if (v) {
				v->due_at = t->last_assigned_at + (sla_time)limit * SLA_MINUTE;
				str_copy(v->details, sizeof(v->details), "{\"rejected_by\":\"FSE\"}");
			}
		}
		/* Back to the FSIP: a new DISPATCH occurrence with the same deadline kind. */
		if (t->first_dispatched_at != SLA_TIME_NONE)
			(void)open_milestone(core, t, MS_DISPATCH, at, NULL);
		t->engineer_id[0] = '\0';
		t->last_assigned_at = SLA_TIME_NONE;
	} else if (ev->ticket_rejected->rejected_by == SLAD__V1__REJECTOR__FSIP) {
		struct sla_milestone *d = find_open(t, MS_DISPATCH);
		if (d && at > d->due_at) {
			struct sla_violation *v = raise_violation(core, t, RC_REJECT_LATE, NULL, VS_CONFIRMED, at, NULL,
								  ev->event_id, now, out);
			if (v) {
				v->due_at = d->due_at;
				str_copy(v->details, sizeof(v->details), "{\"rejected_by\":\"FSIP\"}");
			}
		}
	}
	t->state = TS_DISPATCHED;
}

static void on_reservation(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			   struct sla_out *out)
{
	const Slad__V1__ReservationSet *r = ev->reservation_set;
	sla_time at = ev->occurred_at, appoint = r->appointment_at;
	sla_time before = effective_required_arrival(t);
	bool evidence = r->evidence_ref && r->evidence_ref[0];

	/* A reservation for the next visit (after a PAUSE + LEAVE) is a new appointment, not a late change. */
	bool next_visit = t->state == TS_LEFT && t->visit_paused;
	if (before != SLA_TIME_NONE && at > before && !next_visit) {
		struct sla_violation *v = raise_violation(core, t, RC_RESERVATION_CHANGED_TOO_LATE, NULL, VS_CONFIRMED,
							  at, NULL, ev->event_id, now, out);
		if (v)
			v->due_at = before;
	}
	if (!evidence) {
		bool fires = false;
		if (t->type == TT_ONE_OFF)
			fires = true;
		else if (type_in(t, T(TT_MAINTENANCE) | T(TT_INSPECTION) | T(TT_RECTIFICATION)) &&
			 (t->first_arrive_at == SLA_TIME_NONE || at < t->first_arrive_at) && before != SLA_TIME_NONE &&
			 appoint > before)
			fires = true;
		if (fires)
			(void)raise_violation(core, t, RC_RESERVATION_NO_EVIDENCE, NULL, VS_CONFIRMED, at, NULL,
					      ev->event_id, now, out);
	}
	if (t->type == TT_ONE_OFF && t->required_arrival_at != SLA_TIME_NONE && appoint > t->required_arrival_at) {
		struct sla_violation *v = raise_violation(core, t, RC_RESERVATION_BEYOND_SLA, NULL, VS_CONFIRMED, at,
							  NULL, ev->event_id, now, out);
		if (v)
			v->due_at = t->required_arrival_at;
	}

	/* The latest reservation by event time is the one in force. */
	if (t->reservation_at == SLA_TIME_NONE || at >= t->reservation_at) {
		t->reservation_at = at;
		t->reservation_appoint = appoint;
	}
	stop_open(core, t, MS_RESERVATION, NULL, at, ev->event_id, now, out);

	if (t->first_assigned_at == SLA_TIME_NONE || t->type == TT_INCIDENT)
		return;
	struct sla_milestone *arr = find_open(t, MS_ARRIVAL);
	if (arr) {
		/* The arrival deadline moves with every reservation made before it passes. */
		sla_time moved = t->reservation_appoint;
		if (at <= arr->due_at && arr->due_at != moved) {
			struct sla_violation *v = ms_violation(t, arr);
			arr->due_at = moved;
			arr->dirty = true;
			if (arr->fired && arr->due_at > now) {
				arr->fired = false;
				arr->status = MSS_PENDING;
				if (v && v->status != VS_RETRACTED)
					set_violation_status(t, v, VS_RETRACTED, now, ev->event_id, out);
			}
			if (v) {
				v->due_at = arr->due_at;
				v->dirty = true;
			}
			if (!arr->fired)
				arm_milestone(core, t, arr);
			ticket_mark_dirty(out, t);
		}
	} else if (t->state == TS_LEFT && t->visit_paused) {
		/* Next visit after a PAUSE + LEAVE: due at this appointment. */
		struct sla_milestone *m = add_milestone(core, t, MS_ARRIVAL, at, appoint, NULL);
		(void)m;
	} else if (t->first_arrive_at == SLA_TIME_NONE && !has_milestone(t, MS_ARRIVAL)) {
		(void)open_milestone(core, t, MS_ARRIVAL, t->first_assigned_at, NULL);
	}
	if (t->state < TS_RESERVED)
		t->state = TS_RESERVED;
}

/* CLOSURE starts at a LEAVE or COMPLETE; synced late, that clock-in may come
 * after the CLOSE_REQUESTED that stops it, which then stops it at once. */
static void open_closure(struct sla_core *core, struct sla_ticket *t, sla_time at, const char *cause, sla_time now,
			 struct sla_out *out)
{
	struct sla_milestone *m = open_milestone(core, t, MS_CLOSURE, at, NULL);
	if (m && t->close_requested_at != SLA_TIME_NONE && t->close_requested_at >= at)
		stop_milestone(t, m, t->close_requested_at, cause, now, core, out);
}

static void on_clock(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		     struct sla_out *out)
{
	const Slad__V1__ClockIn *c = ev->clock_in;
	sla_time at = ev->occurred_at;
	bool impl = is_implementer(c->role);

	switch (c->kind) {
	case SLAD__V1__CLOCK_KIND__ARRIVE:
	case SLAD__V1__CLOCK_KIND__START:
	case SLAD__V1__CLOCK_KIND__LEAVE:
	case SLAD__V1__CLOCK_KIND__COMPLETE:
		clock_location(core, t, c, at, ev->event_id, now, out);
		break;
	case SLAD__V1__CLOCK_KIND__ATTENDANCE_IN:
	case SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT: {
		struct sla_attendance *a = ticket_attendance(t, calendar_local_day(t->cal, at, NULL));
		if (a && c->kind == SLAD__V1__CLOCK_KIND__ATTENDANCE_IN &&
		    (a->first_in == SLA_TIME_NONE || at < a->first_in))
			a->first_in = at;
		if (a && c->kind == SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT &&
		    (a->last_out == SLA_TIME_NONE || at > a->last_out))
			a->last_out = at;
		return;
	}
	default:
		break;
	}
	struct sla_clock rec = {at, (int)c->kind, !impl, ""};
	str_copy(rec.engineer_id, sizeof(rec.engineer_id), c->engineer_id);
	if (!ticket_add_clock(t, &rec))
		return; /* out of memory: the clock-in still counts as seen */
	if (impl && t->type == TT_ONE_OFF &&
	    (c->kind == SLAD__V1__CLOCK_KIND__ARRIVE || c->kind == SLAD__V1__CLOCK_KIND__START ||
	     c->kind == SLAD__V1__CLOCK_KIND__LEAVE))
		(void)out_engclock(out, t, c->engineer_id, ev->event_id,
				   c->kind == SLAD__V1__CLOCK_KIND__ARRIVE ? "ARRIVE"
				   : c->kind == SLAD__V1__CLOCK_KIND__START ? "START"
									    : "LEAVE",
				   at);
	if (!impl) {
		t->has_guarantor = true;
		if (c->kind == SLAD__V1__CLOCK_KIND__COMPLETE)
			stop_open(core, t, MS_GUARANTOR_COMPLETE, NULL, at, ev->event_id, now, out);
		return;
	}
	switch (c->kind) {
	case SLAD__V1__CLOCK_KIND__ARRIVE:
		if (t->first_arrive_at == SLA_TIME_NONE || at < t->first_arrive_at)
			t->first_arrive_at = at;
		stop_open(core, t, MS_ARRIVAL, NULL, at, ev->event_id, now, out);
		/* A later visit cancels the closure clock; a late-synced ARRIVE of the visit that
		 * started it does not. */
		for (int i = 0; i < t->nms; i++)
			if (t->ms[i].kind == MS_CLOSURE && ms_open(&t->ms[i]) && t->ms[i].started_at < at) {
				t->ms[i].status = MSS_CANCELLED;
				t->ms[i].dirty = true;
			}
		if (t->visit_arrive_at == SLA_TIME_NONE || at >= t->visit_arrive_at) {
			t->visit_arrive_at = at;
			t->visit_paused = false;
			if (t->state < TS_CLOSE_REQUESTED)
				t->state = TS_ON_SITE;
		}
		break;
	case SLAD__V1__CLOCK_KIND__START:
		if (t->state < TS_CLOSE_REQUESTED) /* a clock-in synced late does not reopen the visit */
			t->state = TS_WORKING;
		break;
	case SLAD__V1__CLOCK_KIND__PAUSE:
		t->visit_paused = true;
		if (t->state < TS_CLOSE_REQUESTED)
			t->state = TS_PAUSED;
		break;
	case SLAD__V1__CLOCK_KIND__LEAVE:
		if (!t->visit_paused && !find_open(t, MS_CLOSURE))
			open_closure(core, t, at, ev->event_id, now, out);
		if (t->state < TS_CLOSE_REQUESTED)
			t->state = TS_LEFT;
		break;
	case SLAD__V1__CLOCK_KIND__COMPLETE:
		if (!find_open(t, MS_CLOSURE))
			open_closure(core, t, at, ev->event_id, now, out);
		if (t->type == TT_CHANGE && t->has_guarantor && !has_milestone(t, MS_GUARANTOR_COMPLETE)) {
			struct sla_milestone *g = open_milestone(core, t, MS_GUARANTOR_COMPLETE, at, NULL);
			/* The guarantor may have completed first. */
			for (int i = 0; g && i < t->nclocks; i++)
				if (t->clocks[i].guarantor && t->clocks[i].kind == SLAD__V1__CLOCK_KIND__COMPLETE &&
				    t->clocks[i].at >= at) {
					stop_milestone(t, g, t->clocks[i].at, ev->event_id, now, core, out);
					break;
				}
		}
		break;
	default:
		break;
	}
}

static void on_report(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		      struct sla_out *out)
{
	const Slad__V1__ReportSubmitted *r = ev->report_submitted;
	switch (r->report_kind) {
	case SLAD__V1__REPORT_KIND__WEEKLY:
		stop_open(core, t, MS_WEEKLY_REPORT, r->period ? r->period : "", ev->occurred_at, ev->event_id, now, out);
		break;
	case SLAD__V1__REPORT_KIND__MONTHLY:
		stop_open(core, t, MS_MONTHLY_REPORT, r->period ? r->period : "", ev->occurred_at, ev->event_id, now,
			  out);
		break;
	case SLAD__V1__REPORT_KIND__RETROSPECTIVE:
		stop_open(core, t, MS_RETROSPECTIVE, NULL, ev->occurred_at, ev->event_id, now, out);
		break;
	default:
		break;
	}
}

static void on_leave_approved(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			      struct sla_out *out)
{
	const Slad__V1__LeaveApproved *l = ev->leave_approved;
	int64_t day;
	if (!l->leave_date || !date_parse(l->leave_date, &day))
		return;
	sla_time requested = l->_requested_at_case ? l->requested_at : ev->occurred_at;
	struct sla_attendance *a = ticket_attendance(t, day);
	if (!a)
		return;
	a->leave_approved = true;
	a->leave_prior = requested < calendar_instant(t->cal, day, 0);
	if (!a->leave_prior) {
		struct sla_violation *v = raise_violation(core, t, RC_LEAVE_NOT_PRIOR, NULL, VS_CONFIRMED, requested,
							  NULL, ev->event_id, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"leave_date\":\"%.10s\"}", l->leave_date);
	}
}

enum sla_verdict rules_apply(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			     struct sla_out *out, char *detail, size_t detail_len)
{
	sla_time at = ev->occurred_at;
	const char *cause = ev->event_id;

	if (t->state == TS_CANCELLED) {
		snprintf(detail, detail_len, "ticket %s is cancelled", t->ticket_id);
		return SV_INVALID_TRANSITION;
	}
	if (t->state == TS_CLOSED &&
	    ((ev->type == SLAD__V1__EVENT_TYPE__CLOCK_IN && at > t->closed_at) ||
	     ev->type == SLAD__V1__EVENT_TYPE__TICKET_CLOSED || ev->type == SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED ||
	     ev->type == SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED)) {
		snprintf(detail, detail_len, "ticket %s is closed", t->ticket_id);
		return SV_INVALID_TRANSITION;
	}

	switch (ev->type) {
	case SLAD__V1__EVENT_TYPE__TICKET_CREATED:
		if (t->created) {
			snprintf(detail, detail_len, "ticket %s exists already", t->ticket_id);
			return SV_INVALID_TRANSITION;
		}
		on_created(core, t, ev);
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED:
		on_dispatched(core, t, at);
		if (t->state < TS_DISPATCHED)
			t->state = TS_DISPATCHED;
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED:
		if (t->type != TT_INCIDENT) /* an incident's response ends at INCIDENT_RESPONDED */
			stop_open(core, t, MS_RESPONSE, NULL, at, cause, now, out);
		if (t->state < TS_ACKNOWLEDGED)
			t->state = TS_ACKNOWLEDGED;
		break;
	case SLAD__V1__EVENT_TYPE__INCIDENT_RESPONDED:
		if (t->type == TT_INCIDENT)
			stop_open(core, t, MS_RESPONSE, NULL, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__INCIDENT_DIAGNOSED:
		stop_open(core, t, MS_DIAGNOSIS, NULL, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__INCIDENT_SOLUTION_PROVIDED:
		stop_open(core, t, MS_SOLUTION, NULL, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED:
		on_assigned(core, t, ev, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_REJECTED:
		on_rejected(core, t, ev, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__RESERVATION_SET:
		on_reservation(core, t, ev, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED: {
		const Slad__V1__AuthorizationGranted *ag = ev->authorization_granted;
		struct sla_auth a = {at, ag->window_start, ag->window_end};
		if (!ticket_add_auth(t, &a)) {
			snprintf(detail, detail_len, "out of memory");
			return SV_BAD_VALUE;
		}
		if (auth_rules_apply(t) && ag->grantor == SLAD__V1__GRANTOR__OTHER)
			(void)raise_violation(core, t, RC_AUTH_NOT_END_CUSTOMER, NULL, VS_CONFIRMED, at, NULL, cause, now,
					      out);
		break;
	}
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
		(void)open_milestone(core, t, MS_SPARE_CONFIRM, at, ev->spare_part->part_id);
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED:
		stop_open(core, t, MS_SPARE_CONFIRM, ev->spare_part->part_id, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED:
		(void)open_milestone(core, t, MS_SPARE_RETURN, at, ev->spare_part->part_id);
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED:
		stop_open(core, t, MS_SPARE_RETURN, ev->spare_part->part_id, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__CHANGE_PLAN_APPROVED:
		if (t->plan_approved_at == SLA_TIME_NONE || at < t->plan_approved_at)
			t->plan_approved_at = at;
		break;
	case SLAD__V1__EVENT_TYPE__CHANGE_REVIEW_SUBMITTED:
		stop_open(core, t, MS_CHANGE_REVIEW, NULL, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED:
		on_report(core, t, ev, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__LEAVE_APPROVED:
		on_leave_approved(core, t, ev, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED: {
		const Slad__V1__CloseRequested *cr = ev->close_requested;
		if (t->first_dispatched_at != SLA_TIME_NONE &&
		    ((cr->_customer_signed_at_case && cr->customer_signed_at < t->first_dispatched_at) ||
		     (cr->_completion_code_at_case && cr->completion_code_at < t->first_dispatched_at))) {
			struct sla_violation *v = raise_violation(core, t, RC_SIGNATURE_BEFORE_DISPATCH, NULL,
								  VS_CONFIRMED, at, NULL, cause, now, out);
			if (v)
				v->due_at = t->first_dispatched_at;
		}
		stop_open(core, t, MS_CLOSURE, NULL, at, cause, now, out);
		if (t->close_requested_at == SLA_TIME_NONE)
			t->close_requested_at = at;
		if (t->type == TT_CHANGE && cr->result == SLAD__V1__CLOSE_RESULT__FAILED &&
		    !has_milestone(t, MS_RETROSPECTIVE))
			(void)open_milestone(core, t, MS_RETROSPECTIVE, at, NULL);
		t->state = TS_CLOSE_REQUESTED;
		break;
	}
	case SLAD__V1__EVENT_TYPE__TICKET_CLOSED:
		t->state = TS_CLOSED;
		t->closed_at = at;
		arm_archive(core, t, at);
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_CANCELLED:
		cancel_all_open(t, out);
		t->state = TS_CANCELLED;
		t->closed_at = at;
		arm_archive(core, t, at);
		break;
	case SLAD__V1__EVENT_TYPE__CLOCK_IN:
		on_clock(core, t, ev, now, out);
		break;
	default:
		break;
	}
	/* The checks that look at several events, after every event that can change them. */
	switch (ev->type) {
	case SLAD__V1__EVENT_TYPE__CLOCK_IN:
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED:
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED:
	case SLAD__V1__EVENT_TYPE__CHANGE_PLAN_APPROVED:
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED:
	case SLAD__V1__EVENT_TYPE__LEAVE_APPROVED:
		reconcile(core, t, cause, now, out);
		break;
	default:
		break;
	}
	t->updated_at = at > t->updated_at ? at : t->updated_at;
	ticket_mark_dirty(out, t);
	return SV_APPLIED;
}

/* At month end: attendance violations per engineer-month (rules.md 6). */
static void attendance_month_end(struct sla_core *core, struct sla_ticket *t, int64_t last_day, sla_time now,
				 struct sla_out *out)
{
	int y;
	unsigned m, d;
	civil_from_days(last_day, &y, &m, &d);
	int64_t month_first = days_from_civil(y, m, 1);
	int64_t three_first = days_from_civil(m > 2 ? y : y - 1, m > 2 ? m - 2 : m + 10, 1);
	int in_month = 0, in_three = 0;
	for (int i = 0; i < t->nvs; i++) {
		const struct sla_violation *v = &t->vs[i];
		if (v->status == VS_RETRACTED || (v->code != RC_ATTENDANCE_LATE && v->code != RC_ATTENDANCE_EARLY_LEAVE &&
						  v->code != RC_ATTENDANCE_MISSING))
			continue;
		int64_t day = calendar_local_day(t->cal, v->observed_at - (v->code == RC_ATTENDANCE_MISSING), NULL);
		if (day >= month_first && day <= last_day)
			in_month++;
		if (day >= three_first && day <= last_day)
			in_three++;
	}
	sla_time at = calendar_instant(t->cal, last_day + 1, 0);
	char details[64];
	snprintf(details, sizeof(details), "{\"month\":\"%04d-%02u\",\"count\":%d}", y, m, in_month);
	if (in_month > core->pol->th.attendance_improvement_month) {
		struct sla_violation *v = raise_violation(core, t, RC_ATTENDANCE_IMPROVEMENT_REQUIRED, NULL,
							  VS_CONFIRMED, at, NULL, NULL, now, out);
		if (v)
			str_copy(v->details, sizeof(v->details), details);
	}
	if (in_three > core->pol->th.attendance_replacement_3m) {
		struct sla_violation *v = raise_violation(core, t, RC_ATTENDANCE_REPLACEMENT_ELIGIBLE, NULL,
							  VS_CONFIRMED, at, NULL, NULL, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"months\":3,\"count\":%d}", in_three);
	}
}

static void fire_attendance(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
			    struct sla_out *out)
{
	if (t->att_next_day == INT64_MIN || e->at != calendar_instant(t->cal, t->att_next_day + 1, 0) ||
	    t->state == TS_CANCELLED)
		return;
	int64_t day = t->att_next_day;
	if (calendar_is_working_day(t->cal, day))
		(void)ticket_attendance(t, day); /* a day with no event at all is assessed too */
	t->att_next_day = day + 1;
	reconcile(core, t, NULL, now, out);
	int y, y2;
	unsigned m, m2, d, d2;
	civil_from_days(day, &y, &m, &d);
	civil_from_days(day + 1, &y2, &m2, &d2);
	int64_t last = calendar_local_day(t->cal, t->service_end_at, NULL);
	if (m2 != m || day == last)
		attendance_month_end(core, t, day, now, out);
	ticket_mark_dirty(out, t);
	arm_attendance(core, t);
}

static void escalate(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m, enum sla_esc_level level,
		     sla_time at, struct sla_out *out)
{
	(void)core;
	if (m->escalated & (1u << level))
		return;
	m->escalated |= (uint8_t)(1u << level);
	(void)out_escalation(out, t, m, level, at);
	ticket_mark_dirty(out, t);
}

/* From now on only the id (TOO_LATE) and the event ids seen (duplicates) matter; the rest
 * is freed by ticket_compact once this batch's rows are written (core_out_clear). */
static void archive_ticket(struct sla_ticket *t, struct sla_out *out)
{
	t->att_next_day = INT64_MIN;
	t->archived = true;
	ticket_mark_dirty(out, t);
}

void rules_fire(struct sla_core *core, const struct deadline *e, sla_time now, struct sla_out *out)
{
	struct sla_ticket *t = e->subject.ticket;
	/* What a timer changes happened when the processing clock passed its instant, however late
	 * the clock got there (a backlog, a restart): the same instant live, replayed or restored. */
	(void)now;
	now = e->at;
	switch (e->kind) {
	case TK_DEADLINE: {
		if (e->idx >= t->nms)
			return;
		struct sla_milestone *m = &t->ms[e->idx];
		if (!ms_open(m) || m->fired || m->due_at != e->at)
			return;
		m->fired = true;
		m->dirty = true;
		escalate(core, t, m, ESC_TIER2, m->due_at, out);
		struct sla_violation *v = ms_violation(t, m);
		if (v) {
			/* Retracted when the deadline moved; the moved deadline has now passed too. */
			v->due_at = m->due_at;
			v->observed_at = SLA_TIME_NONE;
			reopen_violation(core, t, v, now, NULL, out);
			return;
		}
		(void)raise_violation(core, t, RC_MILESTONE_LATE, m, VS_PROVISIONAL, SLA_TIME_NONE, NULL, NULL, now,
				      out);
		return;
	}
	case TK_WARNING:
	case TK_TIER3: {
		if (e->idx >= t->nms)
			return;
		struct sla_milestone *m = &t->ms[e->idx];
		if (!ms_open(m) || !escalates(m))
			return;
		if (e->kind == TK_WARNING && e->at == warning_at(core, m))
			escalate(core, t, m, ESC_WARNING, e->at, out);
		else if (e->kind == TK_TIER3 && e->at == tier3_at(m))
			escalate(core, t, m, ESC_TIER3, e->at, out);
		return;
	}
	case TK_CONFIRM: {
		if (e->idx >= t->nvs)
			return;
		struct sla_violation *v = &t->vs[e->idx];
		if (v->status != VS_PROVISIONAL || v->confirm_at != e->at)
			return;
		set_violation_status(t, v, VS_CONFIRMED, now, NULL, out);
		arm_archive(core, t, now);
		if (v->code == RC_MILESTONE_LATE)
			for (int i = 0; i < t->nms; i++)
				if (t->ms[i].kind == v->milestone && t->ms[i].occurrence == v->occurrence &&
				    t->ms[i].status == MSS_PENDING) {
					t->ms[i].status = MSS_BREACHED;
					t->ms[i].dirty = true;
				}
		return;
	}
	case TK_ATTENDANCE:
		fire_attendance(core, t, e, now, out);
		return;
	case TK_ARCHIVE:
		if (e->at != t->archive_at || t->archived)
			return;
		for (int i = 0; i < t->nms; i++)
			if (ms_open(&t->ms[i]))
				return; /* its end re-arms the timer */
		for (int i = 0; i < t->nvs; i++)
			if (t->vs[i].status == VS_PROVISIONAL)
				return; /* its confirmation re-arms the timer */
		archive_ticket(t, out);
		return;
	default:
		return;
	}
}

bool rules_timer_live(const struct sla_core *core, const struct deadline *e)
{
	const struct sla_ticket *t = e->subject.ticket;
	switch (e->kind) {
	case TK_DEADLINE:
		return e->idx < t->nms && ms_open(&t->ms[e->idx]) && !t->ms[e->idx].fired && t->ms[e->idx].due_at == e->at;
	case TK_WARNING:
	case TK_TIER3: {
		if (e->idx >= t->nms)
			return false;
		const struct sla_milestone *m = &t->ms[e->idx];
		if (!ms_open(m) || !escalates(m))
			return false;
		if (e->kind == TK_WARNING)
			return e->at == warning_at(core, m) && !(m->escalated & (1u << ESC_WARNING));
		return e->at == tier3_at(m) && !(m->escalated & (1u << ESC_TIER3));
	}
	case TK_CONFIRM:
		return e->idx < t->nvs && t->vs[e->idx].status == VS_PROVISIONAL && t->vs[e->idx].confirm_at == e->at;
	case TK_ARCHIVE:
		return !t->archived && e->at == t->archive_at;
	default:
		return true; /* held events, attendance: kept */
	}
}

bool rules_rearm(struct sla_core *core, struct sla_ticket *t)
{
	for (int i = 0; i < t->nms; i++) {
		struct sla_milestone *m = &t->ms[i];
		if (!ms_open(m))
			continue;
		if (!m->fired && !core_timer_push(core, m->due_at, t, TK_DEADLINE, i))
			return false;
		if (escalates(m)) {
			if (!(m->escalated & (1u << ESC_WARNING)) &&
			    !core_timer_push(core, warning_at(core, m), t, TK_WARNING, i))
				return false;
			if (!(m->escalated & (1u << ESC_TIER3)) && !core_timer_push(core, tier3_at(m), t, TK_TIER3, i))
				return false;
		}
	}
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].status == VS_PROVISIONAL && t->vs[i].confirm_at != SLA_TIME_NONE)
			if (!core_timer_push(core, t->vs[i].confirm_at, t, TK_CONFIRM, i))
				return false;
	for (int i = 0; i < t->nheld; i++)
		if (!core_timer_push(core, t->held[i].expires_at, t, TK_HELD, i))
			return false;
	arm_attendance(core, t);
	if (!t->archived && t->archive_at != SLA_TIME_NONE &&
	    !core_timer_push(core, t->archive_at, t, TK_ARCHIVE, 0))
		return false;
	return true;
}
