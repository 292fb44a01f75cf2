/* ticket.c - one ticket's state: growth of its arrays, names of states, the output lists. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "core_internal.h"

const struct sla_ticket_more sla_ticket_more_none = {
	.service_start_at = SLA_TIME_NONE,
	.service_end_at = SLA_TIME_NONE,
	.po_start_at = SLA_TIME_NONE,
	.planned_start_at = SLA_TIME_NONE,
	.required_skill_level = -1,
	.person_days = -1,
	.risk_score = -1,
	.shift_start_min = 9 * 60,
	.shift_end_min = 18 * 60,
	.first_arrive_at = SLA_TIME_NONE,
	.reservation_at = SLA_TIME_NONE,
	.reservation_appoint = SLA_TIME_NONE,
	.visit_arrive_at = SLA_TIME_NONE,
	.plan_approved_at = SLA_TIME_NONE,
	.close_requested_at = SLA_TIME_NONE,
	.att_next_day = INT64_MIN,
};

struct sla_ticket *ticket_new(struct strpool *ids, const char *ticket_id)
{
	size_t len = strnlen(ticket_id, SLA_ID_MAX);
	/* Up to the id's NUL, not sizeof + the id: its padding holds the first
	 * bytes of the id (B3: a smaller malloc chunk). Never less than sizeof:
	 * the core copies a ticket by value (seq_adopt). */
	size_t size = offsetof(struct sla_ticket, ticket_id) + len + 1;
	struct sla_ticket *t = calloc(1, size > sizeof(*t) ? size : sizeof(*t));
	if (!t)
		return NULL;
	memcpy(t->ticket_id, ticket_id, len); /* NUL: calloc */
	t->partner_id = t->engineer_id = t->product_line = strpool_empty;
	t->calendar_id = strpool_intern(ids, "CN", CAL_ID_MAX);
	if (!t->calendar_id) {
		free(t);
		return NULL;
	}
	t->created_at = t->closed_at = t->updated_at = SLA_TIME_NONE;
	t->required_arrival_at = SLA_TIME_NONE;
	t->first_dispatched_at = t->first_assigned_at = SLA_TIME_NONE;
	t->last_assigned_at = SLA_TIME_NONE;
	t->archive_at = SLA_TIME_NONE;
	t->last_at = SLA_TIME_NONE;
	t->log_complete = true;
	return t;
}

struct sla_ticket_more *ticket_more_mut(struct sla_ticket *t)
{
	if (!t->more) {
		t->more = malloc(sizeof(*t->more));
		if (t->more)
			*t->more = sla_ticket_more_none;
	}
	return t->more;
}

bool ticket_set_ms_key(struct strpool *ids, struct sla_ticket *t, int i, const char *key)
{
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return false;
	if (i >= m->nkeys) {
		const char **keys = realloc(m->ms_keys, (size_t)(i + 1) * sizeof(*keys));
		if (!keys)
			return false;
		for (int k = m->nkeys; k <= i; k++)
			keys[k] = strpool_empty;
		m->ms_keys = keys;
		m->nkeys = i + 1;
	}
	return strpool_set(ids, &m->ms_keys[i], key, SLA_ID_MAX);
}

/* Frees *p and forgets it (p: the address of a list pointer, as array_grow takes). */
static void free_list(void **p)
{
	free(*p);
	*p = NULL;
}

/* Frees what an archived ticket no longer needs (ticket_compact) and what
 * ticket_release frees besides: the lists, their interned ids, the event log. */
static void free_lists(struct sla_ticket *t)
{
	free_list((void **)&t->ms);
	free_list((void **)&t->vs);
	t->nms = t->capms = t->nvs = t->capvs = 0;
	struct sla_ticket_more *m = t->more;
	if (!m)
		return;
	for (int i = 0; i < m->nclocks; i++)
		strpool_release(m->clocks[i].engineer_id);
	for (int i = 0; i < m->nkeys; i++)
		strpool_release(m->ms_keys[i]);
	free_list((void **)&m->ms_keys);
	m->nkeys = 0;
	free_list((void **)&m->auths);
	free_list((void **)&m->clocks);
	free_list((void **)&m->att);
	free_list((void **)&m->log);
	m->nauths = m->capauths = 0;
	m->nclocks = m->capclocks = m->natt = m->capatt = 0;
	m->loglen = m->logcap = 0;
	m->nlog = 0;
}

void ticket_release(struct sla_ticket *t)
{
	strpool_release(t->partner_id);
	strpool_release(t->engineer_id);
	strpool_release(t->calendar_id);
	strpool_release(t->product_line);
	free_lists(t);
	if (t->more) {
		for (int i = 0; i < t->more->nheld; i++)
			free(t->more->held[i].payload);
		free(t->more->held);
		free(t->more);
		t->more = NULL;
	}
	free(t->seen);
}

void ticket_free(void *ticket)
{
	struct sla_ticket *t = ticket;
	if (!t)
		return;
	ticket_release(t);
	free(t);
}

bool ticket_log_event(struct sla_ticket *t, const uint8_t *payload, size_t len)
{
	if (!t->log_complete)
		return true;
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return false;
	if (m->nlog >= TICKET_LOG_MAX_EVENTS || m->loglen + 4 + len > TICKET_LOG_MAX_BYTES) {
		/* A very long-lived ticket (resident service): keep its state small; its
		 * late events are handled by the rules alone. */
		free(m->log);
		m->log = NULL;
		m->loglen = m->logcap = 0;
		m->nlog = 0;
		t->log_complete = false;
		return true;
	}
	if (!m->log || m->loglen + 4 + len > m->logcap) {
		size_t cap = m->logcap ? m->logcap : 256;
		while (cap < m->loglen + 4 + len)
			cap *= 2;
		uint8_t *p = realloc(m->log, cap);
		if (!p)
			return false;
		m->log = p;
		m->logcap = cap;
	}
	uint32_t n = (uint32_t)len;
	for (int i = 0; i < 4; i++)
		m->log[m->loglen++] = (uint8_t)(n >> (8 * i));
	memcpy(m->log + m->loglen, payload, len);
	m->loglen += len;
	m->nlog++;
	return true;
}

const uint8_t *ticket_log_next(const struct sla_ticket *t, size_t *pos, size_t *len)
{
	return log_next(ticket_more(t)->log, ticket_more(t)->loglen, pos, len);
}

const uint8_t *log_next(const uint8_t *log, size_t loglen, size_t *pos, size_t *len)
{
	if (!log || *pos + 4 > loglen)
		return NULL;
	uint32_t n = 0;
	for (int i = 0; i < 4; i++)
		n |= (uint32_t)log[*pos + (size_t)i] << (8 * i);
	if (n > loglen - *pos - 4)
		return NULL;
	const uint8_t *p = log + *pos + 4;
	*pos += 4 + (size_t)n;
	*len = n;
	return p;
}

bool out_orphan(struct sla_out *out, struct sla_ticket *orphan)
{
	if (!array_grow_sz((void **)&out->orphans, &out->caporphans, out->norphans + 1, sizeof(*out->orphans)))
		return false;
	out->orphans[out->norphans++] = orphan;
	return true;
}

/* t->seen holds each id as [length byte][the id][NUL]: ids are at most
 * SLA_ID_MAX (64) bytes, and a lookup skips an id without reading it. */
const char *ticket_seen_next(const struct sla_ticket *t, size_t *pos)
{
	if (*pos >= t->seenlen)
		return NULL;
	const char *id = t->seen + *pos + 1;
	*pos += (size_t)(uint8_t)t->seen[*pos] + 2;
	return id;
}

bool ticket_seen(const struct sla_ticket *t, const char *event_id)
{
	size_t n = strlen(event_id);
	if (n > SLA_ID_MAX)
		return false;
	for (size_t pos = 0; pos < t->seenlen;) {
		size_t len = (uint8_t)t->seen[pos];
		if (len == n && memcmp(t->seen + pos + 1, event_id, n) == 0)
			return true;
		pos += len + 2;
	}
	return false;
}

bool ticket_add_seen(struct sla_ticket *t, const char *event_id)
{
	size_t n = strnlen(event_id, SLA_ID_MAX), need = (size_t)t->seenlen + n + 2, cap = t->capseen;
	/* Room for a few ids at once (most tickets see a handful of events),
	 * 48 bytes exactly (a 64-byte malloc chunk, B3), then doubling; 32-bit
	 * lengths (B3): 4 GiB of ids, some 60 million events, is out of memory. */
	if (need > UINT32_MAX / 2 || !array_grow_from((void **)&t->seen, &cap, need, 1, 48))
		return false;
	t->capseen = (uint32_t)cap;
	t->seen[t->seenlen] = (char)(uint8_t)n;
	memcpy(t->seen + t->seenlen + 1, event_id, n);
	t->seen[t->seenlen + 1 + n] = '\0';
	t->seenlen += (uint32_t)(n + 2);
	t->nseen++;
	return true;
}

struct sla_milestone *ticket_add_milestone(struct sla_ticket *t, enum sla_milestone_kind kind)
{
	int occ = 1;
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == kind)
			occ++;
	struct sla_milestone *m = array_insert((void **)&t->ms, &t->nms, &t->capms, t->nms, sizeof(*t->ms));
	if (!m)
		return NULL;
	m->kind = kind;
	m->occurrence = occ;
	m->status = MSS_PENDING;
	m->started_at = m->due_at = m->stopped_at = SLA_TIME_NONE;
	m->dirty = true;
	return m;
}

/* How many violations of `code` the ticket has. */
static int count_code(const struct sla_ticket *t, enum sla_rule_code code)
{
	int n = 0;
	for (int i = 0; i < t->nvs; i++)
		n += t->vs[i].code == code;
	return n;
}

struct sla_violation *ticket_add_violation(struct sla_ticket *t, enum sla_rule_code code)
{
	/* A MILESTONE_LATE is told apart by its milestone: occurrence 1 each. */
	int occ = code == RC_MILESTONE_LATE ? 1 : count_code(t, code) + 1;
	struct sla_violation *v = array_insert((void **)&t->vs, &t->nvs, &t->capvs, t->nvs, sizeof(*t->vs));
	if (!v)
		return NULL;
	v->code = code;
	v->occurrence = occ;
	v->due_at = v->observed_at = v->detected_at = v->confirm_at = SLA_TIME_NONE;
	strcpy(v->details, "{}");
	v->dirty = true;
	return v;
}

bool ticket_add_auth(struct sla_ticket *t, const struct sla_auth *a)
{
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return false;
	struct sla_auth *slot = array_insert((void **)&m->auths, &m->nauths, &m->capauths, m->nauths, sizeof(*a));
	if (slot)
		*slot = *a;
	return slot != NULL;
}

bool ticket_add_clock(struct sla_ticket *t, const struct sla_clock *c)
{
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return false;
	int i = m->nclocks;
	/* Insertion keeps event-time order; equal times keep arrival order. */
	while (i > 0 && m->clocks[i - 1].at > c->at)
		i--;
	struct sla_clock *slot = array_insert((void **)&m->clocks, &m->nclocks, &m->capclocks, i, sizeof(*c));
	if (slot)
		*slot = *c;
	return slot != NULL;
}

struct sla_attendance *ticket_attendance(struct sla_ticket *t, int64_t day)
{
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m)
		return NULL;
	int i = 0;
	while (i < m->natt && m->att[i].day < day)
		i++;
	if (i < m->natt && m->att[i].day == day)
		return &m->att[i];
	struct sla_attendance *a = array_insert((void **)&m->att, &m->natt, &m->capatt, i, sizeof(*m->att));
	if (a)
		*a = (struct sla_attendance){day, SLA_TIME_NONE, SLA_TIME_NONE, false, false};
	return a;
}

bool out_escalation(struct sla_out *out, const struct sla_ticket *t, const struct sla_milestone *m,
		    enum sla_esc_level level, sla_time at)
{
	if (!array_grow_sz((void **)&out->esc, &out->capesc, out->nesc + 1, sizeof(*out->esc)))
		return false;
	struct sla_escalation *e = &out->esc[out->nesc++];
	memset(e, 0, sizeof(*e));
	str_copy(e->ticket_id, sizeof(e->ticket_id), t->ticket_id);
	str_copy(e->partner_id, sizeof(e->partner_id), t->partner_id);
	str_copy(e->engineer_id, sizeof(e->engineer_id), t->engineer_id);
	e->milestone = m->kind;
	e->occurrence = m->occurrence;
	e->level = level;
	e->partition = t->partition;
	e->at = at;
	e->due_at = m->due_at;
	return true;
}

bool ticket_add_held(struct sla_ticket *t, const struct sla_held *h)
{
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m || !array_grow((void **)&m->held, &m->capheld, m->nheld + 1, sizeof(*m->held)))
		return false;
	m->held[m->nheld++] = *h;
	return true;
}

void ticket_mark_dirty(struct sla_out *out, struct sla_ticket *t)
{
	t->dirty = true;
	if (t->in_dirty)
		return;
	if (!array_grow_sz((void **)&out->dirty, &out->capdirty, out->ndirty + 1, sizeof(*out->dirty)))
		return; /* the ticket stays dirty and is written with the next batch that lists it */
	/* Room for it in `pending` too, so that core_out_clear cannot fail. */
	if (out->defer_state &&
	    !array_grow_sz((void **)&out->pending, &out->cappending, out->npending + out->ndirty + 1,
			   sizeof(*out->pending)))
		return;
	out->dirty[out->ndirty++] = t;
	t->in_dirty = true;
}

bool out_history(struct sla_out *out, const struct sla_ticket *t, const struct sla_violation *v, sla_time at,
		 const char *cause_event_id)
{
	if (!array_grow_sz((void **)&out->hist, &out->caphist, out->nhist + 1, sizeof(*out->hist)))
		return false;
	struct sla_history *h = &out->hist[out->nhist++];
	str_copy(h->ticket_id, sizeof(h->ticket_id), t->ticket_id);
	violation_code(v, h->rule_code, sizeof(h->rule_code));
	h->occurrence = v->occurrence;
	h->status = v->status;
	h->changed_at = at;
	str_copy(h->cause_event_id, sizeof(h->cause_event_id), cause_event_id ? cause_event_id : "");
	return true;
}

void core_out_init(struct sla_out *out)
{
	memset(out, 0, sizeof(*out));
}

void ticket_compact(struct sla_ticket *t)
{
	if (!t->archived)
		return;
	free_lists(t);
	t->log_complete = false;
}

/* The applied events' payloads: a block holds OUT_BYTES bytes, or one larger payload. */
enum { OUT_BYTES = 16 * 1024 };

struct sla_bytes {
	struct sla_bytes *next;
	size_t used, cap;
	uint8_t data[];
};

static void free_bytes(struct sla_bytes *b)
{
	while (b) {
		struct sla_bytes *next = b->next;
		free(b);
		b = next;
	}
}

bool out_bytes_reserve(struct sla_out *out, size_t len)
{
	struct sla_bytes *b = out->bytes;
	if (b && b->cap - b->used >= len)
		return true;
	size_t cap = len > OUT_BYTES ? len : OUT_BYTES;
	struct sla_bytes *n = malloc(sizeof(*n) + cap);
	if (!n)
		return false;
	n->next = b;
	n->used = 0;
	n->cap = cap;
	out->bytes = n;
	return true;
}

uint8_t *out_bytes_take(struct sla_out *out, size_t len)
{
	uint8_t *p = out->bytes->data + out->bytes->used;
	out->bytes->used += len;
	return p;
}

void core_out_clear(struct sla_out *out)
{
	for (size_t i = 0; i < out->ndirty; i++) {
		struct sla_ticket *t = out->dirty[i];
		t->dirty = t->in_dirty = false;
		/* Not written with this batch: its state waits for the next checkpoint. */
		if (out->defer_state && out->nstates == 0 && !t->state_pending) {
			t->state_pending = true;
			out->pending[out->npending++] = t; /* room made by ticket_mark_dirty */
		}
		for (int j = 0; j < t->nms; j++) {
			t->ms[j].dirty = false;
			t->ms[j].flags |= MS_WRITTEN;
		}
		for (int j = 0; j < t->nvs; j++)
			t->vs[j].dirty = false;
		/* An archived ticket's rows are written: keep only its tombstone. */
		ticket_compact(t);
	}
	for (size_t i = 0; i < out->ndead; i++)
		free(out->dead[i].payload);
	/* The payloads: the newest block stays for the next batch. */
	if (out->bytes) {
		free_bytes(out->bytes->next);
		out->bytes->next = NULL;
		out->bytes->used = 0;
	}
	for (size_t i = 0; i < out->norphans; i++)
		ticket_free(out->orphans[i]);
	out->norphans = 0;
	if (out->nstates > 0) {
		/* A checkpoint: every pending state was written with it. */
		for (size_t i = 0; i < out->nstates; i++)
			out->states[i]->state_pending = false;
		out->nstates = out->npending = 0;
	}
	out->ndirty = out->nhist = out->ndead = out->nesc = out->napplied = out->neng = 0;
}

void core_out_free(struct sla_out *out)
{
	core_out_clear(out);
	free_bytes(out->bytes);
	void *lists[] = {out->dirty, out->hist,	   out->dead,	out->esc,     out->applied,
			 out->eng,   out->orphans, out->states, out->pending};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		free(lists[i]);
	memset(out, 0, sizeof(*out));
}

bool core_out_take_states(struct sla_out *out)
{
	if (!array_grow_sz((void **)&out->states, &out->capstates, out->nstates + out->npending + out->ndirty + 1,
			   sizeof(*out->states)))
		return false;
	for (size_t i = 0; i < out->npending; i++)
		out->states[out->nstates++] = out->pending[i];
	for (size_t i = 0; i < out->ndirty; i++)
		if (!out->dirty[i]->state_pending) {
			out->dirty[i]->state_pending = true; /* listed once */
			out->states[out->nstates++] = out->dirty[i];
		}
	return true;
}

static void forget_in(struct sla_ticket **list, size_t *n, int32_t partition)
{
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (list[i]->partition != partition)
			list[k++] = list[i];
	*n = k;
}

void core_out_forget_partition(struct sla_out *out, int32_t partition)
{
	forget_in(out->dirty, &out->ndirty, partition);
	forget_in(out->pending, &out->npending, partition);
	forget_in(out->states, &out->nstates, partition);
}

bool out_applied(struct sla_out *out, const Slad__V1__Event *ev, const struct sla_origin *origin, sla_time now)
{
	if (!array_grow_sz((void **)&out->applied, &out->capapplied, out->napplied + 1, sizeof(*out->applied)))
		return false;
	/* Every member is set below (the ids' arrays past their NUL need not be cleared). */
	struct sla_applied *a = &out->applied[out->napplied];
	str_copy(a->ticket_id, sizeof(a->ticket_id), ev->ticket_id);
	str_copy(a->event_id, sizeof(a->event_id), ev->event_id);
	a->type = (int)ev->type;
	a->occurred_at = ev->occurred_at;
	a->applied_at = now;
	str_copy(a->topic, sizeof(a->topic), origin && origin->topic ? origin->topic : "");
	a->partition = origin ? origin->partition : -1;
	a->offset = origin ? origin->offset : -1;
	/* The bytes as they came when we have them: packing again costs more than the rest. */
	a->len = origin && origin->payload ? origin->len : protobuf_c_message_get_packed_size(&ev->base);
	if (!out_bytes_reserve(out, a->len))
		return false;
	a->payload = out_bytes_take(out, a->len);
	if (origin && origin->payload)
		memcpy(a->payload, origin->payload, a->len);
	else
		protobuf_c_message_pack(&ev->base, a->payload);
	out->napplied++;
	return true;
}

bool out_engclock(struct sla_out *out, const struct sla_ticket *t, const char *engineer_id, const char *event_id,
		  const char *kind, sla_time at)
{
	if (!array_grow_sz((void **)&out->eng, &out->capeng, out->neng + 1, sizeof(*out->eng)))
		return false;
	struct sla_engclock *e = &out->eng[out->neng++];
	str_copy(e->engineer_id, sizeof(e->engineer_id), engineer_id);
	str_copy(e->ticket_id, sizeof(e->ticket_id), t->ticket_id);
	str_copy(e->event_id, sizeof(e->event_id), event_id);
	str_copy(e->partner_id, sizeof(e->partner_id), t->partner_id);
	e->kind = kind;
	e->at = at;
	e->local_day = calendar_local_day(t->cal, at, NULL);
	return true;
}

bool core_out_dead(struct sla_out *out, const char *topic, int32_t partition, int64_t offset,
		   enum sla_verdict reason, const char *detail, const uint8_t *payload, size_t len)
{
	if (!array_grow_sz((void **)&out->dead, &out->capdead, out->ndead + 1, sizeof(*out->dead)))
		return false;
	struct sla_dead *d = &out->dead[out->ndead];
	memset(d, 0, sizeof(*d));
	str_copy(d->topic, sizeof(d->topic), topic ? topic : "");
	d->partition = partition;
	d->offset = offset;
	d->reason = reason;
	str_copy(d->detail, sizeof(d->detail), detail ? detail : "");
	if (len) {
		d->payload = malloc(len);
		if (!d->payload)
			return false;
		memcpy(d->payload, payload, len);
		d->len = len;
	}
	out->ndead++;
	return true;
}

const char *ms_status_name(enum sla_ms_status s)
{
	static const char *const n[] = {"PENDING", "MET", "BREACHED", "CANCELLED"};
	return (unsigned)s < 4 ? n[s] : "";
}

const char *v_status_name(enum sla_v_status s)
{
	static const char *const n[] = {"PROVISIONAL", "CONFIRMED", "RETRACTED"};
	return (unsigned)s < 3 ? n[s] : "";
}

const char *ticket_state_name(enum sla_ticket_state s)
{
	static const char *const n[] = {"CREATED", "DISPATCHED", "ACKNOWLEDGED", "ASSIGNED",
					"RESERVED", "ON_SITE", "WORKING", "PAUSED",
					"LEFT", "CLOSE_REQUESTED", "CLOSED", "CANCELLED"};
	return (unsigned)s <= TS_CANCELLED ? n[s] : "";
}

const char *esc_level_name(enum sla_esc_level l)
{
	static const char *const n[] = {"WARNING", "TIER2", "TIER3"};
	return (unsigned)l < 3 ? n[l] : "";
}

const char *rule_code_name(enum sla_rule_code rc)
{
	static const char *const n[RC_COUNT] = {
		"",
		"REJECT_LATE",
		"RESERVATION_CHANGED_TOO_LATE",
		"RESERVATION_NO_EVIDENCE",
		"RESERVATION_BEYOND_SLA",
		"START_WITHOUT_AUTH",
		"START_OUTSIDE_AUTH",
		"LEAVE_OUTSIDE_AUTH",
		"AUTH_NOT_END_CUSTOMER",
		"CLOCK_NO_LOCATION",
		"CLOCK_TOO_FAR",
		"CLOCK_SEQUENCE",
		"CROSS_DAY_VISIT",
		"SIGNATURE_BEFORE_DISPATCH",
		"SKILL_MISMATCH",
		"PERSON_DAYS_MISMATCH",
		"START_BEFORE_PO",
		"CHANGE_PLAN_EXPIRED",
		"GUARANTOR_LATE",
		"CHANGE_VERIFY_TOO_SHORT",
		"ATTENDANCE_LATE",
		"ATTENDANCE_EARLY_LEAVE",
		"ATTENDANCE_MISSING",
		"LEAVE_NOT_PRIOR",
		"ATTENDANCE_IMPROVEMENT_REQUIRED",
		"ATTENDANCE_REPLACEMENT_ELIGIBLE",
	};
	return (unsigned)rc < RC_COUNT ? n[rc] : "";
}

/* <MILESTONE>_LATE for each milestone (codes.txt), in enum sla_milestone_kind order. */
static const char *const late_codes[MS_COUNT] = {
	"DISPATCH_LATE",      "RESPONSE_LATE",	      "SPARE_CONFIRM_LATE",	 "RESERVATION_LATE",
	"ARRIVAL_LATE",	      "DIAGNOSIS_LATE",	      "SOLUTION_LATE",		 "CLOSURE_LATE",
	"SPARE_RETURN_LATE",  "WEEKLY_REPORT_LATE",   "MONTHLY_REPORT_LATE",	 "CHANGE_REVIEW_LATE",
	"GUARANTOR_COMPLETE_LATE", "RETROSPECTIVE_LATE",
};

const char *violation_code(const struct sla_violation *v, char *buf, size_t len)
{
	if (v->code == RC_MILESTONE_LATE)
		str_copy(buf, len, (unsigned)v->milestone < MS_COUNT ? late_codes[v->milestone] : "");
	else
		str_copy(buf, len, rule_code_name(v->code));
	return buf;
}
