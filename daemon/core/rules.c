/* rules.c - the ticket state machine of rules.md: a transition per event type (the table `transitions`),
 * the guards that refuse one, and the dispatch of a ticket's timers. Milestones, violations and checks have
 * their own files (rules_internal.h). Pure. */
#include <stdio.h>
#include <string.h>

#include "rules_internal.h"

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

/* A TICKET_CREATED that gives a field of struct sla_ticket_more (other ticket types'). */
static bool created_needs_more(const Slad__V1__TicketCreated *tc)
{
	return tc->_required_skill_level_case || tc->_person_days_case || tc->_risk_score_case ||
	       tc->_service_start_at_case || tc->_service_end_at_case || tc->_po_start_at_case ||
	       tc->_planned_start_at_case || (tc->shift_start && tc->shift_start[0]) ||
	       (tc->shift_end && tc->shift_end[0]); /* strings are "" when not given */
}

/* The TICKET_CREATED fields of struct sla_ticket_more: as sla_ticket_more_none when not given. */
static void created_more(struct sla_ticket_more *m, const Slad__V1__TicketCreated *tc)
{
	m->required_skill_level = tc->_required_skill_level_case ? tc->required_skill_level : -1;
	m->person_days = tc->_person_days_case ? tc->person_days : -1;
	m->risk_score = tc->_risk_score_case ? tc->risk_score : -1;
	m->service_start_at = tc->_service_start_at_case ? tc->service_start_at : SLA_TIME_NONE;
	m->service_end_at = tc->_service_end_at_case ? tc->service_end_at : SLA_TIME_NONE;
	m->po_start_at = tc->_po_start_at_case ? tc->po_start_at : SLA_TIME_NONE;
	m->planned_start_at = tc->_planned_start_at_case ? tc->planned_start_at : SLA_TIME_NONE;
	int minutes;
	if (tc->shift_start && hhmm_parse(tc->shift_start, &minutes))
		m->shift_start_min = minutes;
	if (tc->shift_end && hhmm_parse(tc->shift_end, &minutes))
		m->shift_end_min = minutes;
}

static enum sla_verdict on_created(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
				   struct sla_out *out)
{
	(void)now;
	(void)out;
	const Slad__V1__TicketCreated *tc = ev->ticket_created;
	/* Without t->more its fields are the defaults already: it is made only for a value. */
	struct sla_ticket_more *m = t->more;
	if (!m && created_needs_more(tc) && !(m = ticket_more_mut(t)))
		return SV_BAD_VALUE;
	t->created = true;
	t->type = map_ticket_type(tc->ticket_type);
	t->sla_class = tc->sla_class == SLAD__V1__SLA_CLASS__HOURLY ? SC_HOURLY : SC_NON_HOURLY;
	t->severity = (int)tc->severity;
	(void)strpool_set(core->ids, &t->partner_id, ev->partner_id, SLA_ID_MAX);
	if (tc->calendar_id && tc->calendar_id[0])
		(void)strpool_set(core->ids, &t->calendar_id, tc->calendar_id, CAL_ID_MAX);
	t->cal = core_calendar(core, t->calendar_id);
	t->site_classified = tc->site_classified;
	t->has_site = tc->_site_lat_case && tc->_site_lon_case;
	t->site_lat = t->has_site ? tc->site_lat : 0;
	t->site_lon = t->has_site ? tc->site_lon : 0;
	t->required_arrival_at = tc->_required_arrival_at_case ? tc->required_arrival_at : SLA_TIME_NONE;
	if (tc->product_line)
		(void)strpool_set(core->ids, &t->product_line, tc->product_line, SLA_ID_MAX);
	if (m)
		created_more(m, tc);
	t->created_at = ev->occurred_at;
	t->state = TS_CREATED;

	if (t->type == TT_CHANGE)
		(void)milestone_open(core, t, MS_CHANGE_REVIEW, ev->occurred_at, NULL);
	if (t->type == TT_RESIDENT) {
		milestones_open_reports(core, t);
		if (m && m->service_start_at != SLA_TIME_NONE && m->service_end_at != SLA_TIME_NONE) {
			m->att_next_day = calendar_local_day(t->cal, m->service_start_at, NULL);
			attendance_arm(core, t);
		}
	}
	return SV_APPLIED;
}

/* The transitions: one per event type, each (core, t, ev, now, out); SV_BAD_VALUE only when out of memory. */
#define TRANSITION(name)                                                                                       \
	static enum sla_verdict name(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, \
				     sla_time now, struct sla_out *out)

TRANSITION(on_dispatched)
{
	(void)now;
	(void)out;
	sla_time at = ev->occurred_at;
	if (t->first_dispatched_at == SLA_TIME_NONE) {
		t->first_dispatched_at = at;
		(void)milestone_open(core, t, MS_DISPATCH, at, NULL);
		(void)milestone_open(core, t, MS_RESPONSE, at, NULL);
		if (t->type == TT_INCIDENT) {
			(void)milestone_open(core, t, MS_ARRIVAL, at, NULL);
			(void)milestone_open(core, t, MS_DIAGNOSIS, at, NULL);
			(void)milestone_open(core, t, MS_SOLUTION, at, NULL);
		}
	}
	if (t->state < TS_DISPATCHED)
		t->state = TS_DISPATCHED;
	return SV_APPLIED;
}

TRANSITION(on_acknowledged)
{
	if (t->type != TT_INCIDENT) /* an incident's response ends at INCIDENT_RESPONDED */
		milestones_stop(core, t, MS_RESPONSE, NULL, ev->occurred_at, ev->event_id, now, out);
	if (t->state < TS_ACKNOWLEDGED)
		t->state = TS_ACKNOWLEDGED;
	return SV_APPLIED;
}

TRANSITION(on_responded)
{
	if (t->type == TT_INCIDENT)
		milestones_stop(core, t, MS_RESPONSE, NULL, ev->occurred_at, ev->event_id, now, out);
	return SV_APPLIED;
}

/* The milestone an event that only opens or stops one is about. */
static enum sla_milestone_kind milestone_of(Slad__V1__EventType type)
{
	switch (type) {
	case SLAD__V1__EVENT_TYPE__INCIDENT_DIAGNOSED: return MS_DIAGNOSIS;
	case SLAD__V1__EVENT_TYPE__INCIDENT_SOLUTION_PROVIDED: return MS_SOLUTION;
	case SLAD__V1__EVENT_TYPE__CHANGE_REVIEW_SUBMITTED: return MS_CHANGE_REVIEW;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED: return MS_SPARE_CONFIRM;
	default: return MS_SPARE_RETURN; /* SPARE_PART_REPLACED, SPARE_PART_RETURNED */
	}
}

/* INCIDENT_DIAGNOSED, INCIDENT_SOLUTION_PROVIDED, CHANGE_REVIEW_SUBMITTED: stop their milestone. */
TRANSITION(on_stop)
{
	milestones_stop(core, t, milestone_of(ev->type), NULL, ev->occurred_at, ev->event_id, now, out);
	return SV_APPLIED;
}

TRANSITION(on_assigned)
{
	const Slad__V1__EngineerAssigned *a = ev->engineer_assigned;
	sla_time at = ev->occurred_at;
	if (!is_implementer(a->role)) {
		t->has_guarantor = true;
		return SV_APPLIED;
	}
	(void)strpool_set(core->ids, &t->engineer_id, a->engineer_id, SLA_ID_MAX);
	t->last_assigned_at = at;
	milestones_stop(core, t, MS_DISPATCH, NULL, at, ev->event_id, now, out);
	check_skill(core, t, ev, now, out);
	if (t->first_assigned_at == SLA_TIME_NONE) {
		t->first_assigned_at = at;
		(void)milestone_open(core, t, MS_RESERVATION, at, NULL);
		if (t->type != TT_INCIDENT && effective_required_arrival(t) != SLA_TIME_NONE &&
		    ticket_more(t)->first_arrive_at == SLA_TIME_NONE)
			(void)milestone_open(core, t, MS_ARRIVAL, at, NULL);
	}
	if (t->state < TS_ASSIGNED)
		t->state = TS_ASSIGNED;
	return SV_APPLIED;
}

TRANSITION(on_rejected)
{
	(void)now;
	sla_time at = ev->occurred_at;
	check_reject_late(core, t, ev, now, out);
	if (ev->ticket_rejected->rejected_by == SLAD__V1__REJECTOR__FSE) {
		/* Back to the FSIP: a new DISPATCH occurrence with the same deadline kind. */
		if (t->first_dispatched_at != SLA_TIME_NONE)
			(void)milestone_open(core, t, MS_DISPATCH, at, NULL);
		strpool_release(t->engineer_id);
		t->engineer_id = strpool_empty;
		t->last_assigned_at = SLA_TIME_NONE;
	}
	t->state = TS_DISPATCHED;
	return SV_APPLIED;
}

/* The arrival deadline moves with every reservation made before it passes. */
static void move_arrival(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *arr, sla_time at,
			 const char *cause, sla_time now, struct sla_out *out)
{
	sla_time moved = ticket_more(t)->reservation_appoint;
	if (at > arr->due_at || arr->due_at == moved)
		return;
	struct sla_violation *v = ms_violation(t, arr);
	arr->due_at = moved;
	arr->dirty = true;
	if ((arr->flags & MS_FIRED) && arr->due_at > now) {
		arr->flags &= (uint8_t)~MS_FIRED;
		arr->status = MSS_PENDING;
		if (v && v->status != VS_RETRACTED)
			violation_set_status(t, v, VS_RETRACTED, now, cause, out);
	}
	if (v) {
		v->due_at = arr->due_at;
		v->dirty = true;
	}
	if (!(arr->flags & MS_FIRED))
		milestone_arm(core, t, arr);
	ticket_mark_dirty(out, t);
}

TRANSITION(on_reservation)
{
	sla_time at = ev->occurred_at, appoint = ev->reservation_set->appointment_at;
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return SV_BAD_VALUE;

	check_reservation(core, t, ev, now, out);
	/* The latest reservation by event time is the one in force. */
	if (m->reservation_at == SLA_TIME_NONE || at >= m->reservation_at) {
		m->reservation_at = at;
		m->reservation_appoint = appoint;
	}
	milestones_stop(core, t, MS_RESERVATION, NULL, at, ev->event_id, now, out);

	if (t->first_assigned_at == SLA_TIME_NONE || t->type == TT_INCIDENT)
		return SV_APPLIED;
	struct sla_milestone *arr = milestone_find_open(t, MS_ARRIVAL);
	if (arr)
		move_arrival(core, t, arr, at, ev->event_id, now, out);
	else if (t->state == TS_LEFT && t->visit_paused) /* the next visit after a PAUSE + LEAVE */
		(void)milestone_add(core, t, MS_ARRIVAL, at, appoint, NULL);
	else if (m->first_arrive_at == SLA_TIME_NONE && !milestone_exists(t, MS_ARRIVAL))
		(void)milestone_open(core, t, MS_ARRIVAL, t->first_assigned_at, NULL);
	if (t->state < TS_RESERVED)
		t->state = TS_RESERVED;
	return SV_APPLIED;
}

TRANSITION(on_authorized)
{
	const Slad__V1__AuthorizationGranted *ag = ev->authorization_granted;
	struct sla_auth a = {ev->occurred_at, ag->window_start, ag->window_end};
	if (!ticket_add_auth(t, &a))
		return SV_BAD_VALUE;
	if (auth_rules_apply(t) && ag->grantor == SLAD__V1__GRANTOR__OTHER)
		(void)violation_raise(core, t, RC_AUTH_NOT_END_CUSTOMER, NULL, VS_CONFIRMED, ev->occurred_at, NULL,
				      ev->event_id, now, out);
	return SV_APPLIED;
}

/* SPARE_PART_REQUESTED, SPARE_PART_REPLACED: the part's confirmation (return) clock starts. */
TRANSITION(on_spare_opened)
{
	(void)now;
	(void)out;
	(void)milestone_open(core, t, milestone_of(ev->type), ev->occurred_at, ev->spare_part->part_id);
	return SV_APPLIED;
}

/* SPARE_PART_CONFIRMED, SPARE_PART_RETURNED: and stops. */
TRANSITION(on_spare_closed)
{
	milestones_stop(core, t, milestone_of(ev->type), ev->spare_part->part_id, ev->occurred_at, ev->event_id, now,
			out);
	return SV_APPLIED;
}

TRANSITION(on_plan_approved)
{
	(void)core;
	(void)now;
	(void)out;
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return SV_BAD_VALUE;
	if (m->plan_approved_at == SLA_TIME_NONE || ev->occurred_at < m->plan_approved_at)
		m->plan_approved_at = ev->occurred_at;
	return SV_APPLIED;
}

TRANSITION(on_report)
{
	const Slad__V1__ReportSubmitted *r = ev->report_submitted;
	const char *period = r->period ? r->period : "";
	switch (r->report_kind) {
	case SLAD__V1__REPORT_KIND__WEEKLY:
		milestones_stop(core, t, MS_WEEKLY_REPORT, period, ev->occurred_at, ev->event_id, now, out);
		break;
	case SLAD__V1__REPORT_KIND__MONTHLY:
		milestones_stop(core, t, MS_MONTHLY_REPORT, period, ev->occurred_at, ev->event_id, now, out);
		break;
	case SLAD__V1__REPORT_KIND__RETROSPECTIVE:
		milestones_stop(core, t, MS_RETROSPECTIVE, NULL, ev->occurred_at, ev->event_id, now, out);
		break;
	default:
		break;
	}
	return SV_APPLIED;
}

TRANSITION(on_leave_approved)
{
	const Slad__V1__LeaveApproved *l = ev->leave_approved;
	int64_t day;
	if (!l->leave_date || !date_parse(l->leave_date, &day))
		return SV_APPLIED;
	sla_time requested = l->_requested_at_case ? l->requested_at : ev->occurred_at;
	struct sla_attendance *a = ticket_attendance(t, day);
	if (!a)
		return SV_APPLIED;
	a->leave_approved = true;
	a->leave_prior = requested < calendar_instant(t->cal, day, 0);
	if (!a->leave_prior) {
		struct sla_violation *v = violation_raise(core, t, RC_LEAVE_NOT_PRIOR, NULL, VS_CONFIRMED, requested,
							  NULL, ev->event_id, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"leave_date\":\"%.10s\"}", l->leave_date);
	}
	return SV_APPLIED;
}

TRANSITION(on_close_requested)
{
	sla_time at = ev->occurred_at;
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return SV_BAD_VALUE;
	check_signature(core, t, ev, now, out);
	milestones_stop(core, t, MS_CLOSURE, NULL, at, ev->event_id, now, out);
	if (m->close_requested_at == SLA_TIME_NONE)
		m->close_requested_at = at;
	if (t->type == TT_CHANGE && ev->close_requested->result == SLAD__V1__CLOSE_RESULT__FAILED &&
	    !milestone_exists(t, MS_RETROSPECTIVE))
		(void)milestone_open(core, t, MS_RETROSPECTIVE, at, NULL);
	t->state = TS_CLOSE_REQUESTED;
	return SV_APPLIED;
}

TRANSITION(on_closed)
{
	(void)now;
	(void)out;
	t->state = TS_CLOSED;
	t->closed_at = ev->occurred_at;
	archive_arm(core, t, ev->occurred_at);
	return SV_APPLIED;
}

TRANSITION(on_cancelled)
{
	(void)now;
	milestones_cancel_open(t, out);
	t->state = TS_CANCELLED;
	t->closed_at = ev->occurred_at;
	archive_arm(core, t, ev->occurred_at);
	return SV_APPLIED;
}

static const char *clock_kind_name(Slad__V1__ClockKind k)
{
	return k == SLAD__V1__CLOCK_KIND__ARRIVE ? "ARRIVE" : k == SLAD__V1__CLOCK_KIND__START ? "START" : "LEAVE";
}

/* An implementer's ARRIVE: the visit starts, ARRIVAL stops. */
static void clock_arrive(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			 struct sla_out *out)
{
	sla_time at = ev->occurred_at;
	/* t->more: made by ticket_add_clock before this runs */
	struct sla_ticket_more *m = t->more;
	if (m && (m->first_arrive_at == SLA_TIME_NONE || at < m->first_arrive_at))
		m->first_arrive_at = at;
	milestones_stop(core, t, MS_ARRIVAL, NULL, at, ev->event_id, now, out);
	/* A later visit cancels the closure clock; a late-synced ARRIVE of the visit that
	 * started it does not. */
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == MS_CLOSURE && ms_open(&t->ms[i]) && t->ms[i].started_at < at) {
			t->ms[i].status = MSS_CANCELLED;
			t->ms[i].dirty = true;
		}
	if (m && (m->visit_arrive_at == SLA_TIME_NONE || at >= m->visit_arrive_at)) {
		m->visit_arrive_at = at;
		t->visit_paused = false;
		if (t->state < TS_CLOSE_REQUESTED)
			t->state = TS_ON_SITE;
	}
}

/* An implementer's COMPLETE: CLOSURE starts, and on a CHANGE with a guarantor, GUARANTOR_COMPLETE. */
static void clock_complete(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			   struct sla_out *out)
{
	sla_time at = ev->occurred_at;
	if (!milestone_find_open(t, MS_CLOSURE))
		milestone_open_closure(core, t, at, ev->event_id, now, out);
	if (t->type != TT_CHANGE || !t->has_guarantor || milestone_exists(t, MS_GUARANTOR_COMPLETE))
		return;
	struct sla_milestone *g = milestone_open(core, t, MS_GUARANTOR_COMPLETE, at, NULL);
	const struct sla_ticket_more *m = ticket_more(t);
	/* The guarantor may have completed first. */
	for (int i = 0; g && i < m->nclocks; i++)
		if (m->clocks[i].guarantor && m->clocks[i].kind == SLAD__V1__CLOCK_KIND__COMPLETE &&
		    m->clocks[i].at >= at) {
			milestone_stop(core, t, g, m->clocks[i].at, ev->event_id, now, out);
			break;
		}
}

/* What an implementer's clock-in does to the visit and the ticket's state. */
static void clock_implementer(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			      struct sla_out *out)
{
	switch (ev->clock_in->kind) {
	case SLAD__V1__CLOCK_KIND__ARRIVE:
		clock_arrive(core, t, ev, now, out);
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
		if (!t->visit_paused && !milestone_find_open(t, MS_CLOSURE))
			milestone_open_closure(core, t, ev->occurred_at, ev->event_id, now, out);
		if (t->state < TS_CLOSE_REQUESTED)
			t->state = TS_LEFT;
		break;
	case SLAD__V1__CLOCK_KIND__COMPLETE:
		clock_complete(core, t, ev, now, out);
		break;
	default:
		break;
	}
}

TRANSITION(on_clock)
{
	const Slad__V1__ClockIn *c = ev->clock_in;
	sla_time at = ev->occurred_at;
	bool impl = is_implementer(c->role);

	switch (c->kind) {
	case SLAD__V1__CLOCK_KIND__ARRIVE:
	case SLAD__V1__CLOCK_KIND__START:
	case SLAD__V1__CLOCK_KIND__LEAVE:
	case SLAD__V1__CLOCK_KIND__COMPLETE:
		check_clock_location(core, t, c, at, ev->event_id, now, out);
		break;
	case SLAD__V1__CLOCK_KIND__ATTENDANCE_IN:
	case SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT:
		attendance_clock(t, c, at);
		return SV_APPLIED;
	default:
		break;
	}
	struct sla_clock rec = {at, (int)c->kind, !impl, strpool_intern(core->ids, c->engineer_id, SLA_ID_MAX)};
	if (!rec.engineer_id || !ticket_add_clock(t, &rec)) {
		strpool_release(rec.engineer_id);
		return SV_APPLIED; /* out of memory: the clock-in still counts as seen */
	}
	if (impl && t->type == TT_ONE_OFF &&
	    (c->kind == SLAD__V1__CLOCK_KIND__ARRIVE || c->kind == SLAD__V1__CLOCK_KIND__START ||
	     c->kind == SLAD__V1__CLOCK_KIND__LEAVE))
		(void)out_engclock(out, t, c->engineer_id, ev->event_id, clock_kind_name(c->kind), at);
	if (impl) {
		clock_implementer(core, t, ev, now, out);
		return SV_APPLIED;
	}
	t->has_guarantor = true;
	if (c->kind == SLAD__V1__CLOCK_KIND__COMPLETE)
		milestones_stop(core, t, MS_GUARANTOR_COMPLETE, NULL, at, ev->event_id, now, out);
	return SV_APPLIED;
}

/* The state machine: what each event type does, and whether it can change the
 * verdict of the checks on several events (re-evaluated after it). */
struct transition {
	enum sla_verdict (*apply)(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
				  struct sla_out *out);
	bool recheck;
};

static const struct transition transitions[SLAD__V1__EVENT_TYPE__ASSESSMENT + 1] = {
	[SLAD__V1__EVENT_TYPE__TICKET_CREATED] = {on_created, false},
	[SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED] = {on_dispatched, false},
	[SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED] = {on_acknowledged, false},
	[SLAD__V1__EVENT_TYPE__INCIDENT_RESPONDED] = {on_responded, false},
	[SLAD__V1__EVENT_TYPE__INCIDENT_DIAGNOSED] = {on_stop, false},
	[SLAD__V1__EVENT_TYPE__INCIDENT_SOLUTION_PROVIDED] = {on_stop, false},
	[SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED] = {on_assigned, true},
	[SLAD__V1__EVENT_TYPE__TICKET_REJECTED] = {on_rejected, false},
	[SLAD__V1__EVENT_TYPE__RESERVATION_SET] = {on_reservation, false},
	[SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED] = {on_authorized, true},
	[SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED] = {on_spare_opened, false},
	[SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED] = {on_spare_closed, false},
	[SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED] = {on_spare_opened, false},
	[SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED] = {on_spare_closed, false},
	[SLAD__V1__EVENT_TYPE__CHANGE_PLAN_APPROVED] = {on_plan_approved, true},
	[SLAD__V1__EVENT_TYPE__CHANGE_REVIEW_SUBMITTED] = {on_stop, false},
	[SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED] = {on_report, false},
	[SLAD__V1__EVENT_TYPE__LEAVE_APPROVED] = {on_leave_approved, true},
	[SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED] = {on_close_requested, true},
	[SLAD__V1__EVENT_TYPE__TICKET_CLOSED] = {on_closed, false},
	[SLAD__V1__EVENT_TYPE__TICKET_CANCELLED] = {on_cancelled, false},
	[SLAD__V1__EVENT_TYPE__CLOCK_IN] = {on_clock, true},
};

/* The guards: a cancelled ticket takes nothing, a closed one no new work, a ticket is created once. */
static bool refused(const struct sla_ticket *t, const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	if (t->state == TS_CANCELLED) {
		snprintf(detail, detail_len, "ticket %s is cancelled", t->ticket_id);
		return true;
	}
	if (t->state == TS_CLOSED &&
	    ((ev->type == SLAD__V1__EVENT_TYPE__CLOCK_IN && ev->occurred_at > t->closed_at) ||
	     ev->type == SLAD__V1__EVENT_TYPE__TICKET_CLOSED || ev->type == SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED ||
	     ev->type == SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED)) {
		snprintf(detail, detail_len, "ticket %s is closed", t->ticket_id);
		return true;
	}
	if (ev->type == SLAD__V1__EVENT_TYPE__TICKET_CREATED && t->created) {
		snprintf(detail, detail_len, "ticket %s exists already", t->ticket_id);
		return true;
	}
	return false;
}

enum sla_verdict rules_apply(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			     struct sla_out *out, char *detail, size_t detail_len)
{
	sla_time at = ev->occurred_at;
	if (refused(t, ev, detail, detail_len))
		return SV_INVALID_TRANSITION;
	const struct transition *tr =
		(unsigned)ev->type < sizeof(transitions) / sizeof(transitions[0]) ? &transitions[ev->type] : NULL;
	if (tr && tr->apply) {
		enum sla_verdict v = tr->apply(core, t, ev, now, out);
		if (v != SV_APPLIED) {
			snprintf(detail, detail_len, "out of memory");
			return v;
		}
		if (tr->recheck)
			checks_reevaluate(core, t, ev->event_id, now, out);
	}
	t->updated_at = at > t->updated_at ? at : t->updated_at;
	ticket_mark_dirty(out, t);
	return SV_APPLIED;
}

void rules_fire(struct sla_core *core, const struct deadline *e, sla_time now, struct sla_out *out)
{
	struct sla_ticket *t = e->subject.ticket;
	/* What a timer changes happened when the processing clock passed its instant, however late
	 * the clock got there (a backlog, a restart): the same instant live, replayed or restored. */
	(void)now;
	now = e->at;
	switch (e->kind) {
	case TK_DEADLINE:
	case TK_WARNING:
	case TK_TIER3:
		milestone_fire(core, t, e, now, out);
		return;
	case TK_CONFIRM:
		violation_fire_confirm(core, t, e, now, out);
		return;
	case TK_ATTENDANCE:
		attendance_fire(core, t, e, now, out);
		return;
	case TK_ARCHIVE:
		archive_fire(t, e, out);
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
	case TK_WARNING:
	case TK_TIER3:
		return milestone_timer_live(core, e);
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
	if (!milestones_rearm(core, t) || !violations_rearm(core, t))
		return false;
	const struct sla_ticket_more *m = ticket_more(t);
	for (int i = 0; i < m->nheld; i++)
		if (!core_timer_push(core, m->held[i].expires_at, t, TK_HELD, i))
			return false;
	attendance_arm(core, t);
	if (!t->archived && t->archive_at != SLA_TIME_NONE &&
	    !core_timer_push(core, t->archive_at, t, TK_ARCHIVE, 0))
		return false;
	return true;
}
