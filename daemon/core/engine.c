/* engine.c - one engine per partition: dispatches by topic to its tickets
 * (core.c) or its partners (partners.c). Pure. */
#include "slad/engine.h"

void engine_drop(struct sla_engine *e, enum engine_half h)
{
	if (h == HALF_TICKETS) {
		core_free(e->tickets);
		e->tickets = NULL;
	} else {
		partners_free(e->partners);
		e->partners = NULL;
	}
}

/* A partner event's dead letter (the core records its own). */
static void partner_dead(const struct sla_effects *fx, const struct sla_origin *origin, enum sla_verdict v,
			 const char *detail)
{
	if (!core_out_dead(fx->tickets, origin->topic, origin->partition, origin->offset, v, detail, origin->payload,
			   origin->len))
		fx->partners->oom = true; /* the dead letter is lost: the batch must fail */
}

enum sla_verdict engine_apply(struct sla_engine *e, enum sla_topic topic, const Slad__V1__Event *ev,
			      const struct sla_origin *origin, sla_time now, const struct sla_effects *fx,
			      char *detail, size_t detail_len)
{
	if (engine_half_of(topic) == HALF_TICKETS)
		return core_apply(e->tickets, ev, origin, now, fx->tickets); /* records its dead letters */
	enum sla_verdict v = partners_apply(e->partners, ev, now, fx->partners, detail, detail_len);
	if (verdict_is_dead_letter(v))
		partner_dead(fx, origin, v, detail);
	return v;
}

enum sla_verdict engine_apply_raw(struct sla_engine *e, enum sla_topic topic, const struct sla_origin *origin,
				  sla_time now, const struct sla_effects *fx)
{
	if (engine_half_of(topic) == HALF_TICKETS)
		return core_apply_raw(e->tickets, origin, now, fx->tickets);
	char detail[256] = "";
	Slad__V1__Event *ev = NULL;
	enum sla_verdict v = event_decode(origin->payload, origin->len, &ev, detail, sizeof(detail));
	if (v == SV_APPLIED)
		v = event_check(ev, detail, sizeof(detail));
	if (v == SV_APPLIED)
		v = engine_apply(e, topic, ev, origin, now, fx, detail, sizeof(detail));
	else
		partner_dead(fx, origin, v, detail);
	if (ev)
		sla_event_free(ev);
	return v;
}

void engine_advance(struct sla_engine *e, enum engine_half h, sla_time now, const struct sla_effects *fx)
{
	if (h == HALF_TICKETS && e->tickets)
		core_advance(e->tickets, now, fx->tickets);
	else if (h == HALF_PARTNERS && e->partners)
		partners_advance(e->partners, now, fx->partners);
}

sla_time engine_next_due(const struct sla_engine *e, enum engine_half h)
{
	if (h == HALF_TICKETS)
		return e->tickets ? core_next_due(e->tickets) : SLA_TIME_NONE;
	return e->partners ? partners_next_due(e->partners) : SLA_TIME_NONE;
}

size_t engine_timer_count(const struct sla_engine *e, enum engine_half h)
{
	if (h == HALF_TICKETS)
		return e->tickets ? core_timer_count(e->tickets) : 0;
	return e->partners ? partners_timer_count(e->partners) : 0;
}
