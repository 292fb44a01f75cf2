/* checks.c - the rules' checks (rules.md 2, 6): instant ones on one event, the ones on several events
 * (re-evaluated on the whole ticket), and resident attendance. Pure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules_internal.h"

#define EARTH_RADIUS_KM 6371.0088

/* ---- Instant checks: one event decides ---- */

static double distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * EARTH_RADIUS_KM * asin(fmin(1.0, sqrt(a)));
}

void check_clock_location(struct sla_core *core, struct sla_ticket *t, const Slad__V1__ClockIn *c, sla_time at,
			  const char *cause, sla_time now, struct sla_out *out)
{
	if (t->site_classified)
		return;
	if (!c->_lat_case || !c->_lon_case) {
		(void)violation_raise(core, t, RC_CLOCK_NO_LOCATION, NULL, VS_CONFIRMED, at, c->engineer_id, cause, now,
				      out);
		return;
	}
	if (!t->has_site)
		return;
	double km = distance_km(t->site_lat, t->site_lon, c->lat, c->lon);
	if (km > core->pol->clock_max_distance_km) {
		struct sla_violation *v = violation_raise(core, t, RC_CLOCK_TOO_FAR, NULL, VS_CONFIRMED, at,
							  c->engineer_id, cause, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"distance_km\":%.3f}", km);
	}
}

/* ONE_OFF and RESIDENT: the assigned engineer's skill level and product line. */
void check_skill(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		 struct sla_out *out)
{
	const struct sla_ticket_more *x = ticket_more(t);
	const Slad__V1__EngineerAssigned *a = ev->engineer_assigned;
	if (!type_in(t, T(TT_ONE_OFF) | T(TT_RESIDENT)))
		return;
	bool skill = x->required_skill_level >= 0 && a->_engineer_skill_level_case &&
		     a->engineer_skill_level < x->required_skill_level;
	bool line = t->product_line[0] && a->engineer_product_line && a->engineer_product_line[0] &&
		    strcmp(t->product_line, a->engineer_product_line) != 0;
	if (!skill && !line)
		return;
	struct sla_violation *v = violation_raise(core, t, RC_SKILL_MISMATCH, NULL, VS_CONFIRMED, ev->occurred_at,
						  a->engineer_id, ev->event_id, now, out);
	if (v)
		snprintf(v->details, sizeof(v->details), "{\"skill\":%s,\"product_line\":%s}", skill ? "true" : "false",
			 line ? "true" : "false");
}

/* A CONFIRMED violation at the event, due at `due`, with fixed details (NULL: none). */
static void raise_at(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, enum sla_rule_code code,
		     sla_time due, const char *details, sla_time now, struct sla_out *out)
{
	struct sla_violation *v =
		violation_raise(core, t, code, NULL, VS_CONFIRMED, ev->occurred_at, NULL, ev->event_id, now, out);
	if (!v)
		return;
	v->due_at = due;
	if (details)
		str_copy(v->details, sizeof(v->details), details);
}

/* REJECT_LATE: an engineer rejects long after the assignment, the FSIP after its dispatch deadline. */
void check_reject_late(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		       struct sla_out *out)
{
	sla_time at = ev->occurred_at;
	if (ev->ticket_rejected->rejected_by == SLAD__V1__REJECTOR__FSE) {
		int limit = (t->sla_class == SC_HOURLY || t->type == TT_INCIDENT) ? core->pol->th.reject_late_min_hourly
										 : core->pol->th.reject_late_min_other;
		if (t->last_assigned_at != SLA_TIME_NONE && at - t->last_assigned_at > (sla_time)limit * SLA_MINUTE)
			raise_at(core, t, ev, RC_REJECT_LATE, t->last_assigned_at + (sla_time)limit * SLA_MINUTE,
				 "{\"rejected_by\":\"FSE\"}", now, out);
	} else if (ev->ticket_rejected->rejected_by == SLAD__V1__REJECTOR__FSIP) {
		struct sla_milestone *d = milestone_find_open(t, MS_DISPATCH);
		if (d && at > d->due_at)
			raise_at(core, t, ev, RC_REJECT_LATE, d->due_at, "{\"rejected_by\":\"FSIP\"}", now, out);
	}
}

void check_reservation(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		       struct sla_out *out)
{
	const Slad__V1__ReservationSet *r = ev->reservation_set;
	sla_time at = ev->occurred_at, appoint = r->appointment_at;
	sla_time before = effective_required_arrival(t);
	bool evidence = r->evidence_ref && r->evidence_ref[0];

	/* A reservation for the next visit (after a PAUSE + LEAVE) is a new appointment, not a late change. */
	bool next_visit = t->state == TS_LEFT && t->visit_paused;
	if (before != SLA_TIME_NONE && at > before && !next_visit)
		raise_at(core, t, ev, RC_RESERVATION_CHANGED_TOO_LATE, before, NULL, now, out);
	if (!evidence) {
		sla_time arrived = ticket_more(t)->first_arrive_at;
		bool fires = false;
		if (t->type == TT_ONE_OFF)
			fires = true;
		else if (type_in(t, T(TT_MAINTENANCE) | T(TT_INSPECTION) | T(TT_RECTIFICATION)) &&
			 (arrived == SLA_TIME_NONE || at < arrived) && before != SLA_TIME_NONE && appoint > before)
			fires = true;
		if (fires)
			(void)violation_raise(core, t, RC_RESERVATION_NO_EVIDENCE, NULL, VS_CONFIRMED, at, NULL,
					      ev->event_id, now, out);
	}
	if (t->type == TT_ONE_OFF && t->required_arrival_at != SLA_TIME_NONE && appoint > t->required_arrival_at)
		raise_at(core, t, ev, RC_RESERVATION_BEYOND_SLA, t->required_arrival_at, NULL, now, out);
}

/* The customer's signature or the completion code before the ticket was dispatched. */
void check_signature(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		     struct sla_out *out)
{
	const Slad__V1__CloseRequested *cr = ev->close_requested;
	if (t->first_dispatched_at != SLA_TIME_NONE &&
	    ((cr->_customer_signed_at_case && cr->customer_signed_at < t->first_dispatched_at) ||
	     (cr->_completion_code_at_case && cr->completion_code_at < t->first_dispatched_at)))
		raise_at(core, t, ev, RC_SIGNATURE_BEFORE_DISPATCH, t->first_dispatched_at, NULL, now, out);
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
	const struct sla_ticket_more *x = ticket_more(t);
	const struct sla_auth *latest = NULL;
	for (int i = 0; i < x->nauths; i++)
		if (x->auths[i].granted_at <= at && (!latest || x->auths[i].granted_at >= latest->granted_at))
			latest = &x->auths[i];
	if (!latest)
		return is_start ? RC_START_WITHOUT_AUTH : RC_COUNT;
	if (at < latest->window_start || at > latest->window_end)
		return is_start ? RC_START_OUTSIDE_AUTH : RC_LEAVE_OUTSIDE_AUTH;
	return RC_COUNT;
}

/* The first guarantor ARRIVE, or SLA_TIME_NONE. */
static sla_time guarantor_arrival(const struct sla_ticket *t)
{
	const struct sla_ticket_more *x = ticket_more(t);
	for (int i = 0; i < x->nclocks; i++)
		if (x->clocks[i].guarantor && x->clocks[i].kind == SLAD__V1__CLOCK_KIND__ARRIVE)
			return x->clocks[i].at;
	return SLA_TIME_NONE;
}

/* CLOCK_SEQUENCE: the last implementer ARRIVE/LEAVE before the START at clocks[i] must be an ARRIVE. */
static void want_sequence(const struct sla_ticket *t, int i, struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	const struct sla_clock *c = &x->clocks[i];
	int last = 0; /* 0 none, 1 arrive, 2 leave */
	for (int j = i - 1; j >= 0 && !last; j--) {
		if (x->clocks[j].guarantor)
			continue;
		if (x->clocks[j].kind == SLAD__V1__CLOCK_KIND__ARRIVE)
			last = 1;
		else if (x->clocks[j].kind == SLAD__V1__CLOCK_KIND__LEAVE)
			last = 2;
	}
	if (last != 1)
		want(ws, RC_CLOCK_SEQUENCE, c->at, c->engineer_id,
		     last ? "{\"after\":\"LEAVE\"}" : "{\"after\":\"nothing\"}");
}

/* What only the first implementer START is checked for. */
static void want_first_start(const struct sla_core *core, const struct sla_ticket *t, const struct sla_clock *c,
			     struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	if (t->type == TT_RESIDENT && x->po_start_at != SLA_TIME_NONE && c->at < x->po_start_at)
		want(ws, RC_START_BEFORE_PO, c->at, c->engineer_id, NULL);
	if (t->type == TT_CHANGE && x->plan_approved_at != SLA_TIME_NONE &&
	    c->at > x->plan_approved_at + (sla_time)core->pol->th.change_plan_valid_days * SLA_DAY)
		want(ws, RC_CHANGE_PLAN_EXPIRED, c->at, c->engineer_id, NULL);
	if (t->type == TT_CHANGE && t->has_guarantor) {
		sla_time guarantor_arrive = guarantor_arrival(t);
		if (guarantor_arrive == SLA_TIME_NONE || guarantor_arrive > c->at)
			want(ws, RC_GUARANTOR_LATE, c->at, c->engineer_id, NULL);
	}
}

/* CROSS_DAY_VISIT: the LEAVE or PAUSE at clocks[i] on another local day than the visit's ARRIVE. */
static void want_same_day(const struct sla_ticket *t, int i, struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	const struct sla_clock *c = &x->clocks[i];
	for (int j = i - 1; j >= 0; j--) {
		const struct sla_clock *a = &x->clocks[j];
		if (a->guarantor || a->kind != SLAD__V1__CLOCK_KIND__ARRIVE)
			continue;
		if (calendar_local_day(t->cal, a->at, NULL) != calendar_local_day(t->cal, c->at, NULL))
			want(ws, RC_CROSS_DAY_VISIT, c->at, c->engineer_id, NULL);
		return;
	}
}

/* CHANGE_VERIFY_TOO_SHORT: the COMPLETE at clocks[i] too soon after the last VERIFY. */
static void want_verify_time(const struct sla_core *core, const struct sla_ticket *t, int i, struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	const struct sla_clock *c = &x->clocks[i];
	for (int j = i - 1; j >= 0; j--) {
		const struct sla_clock *vf = &x->clocks[j];
		if (vf->guarantor || vf->kind != SLAD__V1__CLOCK_KIND__VERIFY)
			continue;
		if (c->at - vf->at < (sla_time)core->pol->th.change_verify_min * SLA_MINUTE) {
			char d[64];
			snprintf(d, sizeof(d), "{\"verify_minutes\":%lld}", (long long)((c->at - vf->at) / SLA_MINUTE));
			want(ws, RC_CHANGE_VERIFY_TOO_SHORT, c->at, c->engineer_id, d);
		}
		return;
	}
}

/* PERSON_DAYS_MISMATCH: distinct local dates with an implementer ARRIVE at CLOSE_REQUESTED. */
static void want_person_days(const struct sla_ticket *t, struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	if (t->type != TT_ONE_OFF || x->person_days < 0 || x->close_requested_at == SLA_TIME_NONE)
		return;
	int days = 0;
	int64_t last = INT64_MIN;
	for (int i = 0; i < x->nclocks; i++) {
		const struct sla_clock *c = &x->clocks[i];
		if (c->guarantor || c->kind != SLAD__V1__CLOCK_KIND__ARRIVE || c->at > x->close_requested_at)
			continue;
		int64_t d = calendar_local_day(t->cal, c->at, NULL);
		if (d != last) {
			days++;
			last = d;
		}
	}
	if (days != x->person_days) {
		char d[64];
		snprintf(d, sizeof(d), "{\"days\":%d,\"person_days\":%d}", days, x->person_days);
		want(ws, RC_PERSON_DAYS_MISMATCH, x->close_requested_at, NULL, d);
	}
}

/* The checks on the implementers' clock-ins, in clock order. */
static void want_clock_checks(const struct sla_core *core, const struct sla_ticket *t, struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	bool first_start_seen = false;
	for (int i = 0; i < x->nclocks; i++) {
		const struct sla_clock *c = &x->clocks[i];
		if (c->guarantor)
			continue;
		if (c->kind == SLAD__V1__CLOCK_KIND__START) {
			if (auth_rules_apply(t)) {
				enum sla_rule_code rc = auth_check(t, true, c->at);
				if (rc != RC_COUNT)
					want(ws, rc, c->at, c->engineer_id, "{\"clock\":\"START\"}");
			}
			want_sequence(t, i, ws);
			if (!first_start_seen)
				want_first_start(core, t, c, ws);
			first_start_seen = true;
		}
		if ((c->kind == SLAD__V1__CLOCK_KIND__LEAVE || c->kind == SLAD__V1__CLOCK_KIND__COMPLETE) &&
		    auth_rules_apply(t) && auth_check(t, false, c->at) != RC_COUNT)
			want(ws, RC_LEAVE_OUTSIDE_AUTH, c->at, c->engineer_id,
			     c->kind == SLAD__V1__CLOCK_KIND__LEAVE ? "{\"clock\":\"LEAVE\"}"
								    : "{\"clock\":\"COMPLETE\"}");
		if ((c->kind == SLAD__V1__CLOCK_KIND__LEAVE || c->kind == SLAD__V1__CLOCK_KIND__PAUSE) &&
		    type_in(t, T(TT_MAINTENANCE) | T(TT_INSPECTION) | T(TT_RECTIFICATION) | T(TT_ONE_OFF)))
			want_same_day(t, i, ws);
		if (c->kind == SLAD__V1__CLOCK_KIND__COMPLETE && t->type == TT_CHANGE)
			want_verify_time(core, t, i, ws);
	}
	want_person_days(t, ws);
}

/* Resident attendance of the days whose end has passed (rules.md 6). */
static void want_attendance(const struct sla_ticket *t, struct wanted_set *ws)
{
	const struct sla_ticket_more *x = ticket_more(t);
	if (t->type != TT_RESIDENT || x->service_start_at == SLA_TIME_NONE)
		return;
	for (int i = 0; i < x->natt; i++) {
		const struct sla_attendance *a = &x->att[i];
		if (!calendar_is_working_day(t->cal, a->day))
			continue;
		bool excused = a->leave_approved && a->leave_prior;
		if (excused)
			continue;
		sla_time shift_start = calendar_instant(t->cal, a->day, x->shift_start_min);
		sla_time shift_end = calendar_instant(t->cal, a->day, x->shift_end_min);
		sla_time day_end = calendar_instant(t->cal, a->day + 1, 0);
		bool ended = x->att_next_day != INT64_MIN && a->day < x->att_next_day;
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

/* The wanted set against the recorded violations: new ones are raised PROVISIONAL,
 * vanished ones RETRACTED, returning ones reopened. */
void checks_reevaluate(struct sla_core *core, struct sla_ticket *t, const char *cause, sla_time now,
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
					violation_reopen(core, t, v, now, cause, out);
				break;
			}
		if (!wanted && v->status != VS_RETRACTED)
			violation_set_status(t, v, VS_RETRACTED, now, cause, out);
	}
	for (int k = 0; k < ws.n; k++) {
		if (ws.w[k].code == RC_COUNT)
			continue;
		struct sla_violation *v = violation_raise(core, t, ws.w[k].code, NULL, VS_PROVISIONAL,
							  ws.w[k].observed, ws.w[k].engineer, cause, now, out);
		if (v)
			str_copy(v->details, sizeof(v->details), ws.w[k].details);
	}
}

/* ---- RESIDENT attendance (rules.md 6) ---- */

void attendance_clock(struct sla_ticket *t, const Slad__V1__ClockIn *c, sla_time at)
{
	struct sla_attendance *a = ticket_attendance(t, calendar_local_day(t->cal, at, NULL));
	if (a && c->kind == SLAD__V1__CLOCK_KIND__ATTENDANCE_IN && (a->first_in == SLA_TIME_NONE || at < a->first_in))
		a->first_in = at;
	if (a && c->kind == SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT && (a->last_out == SLA_TIME_NONE || at > a->last_out))
		a->last_out = at;
}

/* One timer at the end of each day of the service period, in turn. */
void attendance_arm(struct sla_core *core, struct sla_ticket *t)
{
	const struct sla_ticket_more *x = ticket_more(t);
	if (x->att_next_day == INT64_MIN)
		return;
	int64_t last = calendar_local_day(t->cal, x->service_end_at, NULL);
	if (x->att_next_day > last)
		return;
	(void)core_timer_push(core, calendar_instant(t->cal, x->att_next_day + 1, 0), t, TK_ATTENDANCE, 0);
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
		struct sla_violation *v = violation_raise(core, t, RC_ATTENDANCE_IMPROVEMENT_REQUIRED, NULL,
							  VS_CONFIRMED, at, NULL, NULL, now, out);
		if (v)
			str_copy(v->details, sizeof(v->details), details);
	}
	if (in_three > core->pol->th.attendance_replacement_3m) {
		struct sla_violation *v = violation_raise(core, t, RC_ATTENDANCE_REPLACEMENT_ELIGIBLE, NULL,
							  VS_CONFIRMED, at, NULL, NULL, now, out);
		if (v)
			snprintf(v->details, sizeof(v->details), "{\"months\":3,\"count\":%d}", in_three);
	}
}

void attendance_fire(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
		     struct sla_out *out)
{
	struct sla_ticket_more *x = t->more; /* NULL: att_next_day is INT64_MIN */
	if (!x || x->att_next_day == INT64_MIN || e->at != calendar_instant(t->cal, x->att_next_day + 1, 0) ||
	    t->state == TS_CANCELLED)
		return;
	int64_t day = x->att_next_day;
	if (calendar_is_working_day(t->cal, day))
		(void)ticket_attendance(t, day); /* a day with no event at all is assessed too */
	x->att_next_day = day + 1;
	checks_reevaluate(core, t, NULL, now, out);
	int y, y2;
	unsigned m, m2, d, d2;
	civil_from_days(day, &y, &m, &d);
	civil_from_days(day + 1, &y2, &m2, &d2);
	int64_t last = calendar_local_day(t->cal, x->service_end_at, NULL);
	if (m2 != m || day == last)
		attendance_month_end(core, t, day, now, out);
	ticket_mark_dirty(out, t);
	attendance_arm(core, t);
}
