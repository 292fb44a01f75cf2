/* codec.c - a ticket's state as bytes (sla.ticket_state.state) and back. Pure.
 *
 * Little-endian, length-prefixed, versioned by the first byte. A restored
 * ticket re-arms its timers, so a restart resumes where the last commit was.
 * Version 6 writes integers and lengths as varints (bytes.h): a state is
 * 2-3 times smaller than in version 5's 8 bytes each, and restores faster.
 * Version 7 writes each seen event id as the length of the prefix it shares
 * with the ticket id, then the rest: upstream ids are often the ticket's id
 * and a sequence number ("HZ20250106-01423-02"), and the seen ids were the
 * largest part of a closed ticket's state. Versions 4 to 6 still restore. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "core_internal.h"

#define CODEC_VERSION 7
#define CODEC_OLDEST 4 /* version 4 had no event log */
#define LIMIT 1000000
#define ATT_LIMIT 4096 /* attendance days: a service period is at most SLA_SERVICE_PERIOD_MAX */
#define SAVED_SLACK (3660 * SLA_DAY) /* as bytes_instant_ok */

_Static_assert(sizeof(enum sla_ticket_type) == 4 && sizeof(enum sla_class) == 4 &&
		       sizeof(enum sla_ticket_state) == 4 && sizeof(enum sla_ms_status) == 4 &&
		       sizeof(enum sla_milestone_kind) == 4 && sizeof(enum sla_v_status) == 4 &&
		       sizeof(enum sla_rule_code) == 4,
	       "FIELD_INT: enums are saved as 4-byte integers");

#define TF(type, member) FIELD(type, struct sla_ticket, member)
#define XF(type, member) FIELD(type, struct sla_ticket_more, member)
/* A ticket's own fields, after its id, in saved order (versions 4 to 6): its
 * struct sla_ticket's and its struct sla_ticket_more's in turn. */
static const struct field ticket_fields_a[] = {
	TF(FIELD_BOOL, created),
	TF(FIELD_E8, type), /* saved as the int it was */
	TF(FIELD_E8, sla_class), /* saved as the int it was */
	TF(FIELD_E8, severity), /* saved as the int it was */
	TF(FIELD_E8, state), /* saved as the int it was */
	FIELD_INTERNED(struct sla_ticket, partner_id, SLA_ID_MAX + 1),
	FIELD_INTERNED(struct sla_ticket, engineer_id, SLA_ID_MAX + 1),
	FIELD_INTERNED(struct sla_ticket, calendar_id, CAL_ID_MAX + 1),
	TF(FIELD_BOOL, site_classified),
	TF(FIELD_BOOL, has_site),
	TF(FIELD_F64, site_lat),
	TF(FIELD_F64, site_lon),
	TF(FIELD_I64, created_at),
	TF(FIELD_I64, closed_at),
	TF(FIELD_I64, updated_at),
	TF(FIELD_I64, required_arrival_at),
	TF(FIELD_I64, first_dispatched_at),
	TF(FIELD_I64, first_assigned_at),
};
static const struct field more_fields_b[] = {
	XF(FIELD_I64, first_arrive_at),
	XF(FIELD_I64, reservation_at),
	XF(FIELD_I64, reservation_appoint),
	XF(FIELD_I64, visit_arrive_at),
};
static const struct field ticket_fields_c[] = {
	TF(FIELD_BOOL, visit_paused),
	TF(FIELD_INT, partition),
	FIELD_INTERNED(struct sla_ticket, product_line, SLA_ID_MAX + 1),
};
static const struct field more_fields_d[] = {
	XF(FIELD_INT, required_skill_level),
	XF(FIELD_INT, person_days),
	XF(FIELD_INT, risk_score),
	XF(FIELD_I64, service_start_at),
	XF(FIELD_I64, service_end_at),
	XF(FIELD_I64, po_start_at),
	XF(FIELD_I64, planned_start_at),
	XF(FIELD_INT, shift_start_min),
	XF(FIELD_INT, shift_end_min),
};
static const struct field ticket_fields_e[] = {
	TF(FIELD_I64, last_assigned_at),
};
static const struct field more_fields_f[] = {
	XF(FIELD_I64, plan_approved_at),
	XF(FIELD_I64, close_requested_at),
	XF(FIELD_I64, att_next_day),
};
static const struct field ticket_fields_g[] = {
	TF(FIELD_BOOL, has_guarantor),
	TF(FIELD_BOOL, archived),
	TF(FIELD_I64, archive_at),
};
#undef TF
#undef XF

/* The saved order of a ticket's fields: each table of the ticket (more false) or of its more. */
static const struct ticket_part {
	const struct field *f;
	size_t n;
	bool more;
} ticket_parts[] = {
	{ticket_fields_a, FIELDS_LEN(ticket_fields_a), false}, {more_fields_b, FIELDS_LEN(more_fields_b), true},
	{ticket_fields_c, FIELDS_LEN(ticket_fields_c), false}, {more_fields_d, FIELDS_LEN(more_fields_d), true},
	{ticket_fields_e, FIELDS_LEN(ticket_fields_e), false}, {more_fields_f, FIELDS_LEN(more_fields_f), true},
	{ticket_fields_g, FIELDS_LEN(ticket_fields_g), false},
};

/* A ticket's fields in saved order; a ticket without more saves sla_ticket_more_none's. */
static void put_ticket_fields(struct wbuf *w, const struct sla_ticket *t)
{
	for (size_t i = 0; i < FIELDS_LEN(ticket_parts); i++) {
		const struct ticket_part *p = &ticket_parts[i];
		wbuf_fields(w, p->more ? (const void *)ticket_more(t) : (const void *)t, p->f, p->n);
	}
}

/* Reads them into t and *more; true when a field of *more is not sla_ticket_more_none's. */
static bool get_ticket_fields(struct rbuf *r, struct sla_ticket *t, struct sla_ticket_more *more)
{
	bool differs = false;
	for (size_t i = 0; i < FIELDS_LEN(ticket_parts); i++) {
		const struct ticket_part *p = &ticket_parts[i];
		rbuf_fields(r, p->more ? (void *)more : (void *)t, p->f, p->n);
		for (size_t k = 0; p->more && k < p->n; k++)
			differs |= memcmp((const char *)more + p->f[k].offset,
					  (const char *)&sla_ticket_more_none + p->f[k].offset, p->f[k].size) != 0;
	}
	return differs;
}

#define MF(type, member) FIELD(type, struct sla_milestone, member)
/* A milestone, after its kind: these, its key (ms_part_id, a string), then milestone_flags. */
static const struct field milestone_fields[] = {
	MF(FIELD_INT, occurrence), MF(FIELD_E8, status), MF(FIELD_I64, started_at),
	MF(FIELD_I64, due_at),	   MF(FIELD_I64, stopped_at),
};
static const struct field milestone_flags[] = {
	FIELD_FLAGS(FIELD_BIT, struct sla_milestone, flags, MS_FIRED),         /* saved as the bool "fired" was */
	FIELD_FLAGS(FIELD_BITS, struct sla_milestone, flags, MS_ESCALATIONS), /* and the uint8_t "escalated" */
};
#undef MF

#define VF(type, member) FIELD(type, struct sla_violation, member)
/* A violation, after its rule code. */
static const struct field violation_fields[] = {
	VF(FIELD_INT, milestone),   VF(FIELD_INT, occurrence),	VF(FIELD_INT, status),
	VF(FIELD_I64, due_at),	    VF(FIELD_I64, observed_at), VF(FIELD_I64, detected_at),
	VF(FIELD_I64, confirm_at),  VF(FIELD_STR, engineer_id), VF(FIELD_STR, details),
};
#undef VF

#define AF(type, member) FIELD(type, struct sla_auth, member)
static const struct field auth_fields[] = {AF(FIELD_I64, granted_at), AF(FIELD_I64, window_start),
					   AF(FIELD_I64, window_end)};
#undef AF

#define CF(type, member) FIELD(type, struct sla_clock, member)
static const struct field clock_fields[] = {
	CF(FIELD_I64, at), CF(FIELD_INT, kind), CF(FIELD_BOOL, guarantor),
	FIELD_INTERNED(struct sla_clock, engineer_id, SLA_ID_MAX + 1),
};
#undef CF

#define DF(type, member) FIELD(type, struct sla_attendance, member)
/* An attendance day, after the day. */
static const struct field attendance_fields[] = {DF(FIELD_I64, first_in), DF(FIELD_I64, last_out),
						 DF(FIELD_BOOL, leave_approved), DF(FIELD_BOOL, leave_prior)};
#undef DF

#define HF(type, member) FIELD(type, struct sla_held, member)
/* A held event, before its payload. */
static const struct field held_fields[] = {HF(FIELD_STR, topic), HF(FIELD_INT, partition), HF(FIELD_I64, offset),
					   HF(FIELD_I64, occurred_at), HF(FIELD_I64, expires_at)};
#undef HF


bool ticket_encode(const struct sla_ticket *t, uint8_t **buf, size_t *len)
{
	return ticket_encode_version(t, CODEC_VERSION, buf, len);
}

/* The keys written before a keyed entry's fields: the reader makes the entry from its key. */
static const struct field milestone_key = FIELD(FIELD_E8, struct sla_milestone, kind);
static const struct field violation_key = FIELD(FIELD_INT, struct sla_violation, code);
static const struct field attendance_key = FIELD(FIELD_I64, struct sla_attendance, day);

/* A list's count, then each of its n entries of `size` bytes: its key (if
 * any), then its fields. */
static void put_list(struct wbuf *w, const void *v, int n, size_t size, const struct field *key,
		     const struct field *f, size_t nf)
{
	wbuf_i32(w, n);
	for (int i = 0; i < n; i++) {
		const char *e = (const char *)v + (size_t)i * size;
		if (key)
			wbuf_fields(w, e, key, 1);
		wbuf_fields(w, e, f, nf);
	}
}

/* The lists of a ticket, each its count and its entries; shared_ids: the
 * seen ids after the prefix they share with the ticket id (version 7). */
static void put_lists(struct wbuf *w, const struct sla_ticket *t, bool shared_ids)
{
	wbuf_i32(w, t->nms);
	for (int i = 0; i < t->nms; i++) {
		wbuf_fields(w, &t->ms[i], &milestone_key, 1);
		wbuf_fields(w, &t->ms[i], milestone_fields, FIELDS_LEN(milestone_fields));
		wbuf_str(w, ms_part_id(t, i));
		wbuf_fields(w, &t->ms[i], milestone_flags, FIELDS_LEN(milestone_flags));
	}
	put_list(w, t->vs, t->nvs, sizeof(*t->vs), &violation_key, violation_fields, FIELDS_LEN(violation_fields));
	const struct sla_ticket_more *x = ticket_more(t);
	put_list(w, x->auths, x->nauths, sizeof(*x->auths), NULL, auth_fields, FIELDS_LEN(auth_fields));
	wbuf_i32(w, t->nseen);
	size_t seen_at = 0;
	for (const char *id; (id = ticket_seen_next(t, &seen_at)) != NULL;) {
		size_t k = 0;
		if (shared_ids) {
			while (id[k] != '\0' && id[k] == t->ticket_id[k])
				k++;
			wbuf_i32(w, (int32_t)k);
		}
		wbuf_str(w, id + k);
	}
	put_list(w, x->clocks, x->nclocks, sizeof(*x->clocks), NULL, clock_fields, FIELDS_LEN(clock_fields));
	put_list(w, x->att, x->natt, sizeof(*x->att), &attendance_key, attendance_fields,
		 FIELDS_LEN(attendance_fields));
	wbuf_i32(w, x->nheld);
	for (int i = 0; i < x->nheld; i++) {
		wbuf_fields(w, &x->held[i], held_fields, FIELDS_LEN(held_fields));
		wbuf_bytes(w, x->held[i].payload, x->held[i].len);
	}
}

bool ticket_encode_version(const struct sla_ticket *t, int v, uint8_t **buf, size_t *len)
{
	struct wbuf w = {0};
	if (v < 5 || v > CODEC_VERSION)
		return false;
	uint8_t version = (uint8_t)v;
	wbuf_put(&w, &version, 1);
	w.varint = v >= 6;
	wbuf_str(&w, t->ticket_id);
	put_ticket_fields(&w, t);
	put_lists(&w, t, v >= 7);
	/* version 5: the event log */
	wbuf_i32(&w, t->log_complete);
	wbuf_i64(&w, t->last_at);
	wbuf_i32(&w, ticket_more(t)->nlog);
	wbuf_bytes(&w, ticket_more(t)->log, ticket_more(t)->loglen);
	if (w.fail) {
		free(w.p);
		return false;
	}
	*buf = w.p;
	*len = w.len;
	return true;
}

static bool saved_day_ok(int64_t day)
{
	return day >= (SLA_TIME_MIN - SAVED_SLACK) / SLA_DAY && day < (SLA_TIME_MAX + SAVED_SLACK) / SLA_DAY;
}

static bool saved_str_ok(const char *s)
{
	return utf8_valid((const uint8_t *)s, strlen(s));
}

/* Every value the rules compute with is in range (what event_check lets in),
 * and every string that goes to PostgreSQL is UTF-8. */
/* Every one of the n instants is SLA_TIME_NONE or one a state may hold. */
static bool instants_ok(const sla_time *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!bytes_instant_ok(v[i]))
			return false;
	return true;
}
#define INSTANTS_OK(...) \
	instants_ok((const sla_time[]){__VA_ARGS__}, sizeof((const sla_time[]){__VA_ARGS__}) / sizeof(sla_time))

static bool ticket_values_ok(const struct sla_ticket *t)
{
	const struct sla_ticket_more *x = ticket_more(t);
	if (!saved_str_ok(t->ticket_id) || !saved_str_ok(t->partner_id) || !saved_str_ok(t->engineer_id) ||
	    !saved_str_ok(t->calendar_id) || !saved_str_ok(t->product_line))
		return false;
	if (!INSTANTS_OK(t->archive_at, t->created_at, t->closed_at, t->updated_at, t->required_arrival_at,
			 t->first_dispatched_at, t->first_assigned_at, x->first_arrive_at, x->reservation_at,
			 x->reservation_appoint, x->visit_arrive_at, x->service_start_at, x->service_end_at,
			 x->po_start_at, x->planned_start_at, t->last_assigned_at, x->plan_approved_at,
			 x->close_requested_at, t->last_at))
		return false;
	if ((unsigned)t->type >= TT_COUNT || (unsigned)t->state > TS_CANCELLED ||
	    t->severity > 4 || (unsigned)t->sla_class > SC_NON_HOURLY)
		return false;
	if (x->shift_start_min < 0 || x->shift_start_min >= 24 * 60 || x->shift_end_min < 0 ||
	    x->shift_end_min > 24 * 60)
		return false;
	if (x->service_start_at != SLA_TIME_NONE && x->service_end_at != SLA_TIME_NONE &&
	    (x->service_end_at < x->service_start_at || x->service_end_at - x->service_start_at > SLA_SERVICE_PERIOD_MAX))
		return false;
	if (x->att_next_day != INT64_MIN && !saved_day_ok(x->att_next_day))
		return false;
	if (!isfinite(t->site_lat) || !isfinite(t->site_lon))
		return false;
	for (int i = 0; i < t->nms; i++) {
		const struct sla_milestone *m = &t->ms[i];
		if ((unsigned)m->status > MSS_CANCELLED || !saved_str_ok(ms_part_id(t, i)) ||
		    !INSTANTS_OK(m->started_at, m->due_at, m->stopped_at))
			return false;
	}
	for (int i = 0; i < t->nvs; i++) {
		const struct sla_violation *v = &t->vs[i];
		if ((unsigned)v->status > VS_RETRACTED || (unsigned)v->milestone >= MS_COUNT ||
		    !saved_str_ok(v->engineer_id) || !saved_str_ok(v->details) ||
		    !INSTANTS_OK(v->due_at, v->observed_at, v->detected_at, v->confirm_at))
			return false;
	}
	for (int i = 0; i < x->nauths; i++)
		if (!INSTANTS_OK(x->auths[i].granted_at, x->auths[i].window_start, x->auths[i].window_end))
			return false;
	for (int i = 0; i < x->nclocks; i++)
		if (!bytes_instant_ok(x->clocks[i].at) || !saved_str_ok(x->clocks[i].engineer_id) || x->clocks[i].kind < 1 ||
		    x->clocks[i].kind > SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT)
			return false;
	for (int i = 0; i < x->natt; i++)
		if (!saved_day_ok(x->att[i].day) || !INSTANTS_OK(x->att[i].first_in, x->att[i].last_out))
			return false;
	for (int i = 0; i < x->nheld; i++)
		if (!INSTANTS_OK(x->held[i].occurred_at, x->held[i].expires_at))
			return false;
	return true;
}

/* ---- reading a state back: one entry of each list ---- */

/* The fields of an entry the ticket has just made for its key; false (and
 * fail) when it made none: a key out of range, or out of memory. */
static bool get_entry(struct rbuf *r, void *entry, const struct field *f, size_t n)
{
	if (!entry) {
		r->fail = true;
		return false;
	}
	rbuf_fields(r, entry, f, n);
	return true;
}

static void get_milestone(struct rbuf *r, struct sla_ticket *t)
{
	enum sla_milestone_kind kind = (enum sla_milestone_kind)rbuf_i32(r);
	struct sla_milestone *m = (unsigned)kind < MS_COUNT ? ticket_add_milestone(t, kind) : NULL;
	char key[SLA_ID_MAX + 1];
	if (!get_entry(r, m, milestone_fields, FIELDS_LEN(milestone_fields)))
		return;
	rbuf_str(r, key, sizeof(key));
	if (!r->fail && key[0] && !ticket_set_ms_key(r->ids, t, t->nms - 1, key))
		r->fail = true;
	rbuf_fields(r, m, milestone_flags, FIELDS_LEN(milestone_flags));
	m->dirty = false; /* as saved */
	m->flags |= MS_WRITTEN; /* saved with or after its row */
}

static void get_violation(struct rbuf *r, struct sla_ticket *t)
{
	enum sla_rule_code code = (enum sla_rule_code)rbuf_i32(r);
	struct sla_violation *v = (unsigned)code < RC_COUNT ? ticket_add_violation(t, code) : NULL;
	if (get_entry(r, v, violation_fields, FIELDS_LEN(violation_fields)))
		v->dirty = false;
}

static void get_auth(struct rbuf *r, struct sla_ticket *t)
{
	struct sla_auth a;
	rbuf_fields(r, &a, auth_fields, FIELDS_LEN(auth_fields));
	if (!ticket_add_auth(t, &a))
		r->fail = true;
}

static void get_seen(struct rbuf *r, struct sla_ticket *t)
{
	char eid[SLA_ID_MAX + 1];
	int32_t k = r->shared_ids ? rbuf_i32(r) : 0;
	if (k < 0 || (size_t)k > strlen(t->ticket_id)) {
		r->fail = true;
		return;
	}
	memcpy(eid, t->ticket_id, (size_t)k);
	rbuf_str(r, eid + k, sizeof(eid) - (size_t)k);
	if (!r->fail && !ticket_add_seen(t, eid))
		r->fail = true;
}

static void get_clock(struct rbuf *r, struct sla_ticket *t)
{
	struct sla_clock c = {0};
	rbuf_fields(r, &c, clock_fields, FIELDS_LEN(clock_fields));
	if (r->fail || !ticket_add_clock(t, &c)) {
		strpool_release(c.engineer_id);
		r->fail = true;
	}
}

static void get_attendance(struct rbuf *r, struct sla_ticket *t)
{
	int64_t day = rbuf_i64(r);
	get_entry(r, r->fail ? NULL : ticket_attendance(t, day), attendance_fields, FIELDS_LEN(attendance_fields));
}

static void get_held(struct rbuf *r, struct sla_ticket *t)
{
	struct sla_held h = {0};
	rbuf_fields(r, &h, held_fields, FIELDS_LEN(held_fields));
	h.payload = rbuf_bytes(r, &h.len);
	if (r->fail || !ticket_add_held(t, &h)) {
		free(h.payload);
		r->fail = true;
	}
}

/* A count in [0, max], then that many entries, each read by get, until one fails. */
static void get_list(struct rbuf *r, struct sla_ticket *t, int32_t max,
		     void (*get)(struct rbuf *, struct sla_ticket *))
{
	int32_t n = rbuf_count(r, max);
	for (int i = 0; i < n && !r->fail; i++)
		get(r, t);
}

/* Version 5 and later: the event log. */
static void get_log(struct rbuf *r, struct sla_ticket *t, int version)
{
	if (version < 5 || r->fail) {
		t->log_complete = false; /* its earlier events are not here: no re-derivation */
		return;
	}
	t->log_complete = rbuf_i32(r);
	t->last_at = rbuf_i64(r);
	int32_t nlog = rbuf_i32(r);
	size_t loglen = 0;
	uint8_t *log = rbuf_bytes(r, &loglen);
	if (nlog < 0 || (nlog > 0 && !log)) {
		free(log);
		r->fail = true;
		return;
	}
	if (nlog == 0 && loglen == 0) {
		free(log); /* an empty log: the ticket needs no more for it */
		return;
	}
	struct sla_ticket_more *m = ticket_more_mut(t);
	if (!m) {
		free(log);
		r->fail = true;
		return;
	}
	m->nlog = nlog;
	m->log = log;
	m->loglen = m->logcap = loglen;
}

/* A ticket from its saved state; NULL when it does not restore. */
static struct sla_ticket *ticket_read(struct rbuf *r, const char *id, int version)
{
	struct sla_ticket *t = ticket_new(r->ids, id);
	struct sla_ticket_more more = sla_ticket_more_none;
	if (!t)
		return NULL;
	if (get_ticket_fields(r, t, &more) && !r->fail) {
		if (!ticket_more_mut(t))
			r->fail = true;
		else
			*t->more = more;
	}
	if ((unsigned)t->type >= TT_COUNT || (unsigned)t->state > TS_CANCELLED)
		r->fail = true;
	get_list(r, t, LIMIT, get_milestone);
	get_list(r, t, LIMIT, get_violation);
	get_list(r, t, LIMIT, get_auth);
	get_list(r, t, LIMIT, get_seen);
	get_list(r, t, LIMIT, get_clock);
	get_list(r, t, ATT_LIMIT, get_attendance);
	get_list(r, t, LIMIT, get_held);
	get_log(r, t, version);
	if (r->fail || r->pos != r->len || !ticket_values_ok(t)) {
		ticket_free(t);
		return NULL;
	}
	return t;
}

bool core_restore(struct sla_core *core, const uint8_t *buf, size_t len)
{
	struct rbuf r = {buf, len, 0, false, false, core->ids, false};
	char id[SLA_ID_MAX + 1];
	if (len < 1 || buf[0] < CODEC_OLDEST || buf[0] > CODEC_VERSION)
		return false;
	int version = buf[0];
	r.pos = 1;
	r.varint = version >= 6;
	r.shared_ids = version >= 7;
	rbuf_str(&r, id, sizeof(id));
	if (r.fail)
		return false;
	if (core_ticket_get(core, id))
		return true; /* already live here */
	struct sla_ticket *t = ticket_read(&r, id, version);
	if (!t)
		return false;
	if (core->history) {
		/* A state saved with its log (before the archive served re-derivation): not needed. */
		if (t->more) {
			free(t->more->log);
			t->more->log = NULL;
			t->more->loglen = t->more->logcap = 0;
			t->more->nlog = 0;
		}
	}
	t->cal = core_calendar(core, t->calendar_id);
	ticket_compact(t); /* a tombstone saved before it was compacted */
	if (!core_ticket_put(core, t)) {
		ticket_free(t);
		return false;
	}
	return rules_rearm(core, t);
}
