/* evbuild.h - slad.v1.Event values built in C for the unit tests (no JSON).
 *
 * A `struct evb` owns storage for every payload kind; evb_init points the
 * event's payload at the one its type carries. Strings are borrowed: pass
 * literals or buffers that outlive the event. */
#ifndef SLAD_TEST_EVBUILD_H
#define SLAD_TEST_EVBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/core.h"

struct evb {
	Slad__V1__Event ev;
	Slad__V1__TicketCreated tc;
	Slad__V1__EngineerAssigned ea;
	Slad__V1__TicketRejected tr;
	Slad__V1__ReservationSet rs;
	Slad__V1__AuthorizationGranted ag;
	Slad__V1__SparePart sp;
	Slad__V1__CloseRequested cr;
	Slad__V1__TicketCancelled tx;
	Slad__V1__ClockIn ci;
};

/* An RFC 3339 instant; aborts the test on a typo. */
sla_time T(const char *rfc3339);
/* Formats at +08:00 into a static rotating buffer (for messages). */
const char *fmt8(sla_time t);

/* Envelope and the payload the type carries (all fields at defaults). */
void evb_init(struct evb *b, Slad__V1__EventType type, const char *event_id, const char *ticket_id,
	      const char *occurred_at);

/* Common shapes. */
void evb_created(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
		 Slad__V1__TicketType tt, Slad__V1__SlaClass sc);
void evb_site(struct evb *b, double lat, double lon);
void evb_required_arrival(struct evb *b, const char *rfc3339);
void evb_assigned(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
		  const char *engineer_id);
void evb_reservation(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
		     const char *appointment_at, const char *evidence_ref);
void evb_auth(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
	      const char *window_start, const char *window_end);
void evb_clock(struct evb *b, const char *event_id, const char *ticket_id, const char *occurred_at,
	       const char *engineer_id, Slad__V1__ClockKind kind);
void evb_location(struct evb *b, double lat, double lon);
void evb_part(struct evb *b, Slad__V1__EventType type, const char *event_id, const char *ticket_id,
	      const char *occurred_at, const char *part_id);

/* The packed protobuf bytes of b->ev (malloc'd; free them). */
uint8_t *evb_pack(const struct evb *b, size_t *len);

#endif
