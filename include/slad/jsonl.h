/* jsonl.h - the JSON Lines form of events (events.md) to protobuf, and back. */
#ifndef SLAD_JSONL_H
#define SLAD_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/timeutil.h"
#include "slad/topics.h"

struct jsonl_event {
	uint8_t *payload; /* protobuf-packed slad.v1.Event, malloc'd, owned */
	size_t len;
	enum sla_topic topic;
	char key[65];        /* ticket_id, or partner_id for assessments */
	char event_id[65];
	sla_time occurred_at;
};

/* Parses one JSON object (one line) into a packed Event. Unknown fields,
 * missing required fields and bad values fail with a message naming the
 * field in err. */
bool jsonl_parse_event(const char *line, struct jsonl_event *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The same with a parser kept from line to line (one per thread): a caller
 * parsing many lines saves a tokener's allocation per line. */
struct jsonl_parser;
struct jsonl_parser *jsonl_parser_new(void);
void jsonl_parser_free(struct jsonl_parser *p);
bool jsonl_parse_event_with(struct jsonl_parser *p, const char *line, struct jsonl_event *out, char *err,
			    size_t errlen) __attribute__((warn_unused_result));
void jsonl_event_clear(struct jsonl_event *ev);

#endif
