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

/* ---- a payload's fields: a table of rules a type, checked in order ----
 * The first rule that fails names the field in the verdict's detail, so the
 * order of the rows is part of what a message is told. */

/* Strings first (FR_ID..FR_DATE), proto3 optionals last (FR_GIVEN on): check_rule reads them so. */
enum field_rule_kind {
	FR_ID,            /* a required id: present, at most SLA_ID_MAX bytes */
	FR_TEXT,          /* an optional string of at most hi bytes */
	FR_HHMM,          /* an optional string: HH:MM where given */
	FR_DATE,          /* a required YYYY-MM-DD within SLA_SPAN_MAX of the event */
	FR_ENUM,          /* an enum: 0 (not given) or a known value up to hi */
	FR_ENUM_REQUIRED, /* the same, and given */
	FR_REQUIRED_IF,   /* an enum given when the enum `other` is lo */
	FR_GIVEN,         /* a proto3 optional that must be given (its value: a later row) */
	FR_INSTANT,       /* an optional instant within SLA_SPAN_MAX of the event */
	FR_INT,           /* an optional int32 in lo..hi */
	FR_COORD,         /* an optional coordinate: finite, within -hi..hi */
	FR_TOGETHER,      /* two proto3 optionals: both or neither */
	FR_AFTER,         /* where both are given: not before `other`, at most hi ms after it (0: any) */
};

struct field_rule {
	enum field_rule_kind kind;
	const char *name, *other;
	size_t at, has;             /* offsets of the field and of its proto3 optional case */
	size_t other_at, other_has; /* the same for `other` */
	int64_t lo, hi;
};

#define MSG(m) Slad__V1__##m
/* The offset of field f of message m, of type t: a row that reads it as
 * another type does not compile. Enums and optional cases are int-sized
 * (protobuf-c forces it) and read as int32_t. */
/* NOLINTNEXTLINE(bugprone-macro-parentheses): t is a type name, which cannot be parenthesised */
#define AT(m, f, t) _Generic(((MSG(m) *)0)->f, t: offsetof(MSG(m), f))
#define HAS(m, f) offsetof(MSG(m), _##f##_case)
#define R_ID(m, f) {.kind = FR_ID, .name = #f, .at = AT(m, f, char *)}
#define R_TEXT(m, f, max) {.kind = FR_TEXT, .name = #f, .at = AT(m, f, char *), .hi = (max)}
#define R_HHMM(m, f) {.kind = FR_HHMM, .name = #f, .at = AT(m, f, char *)}
#define R_DATE(m, f) {.kind = FR_DATE, .name = #f, .at = AT(m, f, char *)}
#define R_ENUM(m, f, max) {.kind = FR_ENUM, .name = #f, .at = offsetof(MSG(m), f), .hi = (max)}
#define R_ENUM_REQUIRED(m, f, max) {.kind = FR_ENUM_REQUIRED, .name = #f, .at = offsetof(MSG(m), f), .hi = (max)}
#define R_REQUIRED_IF(m, f, g, value) \
	{.kind = FR_REQUIRED_IF, .name = #f, .at = offsetof(MSG(m), f), .other_at = offsetof(MSG(m), g), .lo = (value)}
#define R_GIVEN(m, f) {.kind = FR_GIVEN, .name = #f, .has = HAS(m, f)}
#define R_INSTANT(m, f) {.kind = FR_INSTANT, .name = #f, .at = AT(m, f, int64_t), .has = HAS(m, f)}
#define R_INT(m, f, min, max) \
	{.kind = FR_INT, .name = #f, .at = AT(m, f, int32_t), .has = HAS(m, f), .lo = (min), .hi = (max)}
#define R_COORD(m, f, lim) {.kind = FR_COORD, .name = #f, .at = AT(m, f, double), .has = HAS(m, f), .hi = (lim)}
#define R_TOGETHER(m, f, g) {.kind = FR_TOGETHER, .name = #f, .other = #g, .has = HAS(m, f), .other_has = HAS(m, g)}
#define R_AFTER(m, f, g, span)                                                                           \
	{.kind = FR_AFTER, .name = #f, .other = #g, .at = AT(m, f, int64_t), .has = HAS(m, f),             \
	 .other_at = AT(m, g, int64_t), .other_has = HAS(m, g), .hi = (span)}

static const struct field_rule created_rules[] = {
	R_ENUM_REQUIRED(TicketCreated, ticket_type, SLAD__V1__TICKET_TYPE__INCIDENT),
	R_ENUM(TicketCreated, sla_class, SLAD__V1__SLA_CLASS__NON_HOURLY),
	R_ENUM(TicketCreated, severity, SLAD__V1__SEVERITY__IV),
	R_REQUIRED_IF(TicketCreated, severity, ticket_type, SLAD__V1__TICKET_TYPE__INCIDENT),
	R_TEXT(TicketCreated, customer_id, SLA_ID_MAX),
	R_TEXT(TicketCreated, product_line, SLA_ID_MAX),
	R_TEXT(TicketCreated, calendar_id, CAL_ID_MAX),
	R_TOGETHER(TicketCreated, site_lat, site_lon),
	R_COORD(TicketCreated, site_lat, 90),
	R_COORD(TicketCreated, site_lon, 180),
	R_INSTANT(TicketCreated, required_arrival_at),
	R_INT(TicketCreated, required_skill_level, 0, SLA_LEVEL_MAX),
	R_INT(TicketCreated, person_days, 0, SLA_PERSON_DAYS_MAX),
	R_INSTANT(TicketCreated, service_start_at),
	R_INSTANT(TicketCreated, service_end_at),
	R_AFTER(TicketCreated, service_end_at, service_start_at, SLA_SERVICE_PERIOD_MAX),
	R_TEXT(TicketCreated, shift_start, 5),
	R_TEXT(TicketCreated, shift_end, 5),
	R_HHMM(TicketCreated, shift_start),
	R_HHMM(TicketCreated, shift_end),
	R_INSTANT(TicketCreated, po_start_at),
	R_INT(TicketCreated, risk_score, 0, SLA_RISK_SCORE_MAX),
	R_INSTANT(TicketCreated, planned_start_at),
};

static const struct field_rule assigned_rules[] = {
	R_ID(EngineerAssigned, engineer_id),
	R_INT(EngineerAssigned, engineer_skill_level, 0, SLA_LEVEL_MAX),
	R_TEXT(EngineerAssigned, engineer_product_line, SLA_ID_MAX),
	R_ENUM(EngineerAssigned, role, SLAD__V1__ROLE__GUARANTOR),
};

static const struct field_rule rejected_rules[] = {
	R_ENUM_REQUIRED(TicketRejected, rejected_by, SLAD__V1__REJECTOR__FSE),
	R_TEXT(TicketRejected, reason, SLA_TEXT_MAX),
	R_TEXT(TicketRejected, evidence_ref, SLA_TEXT_MAX),
};

static const struct field_rule reservation_rules[] = {
	R_GIVEN(ReservationSet, appointment_at),
	R_INSTANT(ReservationSet, appointment_at),
	R_TEXT(ReservationSet, evidence_ref, SLA_TEXT_MAX),
};

static const struct field_rule authorization_rules[] = {
	R_GIVEN(AuthorizationGranted, window_start),
	R_GIVEN(AuthorizationGranted, window_end),
	R_INSTANT(AuthorizationGranted, window_start),
	R_INSTANT(AuthorizationGranted, window_end),
	R_AFTER(AuthorizationGranted, window_end, window_start, 0),
	R_ENUM(AuthorizationGranted, grantor, SLAD__V1__GRANTOR__OTHER),
};

static const struct field_rule spare_part_rules[] = {
	R_ID(SparePart, part_id),
};

static const struct field_rule report_rules[] = {
	R_ENUM_REQUIRED(ReportSubmitted, report_kind, SLAD__V1__REPORT_KIND__RETROSPECTIVE),
	R_TEXT(ReportSubmitted, period, 16),
};

static const struct field_rule leave_rules[] = {
	R_DATE(LeaveApproved, leave_date),
	R_INSTANT(LeaveApproved, requested_at),
};

static const struct field_rule close_requested_rules[] = {
	R_INSTANT(CloseRequested, completion_code_at),
	R_INSTANT(CloseRequested, customer_signed_at),
	R_ENUM(CloseRequested, result, SLAD__V1__CLOSE_RESULT__FAILED),
};

static const struct field_rule cancelled_rules[] = {
	R_TEXT(TicketCancelled, reason, SLA_TEXT_MAX),
	R_TEXT(TicketCancelled, evidence_ref, SLA_TEXT_MAX),
};

static const struct field_rule clock_in_rules[] = {
	R_ID(ClockIn, engineer_id),
	R_ENUM_REQUIRED(ClockIn, kind, SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT),
	R_ENUM(ClockIn, role, SLAD__V1__ROLE__GUARANTOR),
	R_TOGETHER(ClockIn, lat, lon),
	R_COORD(ClockIn, lat, 90),
	R_COORD(ClockIn, lon, 180),
};

struct payload_shape {
	Slad__V1__Event__PayloadCase payload; /* NOT_SET: the type carries none */
	const char *missing;                  /* named when the payload is absent */
	const struct field_rule *rules;       /* its fields (an assessment's: assessment_check.c) */
	size_t nrules;
};

#define RULES(a) (a), sizeof(a) / sizeof((a)[0])
#define TYPE(t) SLAD__V1__EVENT_TYPE__##t
#define PAYLOAD(p) SLAD__V1__EVENT__PAYLOAD_##p
static const struct payload_shape shapes[] = {
	[TYPE(TICKET_CREATED)] = {PAYLOAD(TICKET_CREATED), "ticket_type", RULES(created_rules)},
	[TYPE(ENGINEER_ASSIGNED)] = {PAYLOAD(ENGINEER_ASSIGNED), "engineer_id", RULES(assigned_rules)},
	[TYPE(TICKET_REJECTED)] = {PAYLOAD(TICKET_REJECTED), "rejected_by", RULES(rejected_rules)},
	[TYPE(RESERVATION_SET)] = {PAYLOAD(RESERVATION_SET), "appointment_at", RULES(reservation_rules)},
	[TYPE(AUTHORIZATION_GRANTED)] = {PAYLOAD(AUTHORIZATION_GRANTED), "window_start",
					 RULES(authorization_rules)},
	[TYPE(SPARE_PART_REQUESTED)] = {PAYLOAD(SPARE_PART), "part_id", RULES(spare_part_rules)},
	[TYPE(SPARE_PART_CONFIRMED)] = {PAYLOAD(SPARE_PART), "part_id", RULES(spare_part_rules)},
	[TYPE(SPARE_PART_REPLACED)] = {PAYLOAD(SPARE_PART), "part_id", RULES(spare_part_rules)},
	[TYPE(SPARE_PART_RETURNED)] = {PAYLOAD(SPARE_PART), "part_id", RULES(spare_part_rules)},
	[TYPE(REPORT_SUBMITTED)] = {PAYLOAD(REPORT_SUBMITTED), "report_kind", RULES(report_rules)},
	[TYPE(LEAVE_APPROVED)] = {PAYLOAD(LEAVE_APPROVED), "leave_date", RULES(leave_rules)},
	[TYPE(CLOSE_REQUESTED)] = {PAYLOAD(CLOSE_REQUESTED), "close_requested", RULES(close_requested_rules)},
	[TYPE(TICKET_CANCELLED)] = {PAYLOAD(TICKET_CANCELLED), "ticket_cancelled", RULES(cancelled_rules)},
	[TYPE(CLOCK_IN)] = {PAYLOAD(CLOCK_IN), "engineer_id", RULES(clock_in_rules)},
	[TYPE(ASSESSMENT)] = {PAYLOAD(ASSESSMENT), "quarter", NULL, 0},
};

static struct payload_shape shape_of(Slad__V1__EventType type)
{
	if ((unsigned)type < sizeof(shapes) / sizeof(shapes[0]))
		return shapes[type];
	return (struct payload_shape){SLAD__V1__EVENT__PAYLOAD__NOT_SET, NULL, NULL, 0};
}

static const char *payload_name(Slad__V1__Event__PayloadCase c)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(&slad__v1__event__descriptor, c);
	return f ? f->name : "?";
}

/* A field's value, `size` bytes at offset `at` of a message; the rule's kind says which member holds it. */
union field_value {
	const char *s;
	int32_t i32;
	int64_t i64;
	double f64;
};

static union field_value value_at(const void *msg, size_t at, size_t size)
{
	union field_value v = {0};
	memcpy(&v, (const char *)msg + at, size);
	return v;
}

static int32_t i32_at(const void *msg, size_t at)
{
	return value_at(msg, at, sizeof(int32_t)).i32;
}

#define SPAN_BAD(field) \
	BAD("%s out of range (more than %d days from occurred_at)", field, (int)(SLA_SPAN_MAX / SLA_DAY))

/* One rule on msg, an event's payload (the event occurred at `at`). */
static enum sla_verdict check_rule(const struct field_rule *r, const void *msg, sla_time at, char *detail,
				   size_t detail_len)
{
	const char *s = r->kind <= FR_DATE ? value_at(msg, r->at, sizeof(char *)).s : NULL;
	bool has = r->kind >= FR_GIVEN && i32_at(msg, r->has) != 0;
	int32_t v;
	int64_t day;
	int minutes;
	switch (r->kind) {
	case FR_ID:
		if (absent(s))
			MISSING(r->name);
		if (!id_ok(s))
			BAD("%s longer than %d bytes", r->name, SLA_ID_MAX);
		break;
	case FR_TEXT:
		if (s && strlen(s) > (size_t)r->hi)
			BAD("%s longer than %d bytes", r->name, (int)r->hi);
		break;
	case FR_HHMM:
		if (!absent(s) && !hhmm_parse(s, &minutes))
			BAD("%s is not HH:MM", r->name);
		break;
	case FR_DATE:
		if (absent(s))
			MISSING(r->name);
		if (strlen(s) != 10 || !date_parse(s, &day))
			BAD("%s is not YYYY-MM-DD", r->name);
		if (!instant_near(day * SLA_DAY, at))
			SPAN_BAD(r->name);
		break;
	case FR_ENUM:
	case FR_ENUM_REQUIRED:
		v = i32_at(msg, r->at);
		if (v == 0 && r->kind == FR_ENUM_REQUIRED)
			MISSING(r->name);
		if (v < 0 || v > r->hi)
			BAD("%s: unknown value %d", r->name, (int)v);
		break;
	case FR_REQUIRED_IF:
		if (i32_at(msg, r->other_at) == r->lo && i32_at(msg, r->at) == 0)
			MISSING(r->name);
		break;
	case FR_GIVEN:
		if (!has)
			MISSING(r->name);
		break;
	case FR_INSTANT:
		if (has && !instant_near(value_at(msg, r->at, sizeof(int64_t)).i64, at))
			SPAN_BAD(r->name);
		break;
	case FR_INT:
		v = i32_at(msg, r->at);
		if (has && (v < r->lo || v > r->hi))
			BAD("%s out of range %d..%d", r->name, (int)r->lo, (int)r->hi);
		break;
	case FR_COORD:
		if (has && !coord_ok(value_at(msg, r->at, sizeof(double)).f64, (double)r->hi))
			BAD("%s out of range", r->name);
		break;
	case FR_TOGETHER:
		if (has != (i32_at(msg, r->other_has) != 0))
			BAD("%s and %s go together", r->name, r->other);
		break;
	case FR_AFTER:
		if (has && i32_at(msg, r->other_has) != 0) {
			/* Both are instants near the event (earlier rows): no overflow. */
			int64_t end = value_at(msg, r->at, sizeof(int64_t)).i64;
			int64_t start = value_at(msg, r->other_at, sizeof(int64_t)).i64;
			if (end < start)
				BAD("%s before %s", r->name, r->other);
			if (r->hi && end - start > r->hi)
				BAD("%s..%s longer than %d days", r->other, r->name, (int)(r->hi / SLA_DAY));
		}
		break;
	}
	return SV_APPLIED;
}

static enum sla_verdict check_payload_fields(const Slad__V1__Event *ev, const struct payload_shape *shape,
					     char *detail, size_t detail_len)
{
	/* The payload's members share a union: any of them is the payload. */
	const void *msg = ev->ticket_created;
	if (ev->type == SLAD__V1__EVENT_TYPE__TICKET_CREATED && absent(ev->partner_id))
		MISSING("partner_id"); /* a ticket belongs to a partner from its creation */
	for (size_t i = 0; i < shape->nrules; i++) {
		enum sla_verdict v = check_rule(&shape->rules[i], msg, ev->occurred_at, detail, detail_len);
		if (v != SV_APPLIED)
			return v;
	}
	return SV_APPLIED;
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
	return check_payload_fields(ev, &shape, detail, detail_len);
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
