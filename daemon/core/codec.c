/* codec.c - a ticket's state as bytes (sla.ticket_state.state) and back. Pure.
 *
 * Little-endian, length-prefixed, versioned by the first byte. A restored
 * ticket re-arms its timers, so a restart resumes where the last commit was. */
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

#define CODEC_VERSION 3

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool fail;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->fail)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 512;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (!p) {
			w->fail = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_i64(struct wbuf *w, int64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (8 * i));
	put(w, b, 8);
}

static void put_i32(struct wbuf *w, int32_t v)
{
	put_i64(w, v);
}

static void put_f64(struct wbuf *w, double d)
{
	int64_t v;
	memcpy(&v, &d, sizeof(v));
	put_i64(w, v);
}

static void put_str(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);
	put_i64(w, (int64_t)n);
	put(w, s, n);
}

static void put_bytes(struct wbuf *w, const uint8_t *b, size_t n)
{
	put_i64(w, (int64_t)n);
	put(w, b, n);
}

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool fail;
};

static int64_t get_i64(struct rbuf *r)
{
	if (r->fail || r->len - r->pos < 8) {
		r->fail = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)r->p[r->pos + i] << (8 * i);
	r->pos += 8;
	return (int64_t)v;
}

static int32_t get_i32(struct rbuf *r)
{
	return (int32_t)get_i64(r);
}

static double get_f64(struct rbuf *r)
{
	int64_t v = get_i64(r);
	double d;
	memcpy(&d, &v, sizeof(d));
	return d;
}

static void get_str(struct rbuf *r, char *dst, size_t cap)
{
	int64_t n = get_i64(r);
	if (r->fail || n < 0 || (size_t)n >= cap || r->len - r->pos < (size_t)n) {
		r->fail = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p + r->pos, (size_t)n);
	dst[n] = '\0';
	r->pos += (size_t)n;
}

static uint8_t *get_bytes(struct rbuf *r, size_t *len)
{
	int64_t n = get_i64(r);
	if (r->fail || n < 0 || r->len - r->pos < (size_t)n) {
		r->fail = true;
		return NULL;
	}
	uint8_t *b = malloc(n ? (size_t)n : 1);
	if (!b) {
		r->fail = true;
		return NULL;
	}
	memcpy(b, r->p + r->pos, (size_t)n);
	r->pos += (size_t)n;
	*len = (size_t)n;
	return b;
}

static int32_t get_count(struct rbuf *r, int32_t max)
{
	int32_t n = get_i32(r);
	if (n < 0 || n > max)
		r->fail = true;
	return r->fail ? 0 : n;
}

bool ticket_encode(const struct sla_ticket *t, uint8_t **buf, size_t *len)
{
	struct wbuf w = {0};
	uint8_t version = CODEC_VERSION;
	put(&w, &version, 1);
	put_str(&w, t->ticket_id);
	put_i32(&w, t->created);
	put_i32(&w, t->type);
	put_i32(&w, t->sla_class);
	put_i32(&w, t->severity);
	put_i32(&w, t->state);
	put_str(&w, t->partner_id);
	put_str(&w, t->engineer_id);
	put_str(&w, t->calendar_id);
	put_i32(&w, t->site_classified);
	put_i32(&w, t->has_site);
	put_f64(&w, t->site_lat);
	put_f64(&w, t->site_lon);
	put_i64(&w, t->created_at);
	put_i64(&w, t->closed_at);
	put_i64(&w, t->updated_at);
	put_i64(&w, t->required_arrival_at);
	put_i64(&w, t->first_dispatched_at);
	put_i64(&w, t->first_assigned_at);
	put_i64(&w, t->first_arrive_at);
	put_i64(&w, t->reservation_at);
	put_i64(&w, t->reservation_appoint);
	put_i64(&w, t->visit_arrive_at);
	put_i32(&w, t->visit_paused);
	put_i32(&w, t->partition);
	put_str(&w, t->product_line);
	put_i32(&w, t->required_skill_level);
	put_i32(&w, t->person_days);
	put_i32(&w, t->risk_score);
	put_i64(&w, t->service_start_at);
	put_i64(&w, t->service_end_at);
	put_i64(&w, t->po_start_at);
	put_i64(&w, t->planned_start_at);
	put_i32(&w, t->shift_start_min);
	put_i32(&w, t->shift_end_min);
	put_i64(&w, t->last_assigned_at);
	put_i64(&w, t->plan_approved_at);
	put_i64(&w, t->close_requested_at);
	put_i64(&w, t->att_next_day);
	put_i32(&w, t->has_guarantor);

	put_i32(&w, t->nms);
	for (int i = 0; i < t->nms; i++) {
		const struct sla_milestone *m = &t->ms[i];
		put_i32(&w, m->kind);
		put_i32(&w, m->occurrence);
		put_i32(&w, m->status);
		put_i64(&w, m->started_at);
		put_i64(&w, m->due_at);
		put_i64(&w, m->stopped_at);
		put_str(&w, m->part_id);
		put_i32(&w, m->fired);
		put_i32(&w, m->escalated);
	}
	put_i32(&w, t->nvs);
	for (int i = 0; i < t->nvs; i++) {
		const struct sla_violation *v = &t->vs[i];
		put_i32(&w, v->code);
		put_i32(&w, v->milestone);
		put_i32(&w, v->occurrence);
		put_i32(&w, v->status);
		put_i64(&w, v->due_at);
		put_i64(&w, v->observed_at);
		put_i64(&w, v->detected_at);
		put_i64(&w, v->confirm_at);
		put_str(&w, v->engineer_id);
		put_str(&w, v->details);
	}
	put_i32(&w, t->nauths);
	for (int i = 0; i < t->nauths; i++) {
		put_i64(&w, t->auths[i].granted_at);
		put_i64(&w, t->auths[i].window_start);
		put_i64(&w, t->auths[i].window_end);
	}
	put_i32(&w, t->nseen);
	for (int i = 0; i < t->nseen; i++)
		put_str(&w, t->seen[i]);
	put_i32(&w, t->nclocks);
	for (int i = 0; i < t->nclocks; i++) {
		put_i64(&w, t->clocks[i].at);
		put_i32(&w, t->clocks[i].kind);
		put_i32(&w, t->clocks[i].guarantor);
		put_str(&w, t->clocks[i].engineer_id);
	}
	put_i32(&w, t->natt);
	for (int i = 0; i < t->natt; i++) {
		put_i64(&w, t->att[i].day);
		put_i64(&w, t->att[i].first_in);
		put_i64(&w, t->att[i].last_out);
		put_i32(&w, t->att[i].leave_approved);
		put_i32(&w, t->att[i].leave_prior);
	}
	put_i32(&w, t->nheld);
	for (int i = 0; i < t->nheld; i++) {
		const struct sla_held *h = &t->held[i];
		put_str(&w, h->topic);
		put_i32(&w, h->partition);
		put_i64(&w, h->offset);
		put_i64(&w, h->occurred_at);
		put_i64(&w, h->expires_at);
		put_bytes(&w, h->payload, h->len);
	}
	if (w.fail) {
		free(w.p);
		return false;
	}
	*buf = w.p;
	*len = w.len;
	return true;
}

#define LIMIT 1000000

bool core_restore(struct sla_core *core, const uint8_t *buf, size_t len)
{
	struct rbuf r = {buf, len, 0, false};
	struct sla_ticket *t = NULL;
	char id[SLA_ID_MAX + 1];
	if (len < 1 || buf[0] != CODEC_VERSION)
		return false;
	r.pos = 1;
	get_str(&r, id, sizeof(id));
	if (r.fail)
		return false;
	if (core_ticket_get(core, id))
		return true; /* already live here */
	t = ticket_new(id);
	if (!t)
		return false;
	t->created = get_i32(&r);
	t->type = (enum sla_ticket_type)get_i32(&r);
	t->sla_class = (enum sla_class)get_i32(&r);
	t->severity = get_i32(&r);
	t->state = (enum sla_ticket_state)get_i32(&r);
	get_str(&r, t->partner_id, sizeof(t->partner_id));
	get_str(&r, t->engineer_id, sizeof(t->engineer_id));
	get_str(&r, t->calendar_id, sizeof(t->calendar_id));
	t->site_classified = get_i32(&r);
	t->has_site = get_i32(&r);
	t->site_lat = get_f64(&r);
	t->site_lon = get_f64(&r);
	t->created_at = get_i64(&r);
	t->closed_at = get_i64(&r);
	t->updated_at = get_i64(&r);
	t->required_arrival_at = get_i64(&r);
	t->first_dispatched_at = get_i64(&r);
	t->first_assigned_at = get_i64(&r);
	t->first_arrive_at = get_i64(&r);
	t->reservation_at = get_i64(&r);
	t->reservation_appoint = get_i64(&r);
	t->visit_arrive_at = get_i64(&r);
	t->visit_paused = get_i32(&r);
	t->partition = get_i32(&r);
	get_str(&r, t->product_line, sizeof(t->product_line));
	t->required_skill_level = get_i32(&r);
	t->person_days = get_i32(&r);
	t->risk_score = get_i32(&r);
	t->service_start_at = get_i64(&r);
	t->service_end_at = get_i64(&r);
	t->po_start_at = get_i64(&r);
	t->planned_start_at = get_i64(&r);
	t->shift_start_min = get_i32(&r);
	t->shift_end_min = get_i32(&r);
	t->last_assigned_at = get_i64(&r);
	t->plan_approved_at = get_i64(&r);
	t->close_requested_at = get_i64(&r);
	t->att_next_day = get_i64(&r);
	t->has_guarantor = get_i32(&r);
	if ((unsigned)t->type >= TT_COUNT || (unsigned)t->state > TS_CANCELLED)
		r.fail = true;

	int32_t n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		enum sla_milestone_kind kind = (enum sla_milestone_kind)get_i32(&r);
		if ((unsigned)kind >= MS_COUNT) {
			r.fail = true;
			break;
		}
		struct sla_milestone *m = ticket_add_milestone(t, kind);
		if (!m) {
			r.fail = true;
			break;
		}
		m->occurrence = get_i32(&r);
		m->status = (enum sla_ms_status)get_i32(&r);
		m->started_at = get_i64(&r);
		m->due_at = get_i64(&r);
		m->stopped_at = get_i64(&r);
		get_str(&r, m->part_id, sizeof(m->part_id));
		m->fired = get_i32(&r);
		m->escalated = (uint8_t)get_i32(&r);
		m->dirty = false;
	}
	n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		enum sla_rule_code code = (enum sla_rule_code)get_i32(&r);
		if ((unsigned)code >= RC_COUNT) {
			r.fail = true;
			break;
		}
		struct sla_violation *v = ticket_add_violation(t, code);
		if (!v) {
			r.fail = true;
			break;
		}
		v->milestone = (enum sla_milestone_kind)get_i32(&r);
		v->occurrence = get_i32(&r);
		v->status = (enum sla_v_status)get_i32(&r);
		v->due_at = get_i64(&r);
		v->observed_at = get_i64(&r);
		v->detected_at = get_i64(&r);
		v->confirm_at = get_i64(&r);
		get_str(&r, v->engineer_id, sizeof(v->engineer_id));
		get_str(&r, v->details, sizeof(v->details));
		v->dirty = false;
	}
	n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		struct sla_auth a;
		a.granted_at = get_i64(&r);
		a.window_start = get_i64(&r);
		a.window_end = get_i64(&r);
		if (!ticket_add_auth(t, &a))
			r.fail = true;
	}
	n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		char eid[SLA_ID_MAX + 1];
		get_str(&r, eid, sizeof(eid));
		if (!r.fail && !ticket_add_seen(t, eid))
			r.fail = true;
	}
	n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		struct sla_clock c = {0};
		c.at = get_i64(&r);
		c.kind = get_i32(&r);
		c.guarantor = get_i32(&r);
		get_str(&r, c.engineer_id, sizeof(c.engineer_id));
		if (!r.fail && !ticket_add_clock(t, &c))
			r.fail = true;
	}
	n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		int64_t day = get_i64(&r);
		struct sla_attendance *a = r.fail ? NULL : ticket_attendance(t, day);
		if (!a) {
			r.fail = true;
			break;
		}
		a->first_in = get_i64(&r);
		a->last_out = get_i64(&r);
		a->leave_approved = get_i32(&r);
		a->leave_prior = get_i32(&r);
	}
	n = get_count(&r, LIMIT);
	for (int i = 0; i < n && !r.fail; i++) {
		struct sla_held h = {0};
		get_str(&r, h.topic, sizeof(h.topic));
		h.partition = get_i32(&r);
		h.offset = get_i64(&r);
		h.occurred_at = get_i64(&r);
		h.expires_at = get_i64(&r);
		h.payload = get_bytes(&r, &h.len);
		if (r.fail || !ticket_add_held(t, &h)) {
			free(h.payload);
			r.fail = true;
		}
	}
	if (r.fail || r.pos != r.len)
		goto fail;
	t->cal = core_calendar(core, t->calendar_id);
	if (!core_ticket_put(core, t))
		goto fail;
	return rules_rearm(core, t);
fail:
	ticket_free(t);
	return false;
}
