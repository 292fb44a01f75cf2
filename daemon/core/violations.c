/* violations.c - a ticket's violations (rules.md 2): raised, PROVISIONAL ->
 * CONFIRMED or RETRACTED, reopened, and their confirmation timers. Pure. */
#include "rules_internal.h"

void violation_set_status(struct sla_ticket *t, struct sla_violation *v, enum sla_v_status st, sla_time at,
			  const char *cause, struct sla_out *out)
{
	if (v->status == st)
		return;
	v->status = st;
	v->dirty = true;
	ticket_mark_dirty(out, t);
	(void)out_history(out, t, v, at, cause);
}

struct sla_violation *violation_raise(struct sla_core *core, struct sla_ticket *t, enum sla_rule_code code,
				      const struct sla_milestone *m, enum sla_v_status st, sla_time observed,
				      const char *engineer_id, const char *cause, sla_time now, struct sla_out *out)
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

void violation_reopen(struct sla_core *core, struct sla_ticket *t, struct sla_violation *v, sla_time now,
		      const char *cause, struct sla_out *out)
{
	v->confirm_at = (v->code == RC_MILESTONE_LATE ? v->due_at : v->observed_at) + core->pol->lateness_allowed;
	violation_set_status(t, v, VS_PROVISIONAL, now, cause, out);
	(void)core_timer_push(core, v->confirm_at, t, TK_CONFIRM, (int)(v - t->vs));
}

void violation_fire_confirm(struct sla_core *core, struct sla_ticket *t, const struct deadline *e, sla_time now,
			    struct sla_out *out)
{
	if (e->idx >= t->nvs)
		return;
	struct sla_violation *v = &t->vs[e->idx];
	if (v->status != VS_PROVISIONAL || v->confirm_at != e->at)
		return;
	violation_set_status(t, v, VS_CONFIRMED, now, NULL, out);
	archive_arm(core, t, now);
	if (v->code != RC_MILESTONE_LATE)
		return;
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == v->milestone && t->ms[i].occurrence == v->occurrence &&
		    t->ms[i].status == MSS_PENDING) {
			t->ms[i].status = MSS_BREACHED;
			t->ms[i].dirty = true;
		}
}

bool violations_rearm(struct sla_core *core, struct sla_ticket *t)
{
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].status == VS_PROVISIONAL && t->vs[i].confirm_at != SLA_TIME_NONE)
			if (!core_timer_push(core, t->vs[i].confirm_at, t, TK_CONFIRM, i))
				return false;
	return true;
}
