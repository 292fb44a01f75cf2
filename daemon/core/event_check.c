/* event_check.c - decoding a message and checking the fields its type requires (events.md). Pure. */
#include <stdio.h>
#include <string.h>

#include "slad/core.h"

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

enum sla_verdict event_decode(const uint8_t *buf, size_t len, Slad__V1__Event **ev, char *detail,
			      size_t detail_len)
{
	*ev = NULL;
	/* protobuf-c has no depth or size limit of its own: cap before decoding. */
	if (len > SLA_EVENT_MAX_BYTES) {
		snprintf(detail, detail_len, "message of %zu bytes exceeds %d", len, SLA_EVENT_MAX_BYTES);
		return SV_OVERSIZE;
	}
	*ev = slad__v1__event__unpack(NULL, len, buf);
	if (!*ev) {
		snprintf(detail, detail_len, "not a slad.v1.Event protobuf message");
		return SV_DECODE_ERROR;
	}
	return SV_APPLIED;
}

static bool id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= SLA_ID_MAX;
}

#define MISSING(field)                                                   \
	do {                                                             \
		snprintf(detail, detail_len, "missing field %s", field); \
		return SV_MISSING_FIELD;                                 \
	} while (0)
#define BAD(...)                                            \
	do {                                                \
		snprintf(detail, detail_len, __VA_ARGS__); \
		return SV_BAD_VALUE;                        \
	} while (0)

static enum sla_verdict check_payload(const Slad__V1__Event *ev, Slad__V1__Event__PayloadCase want,
				      const char *name, char *detail, size_t detail_len)
{
	if (ev->payload_case == SLAD__V1__EVENT__PAYLOAD__NOT_SET)
		MISSING(name);
	if (ev->payload_case != want)
		BAD("payload does not match type");
	return SV_APPLIED;
}

enum sla_verdict event_check(const Slad__V1__Event *ev, char *detail, size_t detail_len)
{
	enum sla_verdict v;
	if (!ev->event_id || !ev->event_id[0])
		MISSING("event_id");
	if (!id_ok(ev->event_id))
		BAD("event_id longer than %d bytes", SLA_ID_MAX);
	if (ev->type == SLAD__V1__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED)
		MISSING("type");
	if (ev->type < 0 || ev->type > SLAD__V1__EVENT_TYPE__ASSESSMENT)
		BAD("unknown type %d", (int)ev->type);
	if (ev->occurred_at == 0)
		MISSING("occurred_at");
	if (ev->occurred_at < 0)
		BAD("occurred_at before 1970");
	if (ev->source && strlen(ev->source) > 64)
		BAD("source longer than 64 bytes");
	if (ev->partner_id && strlen(ev->partner_id) > SLA_ID_MAX)
		BAD("partner_id longer than %d bytes", SLA_ID_MAX);

	if (ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT) {
		if (!ev->partner_id || !ev->partner_id[0])
			MISSING("partner_id");
		return check_payload(ev, SLAD__V1__EVENT__PAYLOAD_ASSESSMENT, "quarter", detail, detail_len);
	}
	if (!ev->ticket_id || !ev->ticket_id[0])
		MISSING("ticket_id");
	if (!id_ok(ev->ticket_id))
		BAD("ticket_id longer than %d bytes", SLA_ID_MAX);

	switch (ev->type) {
	case SLAD__V1__EVENT_TYPE__TICKET_CREATED: {
		if (!ev->partner_id || !ev->partner_id[0])
			MISSING("partner_id");
		v = check_payload(ev, SLAD__V1__EVENT__PAYLOAD_TICKET_CREATED, "ticket_type", detail, detail_len);
		if (v != SV_APPLIED)
			return v;
		const Slad__V1__TicketCreated *tc = ev->ticket_created;
		if (tc->ticket_type == SLAD__V1__TICKET_TYPE__TICKET_TYPE_UNSPECIFIED)
			MISSING("ticket_type");
		if (tc->ticket_type < 0 || tc->ticket_type > SLAD__V1__TICKET_TYPE__INCIDENT)
			BAD("unknown ticket_type");
		if (tc->ticket_type == SLAD__V1__TICKET_TYPE__INCIDENT &&
		    tc->severity == SLAD__V1__SEVERITY__SEVERITY_UNSPECIFIED)
			MISSING("severity");
		if (tc->calendar_id && strlen(tc->calendar_id) > CAL_ID_MAX)
			BAD("calendar_id longer than %d bytes", CAL_ID_MAX);
		if ((tc->_site_lat_case != 0) != (tc->_site_lon_case != 0))
			BAD("site_lat and site_lon go together");
		if (tc->_site_lat_case && (tc->site_lat < -90 || tc->site_lat > 90))
			BAD("site_lat out of range");
		if (tc->_site_lon_case && (tc->site_lon < -180 || tc->site_lon > 180))
			BAD("site_lon out of range");
		return SV_APPLIED;
	}
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED:
		v = check_payload(ev, SLAD__V1__EVENT__PAYLOAD_ENGINEER_ASSIGNED, "engineer_id", detail, detail_len);
		if (v != SV_APPLIED)
			return v;
		if (!ev->engineer_assigned->engineer_id || !ev->engineer_assigned->engineer_id[0])
			MISSING("engineer_id");
		if (!id_ok(ev->engineer_assigned->engineer_id))
			BAD("engineer_id longer than %d bytes", SLA_ID_MAX);
		return SV_APPLIED;
	case SLAD__V1__EVENT_TYPE__RESERVATION_SET:
		v = check_payload(ev, SLAD__V1__EVENT__PAYLOAD_RESERVATION_SET, "appointment_at", detail, detail_len);
		if (v != SV_APPLIED)
			return v;
		if (!ev->reservation_set->_appointment_at_case)
			MISSING("appointment_at");
		return SV_APPLIED;
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED: {
		v = check_payload(ev, SLAD__V1__EVENT__PAYLOAD_AUTHORIZATION_GRANTED, "window_start", detail,
				  detail_len);
		if (v != SV_APPLIED)
			return v;
		const Slad__V1__AuthorizationGranted *a = ev->authorization_granted;
		if (!a->_window_start_case)
			MISSING("window_start");
		if (!a->_window_end_case)
			MISSING("window_end");
		if (a->window_end < a->window_start)
			BAD("window_end before window_start");
		return SV_APPLIED;
	}
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED:
		v = check_payload(ev, SLAD__V1__EVENT__PAYLOAD_SPARE_PART, "part_id", detail, detail_len);
		if (v != SV_APPLIED)
			return v;
		if (!ev->spare_part->part_id || !ev->spare_part->part_id[0])
			MISSING("part_id");
		if (!id_ok(ev->spare_part->part_id))
			BAD("part_id longer than %d bytes", SLA_ID_MAX);
		return SV_APPLIED;
	case SLAD__V1__EVENT_TYPE__CLOCK_IN: {
		v = check_payload(ev, SLAD__V1__EVENT__PAYLOAD_CLOCK_IN, "engineer_id", detail, detail_len);
		if (v != SV_APPLIED)
			return v;
		const Slad__V1__ClockIn *c = ev->clock_in;
		if (!c->engineer_id || !c->engineer_id[0])
			MISSING("engineer_id");
		if (!id_ok(c->engineer_id))
			BAD("engineer_id longer than %d bytes", SLA_ID_MAX);
		if (c->kind == SLAD__V1__CLOCK_KIND__CLOCK_KIND_UNSPECIFIED)
			MISSING("kind");
		if (c->kind < 0 || c->kind > SLAD__V1__CLOCK_KIND__ATTENDANCE_OUT)
			BAD("unknown kind");
		if ((c->_lat_case != 0) != (c->_lon_case != 0))
			BAD("lat and lon go together");
		if (c->_lat_case && (c->lat < -90 || c->lat > 90 || c->lon < -180 || c->lon > 180))
			BAD("lat/lon out of range");
		return SV_APPLIED;
	}
	case SLAD__V1__EVENT_TYPE__TICKET_REJECTED:
	case SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED:
	case SLAD__V1__EVENT_TYPE__LEAVE_APPROVED:
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED:
	case SLAD__V1__EVENT_TYPE__TICKET_CANCELLED:
	default:
		return SV_APPLIED;
	}
}
