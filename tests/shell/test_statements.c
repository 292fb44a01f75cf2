/* test_statements.c - the store's statement building (daemon/store_batch.c):
 * a batch built from the core's outputs, its unnest() statements (rows per
 * statement, parameters, array literals) and its binary COPY data, without
 * PostgreSQL. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "shell_suites.h"
#include "slad/pgarr.h"
#include "store_internal.h"

/* A ticket as the core would hand it over: created, with ms and vs. */
static struct sla_ticket *ticket(const char *id, struct sla_milestone *ms, int nms, struct sla_violation *vs, int nvs)
{
	struct sla_ticket *t = calloc(1, sizeof *t + strlen(id) + 1);

	ck_assert_ptr_nonnull(t);
	strcpy(t->ticket_id, id);
	t->type = TT_MAINTENANCE;
	t->sla_class = SC_HOURLY;
	t->severity = 2;
	t->state = TS_CREATED;
	t->partner_id = "";
	t->engineer_id = "E1";
	t->calendar_id = "";
	t->created_at = 1000;
	t->closed_at = SLA_TIME_NONE;
	t->updated_at = 2000;
	t->created = true;
	t->ms = ms;
	t->nms = nms;
	t->vs = vs;
	t->nvs = nvs;
	return t;
}

static struct sla_milestone milestone(int occurrence, bool dirty)
{
	struct sla_milestone m = {.started_at = 1000, .due_at = 5000, .stopped_at = SLA_TIME_NONE,
				  .occurrence = occurrence, .kind = MS_RESPONSE, .status = MSS_PENDING, .dirty = dirty};
	return m;
}

static struct sla_violation violation(sla_time detected_at)
{
	struct sla_violation v = {.code = RC_MILESTONE_LATE, .milestone = MS_RESPONSE, .occurrence = 1,
				  .status = VS_PROVISIONAL, .due_at = 5000, .observed_at = 6000,
				  .detected_at = detected_at, .dirty = true};
	return v;
}

/* The elements of a text array literal ("{...}"): commas outside quotes. */
static size_t arr_count(const char *lit)
{
	size_t n = 0;
	bool quoted = false;

	ck_assert_int_eq(lit[0], '{');
	if (strcmp(lit, "{}") == 0)
		return 0;
	for (const char *p = lit + 1; *p != '\0'; p++) {
		if (quoted && *p == '\\')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ',')
			n++;
	}
	return n + 1;
}

/* The statement of b labelled `what` (the first one the caller sends), or
 * false when it is skipped. */
static bool find_statement(struct batch *b, const char *what, bool daemon, bool copying, struct batch_statement *s)
{
	char err[128];

	for (size_t i = 0; i < batch_nstatements(); i++) {
		enum batch_statement_result r = batch_statement(b, i, daemon, copying, "pv7", s, err, sizeof err);

		ck_assert_int_ne(r, BATCH_ERROR);
		if (r == BATCH_SEND && strcmp(s->what, what) == 0)
			return true;
	}
	return false;
}

static size_t rows_of(struct batch *b, const char *what, bool daemon)
{
	struct batch_statement s;

	return find_statement(b, what, daemon, false, &s) ? arr_count(s.vals[0]) : 0;
}

/* One of everything the core writes, in out (freed by out_free). */
struct fixture {
	struct sla_out out;
	struct sla_milestone ms[2];
	struct sla_violation vs[1];
	struct sla_ticket *t;
	struct sla_ticket *dirty[1];
	struct sla_history hist[2];
	struct sla_dead dead[1];
	struct sla_escalation esc[1];
	struct sla_applied applied[2];
	struct sla_engclock eng[1];
};

static void fixture_init(struct fixture *f, const char *id, sla_time detected_at)
{
	memset(f, 0, sizeof *f);
	f->ms[0] = milestone(1, true);
	f->ms[1] = milestone(2, false);
	f->vs[0] = violation(detected_at);
	f->t = ticket(id, f->ms, 2, f->vs, 1);
	f->dirty[0] = f->t;
	f->out.dirty = f->dirty;
	f->out.ndirty = 1;
	/* No ticket_encode of a hand-made ticket: its state is left to a checkpoint. */
	f->out.defer_state = true;
	strcpy(f->hist[0].ticket_id, id);
	strcpy(f->hist[0].rule_code, "RESPONSE_LATE");
	f->hist[1] = f->hist[0];
	f->hist[1].status = VS_CONFIRMED;
	f->out.hist = f->hist;
	f->out.nhist = 2;
	strcpy(f->dead[0].topic, "fsm.workorders");
	f->dead[0].offset = 42;
	f->dead[0].reason = SV_DECODE_ERROR;
	f->out.dead = f->dead;
	f->out.ndead = 1;
	strcpy(f->esc[0].ticket_id, id);
	f->esc[0].at = 4000;
	f->out.esc = f->esc;
	f->out.nesc = 1;
	/* Out of key order: COPY writes them sorted, the statement as they came. */
	strcpy(f->applied[0].ticket_id, id);
	strcpy(f->applied[0].event_id, "ev-b");
	strcpy(f->applied[1].ticket_id, id);
	strcpy(f->applied[1].event_id, "ev-a");
	f->applied[0].payload = (uint8_t *)"\x08\x01";
	f->applied[0].len = 2;
	f->applied[1].payload = (uint8_t *)"\x08\x02\x10";
	f->applied[1].len = 3;
	f->out.applied = f->applied;
	f->out.napplied = 2;
	strcpy(f->eng[0].engineer_id, "E1");
	strcpy(f->eng[0].ticket_id, id);
	f->eng[0].kind = "ARRIVE";
	f->out.eng = f->eng;
	f->out.neng = 1;
}

static void fixture_free(struct fixture *f)
{
	free(f->t);
}

START_TEST(rows_per_statement)
{
	struct fixture f;
	struct batch *b = batch_new();
	char err[128] = "";

	fixture_init(&f, "T1", 3000);
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	ck_assert(!batch_copies(b));
	ck_assert_uint_eq(rows_of(b, "writing sla.tickets", true), 1);
	/* Only the dirty milestone. */
	ck_assert_uint_eq(rows_of(b, "writing sla.milestones", true), 1);
	ck_assert_uint_eq(rows_of(b, "writing sla.violations", true), 1);
	/* Every status change of a violation, not coalesced. */
	ck_assert_uint_eq(rows_of(b, "writing sla.violation_history", true), 2);
	ck_assert_uint_eq(rows_of(b, "writing sla.dead_letters", true), 1);
	ck_assert_uint_eq(rows_of(b, "writing sla.escalations", true), 1);
	ck_assert_uint_eq(rows_of(b, "writing sla.event_log", true), 2);
	ck_assert_uint_eq(rows_of(b, "writing sla.engineer_clocks", true), 1);
	/* Nothing to cancel, and the state waits for a checkpoint. */
	ck_assert_uint_eq(rows_of(b, "cancelling milestones", true), 0);
	ck_assert_uint_eq(rows_of(b, "retracting violations", true), 0);
	ck_assert_uint_eq(rows_of(b, "writing sla.ticket_state", true), 0);
	batch_free(b);
	fixture_free(&f);
}
END_TEST

/* Each statement's parameters: one array per column, then the policy
 * version where the statement takes it. */
START_TEST(parameters_and_policy_version)
{
	static const struct {
		const char *what;
		int nparams;
		bool with_version;
	} want[] = {
		{"writing sla.tickets", 11, false},	    {"writing sla.milestones", 11, true},
		{"writing sla.violations", 12, true},	    {"writing sla.violation_history", 6, false},
		{"writing sla.dead_letters", 6, false},	    {"writing sla.escalations", 9, true},
		{"writing sla.event_log", 9, false},	    {"writing sla.engineer_clocks", 7, false},
	};
	struct fixture f;
	struct batch *b = batch_new();
	char err[128] = "";

	fixture_init(&f, "T1", 3000);
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct batch_statement s;

		ck_assert_msg(find_statement(b, want[i].what, true, false, &s), "%s", want[i].what);
		ck_assert_int_eq(s.nparams, want[i].nparams);
		if (want[i].with_version)
			ck_assert_str_eq(s.vals[s.nparams - 1], "pv7");
		for (int c = 0; c < s.nparams - (want[i].with_version ? 1 : 0); c++)
			ck_assert_msg(s.formats[c] == 1 || s.vals[c][0] == '{', "%s $%d", want[i].what, c + 1);
	}
	/* The payloads go in binary, of their length. */
	struct batch_statement s;
	ck_assert(find_statement(b, "writing sla.event_log", true, false, &s));
	ck_assert_int_eq(s.formats[8], 1);
	ck_assert_int_gt(s.lengths[8], 0);
	ck_assert_int_eq(s.formats[0], 0);
	batch_free(b);
	fixture_free(&f);
}
END_TEST

/* The daemon skips a dead letter written already (a message re-applied after
 * a checkpoint); slactl replay, whose positions are line numbers, does not. */
START_TEST(dead_letters_daemon_and_replay)
{
	struct fixture f;
	struct batch *b = batch_new();
	struct batch_statement s;
	char err[128] = "";

	fixture_init(&f, "T1", 3000);
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	ck_assert(find_statement(b, "writing sla.dead_letters", true, false, &s));
	ck_assert_ptr_nonnull(strstr(s.sql, "NOT EXISTS"));
	ck_assert(find_statement(b, "writing sla.dead_letters", false, false, &s));
	ck_assert_ptr_null(strstr(s.sql, "NOT EXISTS"));
	ck_assert_str_eq(s.vals[3], "{\"DECODE_ERROR\"}");
	batch_free(b);
	fixture_free(&f);
}
END_TEST

/* Text in array literals: quotes and backslashes escaped, commas and braces
 * quoted, invalid UTF-8 as '?', no value as NULL. */
START_TEST(text_arrays_escaped)
{
	struct fixture f;
	struct batch *b = batch_new();
	struct batch_statement s;
	char err[128] = "";

	fixture_init(&f, "a\"b\\c,{d}\xff", 3000);
	f.t->severity = 0; /* none: NULL */
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	ck_assert(find_statement(b, "writing sla.tickets", true, false, &s));
	ck_assert_str_eq(s.vals[0], "{\"a\\\"b\\\\c,{d}?\"}");
	ck_assert_uint_eq(arr_count(s.vals[0]), 1);
	ck_assert_str_eq(s.vals[3], "{NULL}");
	/* '' as it is: the statement's nullif makes it NULL. */
	ck_assert_str_eq(s.vals[4], "{\"\"}");
	ck_assert_str_eq(s.vals[8], "{1000}");
	ck_assert_str_eq(s.vals[9], "{NULL}");
	batch_free(b);
	fixture_free(&f);
}
END_TEST

/* pgarr's elements directly: integers at the edges of int64, and text with multibyte
 * UTF-8 between plain runs, escapes, and a truncated sequence. */
START_TEST(array_elements)
{
	struct pgarr a = {0};
	arr_int(&a, 0);
	arr_int(&a, -5);
	arr_int(&a, INT64_MAX);
	arr_int(&a, INT64_MIN);
	arr_time(&a, SLA_TIME_NONE);
	ck_assert_str_eq(arr_finish(&a), "{0,-5,9223372036854775807,-9223372036854775808,NULL}");
	arrs_free(&a, 1);

	struct pgarr t = {0};
	arr_text(&t, "");
	arr_text(&t, "h\xc3\xa9llo \xe5\xb7\xa5\xe5\x8d\x95\"x\\");
	arr_text(&t, "ab\xe5\xb7");
	arr_text(&t, NULL);
	ck_assert_str_eq(arr_finish(&t), "{\"\",\"h\xc3\xa9llo \xe5\xb7\xa5\xe5\x8d\x95\\\"x\\\\\",\"ab??\",NULL}");
	arrs_free(&t, 1);
}
END_TEST

/* A reader of PostgreSQL's binary COPY format. */
struct copy_reader {
	const unsigned char *p, *end;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void copy_open(struct copy_reader *r, const struct batch_copy *c)
{
	static const char sig[] = "PGCOPY\n\377\r\n";

	r->p = (const unsigned char *)c->data;
	r->end = r->p + c->len;
	ck_assert_int_ge(c->len, 19 + 2);
	ck_assert_int_eq(memcmp(r->p, sig, 11), 0);
	ck_assert_uint_eq(be32(r->p + 11), 0); /* flags */
	ck_assert_uint_eq(be32(r->p + 15), 0); /* no header extension */
	r->p += 19;
}

/* The next row's field count; -1 at the trailer. */
static int copy_next_row(struct copy_reader *r)
{
	ck_assert(r->p + 2 <= r->end);
	int16_t n = (int16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	if (n == -1)
		ck_assert(r->p == r->end);
	return n;
}

/* The next field: its length (-1: NULL) and bytes. */
static int32_t copy_field(struct copy_reader *r, const unsigned char **bytes)
{
	ck_assert(r->p + 4 <= r->end);
	int32_t len = (int32_t)be32(r->p);
	r->p += 4;
	*bytes = r->p;
	if (len > 0) {
		ck_assert(r->p + len <= r->end);
		r->p += len;
	}
	return len;
}

/* The COPY data labelled `what`, or false when batch_copy skips it. */
static bool find_copy(struct batch *b, const char *what, struct batch_copy *c)
{
	char err[128];

	for (size_t i = 0; i < batch_ncopies(); i++) {
		enum batch_statement_result r = batch_copy(b, i, c, err, sizeof err);

		ck_assert_int_ne(r, BATCH_ERROR);
		if (r == BATCH_SEND && strcmp(c->what, what) == 0)
			return true;
	}
	return false;
}

/* The rows of c, each of nfields well-formed fields, up to the trailer. */
static size_t copy_rows(const struct batch_copy *c, int nfields)
{
	struct copy_reader r;
	size_t rows = 0;
	int n;

	copy_open(&r, c);
	while ((n = copy_next_row(&r)) != -1) {
		const unsigned char *bytes;

		ck_assert_int_eq(n, nfields);
		for (int k = 0; k < n; k++)
			ck_assert_int_ge(copy_field(&r, &bytes), -1);
		rows++;
	}
	return rows;
}

/* Field k of the first row of c: its length, and its bytes in *bytes. */
static int32_t first_row_field(const struct batch_copy *c, int k, const unsigned char **bytes)
{
	struct copy_reader r;
	int32_t len = 0;

	copy_open(&r, c);
	ck_assert_int_gt(copy_next_row(&r), k);
	for (int i = 0; i <= k; i++)
		len = copy_field(&r, bytes);
	return len;
}

/* A ticket written for the first time goes by COPY: every table's rows with
 * the statement's columns (and the policy version where it takes one). */
START_TEST(copy_rows_per_table)
{
	struct fixture f;
	struct ticket_set fresh = {0};
	struct batch *b = batch_new();
	struct batch_copy c;
	struct batch_statement s;
	char err[128] = "";

	fixture_init(&f, "T1", 3000);
	ck_assert(batch_build(b, &f.out, "pv7", &fresh, err, sizeof err));
	ck_assert(batch_copies(b));
	ck_assert(find_copy(b, "copying sla.tickets", &c));
	ck_assert_uint_eq(copy_rows(&c, 11), 1);
	ck_assert(find_copy(b, "copying sla.milestones", &c));
	ck_assert_uint_eq(copy_rows(&c, 11), 1);
	ck_assert(find_copy(b, "copying sla.violations", &c));
	ck_assert_uint_eq(copy_rows(&c, 12), 1);
	ck_assert(find_copy(b, "copying sla.escalations", &c));
	ck_assert_uint_eq(copy_rows(&c, 9), 1);
	ck_assert(find_copy(b, "copying sla.event_log", &c));
	ck_assert_uint_eq(copy_rows(&c, 10), 1); /* both events: one ticket, one month */
	ck_assert(!find_copy(b, "copying sla.ticket_state", &c));
	/* While copying, the statements of those tables stay unsent; the others go. */
	ck_assert(!find_statement(b, "writing sla.tickets", true, true, &s));
	ck_assert(!find_statement(b, "writing sla.event_log", true, true, &s));
	ck_assert(find_statement(b, "writing sla.violation_history", true, true, &s));
	/* Without COPY (a row was there after all), the same rows by statement. */
	ck_assert_uint_eq(rows_of(b, "writing sla.tickets", true), 1);
	ck_assert_uint_eq(rows_of(b, "writing sla.violations", true), 1);
	batch_free(b);

	/* The next batch: the ticket's rows exist now and upsert. */
	b = batch_new();
	ck_assert(batch_build(b, &f.out, "pv7", &fresh, err, sizeof err));
	ck_assert(!find_copy(b, "copying sla.tickets", &c));
	ck_assert(!find_copy(b, "copying sla.milestones", &c));
	ck_assert(find_statement(b, "writing sla.tickets", true, true, &s));
	ck_assert_uint_eq(arr_count(s.vals[0]), 1);
	/* Append-only rows still go by COPY. */
	ck_assert(find_copy(b, "copying sla.event_log", &c));
	batch_free(b);
	ticket_set_free(&fresh);
	fixture_free(&f);
}
END_TEST

/* The daemon's batch whose events cannot be written yet (sla_out.applied_new):
 * only the events go by COPY; every other table upserts as before. */
START_TEST(daemon_copies_new_events_only)
{
	struct fixture f;
	struct batch *b = batch_new();
	struct batch_copy c;
	struct batch_statement s;
	char err[128] = "";

	fixture_init(&f, "T1", 3000);
	f.out.applied_new = true;
	f.t->ms[0].flags |= MS_WRITTEN; /* its row may be there */
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	ck_assert(batch_copies(b));
	ck_assert(find_copy(b, "copying sla.event_log", &c));
	ck_assert_uint_eq(copy_rows(&c, 10), 1); /* both events: one ticket, one month */
	ck_assert(!find_copy(b, "copying sla.tickets", &c));
	ck_assert(!find_copy(b, "copying sla.milestones", &c));
	ck_assert(!find_copy(b, "copying sla.escalations", &c));
	ck_assert(!find_statement(b, "writing sla.event_log", true, true, &s));
	ck_assert(find_statement(b, "writing sla.tickets", true, true, &s));
	ck_assert(find_statement(b, "writing sla.escalations", true, true, &s));
	ck_assert(find_statement(b, "writing sla.milestones", true, true, &s));
	/* Should one be there after all: the same events by statement. */
	ck_assert_uint_eq(rows_of(b, "writing sla.event_log", true), 2);
	batch_free(b);

	/* A milestone no batch has had yet was opened by one of the new
	 * events: it is copied as well, and upserts only should the COPY fail. */
	b = batch_new();
	f.t->ms[0].flags &= (uint8_t)~MS_WRITTEN;
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	ck_assert(find_copy(b, "copying sla.milestones", &c));
	ck_assert_uint_eq(copy_rows(&c, 11), 1);
	ck_assert(!find_statement(b, "writing sla.milestones", true, true, &s));
	ck_assert_uint_eq(rows_of(b, "writing sla.milestones", true), 1);
	ck_assert(!find_copy(b, "copying sla.tickets", &c));
	batch_free(b);

	/* A message applied again after a restart: no COPY at all. */
	b = batch_new();
	f.out.applied_new = false;
	ck_assert(batch_build(b, &f.out, "pv7", NULL, err, sizeof err));
	ck_assert(!batch_copies(b));
	ck_assert(!find_copy(b, "copying sla.event_log", &c));
	ck_assert_uint_eq(rows_of(b, "writing sla.event_log", true), 2);
	batch_free(b);
	fixture_free(&f);
}
END_TEST

/* The ticket id of each sla.event_log COPY row, and its events' count. */
static size_t event_log_rows(const struct batch_copy *c, char ids[][8], uint32_t *nevents, size_t max)
{
	struct copy_reader r;
	size_t rows = 0;

	copy_open(&r, c);
	while (copy_next_row(&r) != -1) {
		const unsigned char *bytes;

		ck_assert_uint_lt(rows, max);
		for (int k = 0; k < 10; k++) {
			int32_t len = copy_field(&r, &bytes);

			if (k == 0) {
				ck_assert(len > 0 && len < 8);
				memcpy(ids[rows], bytes, (size_t)len);
				ids[rows][len] = '\0';
			} else if (k == 2) {
				nevents[rows] = be32(bytes + 12);
			}
		}
		rows++;
	}
	return rows;
}

/* sla.event_log takes one row per ticket and UTC month, in ticket order. */
START_TEST(events_one_row_per_ticket_and_month)
{
	static const struct {
		const char *ticket;
		sla_time at;
	} ev[] = {
		{"T2", INT64_C(1735689600000)},	 /* 2025-01-01 00:00 */
		{"T1", INT64_C(1738367999999)},	 /* 2025-01-31 23:59:59.999 */
		{"T1", INT64_C(1738368000000)},	 /* 2025-02-01 00:00 */
		{"T1", INT64_C(1736000000000)},	 /* 2025-01-04 */
	};
	struct sla_applied applied[4];
	struct sla_out out = {0};
	struct batch *b = batch_new();
	struct batch_copy c;
	char ids[4][8], err[128] = "";
	uint32_t n[4];

	memset(applied, 0, sizeof applied);
	for (size_t i = 0; i < 4; i++) {
		strcpy(applied[i].ticket_id, ev[i].ticket);
		snprintf(applied[i].event_id, sizeof applied[i].event_id, "e%zu", i);
		applied[i].occurred_at = ev[i].at;
	}
	out.applied = applied;
	out.napplied = 4;
	out.applied_new = true;
	ck_assert(batch_build(b, &out, "pv7", NULL, err, sizeof err));
	ck_assert(find_copy(b, "copying sla.event_log", &c));
	ck_assert_uint_eq(event_log_rows(&c, ids, n, 4), 3);
	ck_assert_str_eq(ids[0], "T1"); /* January: e1 and e3 */
	ck_assert_uint_eq(n[0], 2);
	ck_assert_str_eq(ids[1], "T1"); /* February: e2 */
	ck_assert_uint_eq(n[1], 1);
	ck_assert_str_eq(ids[2], "T2");
	ck_assert_uint_eq(n[2], 1);
	/* Statement or COPY, the same events. */
	ck_assert_uint_eq(rows_of(b, "writing sla.event_log", true), 4);
	batch_free(b);
}
END_TEST

/* A violation without a detection time takes the server's now(): its
 * ticket's rows upsert instead of going by COPY. */
START_TEST(undetected_violation_is_not_copied)
{
	struct fixture f;
	struct ticket_set fresh = {0};
	struct batch *b = batch_new();
	struct batch_copy c;
	char err[128] = "";

	fixture_init(&f, "T1", SLA_TIME_NONE);
	ck_assert(batch_build(b, &f.out, "pv7", &fresh, err, sizeof err));
	ck_assert(!find_copy(b, "copying sla.tickets", &c));
	ck_assert(!find_copy(b, "copying sla.violations", &c));
	ck_assert_uint_eq(rows_of(b, "writing sla.violations", true), 1);
	batch_free(b);
	ticket_set_free(&fresh);
	fixture_free(&f);
}
END_TEST

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The fields as PostgreSQL reads them: text bytes, '' as NULL where the
 * statement has nullif, timestamptz in microseconds since 2000-01-01, jsonb
 * with its version byte, events in the order of their key. */
START_TEST(copy_field_encoding)
{
	struct fixture f;
	struct ticket_set fresh = {0};
	struct batch *b = batch_new();
	struct batch_copy c;
	const unsigned char *bytes;
	char err[128] = "";

	fixture_init(&f, "T1", 3000);
	ck_assert(batch_build(b, &f.out, "pv7", &fresh, err, sizeof err));
	ck_assert(find_copy(b, "copying sla.tickets", &c));
	ck_assert_int_eq(first_row_field(&c, 0, &bytes), 2);
	ck_assert_int_eq(memcmp(bytes, "T1", 2), 0);
	ck_assert_int_eq(first_row_field(&c, 4, &bytes), -1); /* partner_id '' */
	ck_assert_int_eq(first_row_field(&c, 5, &bytes), 2);  /* engineer_id */
	ck_assert_int_eq(first_row_field(&c, 8, &bytes), 8);  /* created_at */
	ck_assert_int_eq(be64(bytes), (1000 - INT64_C(946684800000)) * 1000);
	ck_assert_int_eq(first_row_field(&c, 9, &bytes), -1); /* closed_at none */

	ck_assert(find_copy(b, "copying sla.violations", &c));
	ck_assert_int_eq(first_row_field(&c, 3, &bytes), 4); /* occurrence, int4 */
	ck_assert_uint_eq(be32(bytes), 1);
	ck_assert_int_eq(first_row_field(&c, 10, &bytes), 3); /* details '' */
	ck_assert_int_eq(memcmp(bytes, "\x01{}", 3), 0);
	ck_assert_int_eq(first_row_field(&c, 11, &bytes), 3);
	ck_assert_int_eq(memcmp(bytes, "pv7", 3), 0);

	/* One sla.event_log row for the ticket's two events: arrays in the
	 * order applied (ev-b, then ev-a), each with its element type. */
	ck_assert(find_copy(b, "copying sla.event_log", &c));
	ck_assert_int_eq(first_row_field(&c, 0, &bytes), 2);
	ck_assert_int_eq(memcmp(bytes, "T1", 2), 0);
	ck_assert_int_eq(first_row_field(&c, 1, &bytes), 8); /* first_at */
	ck_assert_int_eq(be64(bytes), -INT64_C(946684800000) * 1000);
	ck_assert_int_eq(first_row_field(&c, 2, &bytes), 20 + 2 * (4 + 4));
	ck_assert_uint_eq(be32(bytes), 1);	/* one dimension */
	ck_assert_uint_eq(be32(bytes + 4), 0);	/* no NULL */
	ck_assert_uint_eq(be32(bytes + 8), 25); /* text */
	ck_assert_uint_eq(be32(bytes + 12), 2); /* two elements */
	ck_assert_uint_eq(be32(bytes + 16), 1); /* from 1 */
	ck_assert_uint_eq(be32(bytes + 20), 4);
	ck_assert_int_eq(memcmp(bytes + 24, "ev-b", 4), 0);
	ck_assert_uint_eq(be32(bytes + 28), 4);
	ck_assert_int_eq(memcmp(bytes + 32, "ev-a", 4), 0);
	ck_assert_int_eq(first_row_field(&c, 6, &bytes), 20 + 2 * 4); /* topics: both NULL */
	ck_assert_uint_eq(be32(bytes + 4), 1);
	ck_assert_uint_eq(be32(bytes + 20), UINT32_MAX);
	ck_assert_int_eq(first_row_field(&c, 8, &bytes), 20 + 2 * (4 + 8)); /* kafka_offsets */
	ck_assert_uint_eq(be32(bytes + 8), 20);				    /* int8 */
	ck_assert_int_eq(first_row_field(&c, 9, &bytes), 20 + 4 + 2 + 4 + 3); /* payloads */
	ck_assert_uint_eq(be32(bytes + 8), 17);					/* bytea */
	ck_assert_int_eq(memcmp(bytes + 30, "\x08\x02\x10", 3), 0);
	batch_free(b);
	ticket_set_free(&fresh);
	fixture_free(&f);
}
END_TEST

/* A re-derived ticket's old rows: its milestones cancelled, its violations
 * retracted, by their keys. */
START_TEST(orphans_cancelled_by_key)
{
	struct sla_milestone ms[2] = {milestone(1, false), milestone(2, false)};
	struct sla_violation vs[1] = {violation(3000)};
	struct sla_ticket *o = ticket("T9", ms, 2, vs, 1);
	struct sla_ticket *orphans[1] = {o};
	struct sla_out out = {.orphans = orphans, .norphans = 1};
	struct batch *b = batch_new();
	struct batch_statement s;
	char code[64], want[80], err[128] = "";

	ck_assert(batch_build(b, &out, "pv7", NULL, err, sizeof err));
	ck_assert(find_statement(b, "cancelling milestones", true, false, &s));
	ck_assert_int_eq(s.nparams, 3);
	ck_assert_str_eq(s.vals[0], "{\"T9\",\"T9\"}");
	ck_assert_str_eq(s.vals[2], "{1,2}");
	ck_assert(find_statement(b, "retracting violations", true, false, &s));
	snprintf(want, sizeof want, "{\"%s\"}", violation_code(&vs[0], code, sizeof code));
	ck_assert_str_eq(s.vals[1], want);
	ck_assert_uint_eq(rows_of(b, "writing sla.tickets", true), 0);
	batch_free(b);
	free(o);
}
END_TEST

Suite *shell_statements_suite(void)
{
	Suite *s = suite_create("statements");
	TCase *tc = tcase_create("batch");

	tcase_add_test(tc, rows_per_statement);
	tcase_add_test(tc, parameters_and_policy_version);
	tcase_add_test(tc, dead_letters_daemon_and_replay);
	tcase_add_test(tc, text_arrays_escaped);
	tcase_add_test(tc, array_elements);
	tcase_add_test(tc, copy_rows_per_table);
	tcase_add_test(tc, daemon_copies_new_events_only);
	tcase_add_test(tc, events_one_row_per_ticket_and_month);
	tcase_add_test(tc, undetected_violation_is_not_copied);
	tcase_add_test(tc, copy_field_encoding);
	tcase_add_test(tc, orphans_cancelled_by_key);
	suite_add_tcase(s, tc);
	return s;
}
