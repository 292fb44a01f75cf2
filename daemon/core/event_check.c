/* event_check.c - decoding a message and checking the fields its type requires (events.md). Pure. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "slad/core.h"
#include "slad/scoring.h"
#include "slad/topics.h"

const char *verdict_reason(enum sla_verdict v)
{
	switch (v) {
	case SV_DECODE_ERROR: return "DECODE_ERROR";
	case SV_MISSING_FIELD: return "MISSING_FIELD";
	case SV_BAD_VALUE: return "BAD_VALUE";
	case SV_UNKNOWN_TICKET: return "UNKNOWN_TICKET";
	case SV_INVALID_TRANSITION: return "INVALID_TRANSITION";
	case SV_TOO_LATE: return "TOO_LATE";
	case SV_OVERSIZE: return "OVERSIZE";
	default: return NULL;
	}
}

static const char *const topic_names[TOPIC_COUNT] = {
	[TOPIC_WORKORDERS] = "fsm.workorders",
	[TOPIC_CLOCKINS] = "fsm.clockins",
	[TOPIC_ASSESSMENTS] = "fsm.assessments",
};

const char *topic_default_name(enum sla_topic t)
{
	return (unsigned)t < TOPIC_COUNT ? topic_names[t] : NULL;
}

/* ---- strings on the wire ----
 * protobuf-c ends a string at its first NUL and passes any bytes through, so
 * "EV\0one" and "EV\0two" would both become "EV", and "T\xff1" would reach
 * PostgreSQL as something else. The wire form (already accepted by unpack)
 * is walked once more and every string field checked: UTF-8, no NUL. */

static bool wire_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* Ids and names are mostly ASCII: eight bytes at a time. */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == n)
			break;
		uint8_t c = s[i];
		size_t k;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

/* Bytes 0x01..0x7f only (no NUL, no UTF-8 to check): the common case, a word
 * at a time. A word's byte is 0 iff its bit 7 is set in (w - 0x01..) & ~w. */
static bool ascii_text(const uint8_t *s, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((w | ((w - ones) & ~w)) & highs)
			return false;
	}
	for (; i < n; i++)
		if (s[i] == 0 || s[i] >= 0x80)
			return false;
	return true;
}

/* The field numbered id, or NULL. protobuf-c's descriptors list fields by
 * number and messages carry them in that order (protobuf-c packs them so):
 * a cursor that moves forward finds each in a step or two. */
static const ProtobufCFieldDescriptor *field_by_number(const ProtobufCMessageDescriptor *d, uint64_t id,
						       unsigned *cursor)
{
	unsigned i = *cursor;
	if (i >= d->n_fields || d->fields[i].id > id)
		i = 0;
	while (i < d->n_fields && d->fields[i].id < id)
		i++;
	*cursor = i;
	return i < d->n_fields && d->fields[i].id == id ? &d->fields[i] : NULL;
}

static enum sla_verdict wire_strings_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
					   int depth, char *detail, size_t detail_len)
{
	size_t pos = 0;
	unsigned cursor = 0;
	while (pos < len) {
		uint64_t key, n;
		if (!wire_varint(p, len, &pos, &key))
			return SV_APPLIED; /* unpack accepted it: nothing more to see */
		switch (key & 7) {
		case 0:
			if (!wire_varint(p, len, &pos, &n))
				return SV_APPLIED;
			break;
		case 1:
			pos += 8;
			break;
		case 5:
			pos += 4;
			break;
		case 2: {
			if (!wire_varint(p, len, &pos, &n) || n > len - pos)
				return SV_APPLIED;
			const ProtobufCFieldDescriptor *f = field_by_number(desc, key >> 3, &cursor);
			if (f && f->type == PROTOBUF_C_TYPE_STRING && !ascii_text(p + pos, (size_t)n)) {
				if (memchr(p + pos, '\0', (size_t)n))
					BAD("%s contains a NUL byte", f->name);
				if (!utf8_valid(p + pos, (size_t)n))
					BAD("%s is not valid UTF-8", f->name);
			} else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 4) {
				enum sla_verdict v = wire_strings_check(f->descriptor, p + pos, (size_t)n, depth + 1,
									detail, detail_len);
				if (v != SV_APPLIED)
					return v;
			}
			pos += (size_t)n;
			break;
		}
		default:
			return SV_APPLIED;
		}
	}
	return SV_APPLIED;
}

/* ---- decoding into one arena ----
 * protobuf-c allocates the message, each sub-message, string and array of an
 * unpacked event separately: a dozen malloc and free per event. event_decode
 * unpacks into one block (more only if the message is unusually dense) and
 * sla_event_free frees it at once; protobuf-c's own frees are no-ops. */
enum { ARENA_FIRST = 512, ARENA_MORE = 1024 };

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *first, *cur;
};

static struct arena_block *block_new(size_t cap)
{
	struct arena_block *b = malloc(sizeof(*b) + cap);
	if (b) {
		b->next = NULL;
		b->used = 0;
		b->cap = cap;
	}
	return b;
}

static void blocks_free(struct arena_block *b)
{
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
}

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + (sizeof(max_align_t) - 1)) & ~(sizeof(max_align_t) - 1);
	if (a->cur->cap - a->cur->used < size) {
		struct arena_block *b = block_new(size > ARENA_MORE ? size : ARENA_MORE);
		if (!b)
			return NULL;
		a->cur->next = b;
		a->cur = b;
	}
	void *p = (unsigned char *)a->cur->data + a->cur->used;
	a->cur->used += size;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

enum sla_verdict event_decode(const uint8_t *buf, size_t len, Slad__V1__Event **ev, char *detail,
			      size_t detail_len)
{
	*ev = NULL;
	/* protobuf-c has no depth or size limit of its own: cap before decoding. */
	if (len > SLA_EVENT_MAX_BYTES) {
		snprintf(detail, detail_len, "message of %zu bytes exceeds %d", len, SLA_EVENT_MAX_BYTES);
		return SV_OVERSIZE;
	}
	struct arena a = {.first = block_new(ARENA_FIRST + 2 * len)};
	if (!a.first) {
		snprintf(detail, detail_len, "out of memory decoding %zu bytes", len);
		return SV_DECODE_ERROR;
	}
	a.cur = a.first;
	ProtobufCAllocator allocator = {.alloc = arena_alloc, .free = arena_free, .allocator_data = &a};
	*ev = slad__v1__event__unpack(&allocator, len, buf);
	/* protobuf-c allocates the message itself first: sla_event_free finds the block from it. */
	if (!*ev || (void *)*ev != (void *)a.first->data) {
		blocks_free(a.first);
		*ev = NULL;
		snprintf(detail, detail_len, "not a slad.v1.Event protobuf message");
		return SV_DECODE_ERROR;
	}
	enum sla_verdict v = wire_strings_check(&slad__v1__event__descriptor, buf, len, 0, detail, detail_len);
	if (v != SV_APPLIED) {
		sla_event_free(*ev);
		*ev = NULL;
	}
	return v;
}

void sla_event_free(Slad__V1__Event *ev)
{
	if (ev)
		blocks_free((struct arena_block *)(void *)((unsigned char *)ev - offsetof(struct arena_block, data)));
}

/* ---- fields (events.md; the bounds are in docs/input-bounds.md) ---- */

static bool id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= SLA_ID_MAX;
}

static bool absent(const char *s)
{
	return !s || !s[0];
}

/* An optional string: at most `max` bytes. */
#define CAP(field, s, max)                                                  \
	do {                                                                \
		if ((s) && strlen(s) > (size_t)(max))                       \
			BAD("%s longer than %d bytes", field, (int)(max)); \
	} while (0)
/* A required id: present, 1-64 bytes. */
#define REQUIRE_ID(field, s)                                                 \
	do {                                                                 \
		if (absent(s))                                               \
			MISSING(field);                                      \
		if (!id_ok(s))                                               \
			BAD("%s longer than %d bytes", field, SLA_ID_MAX);   \
	} while (0)
/* An enum: a known value (0 is "not given" where `zero_ok`). */
#define ENUM_IN(field, val, max, zero_ok)                                              \
	do {                                                                           \
		if ((int)(val) < ((zero_ok) ? 0 : 1) || (int)(val) > (int)(max))       \
			BAD("%s: unknown value %d", field, (int)(val));                \
	} while (0)
/* An instant: in the sane range and within SLA_SPAN_MAX of the event. */
#define INSTANT(field, has, val)                                                      \
	do {                                                                          \
		if ((has) && !instant_near((val), ev->occurred_at))                   \
			BAD("%s out of range (more than %d days from occurred_at)", field, \
			    (int)(SLA_SPAN_MAX / SLA_DAY));                          \
	} while (0)
#define INT_IN(field, has, val, lo, hi)                                               \
	do {                                                                          \
		if ((has) && ((val) < (lo) || (val) > (hi)))                          \
			BAD("%s out of range %d..%d", field, (int)(lo), (int)(hi));   \
	} while (0)

bool sla_instant_ok(sla_time t)
{
	return t >= SLA_TIME_MIN && t < SLA_TIME_MAX;
}

static bool instant_near(sla_time t, sla_time at)
{
	/* Both are in range: the difference cannot overflow. */
	return sla_instant_ok(t) && t - at <= SLA_SPAN_MAX && at - t <= SLA_SPAN_MAX;
}

static bool coord_ok(double v, double lim)
{
	return isfinite(v) && v >= -lim && v <= lim;
}

struct payload_shape {
	Slad__V1__Event__PayloadCase payload; /* NOT_SET: the type carries none */
	const char *missing;                  /* named when the payload is absent */
};

static struct payload_shape shape_of(Slad__V1__EventType type)
{
	switch (type) {
	case SLAD__V1__EVENT_TYPE__TICKET_CREATED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_TICKET_CREATED, "ticket_type"};
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_ENGINEER_ASSIGNED, "engineer_id"};
	case SLAD__V1__EVENT_TYPE__TICKET_REJECTED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_TICKET_REJECTED, "rejected_by"};
	case SLAD__V1__EVENT_TYPE__RESERVATION_SET:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_RESERVATION_SET, "appointment_at"};
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_AUTHORIZATION_GRANTED, "window_start"};
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_SPARE_PART, "part_id"};
	case SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_REPORT_SUBMITTED, "report_kind"};
	case SLAD__V1__EVENT_TYPE__LEAVE_APPROVED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_LEAVE_APPROVED, "leave_date"};
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_CLOSE_REQUESTED, "close_requested"};
	case SLAD__V1__EVENT_TYPE__TICKET_CANCELLED:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_TICKET_CANCELLED, "ticket_cancelled"};
	case SLAD__V1__EVENT_TYPE__CLOCK_IN:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_CLOCK_IN, "engineer_id"};
	case SLAD__V1__EVENT_TYPE__ASSESSMENT:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD_ASSESSMENT, "quarter"};
	default:
		return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD__NOT_SET, NULL};
	}
}

static const char *payload_name(Slad__V1__Event__PayloadCase c)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(&slad__v1__event__descriptor, c);
	return f ? f->name : "?";
}

static enum sla_verdict check_created(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__TicketCreated *tc = ev->ticket_created;
	int minutes;
	REQUIRE_ID("partner_id", ev->partner_id);
	if (tc->ticket_type == SLAD__V1__TICKET_TYPE__TICKET_TYPE_UNSPECIFIED)
		MISSING("ticket_type");
	ENUM_IN("ticket_type", tc->ticket_type, SLAD__V1__TICKET_TYPE__INCIDENT, false);
	ENUM_IN("sla_class", tc->sla_class, SLAD__V1__SLA_CLASS__NON_HOURLY, true);
	ENUM_IN("severity", tc->severity, SLAD__V1__SEVERITY__IV, true);
	if (tc->ticket_type == SLAD__V1__TICKET_TYPE__INCIDENT &&
	    tc->severity == SLAD__V1__SEVERITY__SEVERITY_UNSPECIFIED)
		MISSING("severity");
	CAP("customer_id", tc->customer_id, SLA_ID_MAX);
	CAP("product_line", tc->product_line, SLA_ID_MAX);
	CAP("calendar_id", tc->calendar_id, CAL_ID_MAX);
	if ((tc->_site_lat_case != 0) != (tc->_site_lon_case != 0))
		BAD("site_lat and site_lon go together");
	if (tc->_site_lat_case && !coord_ok(tc->site_lat, 90))
		BAD("site_lat out of range");
	if (tc->_site_lon_case && !coord_ok(tc->site_lon, 180))
		BAD("site_lon out of range");
	INSTANT("required_arrival_at", tc->_required_arrival_at_case, tc->required_arrival_at);
	INT_IN("required_skill_level", tc->_required_skill_level_case, tc->required_skill_level, 0, SLA_LEVEL_MAX);
	INT_IN("person_days", tc->_person_days_case, tc->person_days, 0, SLA_PERSON_DAYS_MAX);
	INSTANT("service_start_at", tc->_service_start_at_case, tc->service_start_at);
	INSTANT("service_end_at", tc->_service_end_at_case, tc->service_end_at);
	if (tc->_service_start_at_case && tc->_service_end_at_case) {
		if (tc->service_end_at < tc->service_start_at)
			BAD("service_end_at before service_start_at");
		if (tc->service_end_at - tc->service_start_at > SLA_SERVICE_PERIOD_MAX)
			BAD("service_start_at..service_end_at longer than %d days",
			    (int)(SLA_SERVICE_PERIOD_MAX / SLA_DAY));
	}
	CAP("shift_start", tc->shift_start, 5);
	CAP("shift_end", tc->shift_end, 5);
	if (!absent(tc->shift_start) && !hhmm_parse(tc->shift_start, &minutes))
		BAD("shift_start is not HH:MM");
	if (!absent(tc->shift_end) && !hhmm_parse(tc->shift_end, &minutes))
		BAD("shift_end is not HH:MM");
	INSTANT("po_start_at", tc->_po_start_at_case, tc->po_start_at);
	INT_IN("risk_score", tc->_risk_score_case, tc->risk_score, 0, SLA_RISK_SCORE_MAX);
	INSTANT("planned_start_at", tc->_planned_start_at_case, tc->planned_start_at);
	return SV_APPLIED;
}

static enum sla_verdict check_assigned(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__EngineerAssigned *a = ev->engineer_assigned;
	REQUIRE_ID("engineer_id", a->engineer_id);
	INT_IN("engineer_skill_level", a->_engineer_skill_level_case, a->engineer_skill_level, 0,
	       SLA_LEVEL_MAX);
	CAP("engineer_product_line", a->engineer_product_line, SLA_ID_MAX);
	ENUM_IN("role", a->role, SLAD__V1__ROLE__GUARANTOR, true);
	return SV_APPLIED;
}

static enum sla_verdict check_rejected(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__TicketRejected *r = ev->ticket_rejected;
	if (r->rejected_by == SLAD__V1__REJECTOR__REJECTOR_UNSPECIFIED)
		MISSING("rejected_by");
	ENUM_IN("rejected_by", r->rejected_by, SLAD__V1__REJECTOR__FSE, false);
	CAP("reason", r->reason, SLA_TEXT_MAX);
	CAP("evidence_ref", r->evidence_ref, SLA_TEXT_MAX);
	return SV_APPLIED;
}

static enum sla_verdict check_reservation(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__ReservationSet *r = ev->reservation_set;
	if (!r->_appointment_at_case)
		MISSING("appointment_at");
	INSTANT("appointment_at", true, r->appointment_at);
	CAP("evidence_ref", r->evidence_ref, SLA_TEXT_MAX);
	return SV_APPLIED;
}

static enum sla_verdict check_authorization(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__AuthorizationGranted *a = ev->authorization_granted;
	if (!a->_window_start_case)
		MISSING("window_start");
	if (!a->_window_end_case)
		MISSING("window_end");
	INSTANT("window_start", true, a->window_start);
	INSTANT("window_end", true, a->window_end);
	if (a->window_end < a->window_start)
		BAD("window_end before window_start");
	ENUM_IN("grantor", a->grantor, SLAD__V1__GRANTOR__OTHER, true);
	return SV_APPLIED;
}

static enum sla_verdict check_report(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__ReportSubmitted *r = ev->report_submitted;
	if (r->report_kind == SLAD__V1__REPORT_KIND__REPORT_KIND_UNSPECIFIED)
		MISSING("report_kind");
	ENUM_IN("report_kind", r->report_kind, SLAD__V1__REPORT_KIND__RETROSPECTIVE, false);
	CAP("period", r->period, 16);
	return SV_APPLIED;
}

static enum sla_verdict check_leave(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__LeaveApproved *l = ev->leave_approved;
	int64_t day;
	if (absent(l->leave_date))
		MISSING("leave_date");
	if (strlen(l->leave_date) != 10 || !date_parse(l->leave_date, &day))
		BAD("leave_date is not YYYY-MM-DD");
	if (!instant_near(day * SLA_DAY, ev->occurred_at))
		BAD("leave_date out of range (more than %d days from occurred_at)",
		    (int)(SLA_SPAN_MAX / SLA_DAY));
	INSTANT("requested_at", l->_requested_at_case, l->requested_at);
	return SV_APPLIED;
}

static enum sla_verdict check_close_requested(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__CloseRequested *c = ev->close_requested;
	INSTANT("completion_code_at", c->_completion_code_at_case, c->completion_code_at);
	INSTANT("customer_signed_at", c->_customer_signed_at_case, c->customer_signed_at);
	ENUM_IN("result", c->result, SLAD__V1__CLOSE_RESULT__FAILED, true);
	return SV_APPLIED;
}

static enum sla_verdict check_clock_in(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	const Slad__V1__ClockIn *c = ev->clock_in;
	REQUIRE_ID("engineer_id", c->engineer_id);
	if (c->kind == SLAD__V1__CLOCK_KIND__CLOCK_KIND_UNSPECIFIED)
		MISSING("kind");
	ENUM_IN("kind", c->kind, SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT, false);
	ENUM_IN("role", c->role, SLAD__V1__ROLE__GUARANTOR, true);
	if ((c->_lat_case != 0) != (c->_lon_case != 0))
		BAD("lat and lon go together");
	if (c->_lat_case && !coord_ok(c->lat, 90))
		BAD("lat out of range");
	if (c->_lon_case && !coord_ok(c->lon, 180))
		BAD("lon out of range");
	return SV_APPLIED;
}

static enum sla_verdict check_payload_fields(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	switch (ev->type) {
	case SLAD__V1__EVENT_TYPE__TICKET_CREATED: return check_created(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED: return check_assigned(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__TICKET_REJECTED: return check_rejected(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__RESERVATION_SET: return check_reservation(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED: return check_authorization(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED:
		REQUIRE_ID("part_id", ev->spare_part->part_id);
		return SV_APPLIED;
	case SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED: return check_report(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__LEAVE_APPROVED: return check_leave(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED: return check_close_requested(ev, detail, detail_len);
	case SLAD__V1__EVENT_TYPE__TICKET_CANCELLED:
		CAP("reason", ev->ticket_cancelled->reason, SLA_TEXT_MAX);
		CAP("evidence_ref", ev->ticket_cancelled->evidence_ref, SLA_TEXT_MAX);
		return SV_APPLIED;
	case SLAD__V1__EVENT_TYPE__CLOCK_IN: return check_clock_in(ev, detail, detail_len);
	default: return SV_APPLIED;
	}
}

enum sla_verdict event_check(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	if (absent(ev->event_id))
		MISSING("event_id");
	if (!id_ok(ev->event_id))
		BAD("event_id longer than %d bytes", SLA_ID_MAX);
	if (ev->type == SLAD__V1__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED)
		MISSING("type");
	if (ev->type < 0 || ev->type > SLAD__V1__EVENT_TYPE__ASSESSMENT)
		BAD("type: unknown value %d", (int)ev->type);
	if (ev->occurred_at == 0)
		MISSING("occurred_at");
	if (!sla_instant_ok(ev->occurred_at))
		BAD("occurred_at out of range (2000-01-01 to 2200-01-01)");
	CAP("source", ev->source, SLA_ID_MAX);
	CAP("partner_id", ev->partner_id, SLA_ID_MAX);

	struct payload_shape shape = shape_of(ev->type);
	if (ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT) {
		if (absent(ev->partner_id))
			MISSING("partner_id");
	} else {
		REQUIRE_ID("ticket_id", ev->ticket_id);
	}
	if (shape.payload == SLAD__V1__EVENT__PAYLOAD__NOT_SET) {
		if (ev->payload_case != SLAD__V1__EVENT__PAYLOAD__NOT_SET)
			BAD("payload %s does not belong to this type", payload_name(ev->payload_case));
		return SV_APPLIED;
	}
	if (ev->payload_case == SLAD__V1__EVENT__PAYLOAD__NOT_SET || !ev->ticket_created)
		MISSING(shape.missing);
	if (ev->payload_case != shape.payload)
		BAD("payload %s does not belong to this type (expected %s)", payload_name(ev->payload_case),
		    payload_name(shape.payload));
	if (ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT)
		return SV_APPLIED; /* its fields: assessment_check (assessment_check.c) */
	return check_payload_fields(ev, detail, detail_len);
}

enum sla_verdict event_validate(const uint8_t *buf, size_t len, sla_time future_limit, char *detail,
				size_t detail_len)
{
	Slad__V1__Event *ev = NULL;
	enum sla_verdict v = event_decode(buf, len, &ev, detail, detail_len);
	if (v != SV_APPLIED)
		return v;
	v = event_check(ev, detail, detail_len);
	if (v == SV_APPLIED && ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT)
		v = assessment_check(ev, detail, detail_len);
	if (v == SV_APPLIED && future_limit != SLA_TIME_NONE && ev->occurred_at > future_limit) {
		snprintf(detail, detail_len, "occurred_at more than a day in the future");
		v = SV_BAD_VALUE;
	}
	sla_event_free(ev);
	return v;
}

enum sla_verdict event_classify(enum sla_topic topic, const uint8_t *buf, size_t len, sla_time future_limit,
				Slad__V1__Event **ev, char *detail, size_t detail_len)
{
	enum sla_verdict v = event_decode(buf, len, ev, detail, detail_len);
	if (v != SV_APPLIED)
		return v;
	Slad__V1__EventType type = (*ev)->type;
	const char *wrong = NULL;
	if (future_limit != SLA_TIME_NONE && (*ev)->occurred_at > future_limit)
		wrong = "occurred_at more than a day in the future";
	else if (topic == TOPIC_ASSESSMENTS && type != SLAD__V1__EVENT_TYPE__ASSESSMENT)
		wrong = "not an ASSESSMENT event on the assessments topic";
	else if (topic == TOPIC_CLOCKINS && type != SLAD__V1__EVENT_TYPE__CLOCK_IN)
		wrong = "not a CLOCK_IN event on the clock-ins topic";
	else if (topic == TOPIC_WORKORDERS &&
		 (type == SLAD__V1__EVENT_TYPE__CLOCK_IN || type == SLAD__V1__EVENT_TYPE__ASSESSMENT))
		wrong = "not a work-order event on the work-orders topic";
	if (wrong) {
		snprintf(detail, detail_len, "%s", wrong);
		return SV_BAD_VALUE;
	}
	return topic == TOPIC_ASSESSMENTS ? event_check(*ev, detail, detail_len) : SV_APPLIED;
}
