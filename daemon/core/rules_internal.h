/* rules_internal.h - what the rules' files share: rules.c (the state machine),
 * milestones.c, violations.c and checks.c. Pure. */
#ifndef SLAD_RULES_INTERNAL_H
#define SLAD_RULES_INTERNAL_H

#include "core_internal.h"

/* A set of ticket types, for type_in. */
#define T(x) (1u << (x))

static inline bool type_in(const struct sla_ticket *t, uint32_t mask)
{
	return (T(t->type) & mask) != 0;
}

static inline bool is_implementer(Slad__V1__Role r)
{
	return r != SLAD__V1__ROLE__GUARANTOR;
}

/* Authorization windows do not bind resident and incident tickets. */
static inline bool auth_rules_apply(const struct sla_ticket *t)
{
	return t->type != TT_RESIDENT && t->type != TT_INCIDENT;
}

static inline sla_time effective_required_arrival(const struct sla_ticket *t)
{
	sla_time appoint = ticket_more(t)->reservation_appoint;
	return appoint != SLA_TIME_NONE ? appoint : t->required_arrival_at;
}

static inline bool ms_open(const struct sla_milestone *m)
{
	return m->stopped_at == SLA_TIME_NONE && m->status != MSS_CANCELLED;
}

/* Milestone m's lateness violation, if it has one. */
static inline struct sla_violation *ms_violation(struct sla_ticket *t, const struct sla_milestone *m)
{
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].code == RC_MILESTONE_LATE && t->vs[i].milestone == m->kind &&
		    t->vs[i].occurrence == m->occurrence)
			return &t->vs[i];
	return NULL;
}

/* The latest open milestone of a kind, or NULL. */
static inline struct sla_milestone *milestone_find_open(struct sla_ticket *t, enum sla_milestone_kind kind)
{
	for (int i = t->nms - 1; i >= 0; i--)
		if (t->ms[i].kind == kind && ms_open(&t->ms[i]))
			return &t->ms[i];
	return NULL;
}

static inline bool milestone_exists(const struct sla_ticket *t, enum sla_milestone_kind kind)
{
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == kind)
			return true;
	return false;
}

/* milestones.c: timed milestones, their escalations and the archive timer */
struct sla_milestone *milestone_add(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
				    sla_time start, sla_time due, const char *key);
/* Opens a milestone if the policy has a deadline for it on this ticket. */
struct sla_milestone *milestone_open(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind,
				     sla_time start, const char *key);
void milestone_arm(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m);
/* A stop event for milestone m at `at`. */
void milestone_stop(struct sla_core *core, struct sla_ticket *t, struct sla_milestone *m, sla_time at,
		    const char *cause, sla_time now, struct sla_out *out);
/* Stops the open milestones of a kind (and part key, if any). */
void milestones_stop(struct sla_core *core, struct sla_ticket *t, enum sla_milestone_kind kind, const char *key,
		     sla_time at, const char *cause, sla_time now, struct sla_out *out);
void milestones_cancel_open(struct sla_ticket *t, struct sla_out *out);
/* CLOSURE, from a LEAVE or COMPLETE at `at`. */
void milestone_open_closure(struct sla_core *core, struct sla_ticket *t, sla_time at, const char *cause,
			    sla_time now, struct sla_out *out);
/* RESIDENT: the weekly and monthly report milestones of the service period. */
void milestones_open_reports(struct sla_core *core, struct sla_ticket *t);
/* Arms the archive timer of a closed or cancelled ticket. */
void archive_arm(struct sla_core *core, struct sla_ticket *t, sla_time from);
/* The timers of kind TK_DEADLINE, TK_WARNING, TK_TIER3 and TK_ARCHIVE. */
void milestone_fire(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
		    struct sla_out *out);
void archive_fire(struct sla_ticket *t, const struct deadline *e, struct sla_out *out);
bool milestone_timer_live(const struct sla_core *core, const struct deadline *e);
bool milestones_rearm(struct sla_core *core, struct sla_ticket *t) __attribute__((warn_unused_result));

/* violations.c: a violation's life, PROVISIONAL -> CONFIRMED / RETRACTED */
/* A new violation. PROVISIONAL ones get a confirmation timer. */
struct sla_violation *violation_raise(struct sla_core *core, struct sla_ticket *t, enum sla_rule_code code,
				      const struct sla_milestone *m, enum sla_v_status st, sla_time observed,
				      const char *engineer_id, const char *cause, sla_time now, struct sla_out *out);
void violation_set_status(struct sla_ticket *t, struct sla_violation *v, enum sla_v_status st, sla_time at,
			  const char *cause, struct sla_out *out);
/* Back to PROVISIONAL, with a new confirmation timer. */
void violation_reopen(struct sla_core *core, struct sla_ticket *t, struct sla_violation *v, sla_time now,
		      const char *cause, struct sla_out *out);
/* A TK_CONFIRM timer. */
void violation_fire_confirm(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
			    struct sla_out *out);
bool violations_rearm(struct sla_core *core, struct sla_ticket *t) __attribute__((warn_unused_result));

/* checks.c: instant checks (one event) and checks on several events */
void check_clock_location(struct sla_core *core, struct sla_ticket *t, const Slad__V1__ClockIn *c, sla_time at,
			  const char *cause, sla_time now, struct sla_out *out);
void check_skill(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		 struct sla_out *out);
void check_reject_late(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		       struct sla_out *out);
/* Before the reservation changes the ticket. */
void check_reservation(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		       struct sla_out *out);
void check_signature(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
		     struct sla_out *out);
/* Re-evaluates the checks that depend on several events (cause: the event, or NULL for a timer). */
void checks_reevaluate(struct sla_core *core, struct sla_ticket *t, const char *cause, sla_time now,
		       struct sla_out *out);
/* RESIDENT attendance: an ATTENDANCE_IN or _OUT, the timer at the end of the next day, and its firing. */
void attendance_clock(struct sla_ticket *t, const Slad__V1__ClockIn *c, sla_time at);
void attendance_arm(struct sla_core *core, struct sla_ticket *t);
void attendance_fire(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
		     struct sla_out *out);

#endif
