/* poison_fixture.c - the bad messages of test_poison_inputs.sh: one raw
 * slad.v1.Event per file, each wrong in exactly one way that events.md's
 * "Bad input" says must be dead-lettered, with a valid envelope otherwise.
 *
 * usage: slad_poison_fixture [-v] DIR
 *   Writes DIR/NAME.bin for every row and prints the manifest on stdout, one
 *   row a line: NAME TOPIC KEY REASON FIELD (FIELD: what the dead letter's
 *   detail must contain). -v also prints every message in hex on stderr.
 * The tickets named (TM: MAINTENANCE, TI: INCIDENT, TR: RESIDENT) are created
 * by the test before these messages are published.
 *
 * protobuf-c packs a string with strlen, so a string holding a NUL or a byte
 * that is not UTF-8 is packed as a placeholder of the same length ('~' where
 * the bad byte goes) and the byte is patched in the packed buffer. Every
 * message is unpacked again before it is written, to check it says what the
 * row means (type, payload, the bad value). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/v1/events.pb-c.h"

/* 2025-03-14T10:00:00+08:00 in ms since the epoch; rows are minutes after it. */
#define BASE_MS 1741917600000LL
#define AT(min) (BASE_MS + (int64_t)(min) * 60000)
#define SITE_LAT 30.27
#define SITE_LON 120.15

struct row {
	const char *name;
	const char *topic;
	const char *key;
	const char *reason;
	const char *field;
};

struct patch {
	const char *placeholder; /* as packed; unique in the message */
	char from;               /* the placeholder byte ... */
	uint8_t to;              /* ... becomes this */
};

static const char *out_dir;
static bool verbose;
static int failures;

static void event_init(Slad__V1__Event *ev, const char *event_id, Slad__V1__EventType type, const char *ticket_id,
		       int64_t occurred_at)
{
	slad__v1__event__init(ev);
	ev->event_id = (char *)event_id;
	ev->type = type;
	ev->ticket_id = (char *)ticket_id;
	ev->occurred_at = occurred_at;
	ev->source = "poison_fixture";
}

static size_t count_occurrences(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s), count = 0;
	for (size_t i = 0; n && i + n <= len; i++)
		if (memcmp(buf + i, s, n) == 0)
			count++;
	return count;
}

static void apply_patch(uint8_t *buf, size_t len, const struct patch *p, const char *name)
{
	size_t n = strlen(p->placeholder);
	if (count_occurrences(buf, len, p->placeholder) != 1) {
		fprintf(stderr, "poison_fixture: %s: placeholder %s not found exactly once\n", name, p->placeholder);
		failures++;
		return;
	}
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, p->placeholder, n) != 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (buf[i + j] == (uint8_t)p->from)
				buf[i + j] = p->to;
		return;
	}
}

/* Packs `ev`, applies `patch` (may be NULL), checks it decodes back as `type`
 * with `payload`, runs `check` on the decoded form, writes DIR/NAME.bin and
 * prints the manifest row. */
static void emit(const struct row *r, const Slad__V1__Event *ev, const struct patch *patch,
		 bool (*check)(const Slad__V1__Event *back, const uint8_t *buf, size_t len))
{
	size_t len = slad__v1__event__get_packed_size(ev);
	uint8_t *buf = malloc(len ? len : 1);
	Slad__V1__Event *back = NULL;
	char path[4096];
	FILE *f = NULL;

	if (!buf) {
		fprintf(stderr, "poison_fixture: out of memory\n");
		exit(1);
	}
	if (slad__v1__event__pack(ev, buf) != len) {
		fprintf(stderr, "poison_fixture: %s: pack size mismatch\n", r->name);
		failures++;
		goto out;
	}
	if (patch)
		apply_patch(buf, len, patch, r->name);

	back = slad__v1__event__unpack(NULL, len, buf);
	if (!back) {
		fprintf(stderr, "poison_fixture: %s: does not unpack (it must decode: the row is about fields)\n",
			r->name);
		failures++;
		goto out;
	}
	if (back->type != ev->type || back->payload_case != ev->payload_case ||
	    back->occurred_at != ev->occurred_at || (check && !check(back, buf, len))) {
		fprintf(stderr, "poison_fixture: %s: decodes to something else than intended\n", r->name);
		failures++;
		goto out;
	}

	snprintf(path, sizeof(path), "%s/%s.bin", out_dir, r->name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "poison_fixture: %s: %s\n", path, strerror(errno));
		f = NULL;
		failures++;
		goto out;
	}
	f = NULL;
	printf("%s %s %s %s %s\n", r->name, r->topic, r->key, r->reason, r->field);
	if (verbose) {
		fprintf(stderr, "%-18s %3zu bytes:", r->name, len);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", buf[i]);
		fputc('\n', stderr);
	}
out:
	if (f)
		fclose(f);
	if (back)
		slad__v1__event__free_unpacked(back, NULL);
	free(buf);
}

/* ---- checks on the decoded messages ---- */

/* The raw bytes hold `want` (length n) exactly once. */
static bool raw_has(const uint8_t *buf, size_t len, const char *want, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, want, n) == 0)
			count++;
	return count == 1;
}

static bool check_ev_one(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	return strcmp(b->event_id, "EV") == 0 && raw_has(buf, len, "\x0a\x06" "EV\0one", 8);
}
static bool check_ev_two(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	return strcmp(b->event_id, "EV") == 0 && raw_has(buf, len, "\x0a\x06" "EV\0two", 8);
}
static bool check_tid_nul(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	return strcmp(b->ticket_id, "T1") == 0 && raw_has(buf, len, "\x22\x08" "T1\0other", 10);
}
static bool check_tid_utf8(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return strcmp(b->ticket_id, "T\xff" "1") == 0;
}
static bool check_engineer_utf8(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return strcmp(b->engineer_assigned->engineer_id, "E\xff") == 0;
}
static bool check_no_payload(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return b->payload_case == SLAD__V1__EVENT__PAYLOAD__NOT_SET;
}
static bool check_spare_part(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return b->payload_case == SLAD__V1__EVENT__PAYLOAD_SPARE_PART && strcmp(b->spare_part->part_id, "SP1") == 0;
}
static bool check_occurred_min(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return b->occurred_at == INT64_MIN;
}
static bool check_occurred_max(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return b->occurred_at == INT64_MAX;
}
static bool check_forever(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	const Slad__V1__TicketCreated *tc = b->ticket_created;
	(void)buf;
	(void)len;
	return tc->ticket_type == SLAD__V1__TICKET_TYPE__RESIDENT &&
	       tc->_service_start_at_case == SLAD__V1__TICKET_CREATED___SERVICE_START_AT_SERVICE_START_AT &&
	       tc->service_start_at == 0 &&
	       tc->_service_end_at_case == SLAD__V1__TICKET_CREATED___SERVICE_END_AT_SERVICE_END_AT &&
	       tc->service_end_at == 253402214400000LL;
}
/* A negative int32 enum goes on the wire as a 10-byte varint. */
static bool ten_byte_minus_one(const uint8_t *buf, size_t len)
{
	static const uint8_t minus_one[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	return raw_has(buf, len, (const char *)minus_one, sizeof(minus_one));
}
static bool check_sla_class(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return (int)b->ticket_created->sla_class == 99;
}
static bool check_severity(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	return (int)b->ticket_created->severity == -1 &&
	       b->ticket_created->ticket_type == SLAD__V1__TICKET_TYPE__INCIDENT && ten_byte_minus_one(buf, len);
}
static bool check_role(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return (int)b->engineer_assigned->role == 99 && strcmp(b->engineer_assigned->engineer_id, "E2") == 0;
}
static bool check_rejected_by(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return (int)b->ticket_rejected->rejected_by == 99;
}
static bool check_grantor(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	const Slad__V1__AuthorizationGranted *a = b->authorization_granted;
	return (int)a->grantor == -1 && a->_window_start_case && a->_window_end_case && ten_byte_minus_one(buf, len);
}
static bool check_report_kind(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return (int)b->report_submitted->report_kind == 99;
}
static bool check_result(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return (int)b->close_requested->result == 99;
}
static bool check_lat_nan(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	const Slad__V1__ClockIn *c = b->clock_in;
	(void)buf;
	(void)len;
	return c->_lat_case && isnan(c->lat) && c->_lon_case && c->lon == SITE_LON;
}
static bool check_site_lon_nan(const Slad__V1__Event *b, const uint8_t *buf, size_t len)
{
	const Slad__V1__TicketCreated *tc = b->ticket_created;
	(void)buf;
	(void)len;
	return tc->_site_lat_case && tc->site_lat == SITE_LAT && tc->_site_lon_case && isnan(tc->site_lon);
}

/* ---- the rows ---- */

#define WO "fsm.workorders"
#define CI "fsm.clockins"

static void created(Slad__V1__Event *ev, Slad__V1__TicketCreated *tc, const char *event_id, const char *ticket_id,
		    Slad__V1__TicketType type, int64_t at)
{
	event_init(ev, event_id, SLAD__V1__EVENT_TYPE__TICKET_CREATED, ticket_id, at);
	ev->partner_id = "P1";
	slad__v1__ticket_created__init(tc);
	tc->ticket_type = type;
	tc->_site_lat_case = SLAD__V1__TICKET_CREATED___SITE_LAT_SITE_LAT;
	tc->site_lat = SITE_LAT;
	tc->_site_lon_case = SLAD__V1__TICKET_CREATED___SITE_LON_SITE_LON;
	tc->site_lon = SITE_LON;
	ev->payload_case = SLAD__V1__EVENT__PAYLOAD_TICKET_CREATED;
	ev->ticket_created = tc;
}

static void emit_missing_payloads(void)
{
	Slad__V1__Event ev;
	event_init(&ev, "px-rejected-nopayload", SLAD__V1__EVENT_TYPE__TICKET_REJECTED, "TM", AT(30));
	emit(&(struct row){"rejected_nopayload", WO, "TM", "MISSING_FIELD", "rejected_by"}, &ev, NULL,
	     check_no_payload);
	event_init(&ev, "px-close-nopayload", SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED, "TM", AT(31));
	emit(&(struct row){"close_nopayload", WO, "TM", "MISSING_FIELD", "close_requested"}, &ev, NULL,
	     check_no_payload);
	event_init(&ev, "px-leave-nopayload", SLAD__V1__EVENT_TYPE__LEAVE_APPROVED, "TR", AT(32));
	emit(&(struct row){"leave_nopayload", WO, "TR", "MISSING_FIELD", "leave_date"}, &ev, NULL, check_no_payload);
	event_init(&ev, "px-report-nopayload", SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED, "TR", AT(33));
	emit(&(struct row){"report_nopayload", WO, "TR", "MISSING_FIELD", "report_kind"}, &ev, NULL,
	     check_no_payload);
}

static void emit_wrong_payloads(void)
{
	Slad__V1__Event ev;
	Slad__V1__SparePart sp;
	slad__v1__spare_part__init(&sp);
	sp.part_id = "SP1";

	event_init(&ev, "px-leave-sparepart", SLAD__V1__EVENT_TYPE__LEAVE_APPROVED, "TR", AT(34));
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_SPARE_PART;
	ev.spare_part = &sp;
	emit(&(struct row){"leave_sparepart", WO, "TR", "BAD_VALUE", "payload"}, &ev, NULL, check_spare_part);

	event_init(&ev, "px-close-sparepart", SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED, "TM", AT(35));
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_SPARE_PART;
	ev.spare_part = &sp;
	emit(&(struct row){"close_sparepart", WO, "TM", "BAD_VALUE", "payload"}, &ev, NULL, check_spare_part);
}

static void emit_envelopes(void)
{
	Slad__V1__Event ev;
	Slad__V1__EngineerAssigned ea;

	event_init(&ev, "px-occurred-min", SLAD__V1__EVENT_TYPE__INCIDENT_RESPONDED, "TI", INT64_MIN);
	emit(&(struct row){"occurred_min", WO, "TI", "BAD_VALUE", "occurred_at"}, &ev, NULL, check_occurred_min);
	event_init(&ev, "px-occurred-max", SLAD__V1__EVENT_TYPE__INCIDENT_RESPONDED, "TI", INT64_MAX);
	emit(&(struct row){"occurred_max", WO, "TI", "BAD_VALUE", "occurred_at"}, &ev, NULL, check_occurred_max);

	/* Cut at the NUL by protobuf-c, both would be "EV": two distinct bad messages, not one and a duplicate. */
	event_init(&ev, "EV~one", SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "TM", AT(36));
	emit(&(struct row){"event_id_nul_one", WO, "TM", "BAD_VALUE", "event_id"}, &ev, &(struct patch){"EV~one", '~', 0},
	     check_ev_one);
	event_init(&ev, "EV~two", SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "TM", AT(37));
	emit(&(struct row){"event_id_nul_two", WO, "TM", "BAD_VALUE", "event_id"}, &ev, &(struct patch){"EV~two", '~', 0},
	     check_ev_two);

	event_init(&ev, "px-ticket-nul", SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "T1~other", AT(38));
	emit(&(struct row){"ticket_id_nul", WO, "T1", "BAD_VALUE", "ticket_id"}, &ev,
	     &(struct patch){"T1~other", '~', 0}, check_tid_nul);
	event_init(&ev, "px-ticket-utf8", SLAD__V1__EVENT_TYPE__TICKET_ACKNOWLEDGED, "T~1", AT(39));
	emit(&(struct row){"ticket_id_utf8", WO, "T1", "BAD_VALUE", "ticket_id"}, &ev, &(struct patch){"T~1", '~', 0xff},
	     check_tid_utf8);

	event_init(&ev, "px-engineer-utf8", SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED, "TM", AT(40));
	slad__v1__engineer_assigned__init(&ea);
	ea.engineer_id = "E~";
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ENGINEER_ASSIGNED;
	ev.engineer_assigned = &ea;
	emit(&(struct row){"engineer_id_utf8", WO, "TM", "BAD_VALUE", "engineer_id"}, &ev,
	     &(struct patch){"E~", '~', 0xff}, check_engineer_utf8);
}

static void emit_ticket_created(void)
{
	Slad__V1__Event ev;
	Slad__V1__TicketCreated tc;

	/* 1970-01-01 to 9999-12-31: a daemon that believed it would lay out ~2.9 million resident days. */
	created(&ev, &tc, "px-resident-forever", "TR-FOREVER", SLAD__V1__TICKET_TYPE__RESIDENT, AT(41));
	tc._service_start_at_case = SLAD__V1__TICKET_CREATED___SERVICE_START_AT_SERVICE_START_AT;
	tc.service_start_at = 0;
	tc._service_end_at_case = SLAD__V1__TICKET_CREATED___SERVICE_END_AT_SERVICE_END_AT;
	tc.service_end_at = 253402214400000LL;
	emit(&(struct row){"resident_forever", WO, "TR-FOREVER", "BAD_VALUE", "service_"}, &ev, NULL, check_forever);

	created(&ev, &tc, "px-sla-class", "X-SLA", SLAD__V1__TICKET_TYPE__MAINTENANCE, AT(42));
	tc.sla_class = (Slad__V1__SlaClass)99;
	emit(&(struct row){"sla_class_99", WO, "X-SLA", "BAD_VALUE", "sla_class"}, &ev, NULL, check_sla_class);

	created(&ev, &tc, "px-severity", "X-SEV", SLAD__V1__TICKET_TYPE__INCIDENT, AT(43));
	tc.severity = (Slad__V1__Severity)-1;
	emit(&(struct row){"severity_minus_1", WO, "X-SEV", "BAD_VALUE", "severity"}, &ev, NULL, check_severity);

	created(&ev, &tc, "px-site-lon", "X-LON", SLAD__V1__TICKET_TYPE__MAINTENANCE, AT(44));
	tc.site_lon = NAN;
	emit(&(struct row){"site_lon_nan", WO, "X-LON", "BAD_VALUE", "site_lon"}, &ev, NULL, check_site_lon_nan);
}

static void emit_enums(void)
{
	Slad__V1__Event ev;
	Slad__V1__EngineerAssigned ea;
	Slad__V1__TicketRejected tr;
	Slad__V1__AuthorizationGranted ag;
	Slad__V1__ReportSubmitted rs;
	Slad__V1__CloseRequested cr;

	event_init(&ev, "px-role", SLAD__V1__EVENT_TYPE__ENGINEER_ASSIGNED, "TM", AT(45));
	slad__v1__engineer_assigned__init(&ea);
	ea.engineer_id = "E2";
	ea.role = (Slad__V1__Role)99;
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_ENGINEER_ASSIGNED;
	ev.engineer_assigned = &ea;
	emit(&(struct row){"role_99", WO, "TM", "BAD_VALUE", "role"}, &ev, NULL, check_role);

	event_init(&ev, "px-rejected-by", SLAD__V1__EVENT_TYPE__TICKET_REJECTED, "TM", AT(46));
	slad__v1__ticket_rejected__init(&tr);
	tr.rejected_by = (Slad__V1__Rejector)99;
	tr.reason = "no";
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_TICKET_REJECTED;
	ev.ticket_rejected = &tr;
	emit(&(struct row){"rejected_by_99", WO, "TM", "BAD_VALUE", "rejected_by"}, &ev, NULL, check_rejected_by);

	event_init(&ev, "px-grantor", SLAD__V1__EVENT_TYPE__AUTHORIZATION_GRANTED, "TM", AT(47));
	slad__v1__authorization_granted__init(&ag);
	ag._window_start_case = SLAD__V1__AUTHORIZATION_GRANTED___WINDOW_START_WINDOW_START;
	ag.window_start = AT(240);
	ag._window_end_case = SLAD__V1__AUTHORIZATION_GRANTED___WINDOW_END_WINDOW_END;
	ag.window_end = AT(360);
	ag.grantor = (Slad__V1__Grantor)-1;
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_AUTHORIZATION_GRANTED;
	ev.authorization_granted = &ag;
	emit(&(struct row){"grantor_minus_1", WO, "TM", "BAD_VALUE", "grantor"}, &ev, NULL, check_grantor);

	event_init(&ev, "px-report-kind", SLAD__V1__EVENT_TYPE__REPORT_SUBMITTED, "TR", AT(48));
	slad__v1__report_submitted__init(&rs);
	rs.report_kind = (Slad__V1__ReportKind)99;
	rs.period = "2025-W11";
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_REPORT_SUBMITTED;
	ev.report_submitted = &rs;
	emit(&(struct row){"report_kind_99", WO, "TR", "BAD_VALUE", "report_kind"}, &ev, NULL, check_report_kind);

	event_init(&ev, "px-result", SLAD__V1__EVENT_TYPE__CLOSE_REQUESTED, "TM", AT(49));
	slad__v1__close_requested__init(&cr);
	cr._completion_code_at_case = SLAD__V1__CLOSE_REQUESTED___COMPLETION_CODE_AT_COMPLETION_CODE_AT;
	cr.completion_code_at = AT(49);
	cr.result = (Slad__V1__CloseResult)99;
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_CLOSE_REQUESTED;
	ev.close_requested = &cr;
	emit(&(struct row){"result_99", WO, "TM", "BAD_VALUE", "result"}, &ev, NULL, check_result);
}

static void emit_clock_ins(void)
{
	Slad__V1__Event ev;
	Slad__V1__ClockIn ci;

	event_init(&ev, "px-lat-nan", SLAD__V1__EVENT_TYPE__CLOCK_IN, "TM", AT(50));
	slad__v1__clock_in__init(&ci);
	ci.engineer_id = "E1";
	ci.kind = SLAD__V1__CLOCK_KIND__ARRIVE;
	ci._lat_case = SLAD__V1__CLOCK_IN___LAT_LAT;
	ci.lat = NAN;
	ci._lon_case = SLAD__V1__CLOCK_IN___LON_LON;
	ci.lon = SITE_LON;
	ev.payload_case = SLAD__V1__EVENT__PAYLOAD_CLOCK_IN;
	ev.clock_in = &ci;
	emit(&(struct row){"clock_in_lat_nan", CI, "TM", "BAD_VALUE", "lat"}, &ev, NULL, check_lat_nan);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "-v") == 0) {
		verbose = true;
		i++;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: slad_poison_fixture [-v] DIR\n");
		return 2;
	}
	out_dir = argv[i];
	emit_missing_payloads();
	emit_wrong_payloads();
	emit_envelopes();
	emit_ticket_created();
	emit_enums();
	emit_clock_ins();
	if (fflush(stdout) != 0)
		failures++;
	return failures ? 1 : 0;
}
