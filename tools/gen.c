/* gen.c - slactl gen: a seeded, deterministic working day of a Hangzhou service centre as JSON Lines. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slactl.h"
#include "slad/arrays.h"
#include "slad/timeutil.h"

/*
 * Every ticket draws from its own random stream, derived from the seed and
 * the ticket's number, so a ticket's story does not depend on the others;
 * the late deliveries draw from one more stream. Output depends only on the
 * arguments: byte-identical for the same ones.
 */

#define GEN_DEFAULT_DAY "2025-03-14"
#define GEN_DEFAULT_TICKETS 300
#define GEN_MAX_TICKETS 200000
#define LOCAL_OFFSET_MIN 480 /* Asia/Shanghai, +08:00, no DST */
#define LOCAL_OFFSET ((sla_time)LOCAL_OFFSET_MIN * SLA_MINUTE)
#define SECOND ((sla_time)1000)
#define HUB_LAT 30.27 /* Hangzhou */
#define HUB_LON 120.15
#define SITE_SPREAD_DEG 0.3
#define LINE_MAX 1024

struct rng {
	uint64_t state;
};

/* splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough here. */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static struct rng rng_for(uint64_t seed, uint64_t stream)
{
	struct rng r = { seed };
	struct rng s;

	s.state = rng_next(&r) ^ (stream * UINT64_C(0xD1B54A32D192ED03));
	rng_next(&s);
	return s;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [lo, hi]. */
static int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static bool rng_chance(struct rng *r, double pct)
{
	return rng_unit(r) * 100.0 < pct;
}

/* A duration drawn uniformly between lo and hi minutes, to the second. */
static sla_time rng_minutes(struct rng *r, int lo, int hi)
{
	return rng_range(r, (int64_t)lo * 60, (int64_t)hi * 60) * SECOND;
}

struct gen_event {
	sla_time occurred_at;
	sla_time delivered_at; /* its position in the file; > occurred_at when synced late */
	uint32_t seq;          /* generation order, the tie-breaker */
	bool clock_in;
	char *line;
};

struct gen_ctx {
	uint64_t seed;
	sla_time day_start; /* local midnight of --day */
	int64_t day;
	struct gen_event *events;
	size_t n_events, cap_events;
	bool out_of_memory;
};

struct ticket {
	struct gen_ctx *g;
	struct rng r;
	char id[40];
	int n_events;
	const char *partner;
	int partner_index;
	double site_lat, site_lon;
	bool site_classified;
};

/* One JSON object under construction; keys are written in a fixed order. */
struct json_line {
	char buf[LINE_MAX];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void jl_append(struct json_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(l->buf) - l->len) {
		/* every line this file writes is far shorter: a bug, not input */
		fprintf(stderr, "slactl gen: internal error: JSON line too long\n");
		abort();
	}
	l->len += (size_t)n;
}

/* Values written by this file never need escaping: ids, enums, plain ASCII text. */
static void jl_str(struct json_line *l, const char *key, const char *val)
{
	jl_append(l, ",\"%s\":\"%s\"", key, val);
}

static void jl_time(struct json_line *l, const char *key, sla_time t)
{
	char buf[40];

	/* whole seconds: the demo is read by people */
	rfc3339_format(t - t % SECOND, LOCAL_OFFSET_MIN, buf, sizeof(buf));
	jl_str(l, key, buf);
}

static void jl_int(struct json_line *l, const char *key, long v)
{
	jl_append(l, ",\"%s\":%ld", key, v);
}

static void jl_coord(struct json_line *l, const char *key, double deg)
{
	jl_append(l, ",\"%s\":%.6f", key, deg);
}

static void jl_bool(struct json_line *l, const char *key, bool v)
{
	jl_append(l, ",\"%s\":%s", key, v ? "true" : "false");
}

static bool is_clock_type(const char *type)
{
	return strcmp(type, "CLOCK_IN") == 0;
}

/* Starts an event of this ticket: the envelope. */
static void ev_begin(struct ticket *t, struct json_line *l, const char *type, sla_time at)
{
	l->len = 0;
	jl_append(l, "{\"event_id\":\"%s-%02d\",\"type\":\"%s\",\"ticket_id\":\"%s\"", t->id, ++t->n_events, type,
		  t->id);
	jl_time(l, "occurred_at", at);
	jl_str(l, "source", is_clock_type(type) ? "fsm-app" : "fsm-hz");
}

static void ev_end(struct ticket *t, struct json_line *l, sla_time at, bool clock_in)
{
	struct gen_ctx *g = t->g;
	struct gen_event *e;

	jl_append(l, "}");
	if (g->out_of_memory)
		return;
	if (!array_grow_from((void **)&g->events, &g->cap_events, g->n_events + 1, sizeof(*g->events), 4096)) {
		g->out_of_memory = true;
		return;
	}
	e = &g->events[g->n_events];
	e->line = strdup(l->buf);
	if (e->line == NULL) {
		g->out_of_memory = true;
		return;
	}
	e->occurred_at = at;
	e->delivered_at = at;
	e->seq = (uint32_t)g->n_events;
	e->clock_in = clock_in;
	g->n_events++;
}

/* An event with no fields besides the envelope. */
static void ev_plain(struct ticket *t, const char *type, sla_time at)
{
	struct json_line l;

	ev_begin(t, &l, type, at);
	ev_end(t, &l, at, false);
}

static sla_time local_time_of_day(sla_time t)
{
	sla_time lt = t + LOCAL_OFFSET;

	return lt - floor_div(lt, SLA_DAY) * SLA_DAY;
}

static sla_time local_midnight(sla_time t)
{
	return t - local_time_of_day(t);
}

static bool in_office_hours(sla_time t)
{
	sla_time tod = local_time_of_day(t);

	return tod >= 8 * SLA_HOUR + 30 * SLA_MINUTE && tod < 18 * SLA_HOUR;
}

static sla_time round_up(sla_time t, sla_time step)
{
	return floor_div(t + step - 1, step) * step;
}

/* A point at dist_m metres from (lat, lon) on a random bearing; flat-earth is fine at these distances. */
static void offset_point(struct rng *r, double lat, double lon, double dist_m, double *olat, double *olon)
{
	const double pi = 3.14159265358979323846;
	double bearing = rng_unit(r) * 2.0 * pi;

	*olat = lat + dist_m * cos(bearing) / 111320.0;
	*olon = lon + dist_m * sin(bearing) / (111320.0 * cos(lat * pi / 180.0));
}

static const char *const clock_kind_names[] = { "DEPART", "ARRIVE", "START", "PAUSE", "LEAVE" };
enum clock_kind { CK_DEPART, CK_ARRIVE, CK_START, CK_PAUSE, CK_LEAVE };

/*
 * A clock-in with the phone's GPS fix: about 3 % without a location, about
 * 2 % more than 3 km from the site (phone left in the car, wrong ticket), the
 * rest 50-200 m off. DEPART is from wherever the engineer was, 3-20 km away.
 */
static void ev_clock(struct ticket *t, const char *engineer, enum clock_kind kind, sla_time at)
{
	struct json_line l;
	double lat, lon;
	bool located = true;

	ev_begin(t, &l, "CLOCK_IN", at);
	jl_str(&l, "engineer_id", engineer);
	jl_str(&l, "kind", clock_kind_names[kind]);
	if (rng_chance(&t->r, 3.0)) {
		located = false;
	} else if (kind == CK_DEPART) {
		offset_point(&t->r, t->site_lat, t->site_lon, (double)rng_range(&t->r, 3000, 20000), &lat, &lon);
	} else if (rng_chance(&t->r, 2.0)) {
		offset_point(&t->r, t->site_lat, t->site_lon, (double)rng_range(&t->r, 3500, 8000), &lat, &lon);
	} else {
		offset_point(&t->r, t->site_lat, t->site_lon, (double)rng_range(&t->r, 50, 200), &lat, &lon);
	}
	if (located) {
		jl_coord(&l, "lat", lat);
		jl_coord(&l, "lon", lon);
	}
	ev_end(t, &l, at, true);
}

/* Partners differ in size: P01 takes the most tickets, P08 the fewest. */
static const int partner_weights[] = { 20, 18, 15, 12, 10, 10, 8, 7 };
#define N_PARTNERS 8
#define ENGINEERS_PER_PARTNER 7 /* P01 has E001-E007, ..., P08 E050-E056 */
#define N_ENGINEERS 60          /* E057-E060 are floaters who work for anyone */

static const char *const product_lines[] = { "ROUTER", "SWITCH", "WLAN", "TRANSMISSION", "ACCESS", "SECURITY" };
#define N_PRODUCT_LINES (sizeof(product_lines) / sizeof(product_lines[0]))

static void pick_engineer(struct ticket *t, char *buf, size_t len, const char *avoid)
{
	int n;

	do {
		if (rng_chance(&t->r, 90.0))
			n = t->partner_index * ENGINEERS_PER_PARTNER + (int)rng_range(&t->r, 1, ENGINEERS_PER_PARTNER);
		else
			n = (int)rng_range(&t->r, N_PARTNERS * ENGINEERS_PER_PARTNER + 1, N_ENGINEERS);
		snprintf(buf, len, "E%03d", n);
	} while (avoid != NULL && strcmp(buf, avoid) == 0);
}

enum ticket_kind { TK_MAINT_HOURLY, TK_MAINT_NON_HOURLY, TK_ONE_OFF, TK_INSPECTION, TK_RECTIFICATION, TK_INCIDENT };

/* Creation time of day: urgent work arrives round the clock, the rest in office hours. */
static sla_time draw_creation(struct ticket *t, bool round_the_clock)
{
	double u = rng_unit(&t->r);
	sla_time tod;

	if (round_the_clock)
		tod = u < 0.10 ? rng_minutes(&t->r, 0, 7 * 60 - 1)
		    : u < 0.85 ? rng_minutes(&t->r, 7 * 60, 19 * 60 - 1)
			       : rng_minutes(&t->r, 19 * 60, 24 * 60 - 1);
	else
		tod = u < 0.90 ? rng_minutes(&t->r, 8 * 60, 18 * 60 - 1) : rng_minutes(&t->r, 18 * 60, 21 * 60 - 1);
	return t->g->day_start + tod;
}

static void ev_created(struct ticket *t, enum ticket_kind kind, sla_time at, sla_time required_arrival,
		       int skill_level, const char *product_line, int severity)
{
	static const char *const type_names[] = { "MAINTENANCE", "MAINTENANCE", "ONE_OFF",
						  "INSPECTION",  "RECTIFICATION", "INCIDENT" };
	static const char *const severities[] = { "I", "II", "III", "IV" };
	struct json_line l;
	char customer[16];

	ev_begin(t, &l, "TICKET_CREATED", at);
	jl_str(&l, "partner_id", t->partner);
	jl_str(&l, "ticket_type", type_names[kind]);
	if (kind == TK_MAINT_HOURLY)
		jl_str(&l, "sla_class", "HOURLY");
	else if (kind == TK_MAINT_NON_HOURLY)
		jl_str(&l, "sla_class", "NON_HOURLY");
	if (kind == TK_INCIDENT)
		jl_str(&l, "severity", severities[severity]);
	snprintf(customer, sizeof(customer), "C%04d", (int)rng_range(&t->r, 1, 400));
	jl_str(&l, "customer_id", customer);
	jl_str(&l, "product_line", product_line);
	jl_str(&l, "calendar_id", "CN");
	jl_coord(&l, "site_lat", t->site_lat);
	jl_coord(&l, "site_lon", t->site_lon);
	if (t->site_classified)
		jl_bool(&l, "site_classified", true);
	if (required_arrival != SLA_TIME_NONE)
		jl_time(&l, "required_arrival_at", required_arrival);
	if (kind == TK_ONE_OFF) {
		jl_int(&l, "required_skill_level", skill_level);
		jl_int(&l, "person_days", 1);
	}
	ev_end(t, &l, at, false);
}

static void ev_assigned(struct ticket *t, sla_time at, const char *engineer, int skill_level,
			const char *product_line)
{
	struct json_line l;

	ev_begin(t, &l, "ENGINEER_ASSIGNED", at);
	jl_str(&l, "engineer_id", engineer);
	if (skill_level > 0)
		jl_int(&l, "engineer_skill_level", skill_level);
	if (product_line != NULL)
		jl_str(&l, "engineer_product_line", product_line);
	ev_end(t, &l, at, false);
}

static void ev_reservation(struct ticket *t, sla_time at, sla_time appointment, bool evidence, bool customer_requested)
{
	struct json_line l;
	char ref[80];

	ev_begin(t, &l, "RESERVATION_SET", at);
	jl_time(&l, "appointment_at", appointment);
	if (evidence) {
		snprintf(ref, sizeof(ref), "callrec://%s/%02d", t->id, t->n_events);
		jl_str(&l, "evidence_ref", ref);
	}
	if (customer_requested)
		jl_bool(&l, "customer_requested", true);
	ev_end(t, &l, at, false);
}

static void ev_spare(struct ticket *t, const char *type, sla_time at, const char *part)
{
	struct json_line l;

	ev_begin(t, &l, type, at);
	jl_str(&l, "part_id", part);
	ev_end(t, &l, at, false);
}

static void ev_close_requested(struct ticket *t, sla_time at, sla_time completion_code, sla_time signed_at)
{
	struct json_line l;

	ev_begin(t, &l, "CLOSE_REQUESTED", at);
	jl_time(&l, "completion_code_at", completion_code);
	jl_time(&l, "customer_signed_at", signed_at);
	ev_end(t, &l, at, false);
}

static void ev_with_reason(struct ticket *t, const char *type, sla_time at, const char *field, const char *value,
			   const char *reason)
{
	struct json_line l;

	ev_begin(t, &l, type, at);
	if (field != NULL)
		jl_str(&l, field, value);
	jl_str(&l, "reason", reason);
	ev_end(t, &l, at, false);
}

/* After the visit: closure requested by most engineers, audited for most tickets. */
static void gen_closure(struct ticket *t, sla_time left, sla_time work_started, double close_pct)
{
	sla_time requested, code_at, signed_at;

	if (!rng_chance(&t->r, close_pct))
		return;
	requested = left + rng_minutes(&t->r, 10, 120);
	code_at = left - rng_minutes(&t->r, 0, 5);
	signed_at = left - rng_minutes(&t->r, 1, 10);
	if (code_at < work_started)
		code_at = work_started;
	if (signed_at < work_started)
		signed_at = work_started;
	ev_close_requested(t, requested, code_at, signed_at);
	if (rng_chance(&t->r, 88.0))
		ev_plain(t, "TICKET_CLOSED", requested + rng_minutes(&t->r, 30, 240));
}

/*
 * MAINTENANCE and ONE_OFF: dispatch, assignment, reservation, authorisation,
 * one visit with GPS clock-ins, maybe a spare part, closure.
 */
/* A field visit as gen_field_visit draws it, phase by phase (each phase
 * draws from the ticket's generator in the same order as one function did). */
struct visit {
	enum ticket_kind kind;
	bool hourly;
	int64_t line_index;
	const char *product_line;
	int required_skill;
	sla_time created, required, assigned, reserved_at, effective;
	sla_time depart, arrive, start, leave;
	char engineer[16];
};

/* Required arrival: a few hours out; the evening's non-urgent work waits for the morning. */
static sla_time visit_required(struct rng *r, sla_time created, bool hourly)
{
	sla_time required, tod;

	if (hourly)
		return round_up(created + rng_minutes(r, 120, 240), 15 * SLA_MINUTE);
	required = round_up(created + rng_minutes(r, 240, 480), 30 * SLA_MINUTE);
	tod = local_time_of_day(required);
	if (tod >= 20 * SLA_HOUR || tod < 8 * SLA_HOUR)
		required = local_midnight(required) + (tod >= 20 * SLA_HOUR ? SLA_DAY : 0) + 9 * SLA_HOUR +
			   rng_range(r, 0, 6) * 30 * SLA_MINUTE;
	return required;
}

/* Assignment: DISPATCH is WITHIN 10 (HOURLY) or OFFICE_HOURS 30; ~15 % late;
 * ~3 % rejected back to the FSIP, who assigns someone else. */
static void visit_assign(struct ticket *t, struct visit *v, sla_time dispatched)
{
	struct rng *r = &t->r;
	sla_time tod;

	if (v->hourly)
		v->assigned = dispatched + (rng_chance(r, 85.0) ? rng_minutes(r, 1, 9) : rng_minutes(r, 11, 45));
	else if (in_office_hours(dispatched) || rng_chance(r, 60.0))
		v->assigned = dispatched + (rng_chance(r, 85.0) ? rng_minutes(r, 3, 28) : rng_minutes(r, 31, 100));
	else {
		tod = local_time_of_day(dispatched);
		v->assigned = local_midnight(dispatched) + (tod >= 18 * SLA_HOUR ? SLA_DAY : 0) +
			      (rng_chance(r, 90.0) ? 8 * SLA_HOUR + rng_minutes(r, 35, 59)
						   : 9 * SLA_HOUR + rng_minutes(r, 5, 40));
	}
	pick_engineer(t, v->engineer, sizeof(v->engineer), NULL);
	if (v->kind == TK_ONE_OFF) {
		/* ~10 % under-skilled, ~5 % from another product line (SKILL_MISMATCH) */
		int skill = rng_chance(r, 90.0) ? v->required_skill + (int)rng_range(r, 0, 1) : v->required_skill - 1;
		const char *line =
			rng_chance(r, 95.0)
				? v->product_line
				: product_lines[(v->line_index + rng_range(r, 1, N_PRODUCT_LINES - 1)) % N_PRODUCT_LINES];

		ev_assigned(t, v->assigned, v->engineer, skill, line);
	} else {
		ev_assigned(t, v->assigned, v->engineer, 0, NULL);
	}
	if (rng_chance(r, 3.0)) {
		char first[16];

		memcpy(first, v->engineer, sizeof(first));
		v->assigned += rng_minutes(r, 5, 25);
		ev_with_reason(t, "TICKET_REJECTED", v->assigned, "rejected_by", "FSE", "engineer on another site");
		v->assigned += rng_minutes(r, 3, 20);
		pick_engineer(t, v->engineer, sizeof(v->engineer), first);
		ev_assigned(t, v->assigned, v->engineer, v->kind == TK_ONE_OFF ? v->required_skill : 0,
			    v->kind == TK_ONE_OFF ? v->product_line : NULL);
	}
}

/* Reservation: confirm (55 %), earlier (15 %), later at the customer's
 * request (25 %, a fifth of them without evidence), none (5 %); ~3 %
 * re-booked after the agreed time had already passed. */
static void visit_reserve(struct ticket *t, struct visit *v)
{
	struct rng *r = &t->r;
	double u = rng_unit(r);

	v->effective = v->required;
	v->reserved_at = SLA_TIME_NONE;
	if (u < 0.95) {
		sla_time appointment = v->required;
		bool evidence = rng_chance(r, 60.0), customer_requested = false;

		v->reserved_at = v->assigned + rng_minutes(r, 5, 45);
		if (u >= 0.55 && u < 0.70) {
			appointment = v->required - rng_range(r, 2, 6) * 15 * SLA_MINUTE;
			if (appointment < v->reserved_at + 45 * SLA_MINUTE)
				appointment = v->required;
		} else if (u >= 0.70) {
			appointment = v->required + rng_range(r, 4, 16) * 15 * SLA_MINUTE;
			evidence = rng_chance(r, 80.0);
			customer_requested = true;
		}
		ev_reservation(t, v->reserved_at, appointment, evidence, customer_requested);
		v->effective = appointment;
	}
	if (rng_chance(r, 3.0)) {
		sla_time rebooked = v->effective + rng_minutes(r, 10, 40);

		v->reserved_at = rebooked;
		v->effective = round_up(rebooked + rng_minutes(r, 90, 180), 15 * SLA_MINUTE);
		ev_reservation(t, rebooked, v->effective, true, true);
	}
}

/* The visit's clock-ins: ~85 % arrive before the effective required arrival. */
static void visit_times(struct rng *r, struct visit *v)
{
	if (rng_chance(r, 85.0))
		v->arrive = v->effective - rng_minutes(r, 5, 40);
	else
		v->arrive = v->effective + rng_minutes(r, 5, 90);
	if (v->arrive < v->assigned + 20 * SLA_MINUTE)
		v->arrive = v->assigned + rng_minutes(r, 20, 50);
	if (v->reserved_at != SLA_TIME_NONE && v->arrive < v->reserved_at + 10 * SLA_MINUTE)
		v->arrive = v->reserved_at + rng_minutes(r, 10, 40);
	v->depart = v->arrive - rng_minutes(r, 20, 60);
	if (v->depart < v->assigned + SLA_MINUTE)
		v->depart = v->assigned + SLA_MINUTE;
	v->start = v->arrive + rng_minutes(r, 5, 20);
	v->leave = v->start + rng_minutes(r, 40, 180);
}

/* Authorisation: ~88 % get a window around the visit (END_CUSTOMER
 * mostly, 3 % OTHER); ~5 % of windows open too late for the start. */
static void visit_authorization(struct ticket *t, const struct visit *v)
{
	struct rng *r = &t->r;
	struct json_line l;
	sla_time window_start, window_end, auth_at;
	double g;

	if (!rng_chance(r, 88.0))
		return;
	window_start = round_up(v->effective - SLA_HOUR, 30 * SLA_MINUTE);
	window_end = window_start + 7 * SLA_HOUR;
	g = rng_unit(r);
	auth_at = (v->reserved_at != SLA_TIME_NONE ? v->reserved_at : v->assigned) + rng_minutes(r, 2, 30);
	if (auth_at > v->start - SLA_MINUTE)
		auth_at = v->start - SLA_MINUTE;
	if (rng_chance(r, 5.0)) {
		window_start = round_up(v->start + rng_minutes(r, 60, 150), 30 * SLA_MINUTE);
		window_end = window_start + 4 * SLA_HOUR;
	}
	ev_begin(t, &l, "AUTHORIZATION_GRANTED", auth_at);
	jl_time(&l, "window_start", window_start);
	jl_time(&l, "window_end", window_end);
	jl_str(&l, "grantor", g < 0.92 ? "END_CUSTOMER" : g < 0.97 ? "DELEGATED_WITH_COMMITMENT" : "OTHER");
	ev_end(t, &l, auth_at, false);
}

/* ~15 %: a spare part during the visit; confirmation is due WITHIN 15
 * (HOURLY) or OFFICE_HOURS 60, ~15 % confirmed late. */
static void visit_spare_part(struct ticket *t, struct visit *v)
{
	struct rng *r = &t->r;
	sla_time requested, confirmed;
	char part[16];

	if (!rng_chance(r, 15.0))
		return;
	requested = v->start + rng_minutes(r, 15, 60);
	snprintf(part, sizeof(part), "PN-%06d", (int)rng_range(r, 100000, 999999));
	if (v->hourly)
		confirmed = requested + (rng_chance(r, 85.0) ? rng_minutes(r, 3, 14) : rng_minutes(r, 16, 40));
	else
		confirmed = requested + (rng_chance(r, 85.0) ? rng_minutes(r, 10, 55) : rng_minutes(r, 61, 120));
	ev_spare(t, "SPARE_PART_REQUESTED", requested, part);
	ev_spare(t, "SPARE_PART_CONFIRMED", confirmed, part);
	if (v->leave < confirmed + 10 * SLA_MINUTE)
		v->leave = confirmed + rng_minutes(r, 10, 60);
}

static void gen_field_visit(struct ticket *t, enum ticket_kind kind)
{
	struct rng *r = &t->r;
	struct visit v = { .kind = kind, .hourly = kind == TK_MAINT_HOURLY };

	v.created = draw_creation(t, v.hourly);
	v.line_index = rng_range(r, 0, N_PRODUCT_LINES - 1);
	v.product_line = product_lines[v.line_index];
	v.required_skill = kind == TK_ONE_OFF ? (int)rng_range(r, 2, 4) : 0;
	v.required = visit_required(r, v.created, v.hourly);
	ev_created(t, kind, v.created, v.required, v.required_skill, v.product_line, 0);

	sla_time dispatched = v.created + rng_minutes(r, 1, 10);
	ev_plain(t, "TICKET_DISPATCHED", dispatched);
	visit_assign(t, &v, dispatched);

	/* ~2 %: cancelled by the customer before anyone goes. */
	if (rng_chance(r, 2.0)) {
		ev_with_reason(t, "TICKET_CANCELLED", v.assigned + rng_minutes(r, 20, 120), NULL, NULL,
			       "customer withdrew the request");
		return;
	}
	visit_reserve(t, &v);
	visit_times(r, &v);
	visit_authorization(t, &v);
	ev_clock(t, v.engineer, CK_DEPART, v.depart);
	ev_clock(t, v.engineer, CK_ARRIVE, v.arrive);
	ev_clock(t, v.engineer, CK_START, v.start);
	visit_spare_part(t, &v);
	/* A visit stays on one local date: late visits wrap up before midnight. */
	if (local_midnight(v.leave) != local_midnight(v.arrive)) {
		sla_time before_midnight = local_midnight(v.arrive) + SLA_DAY - rng_minutes(r, 5, 15);

		if (before_midnight > v.start + 10 * SLA_MINUTE)
			v.leave = before_midnight;
	}
	ev_clock(t, v.engineer, CK_LEAVE, v.leave);
	gen_closure(t, v.leave, v.start, 92.0);
}

/* INCIDENT: the response ladder against WITHIN deadlines by severity. */
static void gen_incident(struct ticket *t)
{
	static const int respond_min[] = { 5, 5, 10, 15 }, arrive_min[] = { 10, 15, 20, 20 },
			 solve_min[] = { 60, 60, 120, 120 };
	struct rng *r = &t->r;
	double u = rng_unit(r);
	int sev = u < 0.05 ? 0 : u < 0.20 ? 1 : u < 0.60 ? 2 : 3;
	sla_time created = draw_creation(t, true);
	sla_time dispatched = created + rng_minutes(r, 1, 3);
	sla_time assigned, arrive, depart, start, diagnosed, solved, leave;
	char engineer[16];

	ev_created(t, TK_INCIDENT, created, SLA_TIME_NONE, 0, product_lines[rng_range(r, 0, N_PRODUCT_LINES - 1)],
		   sev);
	ev_plain(t, "TICKET_DISPATCHED", dispatched);
	ev_plain(t, "INCIDENT_RESPONDED",
		 dispatched + (rng_chance(r, 90.0) ? rng_minutes(r, 1, respond_min[sev] - 1)
						   : rng_minutes(r, respond_min[sev] + 1, respond_min[sev] + 15)));
	assigned = dispatched + rng_minutes(r, 1, 4);
	pick_engineer(t, engineer, sizeof(engineer), NULL);
	ev_assigned(t, assigned, engineer, 0, NULL);
	arrive = dispatched + (rng_chance(r, 70.0) ? rng_minutes(r, arrive_min[sev] * 6 / 10, arrive_min[sev] - 1)
						   : rng_minutes(r, arrive_min[sev] + 5, arrive_min[sev] + 40));
	depart = assigned + rng_minutes(r, 0, 2);
	if (depart >= arrive)
		depart = assigned;
	start = arrive + rng_minutes(r, 2, 5);
	diagnosed = dispatched + (rng_chance(r, 85.0) ? rng_minutes(r, solve_min[sev] * 4 / 10, solve_min[sev] - 10)
						      : rng_minutes(r, solve_min[sev] + 10, solve_min[sev] + 60));
	if (diagnosed < start + 5 * SLA_MINUTE)
		diagnosed = start + rng_minutes(r, 5, 15);
	solved = diagnosed + rng_minutes(r, 5, 30);
	leave = solved + rng_minutes(r, 10, 60);
	ev_clock(t, engineer, CK_DEPART, depart);
	ev_clock(t, engineer, CK_ARRIVE, arrive);
	ev_clock(t, engineer, CK_START, start);
	ev_plain(t, "INCIDENT_DIAGNOSED", diagnosed);
	ev_plain(t, "INCIDENT_SOLUTION_PROVIDED", solved);
	ev_clock(t, engineer, CK_LEAVE, leave);
	gen_closure(t, leave, start, 95.0);
}

/* INSPECTION and RECTIFICATION: planned work weeks out; today sees only the paperwork. */
static void gen_planned(struct ticket *t, enum ticket_kind kind)
{
	struct rng *r = &t->r;
	sla_time created = draw_creation(t, false);
	sla_time required = local_midnight(created) + rng_range(r, 7, 45) * SLA_DAY + 10 * SLA_HOUR;
	sla_time dispatched = created + rng_minutes(r, 5, 60), acknowledged, assigned;
	char engineer[16];

	ev_created(t, kind, created, required, 0, product_lines[rng_range(r, 0, N_PRODUCT_LINES - 1)], 0);
	ev_plain(t, "TICKET_DISPATCHED", dispatched);
	/* RESPONSE_DAY: by midnight when dispatched in office hours; ~8 % answer next morning. */
	if (rng_chance(r, 92.0)) {
		acknowledged = dispatched + rng_minutes(r, 10, 300);
		if (local_midnight(acknowledged) != local_midnight(dispatched))
			acknowledged = local_midnight(dispatched) + SLA_DAY - rng_minutes(r, 5, 60);
		if (acknowledged <= dispatched)
			acknowledged = dispatched + SLA_MINUTE;
	} else {
		acknowledged = local_midnight(dispatched) + SLA_DAY + 9 * SLA_HOUR + rng_minutes(r, 0, 90);
	}
	ev_plain(t, "TICKET_ACKNOWLEDGED", acknowledged);
	assigned = acknowledged + rng_minutes(r, 20, 360);
	pick_engineer(t, engineer, sizeof(engineer), NULL);
	ev_assigned(t, assigned, engineer, 0, NULL);
	if (rng_chance(r, 60.0)) {
		sla_time reserved_at = assigned + rng_minutes(r, 30, 180);
		sla_time appointment = local_midnight(required) - rng_range(r, 0, 3) * SLA_DAY + 9 * SLA_HOUR +
				       30 * SLA_MINUTE;

		ev_reservation(t, reserved_at, appointment, true, false);
	}
}

static void gen_ticket(struct gen_ctx *g, int index)
{
	static const char *const partners[N_PARTNERS] = { "P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08" };
	struct ticket t = { .g = g, .r = rng_for(g->seed, (uint64_t)index + 1) };
	int y, w = 0, total = 0;
	unsigned m, d;
	double u;
	int64_t pick;

	civil_from_days(g->day, &y, &m, &d);
	snprintf(t.id, sizeof(t.id), "HZ%04d%02u%02u-%05d", y, m, d, index + 1);
	for (int i = 0; i < N_PARTNERS; i++)
		total += partner_weights[i];
	pick = rng_range(&t.r, 0, total - 1);
	for (t.partner_index = 0; t.partner_index < N_PARTNERS - 1; t.partner_index++) {
		w += partner_weights[t.partner_index];
		if (pick < w)
			break;
	}
	t.partner = partners[t.partner_index];
	t.site_lat = HUB_LAT + (rng_unit(&t.r) * 2.0 - 1.0) * SITE_SPREAD_DEG;
	t.site_lon = HUB_LON + (rng_unit(&t.r) * 2.0 - 1.0) * SITE_SPREAD_DEG;
	t.site_classified = rng_chance(&t.r, 2.0);

	/* Mix: MAINTENANCE 84 % (30 % of it HOURLY), ONE_OFF 5 %, INSPECTION 4 %,
	 * RECTIFICATION 3 %, INCIDENT 4 %. */
	u = rng_unit(&t.r);
	if (u < 0.84)
		gen_field_visit(&t, rng_chance(&t.r, 30.0) ? TK_MAINT_HOURLY : TK_MAINT_NON_HOURLY);
	else if (u < 0.89)
		gen_field_visit(&t, TK_ONE_OFF);
	else if (u < 0.93)
		gen_planned(&t, TK_INSPECTION);
	else if (u < 0.96)
		gen_planned(&t, TK_RECTIFICATION);
	else
		gen_incident(&t);
}

/* Mobile sync: a late clock-in keeps its occurred_at but is delivered with a later batch. */
static void delay_clock_ins(struct gen_ctx *g, double late_pct)
{
	struct rng r = rng_for(g->seed, 0);

	if (late_pct <= 0.0)
		return;
	for (size_t i = 0; i < g->n_events; i++) {
		struct gen_event *e = &g->events[i];

		if (e->clock_in && rng_chance(&r, late_pct))
			e->delivered_at = e->occurred_at + rng_minutes(&r, 15, 180);
	}
}

static int by_delivery(const void *a, const void *b)
{
	const struct gen_event *x = a, *y = b;

	if (x->delivered_at != y->delivered_at)
		return x->delivered_at < y->delivered_at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct gen_opts {
	uint64_t seed;
	int tickets;
	const char *day;
	double late_pct;
	const char *out;
};

static void gen_usage(FILE *out)
{
	fprintf(out,
		"usage: slactl gen [--seed N] [--tickets N] [--day YYYY-MM-DD] [--late-pct P] [--out FILE]\n"
		"\n"
		"Writes one working day of a regional service centre in Hangzhou (calendar CN,\n"
		"+08:00) as JSON Lines events (events.md), sorted by occurred_at: mostly\n"
		"MAINTENANCE tickets (30 %% HOURLY), some ONE_OFF, INSPECTION, RECTIFICATION and\n"
		"INCIDENT, partners P01-P08, engineers E001-E060, with realistic lateness, GPS\n"
		"jitter and a few rule breaches. The same arguments give byte-identical output.\n"
		"\n"
		"  --seed N         random seed (default 1)\n"
		"  --tickets N      tickets created that day (default %d, at most %d)\n"
		"  --day DATE       the day (default %s)\n"
		"  --late-pct P     percentage of clock-ins synced late: same occurred_at, later\n"
		"                   in the file (default 0)\n"
		"  --out FILE       write to FILE instead of standard output\n"
		"  -h, --help       show this help\n"
		"  -V, --version    show the version\n",
		GEN_DEFAULT_TICKETS, GEN_MAX_TICKETS, GEN_DEFAULT_DAY);
}

static bool parse_args(int argc, char **argv, struct gen_opts *opts, int *status)
{
	enum { OPT_SEED = 256, OPT_TICKETS, OPT_LATE };
	const struct slactl_option longopts[] = {
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "tickets", required_argument, NULL, OPT_TICKETS },
		{ "day", required_argument, &opts->day, 0 },
		{ "late-pct", required_argument, NULL, OPT_LATE },
		{ "out", required_argument, &opts->out, 0 },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c, st = -1;

	*status = 2;
	opts->seed = 1;
	opts->tickets = GEN_DEFAULT_TICKETS;
	opts->day = GEN_DEFAULT_DAY;
	opts->late_pct = 0.0;
	opts->out = NULL;
	optind = 1;
	while ((c = slactl_getopt(argc, argv, "", longopts, "gen", gen_usage, &st)) != -1) {
		switch (c) {
		case OPT_SEED:
			errno = 0;
			opts->seed = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-') {
				fprintf(stderr, "slactl gen: --seed expects a non-negative integer, got '%s'\n", optarg);
				return false;
			}
			break;
		case OPT_TICKETS: {
			long v;

			if (!slactl_parse_count("gen", "--tickets", optarg, GEN_MAX_TICKETS, &v))
				return false;
			opts->tickets = (int)v;
			break;
		}
		case OPT_LATE:
			errno = 0;
			opts->late_pct = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(opts->late_pct >= 0.0) ||
			    opts->late_pct > 100.0) {
				fprintf(stderr, "slactl gen: --late-pct expects a number from 0 to 100, got '%s'\n",
					optarg);
				return false;
			}
			break;
		}
	}
	if (st >= 0) {
		*status = st;
		return false;
	}
	return slactl_no_operands(argc, argv, "gen");
}

static bool valid_day(const char *s, int64_t *days)
{
	int y;
	unsigned m, d;
	char back[16];

	if (!date_parse(s, days))
		return false;
	/* date_parse may accept 2025-02-30; a round trip catches it */
	civil_from_days(*days, &y, &m, &d);
	snprintf(back, sizeof(back), "%04d-%02u-%02u", y, m, d);
	return strcmp(back, s) == 0;
}

int cmd_gen(int argc, char **argv)
{
	struct gen_opts opts;
	struct gen_ctx g = { 0 };
	FILE *out = NULL;
	int status;

	if (!parse_args(argc, argv, &opts, &status))
		return status;
	status = 1;
	if (!valid_day(opts.day, &g.day)) {
		fprintf(stderr, "slactl gen: --day expects a date YYYY-MM-DD, got '%s'\n", opts.day);
		return 2;
	}
	g.seed = opts.seed;
	g.day_start = g.day * SLA_DAY - LOCAL_OFFSET;

	for (int i = 0; i < opts.tickets && !g.out_of_memory; i++)
		gen_ticket(&g, i);
	if (g.out_of_memory) {
		fprintf(stderr, "slactl gen: out of memory\n");
		goto done;
	}
	delay_clock_ins(&g, opts.late_pct);
	qsort(g.events, g.n_events, sizeof(g.events[0]), by_delivery);

	out = opts.out != NULL ? fopen(opts.out, "w") : stdout;
	if (out == NULL) {
		fprintf(stderr, "slactl gen: cannot open %s: %m\n", opts.out);
		goto done;
	}
	for (size_t i = 0; i < g.n_events; i++)
		if (fputs(g.events[i].line, out) == EOF || fputc('\n', out) == EOF)
			break;
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "slactl gen: cannot write %s: %m\n", opts.out != NULL ? opts.out : "standard output");
		goto done;
	}
	if (opts.out != NULL)
		fprintf(stderr, "slactl gen: %zu events for %d tickets written to %s\n", g.n_events, opts.tickets,
			opts.out);
	status = 0;
done:
	if (out != NULL && out != stdout && fclose(out) != 0 && status == 0) {
		fprintf(stderr, "slactl gen: cannot write %s: %m\n", opts.out);
		status = 1;
	}
	for (size_t i = 0; i < g.n_events; i++)
		free(g.events[i].line);
	free(g.events);
	return status;
}
