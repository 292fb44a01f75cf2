/* core.c - the core object: tickets by id, the timer heap, the processing clock, held events. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

static uint64_t hash_id(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct sla_core *core_new(const struct sla_policy *pol, const struct calendar_set *cals)
{
	struct sla_core *core = calloc(1, sizeof(*core));
	if (!core)
		return NULL;
	core->pol = pol;
	core->cals = cals;
	calendar_init_cn(&core->fallback_cal);
	core->nslots = 1024;
	core->slots = calloc(core->nslots, sizeof(*core->slots));
	if (!core->slots || !core->fallback_cal.offsets) {
		core_free(core);
		return NULL;
	}
	core->now = SLA_TIME_NONE;
	return core;
}

void core_free(struct sla_core *core)
{
	if (!core)
		return;
	for (size_t i = 0; core->slots && i < core->nslots; i++)
		ticket_free(core->slots[i]);
	free(core->slots);
	free(core->heap);
	calendar_free(&core->fallback_cal);
	free(core);
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
	for (size_t i = 0; i < core->nslots; i++)
		if (core->slots[i])
			core->slots[i]->cal = core_calendar(core, core->slots[i]->calendar_id);
}

struct sla_ticket *core_ticket_get(struct sla_core *core, const char *ticket_id)
{
	size_t mask = core->nslots - 1;
	for (size_t i = hash_id(ticket_id) & mask;; i = (i + 1) & mask) {
		struct sla_ticket *t = core->slots[i];
		if (!t)
			return NULL;
		if (strcmp(t->ticket_id, ticket_id) == 0)
			return t;
	}
}

const struct sla_ticket *core_find(const struct sla_core *core, const char *ticket_id)
{
	return core_ticket_get((struct sla_core *)core, ticket_id);
}

static void slots_insert(struct sla_ticket **slots, size_t nslots, struct sla_ticket *t)
{
	size_t mask = nslots - 1;
	size_t i = hash_id(t->ticket_id) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = t;
}

bool core_ticket_put(struct sla_core *core, struct sla_ticket *t)
{
	if ((core->ntickets + 1) * 10 > core->nslots * 7) {
		size_t n = core->nslots * 2;
		struct sla_ticket **slots = calloc(n, sizeof(*slots));
		if (!slots)
			return false;
		for (size_t i = 0; i < core->nslots; i++)
			if (core->slots[i])
				slots_insert(slots, n, core->slots[i]);
		free(core->slots);
		core->slots = slots;
		core->nslots = n;
	}
	slots_insert(core->slots, core->nslots, t);
	core->ntickets++;
	return true;
}

size_t core_ticket_count(const struct sla_core *core)
{
	return core->ntickets;
}

size_t core_timer_count(const struct sla_core *core)
{
	return core->nheap;
}

static bool entry_before(const struct timer_entry *a, const struct timer_entry *b)
{
	return a->at < b->at;
}

bool core_timer_push(struct sla_core *core, sla_time at, struct sla_ticket *t, enum timer_kind kind, int idx)
{
	if (core->nheap == core->capheap) {
		size_t n = core->capheap ? core->capheap * 2 : 256;
		struct timer_entry *h = realloc(core->heap, n * sizeof(*h));
		if (!h)
			return false;
		core->heap = h;
		core->capheap = n;
	}
	struct timer_entry e = {at, t, idx, kind};
	size_t i = core->nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!entry_before(&e, &core->heap[p]))
			break;
		core->heap[i] = core->heap[p];
		i = p;
	}
	core->heap[i] = e;
	return true;
}

static struct timer_entry timer_pop(struct sla_core *core)
{
	struct timer_entry top = core->heap[0];
	struct timer_entry last = core->heap[--core->nheap];
	size_t i = 0, n = core->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && entry_before(&core->heap[c + 1], &core->heap[c]))
			c++;
		if (!entry_before(&core->heap[c], &last))
			break;
		core->heap[i] = core->heap[c];
		i = c;
	}
	if (n)
		core->heap[i] = last;
	return top;
}

sla_time core_next_due(const struct sla_core *core)
{
	return core->nheap ? core->heap[0].at : SLA_TIME_NONE;
}

/* Held events whose grace has passed: their ticket never came. */
static void expire_held(struct sla_core *core, struct sla_ticket *t, sla_time now, struct sla_out *out)
{
	int keep = 0;
	if (t->created)
		return;
	for (int i = 0; i < t->nheld; i++) {
		struct sla_held *h = &t->held[i];
		if (h->expires_at <= now) {
			char detail[128];
			snprintf(detail, sizeof(detail), "ticket %s does not exist", t->ticket_id);
			(void)core_out_dead(out, h->topic, h->partition, h->offset, SV_UNKNOWN_TICKET, detail,
					    h->payload, h->len);
			free(h->payload);
		} else {
			t->held[keep++] = *h;
		}
	}
	if (keep != t->nheld) {
		t->nheld = keep;
		ticket_mark_dirty(out, t);
		/* Indices moved: re-arm the survivors. */
		for (int i = 0; i < t->nheld; i++)
			(void)core_timer_push(core, t->held[i].expires_at, t, TK_HELD, i);
	}
}

void core_advance(struct sla_core *core, sla_time now, struct sla_out *out)
{
	if (core->now == SLA_TIME_NONE || now > core->now)
		core->now = now;
	while (core->nheap && core->heap[0].at <= now) {
		struct timer_entry e = timer_pop(core);
		if (e.kind == TK_HELD)
			expire_held(core, e.t, now, out);
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
				   const struct sla_origin *origin, struct sla_out *out)
{
	struct sla_held h = {0};
	for (int i = 0; i < t->nheld; i++) {
		Slad__V1__Event *old = slad__v1__event__unpack(NULL, t->held[i].len, t->held[i].payload);
		bool dup = old && strcmp(old->event_id, ev->event_id) == 0;
		if (old)
			slad__v1__event__free_unpacked(old, NULL);
		if (dup)
			return SV_DUPLICATE;
	}
	snprintf(h.topic, sizeof(h.topic), "%s", origin && origin->topic ? origin->topic : "");
	h.partition = origin ? origin->partition : 0;
	h.offset = origin ? origin->offset : -1;
	h.occurred_at = ev->occurred_at;
	/* The grace counts from when it was held: a batch synced late still gets it. */
	h.expires_at = (core->now != SLA_TIME_NONE ? core->now : ev->occurred_at) + core->pol->lateness_allowed;
	h.len = protobuf_c_message_get_packed_size(&ev->base);
	h.payload = malloc(h.len ? h.len : 1);
	if (!h.payload)
		return SV_BAD_VALUE;
	protobuf_c_message_pack(&ev->base, h.payload);
	if (!ticket_add_held(t, &h)) {
		free(h.payload);
		return SV_BAD_VALUE;
	}
	(void)core_timer_push(core, h.expires_at, t, TK_HELD, t->nheld - 1);
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

static enum sla_verdict apply_event(struct sla_core *core, const Slad__V1__Event *ev,
				    const struct sla_origin *origin, sla_time now, struct sla_out *out)
{
	char detail[256] = "";
	enum sla_verdict v = event_check(ev, detail, sizeof(detail));
	if (v != SV_APPLIED) {
		dead_letter(out, ev, origin, v, detail);
		return v;
	}
	if (ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT)
		return SV_APPLIED; /* partner assessment is scored by its own consumer */

	struct sla_ticket *t = core_ticket_get(core, ev->ticket_id);
	bool creating = ev->type == SLAD__V1__EVENT_TYPE__TICKET_CREATED;
	if (!t) {
		t = ticket_new(ev->ticket_id);
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
		return hold_event(core, t, ev, origin, out);
	if (creating && ev->ticket_created->calendar_id && ev->ticket_created->calendar_id[0] && core->cals &&
	    core->cals->ncals && !calendar_set_find(core->cals, ev->ticket_created->calendar_id)) {
		snprintf(detail, sizeof(detail), "unknown calendar_id %s", ev->ticket_created->calendar_id);
		dead_letter(out, ev, origin, SV_BAD_VALUE, detail);
		return SV_BAD_VALUE;
	}

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

	if (creating && t->nheld) {
		/* Events that came before their ticket: apply them now, in event-time order. */
		struct sla_held *held = t->held;
		int n = t->nheld;
		t->held = NULL;
		t->nheld = t->capheld = 0;
		qsort(held, (size_t)n, sizeof(*held), held_cmp);
		for (int i = 0; i < n; i++) {
			struct sla_origin o = {held[i].topic, held[i].partition, held[i].offset, held[i].payload,
					       held[i].len};
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
	/* Timers before the event's instant fire first; an event at a due instant is on time,
	 * and the timers from its instant up to `now` fire after it. */
	sla_time before = ev->occurred_at - 1;
	core_advance(core, now < before ? now : before, out);
	enum sla_verdict v = apply_event(core, ev, origin, now, out);
	core_advance(core, now, out);
	return v;
}

enum sla_verdict core_apply_raw(struct sla_core *core, const struct sla_origin *origin, sla_time now,
				struct sla_out *out)
{
	char detail[256] = "";
	Slad__V1__Event *ev = NULL;
	enum sla_verdict v = event_decode(origin->payload, origin->len, &ev, detail, sizeof(detail));
	if (v != SV_APPLIED) {
		core_advance(core, now, out);
		(void)core_out_dead(out, origin->topic, origin->partition, origin->offset, v, detail, origin->payload,
				    origin->len);
		return v;
	}
	v = core_apply(core, ev, origin, now, out);
	slad__v1__event__free_unpacked(ev, NULL);
	return v;
}
