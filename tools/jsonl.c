/* jsonl.c - parses the JSON Lines form of events (events.md) into packed slad.v1.Event messages. */
#include "slad/jsonl.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/v1/events.pb-c.h"

#define ID_MAX 64 /* event_id, ticket_id, partner_id, source and every *_id */

/*
 * What each event type carries. The payload's fields, their types and their
 * oneof presence come from the protobuf-c descriptors, so a field added to
 * events.proto is accepted here without further code; only required fields,
 * timestamps and a few formats are spelled out below.
 */
struct event_shape {
	const char *payload;   /* name of the Event.payload field, NULL: none */
	const char *required[3];
};

static const struct event_shape shapes[] = {
	[SLAD__V1__EVENT_TYPE__TICKET_CREATED] = { "ticket_created", { "ticket_type" } },
	[SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED] = { "engineer_assigned", { "engineer_id" } },
	[SLAD__V1__EVENT_TYPE__TICKET_REJECTED] = { "ticket_rejected", { NULL } },
	[SLAD__V1__EVENT_TYPE__RESERVATION_SET] = { "reservation_set", { "appointment_at" } },
	[SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED] = { "authorization_granted",
							  { "window_start", "window_end" } },
	[SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED] = { "spare_part", { "part_id" } },
	[SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED] = { "spare_part", { "part_id" } },
	[SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED] = { "spare_part", { "part_id" } },
	[SLAD__V1__EVENT_TYPE__SPARE_PART_RETURNED] = { "spare_part", { "part_id" } },
	[SLAD__V1__EVENT_TYPE__CHANGE_PLAN_APPROVED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__CHANGE_REVIEW_SUBMITTED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__INCIDENT_RESPONDED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__INCIDENT_DIAGNOSED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__INCIDENT_SOLUTION_PROVIDED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED] = { "report_submitted", { NULL } },
	[SLAD__V1__EVENT_TYPE__LEAVE_APPROVED] = { "leave_approved", { NULL } },
	[SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED] = { "close_requested", { NULL } },
	[SLAD__V1__EVENT_TYPE__TICKET_CLOSED] = { NULL, { NULL } },
	[SLAD__V1__EVENT_TYPE__TICKET_CANCELLED] = { "ticket_cancelled", { NULL } },
	[SLAD__V1__EVENT_TYPE__CLOCK_IN] = { "clock_in", { "engineer_id", "kind" } },
	[SLAD__V1__EVENT_TYPE__ASSESSMENT] = { "assessment", { "quarter", "kind" } },
};
#define SHAPE_COUNT (sizeof(shapes) / sizeof(shapes[0]))

/* Payload storage on the stack: one event never needs more than one. */
union payload_storage {
	ProtobufCMessage base;
	Slad__V1__TicketCreated ticket_created;
	Slad__V1__EngineerAssigned engineer_assigned;
	Slad__V1__TicketRejected ticket_rejected;
	Slad__V1__ReservationSet reservation_set;
	Slad__V1__AuthorizationGranted authorization_granted;
	Slad__V1__SparePart spare_part;
	Slad__V1__ReportSubmitted report_submitted;
	Slad__V1__LeaveApproved leave_approved;
	Slad__V1__CloseRequested close_requested;
	Slad__V1__TicketCancelled ticket_cancelled;
	Slad__V1__ClockIn clock_in;
	Slad__V1__Assessment assessment;
};

__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

static enum sla_topic topic_of(Slad__V1__EventType type)
{
	if (type == SLAD__V1__EVENT_TYPE__CLOCK_IN)
		return TOPIC_CLOCKINS;
	if (type == SLAD__V1__EVENT_TYPE__ASSESSMENT)
		return TOPIC_ASSESSMENTS;
	return TOPIC_WORKORDERS;
}

static bool name_ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && strcmp(name + n - s, suffix) == 0;
}

/* int64 fields that hold instants are written as RFC 3339 strings in JSON. */
static bool is_timestamp_field(const char *name)
{
	return name_ends_with(name, "_at") || strcmp(name, "window_start") == 0 ||
	       strcmp(name, "window_end") == 0;
}

static bool get_string(const char *name, json_object *val, const char **out, char *err, size_t errlen)
{
	*out = "";
	if (!json_object_is_type(val, json_type_string))
		return fail(err, errlen, "field \"%s\": expected a string", name);
	*out = json_object_get_string(val);
	if (*out == NULL)
		return fail(err, errlen, "field \"%s\": expected a string", name);
	if (strlen(*out) != (size_t)json_object_get_string_len(val))
		return fail(err, errlen, "field \"%s\": contains a NUL character", name);
	return true;
}

static bool get_int64(const char *name, json_object *val, int64_t *out, char *err, size_t errlen)
{
	if (!json_object_is_type(val, json_type_int))
		return fail(err, errlen, "field \"%s\": expected an integer", name);
	*out = json_object_get_int64(val);
	/* json-c keeps integers above INT64_MAX as uint64 and clamps here. */
	if (*out == INT64_MAX && json_object_get_uint64(val) > (uint64_t)INT64_MAX)
		return fail(err, errlen, "field \"%s\": integer out of range", name);
	return true;
}

static bool get_timestamp(const char *name, json_object *val, sla_time *out, char *err, size_t errlen)
{
	const char *s = "";

	if (!get_string(name, val, &s, err, errlen))
		return false;
	if (!rfc3339_parse(s, out))
		return fail(err, errlen, "field \"%s\": \"%s\" is not an RFC 3339 timestamp with offset", name, s);
	return true;
}

static bool get_enum(const char *name, json_object *val, const ProtobufCEnumDescriptor *ed, int *out, char *err,
		     size_t errlen)
{
	const ProtobufCEnumValue *ev = NULL;
	const char *s = "";
	char expected[512];
	size_t used = 0;

	if (!get_string(name, val, &s, err, errlen))
		return false;
	/* DeductionReason's OTHER is DEDUCTION_OTHER in the proto (enum values
	 * share one C namespace), but "OTHER" in JSON. */
	if (ed == &slad__v1__deduction_reason__descriptor) {
		if (strcmp(s, "OTHER") == 0)
			ev = protobuf_c_enum_descriptor_get_value_by_name(ed, "DEDUCTION_OTHER");
		else if (strcmp(s, "DEDUCTION_OTHER") != 0)
			ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
	} else {
		ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
	}
	if (ev != NULL && ev->value != 0) {
		*out = ev->value;
		return true;
	}
	expected[0] = '\0';
	for (unsigned i = 0; i < ed->n_values && used < sizeof(expected); i++) {
		const char *v = ed->values[i].name;
		int n;

		if (ed->values[i].value == 0)
			continue;
		if (ed == &slad__v1__deduction_reason__descriptor && strcmp(v, "DEDUCTION_OTHER") == 0)
			v = "OTHER";
		n = snprintf(expected + used, sizeof(expected) - used, "%s%s", used ? ", " : "", v);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return fail(err, errlen, "field \"%s\": bad value \"%s\" (expected one of %s)", name, s, expected);
}

static bool check_id(const char *name, const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n < 1 || n > ID_MAX)
		return fail(err, errlen, "field \"%s\": must be 1-%d bytes, got %zu", name, ID_MAX, n);
	return true;
}

/* Formats the spec fixes for some string fields. */
static bool check_string_format(const char *name, const char *s, char *err, size_t errlen)
{
	int minutes;
	int64_t days;

	if (strcmp(name, "shift_start") == 0 || strcmp(name, "shift_end") == 0) {
		if (!hhmm_parse(s, &minutes))
			return fail(err, errlen, "field \"%s\": \"%s\" is not HH:MM", name, s);
	} else if (strcmp(name, "leave_date") == 0) {
		if (!date_parse(s, &days))
			return fail(err, errlen, "field \"%s\": \"%s\" is not YYYY-MM-DD", name, s);
	} else if (strcmp(name, "quarter") == 0) {
		if (strlen(s) != 6 || strspn(s, "0123456789") != 4 || s[4] != 'Q' || s[5] < '1' || s[5] > '4')
			return fail(err, errlen, "field \"%s\": \"%s\" is not YYYYQn", name, s);
	} else if (name_ends_with(name, "_id")) {
		return check_id(name, s, err, errlen);
	}
	return true;
}

static bool check_double(const char *name, double d, char *err, size_t errlen)
{
	if (!isfinite(d))
		return fail(err, errlen, "field \"%s\": not a finite number", name);
	if ((strcmp(name, "lat") == 0 || strcmp(name, "site_lat") == 0) && (d < -90.0 || d > 90.0))
		return fail(err, errlen, "field \"%s\": latitude %g outside [-90, 90]", name, d);
	if ((strcmp(name, "lon") == 0 || strcmp(name, "site_lon") == 0) && (d < -180.0 || d > 180.0))
		return fail(err, errlen, "field \"%s\": longitude %g outside [-180, 180]", name, d);
	return true;
}

/* Stores one JSON value into a payload field, marking a oneof as set.
 * Strings point into the JSON object, which outlives the pack. */
static bool set_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, json_object *val, char *err,
		      size_t errlen)
{
	char *member = (char *)msg + f->offset;
	const char *s = "";
	int64_t i64 = 0;
	int e = 0;
	double d = 0;

	if (json_object_is_type(val, json_type_null))
		return fail(err, errlen, "field \"%s\": null is not allowed (leave optional fields out)", f->name);
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (!get_string(f->name, val, &s, err, errlen) || !check_string_format(f->name, s, err, errlen))
			return false;
		*(const char **)member = s;
		break;
	case PROTOBUF_C_TYPE_INT32:
		if (!get_int64(f->name, val, &i64, err, errlen))
			return false;
		if (i64 < INT32_MIN || i64 > INT32_MAX)
			return fail(err, errlen, "field \"%s\": integer out of range", f->name);
		*(int32_t *)member = (int32_t)i64;
		break;
	case PROTOBUF_C_TYPE_INT64:
		if (is_timestamp_field(f->name)) {
			if (!get_timestamp(f->name, val, &i64, err, errlen))
				return false;
		} else if (!get_int64(f->name, val, &i64, err, errlen)) {
			return false;
		} else if (i64 < 0) {
			return fail(err, errlen, "field \"%s\": must not be negative", f->name);
		}
		*(int64_t *)member = i64;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_object_is_type(val, json_type_double) && !json_object_is_type(val, json_type_int))
			return fail(err, errlen, "field \"%s\": expected a number", f->name);
		d = json_object_get_double(val);
		if (!check_double(f->name, d, err, errlen))
			return false;
		*(double *)member = d;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(val, json_type_boolean))
			return fail(err, errlen, "field \"%s\": expected true or false", f->name);
		*(protobuf_c_boolean *)member = json_object_get_boolean(val) ? 1 : 0;
		break;
	case PROTOBUF_C_TYPE_ENUM:
		if (!get_enum(f->name, val, f->descriptor, &e, err, errlen))
			return false;
		*(int *)member = e;
		break;
	default:
		return fail(err, errlen, "field \"%s\": unsupported field type", f->name);
	}
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
	return true;
}

static bool is_envelope_field(const char *key)
{
	static const char *const names[] = { "event_id", "type", "occurred_at", "ticket_id", "partner_id", "source" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(key, names[i]) == 0)
			return true;
	return false;
}

/* Looks a JSON key up among the payload's fields. ASSESSMENT's "reason" is
 * free text (reason_text) for KEY_EVENT and a DeductionReason otherwise. */
static const ProtobufCFieldDescriptor *payload_field(const ProtobufCMessageDescriptor *pd, const char *key,
						     bool key_event)
{
	if (pd == &slad__v1__assessment__descriptor) {
		if (strcmp(key, "reason_text") == 0)
			return NULL;
		if (strcmp(key, "reason") == 0 && key_event)
			key = "reason_text";
	}
	return protobuf_c_message_descriptor_get_field_by_name(pd, key);
}

static bool fill_envelope(Slad__V1__Event *ev, json_object *obj, char *err, size_t errlen)
{
	json_object *val;
	const char *s = "";

	if (!json_object_object_get_ex(obj, "event_id", &val))
		return fail(err, errlen, "missing required field \"event_id\"");
	if (!get_string("event_id", val, &s, err, errlen) || !check_id("event_id", s, err, errlen))
		return false;
	ev->event_id = (char *)s;

	if (!json_object_object_get_ex(obj, "occurred_at", &val))
		return fail(err, errlen, "missing required field \"occurred_at\"");
	if (!get_timestamp("occurred_at", val, &ev->occurred_at, err, errlen))
		return false;

	if (json_object_object_get_ex(obj, "ticket_id", &val)) {
		if (!get_string("ticket_id", val, &s, err, errlen) || !check_id("ticket_id", s, err, errlen))
			return false;
		ev->ticket_id = (char *)s;
	} else if (ev->type != SLAD__V1__EVENT_TYPE__ASSESSMENT) {
		return fail(err, errlen, "missing required field \"ticket_id\"");
	}

	if (json_object_object_get_ex(obj, "partner_id", &val)) {
		if (!get_string("partner_id", val, &s, err, errlen) || !check_id("partner_id", s, err, errlen))
			return false;
		ev->partner_id = (char *)s;
	} else if (ev->type == SLAD__V1__EVENT_TYPE__TICKET_CREATED || ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT) {
		return fail(err, errlen, "missing required field \"partner_id\"");
	}

	if (json_object_object_get_ex(obj, "source", &val)) {
		if (!get_string("source", val, &s, err, errlen))
			return false;
		if (strlen(s) > ID_MAX)
			return fail(err, errlen, "field \"source\": longer than %d bytes", ID_MAX);
		ev->source = (char *)s;
	}
	return true;
}

/* Checks across fields of one payload that the types alone cannot catch. */
static bool check_payload(const ProtobufCMessage *payload, char *err, size_t errlen)
{
	if (payload->descriptor == &slad__v1__authorization_granted__descriptor) {
		const Slad__V1__AuthorizationGranted *ag = (const Slad__V1__AuthorizationGranted *)payload;

		if (ag->window_end < ag->window_start)
			return fail(err, errlen, "field \"window_end\": before window_start");
	}
	return true;
}

static bool parse_object(json_object *obj, struct jsonl_event *out, char *err, size_t errlen)
{
	Slad__V1__Event ev = SLAD__V1__EVENT__INIT;
	union payload_storage storage;
	ProtobufCMessage *payload = NULL;
	const ProtobufCFieldDescriptor *payload_fd = NULL;
	const struct event_shape *shape;
	json_object *val;
	const char *type_name;
	bool key_event = false;
	int type = 0;
	size_t len;

	if (!json_object_object_get_ex(obj, "type", &val))
		return fail(err, errlen, "missing required field \"type\"");
	if (!get_enum("type", val, &slad__v1__event_type__descriptor, &type, err, errlen))
		return false;
	if ((size_t)type >= SHAPE_COUNT)
		return fail(err, errlen, "field \"type\": event type %d not supported", type);
	ev.type = (Slad__V1__EventType)type;
	type_name = json_object_get_string(val);
	shape = &shapes[type];

	if (!fill_envelope(&ev, obj, err, errlen))
		return false;

	if (shape->payload != NULL) {
		payload_fd = protobuf_c_message_descriptor_get_field_by_name(&slad__v1__event__descriptor,
									     shape->payload);
		if (payload_fd == NULL)
			return fail(err, errlen, "internal: no payload field %s", shape->payload);
		payload = &storage.base;
		protobuf_c_message_init(payload_fd->descriptor, payload);
		if (ev.type == SLAD__V1__EVENT_TYPE__ASSESSMENT && json_object_object_get_ex(obj, "kind", &val) &&
		    json_object_is_type(val, json_type_string))
			key_event = strcmp(json_object_get_string(val), "KEY_EVENT") == 0;
	}

	json_object_object_foreach(obj, key, value)
	{
		const ProtobufCFieldDescriptor *f = NULL;

		if (is_envelope_field(key))
			continue;
		if (payload != NULL)
			f = payload_field(payload->descriptor, key, key_event);
		if (f == NULL)
			return fail(err, errlen, "unknown field \"%s\" for %s", key, type_name);
		if (!set_field(payload, f, value, err, errlen))
			return false;
	}
	for (size_t i = 0; i < sizeof(shape->required) / sizeof(shape->required[0]); i++) {
		const char *name = shape->required[i];

		if (name == NULL)
			break;
		if (!json_object_object_get_ex(obj, name, &val))
			return fail(err, errlen, "missing required field \"%s\" for %s", name, type_name);
		if (json_object_is_type(val, json_type_string) && json_object_get_string_len(val) == 0)
			return fail(err, errlen, "field \"%s\": must not be empty", name);
	}
	if (payload != NULL) {
		if (!check_payload(payload, err, errlen))
			return false;
		ev.payload_case = (Slad__V1__Event__PayloadCase)payload_fd->id;
		*(ProtobufCMessage **)((char *)&ev + payload_fd->offset) = payload;
	}

	len = protobuf_c_message_get_packed_size(&ev.base);
	out->payload = malloc(len > 0 ? len : 1);
	if (out->payload == NULL)
		return fail(err, errlen, "out of memory");
	out->len = protobuf_c_message_pack(&ev.base, out->payload);
	out->topic = topic_of(ev.type);
	snprintf(out->key, sizeof(out->key), "%s",
		 ev.type == SLAD__V1__EVENT_TYPE__ASSESSMENT ? ev.partner_id : ev.ticket_id);
	snprintf(out->event_id, sizeof(out->event_id), "%s", ev.event_id);
	out->occurred_at = ev.occurred_at;
	return true;
}

struct jsonl_parser {
	struct json_tokener *tok;
};

struct jsonl_parser *jsonl_parser_new(void)
{
	struct jsonl_parser *p = malloc(sizeof(*p));

	if (p == NULL)
		return NULL;
	if ((p->tok = json_tokener_new()) == NULL) {
		free(p);
		return NULL;
	}
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return p;
}

void jsonl_parser_free(struct jsonl_parser *p)
{
	if (p == NULL)
		return;
	json_tokener_free(p->tok);
	free(p);
}

bool jsonl_parse_event(const char *line, struct jsonl_event *out, char *err, size_t errlen)
{
	struct jsonl_parser *p = jsonl_parser_new();
	bool ok;

	if (p == NULL) {
		memset(out, 0, sizeof(*out));
		return fail(err, errlen, "out of memory");
	}
	ok = jsonl_parse_event_with(p, line, out, err, errlen);
	jsonl_parser_free(p);
	return ok;
}

bool jsonl_parse_event_with(struct jsonl_parser *p, const char *line, struct jsonl_event *out, char *err,
			    size_t errlen)
{
	struct json_tokener *tok = p->tok;
	json_object *obj = NULL;
	size_t n = strlen(line), end;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (line[strspn(line, " \t\r\n")] == '\0')
		return fail(err, errlen, "empty line");
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, line, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (obj == NULL) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (jerr == json_tokener_continue)
			fail(err, errlen, "invalid JSON: unexpected end of line");
		else
			fail(err, errlen, "invalid JSON at byte %zu: %s", json_tokener_get_parse_end(tok) + 1,
			     json_tokener_error_desc(jerr));
		goto done;
	}
	end = json_tokener_get_parse_end(tok);
	if (line[end + strspn(line + end, " \t\r\n")] != '\0') {
		fail(err, errlen, "invalid JSON: trailing characters at byte %zu", end + 1);
		goto done;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		fail(err, errlen, "not a JSON object");
		goto done;
	}
	ok = parse_object(obj, out, err, errlen);
done:
	json_object_put(obj);
	if (!ok)
		jsonl_event_clear(out);
	return ok;
}

void jsonl_event_clear(struct jsonl_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->payload);
	memset(ev, 0, sizeof(*ev));
}
