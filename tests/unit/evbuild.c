/* evbuild.c - slad.v1.Event values built in C for the unit tests. */
#include "evbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sla_time T(const char *s)
{
	sla_time t = 0;
	if (!rfc3339_parse(s, &t))
		ck_abort_msg("test bug: bad timestamp \"%s\"", s);
	return t;
}

const char *fmt8(sla_time t)
{
	static char bufs[8][48];
	static unsigned next;
	char *b = bufs[next++ % 8];
	if (t == SLA_TIME_NONE)
		snprintf(b, 48, "none");
	else
		rfc3339_format(t, 480, b, 48);
	return b;
}

void evb_init(struct evb *b, Slad__V1__EventType type, const char *event_id, const char *ticket_id,
	      const char *occurred_at)
{
	static const Slad__V1__Event ev = SLAD__V1__EVENT__INIT;
	static const Slad__V1__TicketCreated tc = SLAD__V1__TICKET_CREATED__INIT;
	static const Slad__V1__EngineerAssigned ea = SLAD__V1__ENGINEER_ASSIGNED__INIT;
	static const Slad__V1__TicketRejected tr = SLAD__V1__TICKET_REJECTED__INIT;
	static const Slad__V1__ReservationSet rs = SLAD__V1__RESERVATION_SET__INIT;
	static const Slad__V1__AuthorizationGranted ag = SLAD__V1__AUTHORIZATION_GRANTED__INIT;
	static const Slad__V1__SparePart sp = SLAD__V1__SPARE_PART__INIT;
	static const Slad__V1__CloseRequested cr = SLAD__V1__CLOSE_REQUESTED__INIT;
	static const Slad__V1__TicketCancelled tx = SLAD__V1__TICKET_CANCELLED__INIT;
	static const Slad__V1__ClockIn ci = SLAD__V1__CLOCK_IN__INIT;

	b->ev = ev;
	b->tc = tc;
	b->ea = ea;
	b->tr = tr;
	b->rs = rs;
	b->ag = ag;
	b->sp = sp;
	b->cr = cr;
	b->tx = tx;
	b->ci = ci;
	b->ev.type = type;
	if (event_id)
		b->ev.event_id = (char *)event_id;
	if (ticket_id)
		b->ev.ticket_id = (char *)ticket_id;
	if (occurred_at)
		b->ev.occurred_at = T(occurred_at);

	switch (type) {
	case SLAD__V1__EVENT_TYPE__TICKET_CREATED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_TICKET_CREATED;
		b->ev.ticket_created = &b->tc;
		b->ev.partner_id = "P1";
		break;
	case SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ENGINEER_ASSIGNED;
		b->ev.engineer_assigned = &b->ea;
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_REJECTED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_TICKET_REJECTED;
		b->ev.ticket_rejected = &b->tr;
		break;
	case SLAD__V1__EVENT_TYPE__RESERVATION_SET:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_RESERVATION_SET;
		b->ev.reservation_set = &b->rs;
		break;
	case SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_AUTHORIZATION_GRANTED;
		b->ev.authorization_granted = &b->ag;
		break;
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED:
	case SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_SPARE_PART;
		b->ev.spare_part = &b->sp;
		break;
	case SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_CLOSE_REQUESTED;
		b->ev.close_requested = &b->cr;
		break;
	case SLAD__V1__EVENT_TYPE__TICKET_CANCELLED:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_TICKET_CANCELLED;
		b->ev.ticket_cancelled = &b->tx;
		break;
	case SLAD__V1__EVENT_TYPE__CLOCK_IN:
		b->ev.payload_case = SLAD__V1__EVENT__PAYLOAD_CLOCK_IN;
		b->ev.clock_in = &b->ci;
		break;
	default:
		break;
	}
}

void evb_created(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
		 Slad__V1__TicketType tt, Slad__V1__SlaClass sc)
{
	evb_init(b, SLAD__V1__EVENT_TYPE__TICKET_CREATED, event_id, ticket_id, occurred_at);
	b->tc.ticket_type = tt;
	b->tc.sla_class = sc;
	b->tc.calendar_id = "CN";
}

void evb_site(struct evb *b, double lat, double lon)
{
	b->tc._site_lat_case = SLAD__V1__TICKET_CREATED___SITE_LAT_SITE_LAT;
	b->tc.site_lat = lat;
	b->tc._site_lon_case = SLAD__V1__TICKET_CREATED___SITE_LON_SITE_LON;
	b->tc.site_lon = lon;
}

void evb_required_arrival(struct evb *b, const char *rfc3339)
{
	b->tc._required_arrival_at_case = SLAD__V1__TICKET_CREATED___REQUIRED_ARRIVAL_AT_REQUIRED_ARRIVAL_AT;
	b->tc.required_arrival_at = T(rfc3339);
}

void evb_assigned(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
		  const char *engineer_id)
{
	evb_init(b, SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED, event_id, ticket_id, occurred_at);
	b->ea.engineer_id = (char *)engineer_id;
}

void evb_reservation(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
		     const char *appointment_at, const char *evidence_ref)
{
	evb_init(b, SLAD__V1__EVENT_TYPE__RESERVATION_SET, event_id, ticket_id, occurred_at);
	b->rs._appointment_at_case = SLAD__V1__RESERVATION_SET___APPOINTMENT_AT_APPOINTMENT_AT;
	b->rs.appointment_at = T(appointment_at);
	if (evidence_ref)
		b->rs.evidence_ref = (char *)evidence_ref;
}

void evb_auth(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
	      const char *window_start, const char *window_end)
{
	evb_init(b, SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED, event_id, ticket_id, occurred_at);
	b->ag._window_start_case = SLAD__V1__AUTHORIZATION_GRANTED___WINDOW_START_WINDOW_START;
	b->ag.window_start = T(window_start);
	b->ag._window_end_case = SLAD__V1__AUTHORIZATION_GRANTED___WINDOW_END_WINDOW_END;
	b->ag.window_end = T(window_end);
	b->ag.grantor = SLAD__V1__GRANTOR__END_CUSTOMER;
}

void evb_clock(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
	       const char *engineer_id, Slad__V1__ClockKind kind)
{
	evb_init(b, SLAD__V1__EVENT_TYPE__CLOCK_IN, event_id, ticket_id, occurred_at);
	b->ci.engineer_id = (char *)engineer_id;
	b->ci.kind = kind;
}

void evb_location(struct evb *b, double lat, double lon)
{
	b->ci._lat_case = SLAD__V1__CLOCK_IN___LAT_LAT;
	b->ci.lat = lat;
	b->ci._lon_case = SLAD__V1__CLOCK_IN___LON_LON;
	b->ci.lon = lon;
}

void evb_part(struct evb *b, Slad__V1__EventType type, const char *event_id, const char *ticket_id,
	      const char *occurred_at, const char *part_id)
{
	evb_init(b, type, event_id, ticket_id, occurred_at);
	b->sp.part_id = (char *)part_id;
}

uint8_t *evb_pack(const struct evb *b, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(&b->ev.base);
	uint8_t *buf = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(buf);
	*len = protobuf_c_message_pack(&b->ev.base, buf);
	ck_assert_uint_eq(*len, n);
	return buf;
}
