/* rules.c - the ticket state machine, timed milestones and instant checks of rules.md. Pure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core_internal.h"

#define EARTH_RADIUS_KM 6371.0088

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

/* The due time of a deadline kind started at `start`; SLA_TIME_NONE when
 * it needs a field the ticket lacks (`at`). */
static sla_time deadline_due(const struct sla_ticket *t, const struct sla_deadline *d, sla_time start, sla_time at)
{
	switch (d->kind) {
	case DL_WITHIN: return start + (sla_time)d->amount * SLA_MINUTE;
	case DL_NATURAL_DAYS: return start + (sla_time)d->amount * SLA_DAY;
	case DL_OFFICE_HOURS: return calendar_office_hours_due(t->cal, start, d->amount);
	case DL_RESPONSE_DAY: return calendar_response_day_due(t->cal, start);
	case DL_WORKING_DAYS: return calendar_working_days_due(t->cal, start, d->amount);
	case DL_BUSINESS_MINUTES: return calendar_business_minutes_due(t->cal, start, d->amount);
	case DL_AT: return at;
	default: return SLA_TIME_NONE;
	}
}

/* Opens a milestone if the policy has a deadline for it on this ticket. */
static struct sla_milestone *open_milestone(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
					    sla_time start, sla_time at, const char *part_id)
{
	const struct sla_deadline *d = policy_deadline(core->pol, kind, t->type, t->sla_class, t->severity);
	if (!d)
		return NULL;
	sla_time due = deadline_due(t, d, start, at);
	if (due == SLA_TIME_NONE)
		return NULL;
	struct sla_milestone *m = ticket_add_milestone(t, kind);
	if (!m)
		return NULL;
	m->started_at = start;
	m->due_at = due;
	if (part_id)
		snprintf(m->part_id, sizeof(m->part_id), "%s", part_id);
	if (!core_timer_push(core, due, t, TK_DEADLINE, (int)(m - t->ms)))
		return m; /* the deadline still fires on the next stop event or restore */
	return m;
}

static bool set_violation_status(struct sla_core *core, struct sla_ticket *t, struct sla_violation *v,
				 enum sla_v_status st, sla_time at, const char *cause, struct sla_out *out)
{
	(void)core;
	if (v->status == st)
		return true;
	v->status = st;
	v->dirty = true;
	ticket_mark_dirty(out, t);
	return out_history(out, t, v, at, cause);
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
	snprintf(v->engineer_id, sizeof(v->engineer_id), "%s", engineer_id ? engineer_id : t->engineer_id);
	if (st == VS_PROVISIONAL) {
		/* Confirmed when the clock passes due (or the offending event) + allowed lateness. */
		v->confirm_at = (m ? m->due_at : observed) + core->pol->lateness_allowed;
		if (!core_timer_push(core, v->confirm_at, t, TK_CONFIRM, (int)(v - t->vs)))
			v->confirm_at = SLA_TIME_NONE;
	}
	ticket_mark_dirty(out, t);
	if (!out_history(out, t, v, now, cause))
		return v;
	return v;
}

/* A stop event for milestone m at `at`. */
static void stop_milestone(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m, sla_time at,
			   const char *cause, sla_time now, struct sla_out *out)
{
	struct sla_violation *v = ms_violation(t, m);
	m->stopped_at = at;
	m->dirty = true;
	ticket_mark_dirty(out, t);
	if (at <= m->due_at) {
		m->status = MSS_MET;
		if (v && v->status != VS_RETRACTED) {
			v->observed_at = at;
			(void)set_violation_status(core, t, v, VS_RETRACTED, now, cause, out);
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
		snprintf(v->engineer_id, sizeof(v->engineer_id), "%s", t->engineer_id);
	(void)set_violation_status(core, t, v, VS_CONFIRMED, now, cause, out);
}

static void stop_open(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind, const char *part_id,
		      sla_time at, const char *cause, sla_time now, struct sla_out *out)
{
	for (int i = 0; i < t->nms; i++) {
		struct sla_milestone *m = &t->ms[i];
		if (m->kind != kind || m->status == MSS_CANCELLED)
			continue;
		if (part_id && strcmp(m->part_id, part_id) != 0)
			continue;
		/* Stopped already: only an earlier "first" stop event (delivered late) counts. */
		if (!ms_open(m) && !((kind == MS_ARRIVAL || kind == MS_RESERVATION) && at < m->stopped_at))
			continue;
		stop_milestone(core, t, m, at, cause, now, out);
	}
}

static void cancel_open(struct sla_ticket *t, enum sla_milestone_kind kind, bool all, struct sla_out *out)
{
	for (int i = 0; i < t->nms; i++) {
		struct sla_milestone *m = &t->ms[i];
		if ((all || m->kind == kind) && ms_open(m)) {
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

static sla_time effective_required_arrival(const struct sla_ticket *t)
{
	return t->reservation_appoint != SLA_TIME_NONE ? t->reservation_appoint : t->required_arrival_at;
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

/* The authorization check for a clock-in at `at` (START or LEAVE/COMPLETE):
 * RC_COUNT when it passes. */
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

static void clock_auth(struct sla_core *core, struct sla_ticket *t, bool is_start, sla_time at, const char *engineer,
		       const char *cause, sla_time now, struct sla_out *out)
{
	enum sla_rule_code rc = auth_check(t, is_start, at);
	if (rc == RC_COUNT)
		return;
	struct sla_violation *v = raise_violation(core, t, rc, NULL, VS_PROVISIONAL, at, engineer, cause, now, out);
	if (v)
		snprintf(v->details, sizeof(v->details), "{\"clock\":\"%s\"}", is_start ? "START" : "LEAVE");
}

/* A late-delivered authorization may clear an authorization violation. */
static void recheck_auth(struct sla_core *core, struct sla_ticket *t, const char *cause, sla_time now,
			 struct sla_out *out)
{
	int n = t->nvs;
	for (int i = 0; i < n; i++) {
		struct sla_violation *v = &t->vs[i];
		if (v->status == VS_RETRACTED ||
		    (v->code != RC_START_WITHOUT_AUTH && v->code != RC_START_OUTSIDE_AUTH &&
		     v->code != RC_LEAVE_OUTSIDE_AUTH))
			continue;
		bool is_start = v->code != RC_LEAVE_OUTSIDE_AUTH;
		enum sla_rule_code now_rc = auth_check(t, is_start, v->observed_at);
		if (now_rc == v->code)
			continue;
		sla_time observed = v->observed_at;
		char engineer[SLA_ID_MAX + 1];
		snprintf(engineer, sizeof(engineer), "%s", v->engineer_id);
		(void)set_violation_status(core, t, v, VS_RETRACTED, now, cause, out);
		if (now_rc != RC_COUNT) {
			struct sla_violation *nv =
				raise_violation(core, t, now_rc, NULL, VS_PROVISIONAL, observed, engineer, cause, now, out);
			if (nv)
				snprintf(nv->details, sizeof(nv->details), "{\"clock\":\"%s\"}",
					 is_start ? "START" : "LEAVE");
		}
	}
}

static void clock_location(struct sla_core *core, struct sla_ticket *t, const Slad__V1__ClockIn *c, sla_time at,
			   const char *cause, sla_time now, struct sla_out *out)
{
	if (t->site_classified)
		return;
	if (!c->_lat_case || !c->_lon_case) {
		(void)raise_violation(core, t, RC_CLOCK_NO_LOCATION, NULL, VS_CONFIRMED, at, c->engineer_id, cause, now, out);
		return;
	}
	if (!t->has_site)
		return;
	double km = distance_km(t->site_lat, t->site_lon, c->lat, c->lon);
	if (km > core->pol->clock_max_distance_km) {
		struct sla_violation *v =
			raise_violation(core, t, RC_CLOCK_TOO_FAR, NULL, VS_CONFIRMED, at, c->engineer_id, cause, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"distance_km\":%.3f}", km);
	}
}

static void on_created(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev)
{
	const Slad__V1__TicketCreated *tc = ev->ticket_created;
	t->created = true;
	t->type = map_ticket_type(tc->ticket_type);
	t->sla_class = tc->sla_class == SLAD__V1__SLA_CLASS__HOURLY ? SC_HOURLY : SC_NON_HOURLY;
	t->severity = (int)tc->severity;
	snprintf(t->partner_id, sizeof(t->partner_id), "%s", ev->partner_id);
	if (tc->calendar_id && tc->calendar_id[0])
		snprintf(t->calendar_id, sizeof(t->calendar_id), "%s", tc->calendar_id);
	t->cal = core_calendar(core, t->calendar_id);
	t->site_classified = tc->site_classified;
	t->has_site = tc->_site_lat_case && tc->_site_lon_case;
	t->site_lat = t->has_site ? tc->site_lat : 0;
	t->site_lon = t->has_site ? tc->site_lon : 0;
	t->required_arrival_at = tc->_required_arrival_at_case ? tc->required_arrival_at : SLA_TIME_NONE;
	t->created_at = ev->occurred_at;
	t->state = TS_CREATED;
}

static void on_reservation(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			   struct sla_out *out)
{
	const Slad__V1__ReservationSet *r = ev->reservation_set;
	sla_time at = ev->occurred_at, appoint = r->appointment_at;
	sla_time before = effective_required_arrival(t);
	bool evidence = r->evidence_ref && r->evidence_ref[0];

	if (before != SLA_TIME_NONE && at > before) {
		struct sla_violation *v = raise_violation(core, t, RC_RESERVATION_CHANGED_TOO_LATE, NULL, VS_CONFIRMED, at,
							  NULL, ev->event_id, now, out);
		if (v)
			v->due_at = before;
	}
	if (!evidence) {
		bool fires = false;
		if (t->type == TT_ONE_OFF)
			fires = true;
		else if ((t->type == TT_MAINTENANCE || t->type == TT_INSPECTION || t->type == TT_RECTIFICATION) &&
			 t->first_arrive_at == SLA_TIME_NONE && before != SLA_TIME_NONE && appoint > before)
			fires = true;
		if (fires)
			(void)raise_violation(core, t, RC_RESERVATION_NO_EVIDENCE, NULL, VS_CONFIRMED, at, NULL, ev->event_id,
					      now, out);
	}

	/* The latest reservation by event time is the one in force. */
	if (t->reservation_at == SLA_TIME_NONE || at >= t->reservation_at) {
		t->reservation_at = at;
		t->reservation_appoint = appoint;
	}
	stop_open(core, t, MS_RESERVATION, NULL, at, ev->event_id, now, out);

	if (t->first_assigned_at == SLA_TIME_NONE)
		return;
	struct sla_milestone *arr = find_open(t, MS_ARRIVAL);
	if (arr) {
		/* The arrival deadline moves with every reservation made before it passes. */
		if (at <= arr->due_at && arr->due_at != t->reservation_appoint) {
			struct sla_violation *v = ms_violation(t, arr);
			arr->due_at = effective_required_arrival(t);
			arr->dirty = true;
			if (arr->fired && arr->due_at > now) {
				arr->fired = false;
				arr->status = MSS_PENDING;
				if (v && v->status != VS_RETRACTED)
					(void)set_violation_status(core, t, v, VS_RETRACTED, now, ev->event_id, out);
			} else if (v) {
				v->due_at = arr->due_at;
				v->dirty = true;
			}
			if (!arr->fired)
				(void)core_timer_push(core, arr->due_at, t, TK_DEADLINE, (int)(arr - t->ms));
			ticket_mark_dirty(out, t);
		}
	} else if (t->state == TS_LEFT && t->visit_paused) {
		/* Next visit after a PAUSE + LEAVE. */
		(void)open_milestone(core, t, MS_ARRIVAL, at, appoint, NULL);
	} else if (t->first_arrive_at == SLA_TIME_NONE && !has_milestone(t, MS_ARRIVAL)) {
		(void)open_milestone(core, t, MS_ARRIVAL, t->first_assigned_at, effective_required_arrival(t), NULL);
	}
	if (t->state < TS_RESERVED)
		t->state = TS_RESERVED;
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
	default:
		break;
	}
	if (!impl)
		return;
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
			t->state = TS_ON_SITE;
		}
		break;
	case SLAD__V1__CLOCK_KIND__START:
		if (auth_rules_apply(t))
			clock_auth(core, t, true, at, c->engineer_id, ev->event_id, now, out);
		t->state = TS_WORKING;
		break;
	case SLAD__V1__CLOCK_KIND__PAUSE:
		t->visit_paused = true;
		t->state = TS_PAUSED;
		break;
	case SLAD__V1__CLOCK_KIND__LEAVE:
		if (auth_rules_apply(t))
			clock_auth(core, t, false, at, c->engineer_id, ev->event_id, now, out);
		if (!t->visit_paused && !find_open(t, MS_CLOSURE))
			(void)open_milestone(core, t, MS_CLOSURE, at, SLA_TIME_NONE, NULL);
		t->state = TS_LEFT;
		break;
	case SLAD__V1__CLOCK_KIND__COMPLETE:
		if (auth_rules_apply(t))
			clock_auth(core, t, false, at, c->engineer_id, ev->event_id, now, out);
		if (!find_open(t, MS_CLOSURE))
			(void)open_milestone(core, t, MS_CLOSURE, at, SLA_TIME_NONE, NULL);
		break;
	default:
		break;
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
	    (ev->type == SLAD__V1__EVENT_TYPE__CLOCK_IN || ev->type == SLAD__V1__EVENT_TYPE__TICKET_CLOSED ||
	     ev->type == SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED || ev->type == SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED)) {
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
		if (t->first_dispatched_at == SLA_TIME_NONE) {
			t->first_dispatched_at = at;
			(void)open_milestone(core, t, MS_DISPATCH, at, SLA_TIME_NONE, NULL);
		}
		if (t->state < TS_DISPATCHED)
			t->state = TS_DISPATCHED;
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED:
		if (t->state < TS_ACKNOWLEDGED)
			t->state = TS_ACKNOWLEDGED;
		break;
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED: {
		const Slad__V1__EngineerAssigned *a = ev->engineer_assigned;
		if (!is_implementer(a->role))
			break;
		snprintf(t->engineer_id, sizeof(t->engineer_id), "%s", a->engineer_id);
		stop_open(core, t, MS_DISPATCH, NULL, at, cause, now, out);
		if (t->first_assigned_at == SLA_TIME_NONE) {
			t->first_assigned_at = at;
			(void)open_milestone(core, t, MS_RESERVATION, at, t->required_arrival_at, NULL);
			if (effective_required_arrival(t) != SLA_TIME_NONE && t->first_arrive_at == SLA_TIME_NONE)
				(void)open_milestone(core, t, MS_ARRIVAL, at, effective_required_arrival(t), NULL);
		}
		if (t->state < TS_ASSIGNED)
			t->state = TS_ASSIGNED;
		break;
	}
	case SLAD__V1__EVENT_TYPE__TICKET_REJECTED:
		if (ev->ticket_rejected->rejected_by == SLAD__V1__REJECTOR__FSE && t->first_dispatched_at != SLA_TIME_NONE)
			(void)open_milestone(core, t, MS_DISPATCH, at, SLA_TIME_NONE, NULL);
		t->state = TS_DISPATCHED;
		break;
	case SLAD__V1__EVENT_TYPE__RESERVATION_SET:
		on_reservation(core, t, ev, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED: {
		struct sla_auth a = {at, ev->authorization_granted->window_start, ev->authorization_granted->window_end};
		if (!ticket_add_auth(t, &a)) {
			snprintf(detail, detail_len, "out of memory");
			return SV_BAD_VALUE;
		}
		recheck_auth(core, t, cause, now, out);
		break;
	}
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
		(void)open_milestone(core, t, MS_SPARE_CONFIRM, at, SLA_TIME_NONE, ev->spare_part->part_id);
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED:
		stop_open(core, t, MS_SPARE_CONFIRM, ev->spare_part->part_id, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED:
		(void)open_milestone(core, t, MS_SPARE_RETURN, at, SLA_TIME_NONE, ev->spare_part->part_id);
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED:
		stop_open(core, t, MS_SPARE_RETURN, ev->spare_part->part_id, at, cause, now, out);
		break;
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED: {
		const Slad__V1__CloseRequested *cr = ev->close_requested;
		if (t->first_dispatched_at != SLA_TIME_NONE &&
		    ((cr->_customer_signed_at_case && cr->customer_signed_at < t->first_dispatched_at) ||
		     (cr->_completion_code_at_case && cr->completion_code_at < t->first_dispatched_at))) {
			struct sla_violation *v = raise_violation(core, t, RC_SIGNATURE_BEFORE_DISPATCH, NULL, VS_CONFIRMED,
								  at, NULL, cause, now, out);
			if (v)
				v->due_at = t->first_dispatched_at;
		}
		stop_open(core, t, MS_CLOSURE, NULL, at, cause, now, out);
		t->state = TS_CLOSE_REQUESTED;
		break;
	}
	case SLAD__V1__EVENT_TYPE__TICKET_CLOSED:
		t->state = TS_CLOSED;
		t->closed_at = at;
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_CANCELLED:
		cancel_open(t, MS_COUNT, true, out);
		t->state = TS_CANCELLED;
		t->closed_at = at;
		break;
	case SLAD__V1__EVENT_TYPE__CLOCK_IN:
		on_clock(core, t, ev, now, out);
		break;
	default:
		/* Types whose rules arrive with later issues are accepted and remembered as seen. */
		break;
	}
	t->updated_at = at > t->updated_at ? at : t->updated_at;
	ticket_mark_dirty(out, t);
	return SV_APPLIED;
}

void rules_fire(struct sla_core *core, const struct timer_entry *e, sla_time now, struct sla_out *out)
{
	struct sla_ticket *t = e->t;
	if (e->kind == TK_DEADLINE) {
		if (e->idx >= t->nms)
			return;
		struct sla_milestone *m = &t->ms[e->idx];
		if (!ms_open(m) || m->fired || m->due_at != e->at)
			return;
		m->fired = true;
		m->dirty = true;
		struct sla_violation *v = ms_violation(t, m);
		if (v) {
			/* Retracted when the deadline moved; the moved deadline has now passed too. */
			v->due_at = m->due_at;
			v->observed_at = SLA_TIME_NONE;
			v->confirm_at = m->due_at + core->pol->lateness_allowed;
			(void)set_violation_status(core, t, v, VS_PROVISIONAL, now, NULL, out);
			(void)core_timer_push(core, v->confirm_at, t, TK_CONFIRM, (int)(v - t->vs));
			return;
		}
		(void)raise_violation(core, t, RC_MILESTONE_LATE, m, VS_PROVISIONAL, SLA_TIME_NONE, NULL, NULL, now,
				      out);
		return;
	}
	if (e->kind == TK_CONFIRM) {
		if (e->idx >= t->nvs)
			return;
		struct sla_violation *v = &t->vs[e->idx];
		if (v->status != VS_PROVISIONAL || v->confirm_at != e->at)
			return;
		(void)set_violation_status(core, t, v, VS_CONFIRMED, now, NULL, out);
		if (v->code == RC_MILESTONE_LATE)
			for (int i = 0; i < t->nms; i++)
				if (t->ms[i].kind == v->milestone && t->ms[i].occurrence == v->occurrence &&
				    t->ms[i].status == MSS_PENDING) {
					t->ms[i].status = MSS_BREACHED;
					t->ms[i].dirty = true;
				}
	}
}

bool rules_rearm(struct sla_core *core, struct sla_ticket *t)
{
	for (int i = 0; i < t->nms; i++)
		if (ms_open(&t->ms[i]) && !t->ms[i].fired)
			if (!core_timer_push(core, t->ms[i].due_at, t, TK_DEADLINE, i))
				return false;
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].status == VS_PROVISIONAL && t->vs[i].confirm_at != SLA_TIME_NONE)
			if (!core_timer_push(core, t->vs[i].confirm_at, t, TK_CONFIRM, i))
				return false;
	for (int i = 0; i < t->nheld; i++)
		if (!core_timer_push(core, t->held[i].expires_at, t, TK_HELD, i))
			return false;
	return true;
}
