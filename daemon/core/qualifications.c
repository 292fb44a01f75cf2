/* qualifications.c - a partner's qualifications (scoring.md): certificates and key persons, the timers
 * they arm (expiry reminder, downgrade, key-person buffer) and their late retraction. Pure. */
#include <stdio.h>
#include <string.h>

#include "slad/arrays.h"
#include "partners_internal.h"

const char *partner_event_code_name(enum partner_event_code c)
{
	static const char *const names[PE_COUNT] = {"CERT_EXPIRY_REMINDER", "CERT_EXPIRED_DOWNGRADE",
						    "KEY_PERSON_BUFFER_EXPIRED", "KEY_PERSON_UNDECLARED"};
	return (unsigned)c < PE_COUNT ? names[c] : "";
}

static void emit_event(struct partners_out *out, const struct partner *p, enum partner_event_code code,
		       const char *subject, sla_time at, sla_time retracted_at, const char *details)
{
	struct partner_event_row *r =
		partners_out_slot(out, (void **)&out->events, &out->capevents, &out->nevents, sizeof(*out->events));
	if (!r)
		return;
	snprintf(r->partner_id, sizeof(r->partner_id), "%s", p->partner_id);
	r->code = code;
	snprintf(r->subject_id, sizeof(r->subject_id), "%s", subject);
	r->at = at;
	r->retracted_at = retracted_at;
	snprintf(r->details, sizeof(r->details), "%s", details ? details : "{}");
}

/* A timer due at `due` is void when the subject was replaced by then. */
static bool replaced_by(sla_time replaced_at, sla_time due)
{
	return replaced_at != SLA_TIME_NONE && replaced_at <= due;
}

static sla_time cert_reminder_due(const struct partner_cert *c)
{
	if (c->registered_at == SLA_TIME_NONE || c->registered_at >= c->expires_at)
		return SLA_TIME_NONE; /* registered expired: only the downgrade */
	sla_time due = partners_add_months(c->expires_at, -4);
	/* Registered with less than 4 months left: remind at once. */
	return due < c->registered_at ? c->registered_at : due;
}

static sla_time dep_due(const struct partner_departure *d)
{
	return partners_add_months(d->departed_at, 2);
}

/* The expiry reminder is pending (not fired, not void): *due is when. */
static bool reminder_pending(const struct partner_cert *c, sla_time *due)
{
	if (c->registered_at == SLA_TIME_NONE || c->reminder_fired)
		return false;
	*due = cert_reminder_due(c);
	return *due != SLA_TIME_NONE && !replaced_by(c->replaced_at, *due);
}

/* The downgrade at expires_at is pending. */
static bool expiry_pending(const struct partner_cert *c)
{
	return c->registered_at != SLA_TIME_NONE && !c->expired_fired && !replaced_by(c->replaced_at, c->expires_at);
}

/* The key-person buffer of a declared departure is pending. */
static bool departure_pending(const struct partner_departure *d)
{
	return d->declared && !d->fired && !replaced_by(d->replaced_at, dep_due(d));
}

sla_time qualifications_next_due(const struct partner *p)
{
	sla_time next = SLA_TIME_NONE, due = SLA_TIME_NONE;
	for (int i = 0; i < p->ncerts; i++) {
		const struct partner_cert *c = &p->certs[i];
		if (reminder_pending(c, &due) && (next == SLA_TIME_NONE || due < next))
			next = due;
		if (expiry_pending(c) && (next == SLA_TIME_NONE || c->expires_at < next))
			next = c->expires_at;
	}
	for (int i = 0; i < p->ndeps; i++)
		if (departure_pending(&p->deps[i]) && (next == SLA_TIME_NONE || dep_due(&p->deps[i]) < next))
			next = dep_due(&p->deps[i]);
	return next;
}

int qualifications_timer_count(const struct partner *p)
{
	int n = 0;
	sla_time due = SLA_TIME_NONE;
	for (int i = 0; i < p->ncerts; i++)
		n += reminder_pending(&p->certs[i], &due) + expiry_pending(&p->certs[i]);
	for (int i = 0; i < p->ndeps; i++)
		n += departure_pending(&p->deps[i]);
	return n;
}

/* s as the inside of a JSON string: ids are producer text. */
static void json_text(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", ch);
		} else {
			dst[n++] = (char)ch;
		}
	}
	dst[n] = '\0';
}

static void cert_details(const struct partner_cert *c, char *buf, size_t len)
{
	char exp[40], eng[2 * SLA_ID_MAX + 8];
	rfc3339_format(c->expires_at, 480, exp, sizeof(exp));
	json_text(eng, sizeof(eng), c->engineer_id);
	snprintf(buf, len, "{\"engineer_id\":\"%s\",\"expires_at\":\"%s\"}", eng, exp);
}

static void departure_details(const struct partner_departure *d, char *buf, size_t len)
{
	char dep[40];
	rfc3339_format(d->departed_at, 480, dep, sizeof(dep));
	snprintf(buf, len, "{\"departed_at\":\"%s\"}", dep);
}

void qualifications_fire(struct partner *p, sla_time now, struct partners_out *out)
{
	char details[256];
	bool fired = false;
	sla_time rd = SLA_TIME_NONE;

	for (int i = 0; i < p->ncerts; i++) {
		struct partner_cert *c = &p->certs[i];
		if (reminder_pending(c, &rd) && rd <= now) {
			cert_details(c, details, sizeof(details));
			emit_event(out, p, PE_CERT_EXPIRY_REMINDER, c->cert_id, rd, SLA_TIME_NONE, details);
			c->reminder_fired = true;
			c->reminder_due = rd;
			fired = true;
		}
		if (expiry_pending(c) && c->expires_at <= now) {
			cert_details(c, details, sizeof(details));
			emit_event(out, p, PE_CERT_EXPIRED_DOWNGRADE, c->cert_id, c->expires_at, SLA_TIME_NONE,
				   details);
			c->expired_fired = true;
			fired = true;
		}
	}
	for (int i = 0; i < p->ndeps; i++) {
		struct partner_departure *d = &p->deps[i];
		if (departure_pending(d) && dep_due(d) <= now) {
			departure_details(d, details, sizeof(details));
			emit_event(out, p, PE_KEY_PERSON_BUFFER_EXPIRED, d->engineer_id, dep_due(d), SLA_TIME_NONE,
				   details);
			d->fired = true;
			fired = true;
		}
	}
	if (fired)
		partner_mark_dirty(out, p);
}

void qualifications_prune(struct partner *p, sla_time horizon)
{
	int keep = 0;
	sla_time due = SLA_TIME_NONE;
	for (int i = 0; i < p->ncerts; i++) {
		const struct partner_cert *c = &p->certs[i];
		sla_time last = c->registered_at;
		if (c->expires_at > last)
			last = c->expires_at;
		if (c->replaced_at > last)
			last = c->replaced_at;
		if (expiry_pending(c) || reminder_pending(c, &due) || last >= horizon)
			p->certs[keep++] = *c;
	}
	p->ncerts = keep;

	keep = 0;
	for (int i = 0; i < p->ndeps; i++) {
		const struct partner_departure *d = &p->deps[i];
		if (departure_pending(d) || dep_due(d) >= horizon || d->replaced_at >= horizon)
			p->deps[keep++] = *d;
	}
	p->ndeps = keep;

	keep = 0;
	for (int i = 0; i < p->nrepl; i++)
		if (p->repl[i].at >= horizon)
			p->repl[keep++] = p->repl[i];
	p->nrepl = keep;
}

/* ---- applying an assessment ---- */

struct partner_cert *partner_cert_get(struct partner *p, const char *cert_id, bool create)
{
	for (int i = 0; i < p->ncerts; i++)
		if (strcmp(p->certs[i].cert_id, cert_id) == 0)
			return &p->certs[i];
	if (!create || !array_grow((void **)&p->certs, &p->capcerts, p->ncerts + 1, sizeof(*p->certs)))
		return NULL;
	struct partner_cert *c = &p->certs[p->ncerts++];
	memset(c, 0, sizeof(*c));
	snprintf(c->cert_id, sizeof(c->cert_id), "%s", cert_id);
	c->registered_at = c->expires_at = c->replaced_at = c->reminder_due = SLA_TIME_NONE;
	return c;
}

/* A late replacement (or renewal) at `by` withdraws the rows of timers
 * that were due at or after it. */
static void cert_retract(struct partner *p, struct partner_cert *c, sla_time by, sla_time now,
			 struct partners_out *out)
{
	char details[256];
	cert_details(c, details, sizeof(details));
	if (c->reminder_fired && c->reminder_due >= by) {
		emit_event(out, p, PE_CERT_EXPIRY_REMINDER, c->cert_id, c->reminder_due, now, details);
		c->reminder_fired = false;
	}
	if (c->expired_fired && c->expires_at >= by) {
		emit_event(out, p, PE_CERT_EXPIRED_DOWNGRADE, c->cert_id, c->expires_at, now, details);
		c->expired_fired = false;
	}
}

static bool apply_cert_registered(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
				  struct partners_out *out)
{
	struct partner_cert *c = partner_cert_get(p, a->cert_id, true);
	if (!c)
		return false;
	if (c->registered_at != SLA_TIME_NONE) {
		if (at < c->registered_at)
			return true; /* an older registration, late: the newer one stands */
		if (a->expires_at != c->expires_at) {
			/* A renewal: a new instance of the certificate. */
			cert_retract(p, c, at, now, out);
			c->reminder_fired = c->expired_fired = false;
			c->reminder_due = SLA_TIME_NONE;
			c->expires_at = a->expires_at;
		}
	} else {
		c->expires_at = a->expires_at;
	}
	if (c->replaced_at != SLA_TIME_NONE && c->replaced_at < at)
		c->replaced_at = SLA_TIME_NONE; /* it replaced an earlier instance */
	c->registered_at = at;
	snprintf(c->engineer_id, sizeof(c->engineer_id), "%s", a->engineer_id);
	return true;
}

static bool apply_cert_replaced(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
				struct partners_out *out)
{
	struct partner_cert *c = partner_cert_get(p, a->cert_id, true);
	if (!c)
		return false;
	if (c->registered_at != SLA_TIME_NONE && at < c->registered_at)
		return true; /* it replaced an earlier instance */
	if (c->replaced_at == SLA_TIME_NONE || at < c->replaced_at)
		c->replaced_at = at;
	if (c->registered_at != SLA_TIME_NONE)
		cert_retract(p, c, c->replaced_at, now, out);
	return true;
}

static void dep_replace(struct partner *p, struct partner_departure *d, const char *by, sla_time at, sla_time now,
			struct partners_out *out)
{
	d->replaced_at = at;
	snprintf(d->replaced_by, sizeof(d->replaced_by), "%s", by);
	if (d->declared && d->fired && at <= dep_due(d)) {
		char details[256];
		departure_details(d, details, sizeof(details));
		emit_event(out, p, PE_KEY_PERSON_BUFFER_EXPIRED, d->engineer_id, dep_due(d), now, details);
		d->fired = false;
	}
}

static bool apply_departed(struct partner *p, const Slad__V1__Assessment *a, sla_time at,
			   struct partners_out *out)
{
	for (int i = 0; i < p->ndeps; i++)
		if (p->deps[i].departed_at == at && strcmp(p->deps[i].engineer_id, a->engineer_id) == 0)
			return true; /* the same departure, reported twice */
	if (!array_grow((void **)&p->deps, &p->capdeps, p->ndeps + 1, sizeof(*p->deps)))
		return false;
	struct partner_departure *d = &p->deps[p->ndeps++];
	memset(d, 0, sizeof(*d));
	snprintf(d->engineer_id, sizeof(d->engineer_id), "%s", a->engineer_id);
	d->departed_at = at;
	d->declared = a->declared;
	d->replaced_at = SLA_TIME_NONE;
	if (!d->declared) {
		char details[64];
		snprintf(details, sizeof(details), "{\"declared\":false}");
		emit_event(out, p, PE_KEY_PERSON_UNDECLARED, d->engineer_id, at, SLA_TIME_NONE, details);
		d->fired = true;
	}
	/* A replacement that came first. */
	for (int i = 0; i < p->nrepl; i++) {
		if (strcmp(p->repl[i].engineer_id, d->engineer_id) == 0) {
			d->replaced_at = p->repl[i].at;
			snprintf(d->replaced_by, sizeof(d->replaced_by), "%s", p->repl[i].engineer_id);
			p->repl[i] = p->repl[--p->nrepl];
			break;
		}
	}
	return true;
}

static bool apply_replaced(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
			   struct partners_out *out)
{
	struct partner_departure *match = NULL;

	/* The departed engineer's own id, else the earliest open declared
	 * departure before it (the id then names the successor). */
	for (int i = 0; i < p->ndeps && !match; i++)
		if (p->deps[i].replaced_at == SLA_TIME_NONE && strcmp(p->deps[i].engineer_id, a->engineer_id) == 0)
			match = &p->deps[i];
	bool own = match != NULL;
	for (int i = 0; i < p->ndeps && !own; i++) {
		struct partner_departure *d = &p->deps[i];
		if (d->declared && d->replaced_at == SLA_TIME_NONE && d->departed_at <= at &&
		    (!match || d->departed_at < match->departed_at))
			match = d;
	}
	if (match) {
		dep_replace(p, match, a->engineer_id, at, now, out);
		return true;
	}
	if (!array_grow((void **)&p->repl, &p->caprepl, p->nrepl + 1, sizeof(*p->repl)))
		return false;
	snprintf(p->repl[p->nrepl].engineer_id, sizeof(p->repl[p->nrepl].engineer_id), "%s", a->engineer_id);
	p->repl[p->nrepl++].at = at;
	return true;
}

bool qualifications_apply(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
			  struct partners_out *out)
{
	switch (a->kind) {
	case SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED: return apply_cert_registered(p, a, at, now, out);
	case SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED: return apply_cert_replaced(p, a, at, now, out);
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED: return apply_departed(p, a, at, out);
	case SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED: return apply_replaced(p, a, at, now, out);
	default: return true;
	}
}
