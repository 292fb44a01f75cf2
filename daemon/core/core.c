/* core.c - the core object: tickets by id (idtable.c), their timers (deadlines.c), the processing clock, held events. Pure. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "core_internal.h"

static bool timer_live(const void *core, const struct deadline *e)
{
	return rules_timer_live(core, e);
}

void core_free(struct sla_core *core)
{
	if (!core)
		return;
	subjects_free(&core->s, ticket_free);
	calendar_free(&core->fallback_cal);
	strpool_drop(core->ids); /* freed with the last id an orphan still holds */
	free(core->spare);
	free(core);
}

struct sla_core *core_new(const struct sla_policy *pol, const struct calendar_set *cals)
{
	struct sla_core *core = calloc(1, sizeof(*core));
	if (!core)
		return NULL;
	core->pol = pol;
	core->cals = cals;
	calendar_init_cn(&core->fallback_cal);
	core->ids = strpool_new();
	if (!subjects_init(&core->s, 1024, offsetof(struct sla_ticket, ticket_id), timer_live, core) || !core->ids ||
	    !core->fallback_cal.offsets) {
		core_free(core);
		return NULL;
	}
	return core;
}

const struct calendar *core_calendar(struct sla_core *core, const char *id)
{
	const struct calendar *c = calendar_set_find(core->cals, id);
	return c ? c : &core->fallback_cal;
}

void core_set_config(struct sla_core *core, const struct sla_policy *pol, const struct calendar_set *cals)
{
	core->pol = pol;
	core->cals = cals;
	for (size_t i = 0; i < core->s.table.nslots; i++) {
		struct sla_ticket *t = core->s.table.slots[i];
		if (t)
			t->cal = core_calendar(core, t->calendar_id);
	}
}

struct sla_ticket *core_ticket_get(struct sla_core *core, const char *ticket_id)
{
	return idtable_get(&core->s.table, ticket_id);
}

const struct sla_ticket *core_find(const struct sla_core *core, const char *ticket_id)
{
	return idtable_get(&core->s.table, ticket_id);
}

bool core_ticket_put(struct sla_core *core, struct sla_ticket *t)
{
	return idtable_put(&core->s.table, t);
}

void core_set_history(struct sla_core *core, sla_history_fn fn, void *arg)
{
	core->history = fn;
	core->history_arg = arg;
}

size_t core_ticket_count(const struct sla_core *core)
{
	return core->s.table.count;
}

size_t core_timer_count(const struct sla_core *core)
{
	return core->s.timers.n;
}

bool core_timer_push(struct sla_core *core, sla_time at, struct sla_ticket *t, enum timer_kind kind, int idx)
{
	struct deadline e = {.at = at, .subject.ticket = t, .idx = idx, .kind = (int)kind};
	return deadlines_push(&core->s.timers, &e);
}

sla_time core_next_due(const struct sla_core *core)
{
	return deadlines_next(&core->s.timers);
}

/* Held events whose grace has passed: their ticket never came. */
static void expire_held(struct sla_core *core, struct sla_ticket *t, sla_time now, struct sla_out *out)
{
	int keep = 0;
	struct sla_ticket_more *x = t->more; /* NULL: nothing held */
	if (t->created || !x)
		return;
	for (int i = 0; i < x->nheld; i++) {
		struct sla_held *h = &x->held[i];
		if (h->expires_at <= now) {
			char detail[128];
			snprintf(detail, sizeof(detail), "ticket %s does not exist", t->ticket_id);
			(void)core_out_dead(out, h->topic, h->partition, h->offset, SV_UNKNOWN_TICKET, detail,
					    h->payload, h->len);
			free(h->payload);
		} else {
			x->held[keep++] = *h;
		}
	}
	if (keep != x->nheld) {
		x->nheld = keep;
		ticket_mark_dirty(out, t);
		/* Indices moved: re-arm the survivors. */
		for (int i = 0; i < x->nheld; i++)
			(void)core_timer_push(core, x->held[i].expires_at, t, TK_HELD, i);
	}
}

void core_advance(struct sla_core *core, sla_time now, struct sla_out *out)
{
	subjects_clock(&core->s, now);
	while (deadlines_due(&core->s.timers, now)) {
		struct deadline e = deadlines_pop(&core->s.timers);
		if (e.kind == TK_HELD)
			expire_held(core, e.subject.ticket, now, out);
		else
			rules_fire(core, &e, now, out);
	}
}

static int held_cmp(const void *a, const void *b)
{
	const struct sla_held *x = a, *y = b;
	if (x->occurred_at != y->occurred_at)
		return (x->occurred_at > y->occurred_at) - (x->occurred_at < y->occurred_at);
	return (x->offset > y->offset) - (x->offset < y->offset);
}

static enum sla_verdict hold_event(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev,
				   const struct sla_origin *origin, sla_time now, struct sla_out *out)
{
	struct sla_held h = {0};
	const struct sla_ticket_more *x = ticket_more(t);
	for (int i = 0; i < x->nheld; i++) {
		Slad__V1__Event *old = slad__v1__event__unpack(NULL, x->held[i].len, x->held[i].payload);
		bool dup = old && strcmp(old->event_id, ev->event_id) == 0;
		if (old)
			slad__v1__event__free_unpacked(old, NULL);
		if (dup)
			return SV_DUPLICATE;
	}
	str_copy(h.topic, sizeof(h.topic), origin && origin->topic ? origin->topic : "");
	h.partition = origin ? origin->partition : 0;
	h.offset = origin ? origin->offset : -1;
	h.occurred_at = ev->occurred_at;
	/* The grace counts from when it was held: on the processing clock the event came
	 * with (core_apply has only advanced to just before the event's own instant), so a
	 * batch synced late still gets it; and live, on the wall clock too. A partition's
	 * two topics are fetched apart: clock-ins may be applied, and the partition caught
	 * up (its clock jumping to the wall clock), a moment before their old work orders
	 * come in (docs/architecture.md, Ordering). */
	sla_time held_at = now > core->s.now ? now : core->s.now; /* SLA_TIME_NONE is the least */
	if (origin && origin->wall_at > 0 && origin->wall_at > held_at)
		held_at = origin->wall_at;
	h.expires_at = (held_at != SLA_TIME_NONE ? held_at : ev->occurred_at) + core->pol->lateness_allowed;
	h.len = protobuf_c_message_get_packed_size(&ev->base);
	h.payload = malloc(h.len ? h.len : 1);
	if (!h.payload)
		return SV_BAD_VALUE;
	protobuf_c_message_pack(&ev->base, h.payload);
	if (!ticket_add_held(t, &h)) {
		free(h.payload);
		return SV_BAD_VALUE;
	}
	(void)core_timer_push(core, h.expires_at, t, TK_HELD, t->more->nheld - 1); /* more: made by ticket_add_held */
	ticket_mark_dirty(out, t);
	return SV_HELD;
}

static void dead_letter(struct sla_out *out, const Slad__V1__Event *ev, const struct sla_origin *origin,
			enum sla_verdict v, const char *detail)
{
	uint8_t *packed = NULL;
	const uint8_t *payload = origin ? origin->payload : NULL;
	size_t len = origin ? origin->len : 0;
	if (!payload && ev) {
		len = protobuf_c_message_get_packed_size(&ev->base);
		packed = malloc(len ? len : 1);
		if (packed)
			protobuf_c_message_pack(&ev->base, packed);
		payload = packed;
		if (!packed)
			len = 0;
	}
	(void)core_out_dead(out, origin ? origin->topic : "", origin ? origin->partition : -1,
			    origin ? origin->offset : -1, v, detail, payload, len);
	free(packed);
}

/* Appends an applied event to its ticket's log, packed as it came when we have the bytes. */
static bool log_event(const struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev,
		      const struct sla_origin *origin)
{
	if (!t->log_complete || core->history)
		return true; /* the history source has it */
	if (origin && origin->payload)
		return ticket_log_event(t, origin->payload, origin->len);
	size_t len = protobuf_c_message_get_packed_size(&ev->base);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return false;
	protobuf_c_message_pack(&ev->base, buf);
	bool ok = ticket_log_event(t, buf, len);
	free(buf);
	return ok;
}

static enum sla_verdict apply_event(struct sla_core *core, const Slad__V1__Event *ev,
				    const struct sla_origin *origin, sla_time now, struct sla_out *out);

/* One event of a ticket being re-derived. */
struct seq_event {
	Slad__V1__Event *ev; /* decoded from the log; NULL for the new event (then `fresh`) */
	const Slad__V1__Event *fresh;
	const uint8_t *payload;
	size_t len;
	int idx; /* applied order: ties in event time keep it */
};

static const Slad__V1__Event *seq_ev(const struct seq_event *s)
{
	return s->ev ? s->ev : s->fresh;
}

static bool seq_has(const struct seq_event *evs, int n, const char *event_id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(evs[i].ev->event_id, event_id) == 0)
			return true;
	return false;
}

static int seq_cmp(const void *a, const void *b)
{
	const struct seq_event *x = a, *y = b;
	sla_time tx = seq_ev(x)->occurred_at, ty = seq_ev(y)->occurred_at;
	if (tx != ty)
		return (tx > ty) - (tx < ty);
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static const struct sla_violation *find_violation(const struct sla_ticket *t, const struct sla_violation *v)
{
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].code == v->code && t->vs[i].occurrence == v->occurrence &&
		    (v->code != RC_MILESTONE_LATE || t->vs[i].milestone == v->milestone))
			return &t->vs[i];
	return NULL;
}

static bool has_occurrence(const struct sla_ticket *t, const struct sla_milestone *m)
{
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == m->kind && t->ms[i].occurrence == m->occurrence)
			return true;
	return false;
}

/* What the re-derived ticket nt no longer has becomes an orphan (its
 * milestones CANCELLED, its violations RETRACTED at `now`, caused by the
 * late event); a violation both have whose status changed gets a history
 * entry at `now`, so that the latest history entry is the row's status. */
static bool reconcile(struct strpool *ids, const struct sla_ticket *old, const struct sla_ticket *nt,
		      const char *cause, sla_time now, struct sla_out *out)
{
	struct sla_ticket *orphan = NULL;
	for (int i = 0; i < old->nms; i++) {
		if (has_occurrence(nt, &old->ms[i]) || old->ms[i].status == MSS_CANCELLED)
			continue;
		if (!orphan && !(orphan = ticket_new(ids, old->ticket_id)))
			return false;
		struct sla_milestone *m = ticket_add_milestone(orphan, old->ms[i].kind);
		if (!m)
			goto fail;
		*m = old->ms[i];
		if (ms_part_id(old, i)[0] && !ticket_set_ms_key(ids, orphan, orphan->nms - 1, ms_part_id(old, i)))
			goto fail;
		m->status = MSS_CANCELLED;
		m->dirty = true;
	}
	for (int i = 0; i < old->nvs; i++) {
		const struct sla_violation *ov = &old->vs[i];
		const struct sla_violation *nv = find_violation(nt, ov);
		if (nv) {
			if (nv->status != ov->status && !out_history(out, nt, nv, now, cause))
				goto fail;
			continue;
		}
		if (ov->status == VS_RETRACTED)
			continue;
		if (!orphan && !(orphan = ticket_new(ids, old->ticket_id)))
			return false;
		struct sla_violation *v = ticket_add_violation(orphan, ov->code);
		if (!v)
			goto fail;
		*v = *ov;
		v->status = VS_RETRACTED;
		v->dirty = true;
		if (!out_history(out, orphan, v, now, cause))
			goto fail;
	}
	if (!orphan)
		return true;
	orphan->created = true;
	orphan->type = old->type;
	orphan->partner_id = strpool_dup(old->partner_id);
	if (out_orphan(out, orphan))
		return true;
fail:
	ticket_free(orphan);
	return false;
}

/* Moves entries [from, n) of a list of `size`-byte items from one output to another. */
static bool move_tail(void **dst, size_t *ndst, size_t *capdst, const void *src, size_t from, size_t n, size_t size)
{
	if (n <= from)
		return true;
	if (!array_grow_sz(dst, capdst, *ndst + (n - from), size))
		return false;
	memcpy((char *)*dst + *ndst * size, (const char *)src + from * size, (n - from) * size);
	*ndst += n - from;
	return true;
}

/* The events a ticket applied, decoded into evs[0..n-2] (from its log, or from
 * the archive into *fetched), and the late event ev as evs[n-1], sorted in
 * event-time order. False when one is missing or does not decode. */
static bool seq_load(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, struct seq_event *evs,
		     int n, uint8_t **fetched)
{
	size_t pos = 0, len = 0, loglen = ticket_more(t)->loglen;
	const uint8_t *p, *log = ticket_more(t)->log;
	int k = 0;
	if (core->history) {
		/* From the archive: the events the ticket applied, once each. */
		if (!core->history(core->history_arg, t->ticket_id, fetched, &loglen))
			return false;
		log = *fetched;
	}
	while (k < n - 1 && (p = log_next(log, loglen, &pos, &len)) != NULL) {
		char detail[128];
		if (event_decode(p, len, &evs[k].ev, detail, sizeof(detail)) != SV_APPLIED)
			return false;
		if (core->history && (!ticket_seen(t, evs[k].ev->event_id) || seq_has(evs, k, evs[k].ev->event_id))) {
			sla_event_free(evs[k].ev);
			evs[k].ev = NULL;
			continue;
		}
		evs[k].payload = p;
		evs[k].len = len;
		evs[k].idx = k;
		k++;
	}
	if (k != n - 1)
		return false; /* not every applied event is there */
	evs[k].fresh = ev;
	evs[k].idx = k;
	qsort(evs, (size_t)n, sizeof(*evs), seq_cmp);
	return true;
}

/* Applies the sorted events to a scratch core, its clock at each event's
 * instant, then advanced to now. *v is the late event's verdict, its dead
 * letters are tout->dead[*d0, *d1). NULL when out of memory. */
static struct sla_core *seq_replay(const struct sla_core *core, const struct sla_ticket *t,
				   const struct seq_event *evs, int n, const struct sla_origin *origin, sla_time now,
				   struct sla_out *tout, enum sla_verdict *v, size_t *d0, size_t *d1)
{
	struct sla_core *tmp = core_new(core->pol, core->cals);
	if (!tmp)
		return NULL;
	tmp->replaying = true;
	/* One pool: the re-derived ticket's ids move to this core with it. */
	strpool_drop(tmp->ids);
	tmp->ids = core->ids;
	strpool_hold(tmp->ids);
	tmp->history = core->history; /* the re-derived ticket keeps no log either */
	sla_time clock = SLA_TIME_NONE;
	*v = SV_APPLIED;
	for (int i = 0; i < n; i++) {
		const Slad__V1__Event *e = seq_ev(&evs[i]);
		if (clock == SLA_TIME_NONE || e->occurred_at > clock)
			clock = e->occurred_at;
		if (evs[i].fresh) {
			*d0 = tout->ndead;
			*v = core_apply(tmp, e, origin, clock, tout);
			*d1 = tout->ndead;
		} else {
			struct sla_origin o = {NULL, t->partition, -1, evs[i].payload, evs[i].len, 0};
			(void)core_apply(tmp, e, &o, clock, tout);
		}
	}
	if (now != SLA_TIME_NONE && now > clock)
		core_advance(tmp, now, tout);
	return tmp;
}

/* The bytes of the payloads of out's applied rows. */
static size_t applied_bytes(const struct sla_out *out)
{
	size_t n = 0;
	for (size_t i = 0; i < out->napplied; i++)
		n += out->applied[i].len;
	return n;
}

/* The re-derivation's rows move to out: its history, escalations and
 * engineer clock-ins, and the late event's applied row (applied now; the
 * others were written when they were first applied); what the new state
 * lacks is orphaned. Room first, so that nothing fails half-way once out
 * has been changed. */
static bool seq_take_rows(struct strpool *ids, struct sla_out *out, struct sla_out *tout, const struct sla_ticket *t,
			  const struct sla_ticket *nt, const Slad__V1__Event *ev, sla_time now)
{
	if (!array_grow_sz((void **)&out->hist, &out->caphist, out->nhist + tout->nhist + (size_t)t->nvs + 1,
			   sizeof(*out->hist)) ||
	    !array_grow_sz((void **)&out->esc, &out->capesc, out->nesc + tout->nesc + 1, sizeof(*out->esc)) ||
	    !array_grow_sz((void **)&out->eng, &out->capeng, out->neng + tout->neng + 1, sizeof(*out->eng)) ||
	    !array_grow_sz((void **)&out->applied, &out->capapplied, out->napplied + tout->napplied + 1,
			   sizeof(*out->applied)) ||
	    !array_grow_sz((void **)&out->orphans, &out->caporphans, out->norphans + 1, sizeof(*out->orphans)) ||
	    !out_bytes_reserve(out, applied_bytes(tout)) || !reconcile(ids, t, nt, ev->event_id, now, out))
		return false;
	if (!move_tail((void **)&out->hist, &out->nhist, &out->caphist, tout->hist, 0, tout->nhist,
		       sizeof(*out->hist)) ||
	    !move_tail((void **)&out->esc, &out->nesc, &out->capesc, tout->esc, 0, tout->nesc, sizeof(*out->esc)) ||
	    !move_tail((void **)&out->eng, &out->neng, &out->capeng, tout->eng, 0, tout->neng, sizeof(*out->eng)))
		return false; /* cannot fail: the room is there */
	for (size_t i = 0; i < tout->napplied; i++) {
		if (strcmp(tout->applied[i].event_id, ev->event_id) != 0)
			continue;
		tout->applied[i].applied_at = now;
		if (!move_tail((void **)&out->applied, &out->napplied, &out->capapplied, tout->applied, i, i + 1,
			       sizeof(*out->applied)))
			return false;
		/* Its payload is in tout's bytes, freed with tout: copied to out's. */
		struct sla_applied *a = &out->applied[out->napplied - 1];
		a->payload = memcpy(out_bytes_take(out, a->len), a->payload, a->len);
	}
	return true;
}

/* t takes nt's state; t's identity (the pointer the heap and the batch hold) stays. */
static void seq_adopt(struct sla_core *core, struct sla_ticket *t, struct sla_ticket *nt, struct sla_out *out)
{
	struct sla_ticket old = *t;
	*t = *nt;
	/* The re-derived milestones may have rows: they upsert (MS_WRITTEN). */
	for (int i = 0; i < t->nms; i++)
		t->ms[i].flags |= MS_WRITTEN;
	t->partition = old.partition;
	t->dirty = old.dirty;
	t->in_dirty = old.in_dirty;
	t->state_pending = old.state_pending;
	t->cal = core_calendar(core, t->calendar_id);
	/* sizeof may reach into ticket_id (padding): the id, the same, written again */
	memset(nt, 0, sizeof(*nt));
	memcpy(nt->ticket_id, t->ticket_id, strlen(t->ticket_id) + 1);
	nt->in_dirty = true; /* still listed in tout */
	ticket_release(&old);
	for (int i = 0; i < t->nms; i++)
		t->ms[i].dirty = true;
	for (int i = 0; i < t->nvs; i++)
		t->vs[i].dirty = true;
	ticket_mark_dirty(out, t);
	if (!rules_rearm(core, t)) {
		/* Out of memory: the timers come back with the next restore. */
	}
}

/*
 * Re-derives ticket t from its logged events and the late event ev, all in
 * event-time order, as `slactl replay` would have seen them: a scratch core
 * applies them with its clock at each event's instant, then moves to `now`.
 * The result replaces t's state (its timers re-armed here); rows the new
 * state lacks are orphaned (reconcile). Returns false when it cannot (a log
 * entry does not decode, out of memory): the caller applies ev the usual way.
 */
static bool resequence(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev,
		       const struct sla_origin *origin, sla_time now, struct sla_out *out, enum sla_verdict *verdict)
{
	int n = (core->history ? t->nseen : ticket_more(t)->nlog) + 1;
	uint8_t *fetched = NULL;
	if (core->history && t->nseen > TICKET_LOG_MAX_EVENTS)
		return false; /* bounded work per event, as the in-memory log is */
	struct seq_event *evs = calloc((size_t)n, sizeof(*evs));
	struct sla_core *tmp = NULL;
	struct sla_out tout;
	bool ok = false;
	core_out_init(&tout);
	if (!evs)
		return false;
	size_t d0 = 0, d1 = 0;
	enum sla_verdict v = SV_APPLIED;
	if (!seq_load(core, t, ev, evs, n, &fetched) ||
	    !(tmp = seq_replay(core, t, evs, n, origin, now, &tout, &v, &d0, &d1)))
		goto done;
	struct sla_ticket *nt = core_ticket_get(tmp, t->ticket_id);
	/* Held in event-time order (it predates the ticket's creation) and applied with it: applied. */
	if (v == SV_HELD && nt && nt->created && ticket_seen(nt, ev->event_id))
		v = SV_APPLIED;
	else if (v == SV_HELD)
		goto done;
	if (v != SV_APPLIED) {
		/* Rejected in event-time order too: the ticket stays as it was. */
		if (!move_tail((void **)&out->dead, &out->ndead, &out->capdead, tout.dead, d0, d1, sizeof(*out->dead)))
			goto done;
		for (size_t i = d0; i < d1; i++)
			tout.dead[i].payload = NULL; /* moved: owned by out now */
		*verdict = v;
		ok = true;
		goto done;
	}
	if (!nt || !nt->created || !seq_take_rows(core->ids, out, &tout, t, nt, ev, now))
		goto done;
	seq_adopt(core, t, nt, out);
	*verdict = SV_APPLIED;
	ok = true;
done:
	core_out_free(&tout);
	core_free(tmp);
	for (int i = 0; i < n; i++)
		if (evs[i].ev)
			sla_event_free(evs[i].ev);
	free(evs);
	free(fetched);
	return ok;
}

static enum sla_verdict apply_event(struct sla_core *core, const Slad__V1__Event *ev,
				    const struct sla_origin *origin, sla_time now, struct sla_out *out)
{
	char detail[256];
	detail[0] = '\0'; /* a string (dead letters copy it as one): no need to clear all 256 bytes */
	enum sla_verdict v;
	if (ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT)
		return SV_APPLIED; /* partner assessment is scored by its own consumer */

	struct sla_ticket *t = core_ticket_get(core, ev->ticket_id);
	bool creating = ev->type == SLAD__V1__EVENT_TYPE__TICKET_CREATED;
	if (!t) {
		t = ticket_new(core->ids, ev->ticket_id);
		if (!t || !core_ticket_put(core, t)) {
			ticket_free(t);
			dead_letter(out, ev, origin, SV_BAD_VALUE, "out of memory");
			return SV_BAD_VALUE;
		}
		t->partition = origin ? origin->partition : 0;
	}
	if (ticket_seen(t, ev->event_id))
		return SV_DUPLICATE;
	if (t->archived) {
		snprintf(detail, sizeof(detail), "ticket %s is archived", t->ticket_id);
		dead_letter(out, ev, origin, SV_TOO_LATE, detail);
		return SV_TOO_LATE;
	}
	if (!t->created && !creating)
		return hold_event(core, t, ev, origin, now, out);
	if (creating && ev->ticket_created->calendar_id && ev->ticket_created->calendar_id[0] && core->cals &&
	    core->cals->ncals && !calendar_set_find(core->cals, ev->ticket_created->calendar_id)) {
		snprintf(detail, sizeof(detail), "unknown calendar_id %s", ev->ticket_created->calendar_id);
		dead_letter(out, ev, origin, SV_BAD_VALUE, detail);
		return SV_BAD_VALUE;
	}

	/* A work-order event older than what the ticket has applied already (a
	 * work-order backlog delivered after the clock-ins): replay the ticket. */
	if (!core->replaying && ev->type != SLAD__V1__EVENT_TYPE__CLOCK_IN && t->log_complete && t->last_at != SLA_TIME_NONE &&
	    ev->occurred_at < t->last_at && resequence(core, t, ev, origin, now, out, &v))
		return v;

	v = rules_apply(core, t, ev, now, out, detail, sizeof(detail));
	if (v != SV_APPLIED) {
		dead_letter(out, ev, origin, v, detail);
		return v;
	}
	if (!ticket_add_seen(t, ev->event_id)) {
		dead_letter(out, ev, origin, SV_BAD_VALUE, "out of memory");
		return SV_BAD_VALUE;
	}
	(void)out_applied(out, ev, origin, now);
	if (!log_event(core, t, ev, origin))
		t->log_complete = false; /* out of memory: no re-derivation for this ticket */
	if (t->last_at == SLA_TIME_NONE || ev->occurred_at > t->last_at)
		t->last_at = ev->occurred_at;

	if (creating && ticket_more(t)->nheld) {
		/* Events that came before their ticket: apply them now, in event-time order. */
		struct sla_held *held = t->more->held;
		int n = t->more->nheld;
		t->more->held = NULL;
		t->more->nheld = t->more->capheld = 0;
		qsort(held, (size_t)n, sizeof(*held), held_cmp);
		for (int i = 0; i < n; i++) {
			struct sla_origin o = {held[i].topic, held[i].partition, held[i].offset, held[i].payload,
					       held[i].len, 0};
			(void)core_apply_raw(core, &o, now, out);
			free(held[i].payload);
		}
		free(held);
	}
	return SV_APPLIED;
}

enum sla_verdict core_apply(struct sla_core *core, const Slad__V1__Event *ev, const struct sla_origin *origin,
			    sla_time now, struct sla_out *out)
{
	/* Every field is checked before anything is applied or any timer fires for it. */
	char detail[256];
	detail[0] = '\0';
	enum sla_verdict v = event_check(ev, detail, sizeof(detail));
	if (v != SV_APPLIED) {
		core_advance(core, now, out);
		dead_letter(out, ev, origin, v, detail);
		return v;
	}
	/* Timers before the event's instant fire first; an event at a due instant is on time,
	 * and the timers from its instant up to `now` fire after it. */
	sla_time before = ev->occurred_at - 1;
	core_advance(core, now < before ? now : before, out);
	v = apply_event(core, ev, origin, now, out);
	core_advance(core, now, out);
	return v;
}

enum sla_verdict core_apply_raw(struct sla_core *core, const struct sla_origin *origin, sla_time now,
				struct sla_out *out)
{
	char detail[256];
	detail[0] = '\0';
	Slad__V1__Event *ev = NULL;
	enum sla_verdict v = event_decode_in(origin->payload, origin->len, &core->spare, &ev, detail, sizeof(detail));
	if (v != SV_APPLIED) {
		core_advance(core, now, out);
		(void)core_out_dead(out, origin->topic, origin->partition, origin->offset, v, detail, origin->payload,
				    origin->len);
		return v;
	}
	v = core_apply(core, ev, origin, now, out);
	sla_event_recycle(ev, &core->spare);
	return v;
}
