/* store_batch.c - one batch's rows, from the core's outputs, as array
 * literals, and the table of statements that write them: one unnest() per
 * table, natural keys and ON CONFLICT (docs/storage.md). */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/core.h"
#include "slad/pgarr.h"
#include "slad/v1/events.pb-c.h"
#include "store_internal.h"
#include "store_statements.h"

static const char *severity_name(int severity)
{
	static const char *const names[] = {NULL, "I", "II", "III", "IV"};

	return severity >= 1 && severity <= 4 ? names[severity] : NULL;
}

/* An event type's name in the protobuf enum, as sla.event_log keeps it. */
static const char *event_type_name(int type)
{
	const ProtobufCEnumValue *tv = protobuf_c_enum_descriptor_get_value(&slad__v1__event_type__descriptor, type);

	return tv ? tv->name : "UNKNOWN";
}

/* The rows of one batch as array literals. */
struct batch {
	struct pgarr tk[TK_NCOLS], ms[MS_NCOLS], vi[VI_NCOLS], st[ST_NCOLS], hi[HI_NCOLS], dl[DL_NCOLS];
	struct pgarr es[ES_NCOLS];
	struct pgarr ev[EV_NCOLS];
	struct pgarr ec[EC_NCOLS];
	struct pgarr om[OR_NCOLS], ov[OR_NCOLS]; /* orphan milestones and violations */
	/* With batch_build's fresh: the rows of tickets written for the first
	 * time, apart (sent only when the COPY below cannot be used), and the
	 * rows expected to be new again as binary COPY data (batch_copy), in
	 * the order of copy_tables. */
	struct pgarr tk_new[TK_NCOLS], ms_new[MS_NCOLS], vi_new[VI_NCOLS];
	bool copy;
	bool copy_events; /* the daemon's sla_out.applied_new: only the events go by COPY */
	struct pgarr copies[COPY_NTABLES];
};

struct batch *batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

void batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	arrs_free(b->tk, TK_NCOLS);
	arrs_free(b->ms, MS_NCOLS);
	arrs_free(b->vi, VI_NCOLS);
	arrs_free(b->st, ST_NCOLS);
	arrs_free(b->hi, HI_NCOLS);
	arrs_free(b->dl, DL_NCOLS);
	arrs_free(b->es, ES_NCOLS);
	arrs_free(b->ev, EV_NCOLS);
	arrs_free(b->ec, EC_NCOLS);
	arrs_free(b->om, OR_NCOLS);
	arrs_free(b->ov, OR_NCOLS);
	arrs_free(b->copies, COPY_NTABLES);
	arrs_free(b->tk_new, TK_NCOLS);
	arrs_free(b->ms_new, MS_NCOLS);
	arrs_free(b->vi_new, VI_NCOLS);
	free(b);
}

/* One value of a row, given once for both ways of sending it: an element of
 * its column's array literal (the unnest() statements) and a field of a
 * binary COPY row (batch_build's fresh). */
enum val_kind {
	V_TEXT,
	V_OPT,  /* text; '' is NULL (the statements' nullif) */
	V_JSON, /* jsonb as text; '' is '{}' (the statements' coalesce) */
	V_INT4,
	V_INT8,
	V_TIME,
	V_BYTES, /* bytea, a column sent in binary */
};
struct val {
	enum val_kind kind;
	const char *s;
	int64_t i;
	const uint8_t *p;
	size_t len;
};
#define TEXT(x) ((struct val){.kind = V_TEXT, .s = (x)})
#define OPT(x) ((struct val){.kind = V_OPT, .s = (x)})
#define JSON(x) ((struct val){.kind = V_JSON, .s = (x)})
#define INT4(x) ((struct val){.kind = V_INT4, .i = (x)})
#define INT8(x) ((struct val){.kind = V_INT8, .i = (x)})
#define TIME(x) ((struct val){.kind = V_TIME, .i = (x)})
#define BYTES(x, n) ((struct val){.kind = V_BYTES, .p = (x), .len = (n)})

/* A row's first n values, one into each of the n columns at cols. */
static void put_arrays(struct pgarr *cols, const struct val *row, int n)
{
	for (int i = 0; i < n; i++) {
		const struct val *v = &row[i];

		switch (v->kind) {
		case V_TEXT:
		case V_OPT:
		case V_JSON:
			arr_text(&cols[i], v->s);
			break;
		case V_INT4:
		case V_INT8:
			arr_int(&cols[i], v->i);
			break;
		case V_TIME:
			arr_time(&cols[i], v->i);
			break;
		case V_BYTES:
			arr_bytea_bin(&cols[i], v->p, v->len);
			break;
		}
	}
}

/* A row's first n values as one binary COPY row of c. */
static void put_copy(struct pgarr *c, const struct val *row, int n)
{
	copy_row(c, n);
	for (int i = 0; i < n; i++) {
		const struct val *v = &row[i];

		switch (v->kind) {
		case V_TEXT:
			copy_text(c, v->s);
			break;
		case V_OPT:
			copy_text(c, empty_to_null(v->s));
			break;
		case V_JSON:
			copy_jsonb(c, v->s[0] != '\0' ? v->s : "{}");
			break;
		case V_INT4:
			copy_int4(c, (int32_t)v->i);
			break;
		case V_INT8:
			copy_int8(c, v->i);
			break;
		case V_TIME:
			copy_time(c, v->i);
			break;
		case V_BYTES:
			copy_bytes(c, v->p, v->len);
			break;
		}
	}
}

/* A ticket's own row into tk, and as a COPY row too when copy. */
static void batch_add_ticket(struct batch *b, struct pgarr *tk, const struct sla_ticket *t, bool copy)
{
	const struct val row[TK_NCOLS] = {
		[TK_ID] = TEXT(t->ticket_id), [TK_TYPE] = TEXT(ticket_type_name(t->type)),
		[TK_CLASS] = TEXT(t->sla_class == SC_ANY ? NULL : sla_class_name(t->sla_class)),
		[TK_SEV] = TEXT(severity_name(t->severity)), [TK_PARTNER] = OPT(t->partner_id),
		[TK_ENGINEER] = OPT(t->engineer_id), [TK_CAL] = OPT(t->calendar_id),
		[TK_STATE] = TEXT(ticket_state_name(t->state)), [TK_CREATED] = TIME(t->created_at),
		[TK_CLOSED] = TIME(t->closed_at), [TK_UPDATED] = TIME(t->updated_at),
	};

	put_arrays(tk, row, TK_NCOLS);
	if (copy)
		put_copy(&b->copies[COPY_TICKETS], row, TK_NCOLS);
}

/* One dirty milestone of a ticket into ms, and as a COPY row too when copy
 * (with the policy version, which the statement takes as a parameter). */
static void batch_add_milestone(struct batch *b, struct pgarr *ms, const struct sla_ticket *t,
				const struct sla_milestone *m, const char *policy_version, bool copy)
{
	const char *part_id = ms_part_id(t, (int)(m - t->ms));
	const struct val row[MS_NCOLS + 1] = {
		[MS_ID] = TEXT(t->ticket_id), [MS_NAME] = TEXT(milestone_name(m->kind)),
		[MS_OCC] = INT4(m->occurrence), [MS_STARTED] = TIME(m->started_at), [MS_DUE] = TIME(m->due_at),
		[MS_STOPPED] = TIME(m->stopped_at), [MS_STATUS] = TEXT(ms_status_name(m->status)),
		[MS_PARTNER] = OPT(t->partner_id), [MS_TTYPE] = TEXT(ticket_type_name(t->type)),
		[MS_PART] = OPT(part_id), [MS_NCOLS] = TEXT(policy_version),
	};

	put_arrays(ms, row, MS_NCOLS);
	if (copy)
		put_copy(&b->copies[COPY_MILESTONES], row, MS_NCOLS + 1);
}

/* One dirty violation of a ticket into vi, and as a COPY row too when copy
 * (with the policy version). */
static void batch_add_violation(struct batch *b, struct pgarr *vi, const struct sla_ticket *t,
				const struct sla_violation *v, const char *policy_version, bool copy)
{
	char code[64];
	const struct val row[VI_NCOLS + 1] = {
		[VI_ID] = TEXT(t->ticket_id), [VI_CODE] = TEXT(violation_code(v, code, sizeof code)),
		[VI_MS] = TEXT(v->code == RC_MILESTONE_LATE ? milestone_name(v->milestone) : NULL),
		[VI_OCC] = INT4(v->occurrence), [VI_STATUS] = TEXT(v_status_name(v->status)),
		[VI_DUE] = TIME(v->due_at), [VI_OBSERVED] = TIME(v->observed_at),
		[VI_DETECTED] = TIME(v->detected_at), [VI_ENGINEER] = OPT(v->engineer_id),
		[VI_PARTNER] = OPT(t->partner_id), [VI_DETAILS] = JSON(v->details),
		[VI_NCOLS] = TEXT(policy_version),
	};

	put_arrays(vi, row, VI_NCOLS);
	if (copy)
		put_copy(&b->copies[COPY_VIOLATIONS], row, VI_NCOLS + 1);
}

/* A ticket's row and its dirty milestones and violations: into tk, ms and
 * vi, and as COPY rows too when copy. In the daemon's batch of new events
 * (copy_events), a milestone no batch has had yet is copied too: it was
 * opened by one of those events, so its row cannot exist (MS_WRITTEN). */
static void batch_add_ticket_rows(struct batch *b, const struct sla_ticket *t, const char *policy_version, bool copy)
{
	batch_add_ticket(b, copy ? b->tk_new : b->tk, t, copy);
	for (int i = 0; i < t->nms; i++) {
		const struct sla_milestone *m = &t->ms[i];
		bool copy_ms = copy || (b->copy_events && !(m->flags & MS_WRITTEN));

		if (m->dirty)
			batch_add_milestone(b, copy_ms ? b->ms_new : b->ms, t, m, policy_version, copy_ms);
	}
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].dirty)
			batch_add_violation(b, copy ? b->vi_new : b->vi, t, &t->vs[i], policy_version, copy);
}

/* An applied event's row, for its unnest() statement. */
static void event_row(struct val *row, const struct sla_applied *a)
{
	row[EV_TICKET] = TEXT(a->ticket_id);
	row[EV_ID] = TEXT(a->event_id);
	row[EV_TYPE] = TEXT(event_type_name(a->type));
	row[EV_AT] = TIME(a->occurred_at);
	row[EV_APPLIED] = TIME(a->applied_at);
	row[EV_TOPIC] = OPT(a->topic);
	row[EV_PART] = INT4(a->partition);
	row[EV_OFFSET] = INT8(a->offset);
	row[EV_PAYLOAD] = BYTES(a->payload, a->len);
}

/* An event in the order of sla.event_log's rows: by ticket, then month,
 * then as applied. */
struct event_key {
	const struct sla_applied *a;
	int month;
	size_t i;
};

static int event_key_cmp(const void *x, const void *y)
{
	const struct event_key *a = x, *b = y;
	int c = strcmp(a->a->ticket_id, b->a->ticket_id);

	if (c == 0)
		c = (a->month > b->month) - (a->month < b->month);
	if (c == 0)
		c = (a->i > b->i) - (a->i < b->i);
	return c;
}

/* One event's element of sla.event_log's array for column col (EV_ID to
 * EV_PAYLOAD: the arrays are in the order of the events' columns), and the
 * arrays' element types. */
static void copy_event_field(struct pgarr *c, const struct sla_applied *a, int col)
{
	switch (col) {
	case EV_ID: copy_text(c, a->event_id); break;
	case EV_TYPE: copy_text(c, event_type_name(a->type)); break;
	case EV_AT: copy_time(c, a->occurred_at); break;
	case EV_APPLIED: copy_time(c, a->applied_at); break;
	case EV_TOPIC: copy_text(c, empty_to_null(a->topic)); break;
	case EV_PART: copy_int4(c, a->partition); break;
	case EV_OFFSET: copy_int8(c, a->offset); break;
	default: copy_bytes(c, a->payload, a->len); break;
	}
}
static const uint32_t event_elem_oid[EV_NCOLS] = {
	[EV_ID] = 25, [EV_TYPE] = 25, [EV_AT] = 1184, [EV_APPLIED] = 1184, /* text, timestamptz */
	[EV_TOPIC] = 25, [EV_PART] = 23, [EV_OFFSET] = 20, [EV_PAYLOAD] = 17, /* int4, int8, bytea */
};

/* One sla.event_log row: the n events at k, of one ticket and month. */
static void copy_event_row(struct pgarr *c, const struct event_key *k, size_t n)
{
	sla_time first = k[0].a->occurred_at;

	for (size_t i = 1; i < n; i++)
		if (k[i].a->occurred_at < first)
			first = k[i].a->occurred_at;
	copy_row(c, EL_NCOLS);
	copy_text(c, k[0].a->ticket_id);
	copy_time(c, first);
	for (int col = EV_ID; col < EV_NCOLS; col++) {
		size_t at = copy_array_begin(c);

		for (size_t i = 0; i < n; i++)
			copy_event_field(c, k[i].a, col);
		copy_array_end(c, at, event_elem_oid[col], (uint32_t)n);
	}
}

/* The batch's events as COPY rows of sla.event_log: one per ticket and
 * UTC month (schema/0013), in the order of the ticket index, so that it
 * grows mostly at its right edge. The events are new: none is left out. */
static bool batch_copy_events(struct batch *b, const struct sla_out *out)
{
	struct event_key *keys = malloc((out->napplied + 1) * sizeof *keys);

	if (keys == NULL)
		return false;
	for (size_t i = 0; i < out->napplied; i++)
		keys[i] = (struct event_key){&out->applied[i], store_month_of(out->applied[i].occurred_at), i};
	qsort(keys, out->napplied, sizeof *keys, event_key_cmp);
	for (size_t i = 0, j; i < out->napplied; i = j) {
		for (j = i + 1; j < out->napplied && keys[j].month == keys[i].month &&
				strcmp(keys[j].a->ticket_id, keys[i].a->ticket_id) == 0;
		     j++)
			;
		copy_event_row(&b->copies[COPY_EVENTS], &keys[i], j - i);
	}
	free(keys);
	return true;
}

/* Whether a ticket's rows can go by COPY: written for the first time, and
 * no time that only the server's now() would fill in (those upsert). */
static bool ticket_copyable(const struct sla_ticket *t)
{
	if (t->updated_at == SLA_TIME_NONE)
		return false;
	for (int i = 0; i < t->nvs; i++)
		if (t->vs[i].dirty && t->vs[i].detected_at == SLA_TIME_NONE)
			return false;
	return true;
}

static bool batch_add_state(struct batch *b, const struct sla_ticket *t, char *err, size_t errlen)
{
	uint8_t *state = NULL;
	size_t len = 0;

	if (!ticket_encode(t, &state, &len)) {
		pg_set_err(err, errlen, "ticket %s: cannot encode its state", t->ticket_id);
		return false;
	}
	const struct val row[ST_NCOLS] = {
		[ST_ID] = TEXT(t->ticket_id), [ST_PART] = INT4(t->partition), [ST_STATE] = BYTES(state, len),
	};
	put_arrays(b->st, row, ST_NCOLS);
	if (b->copy)
		put_copy(&b->copies[COPY_STATES], row, ST_NCOLS);
	free(state);
	return true;
}

/* The milestones and violations of tickets gone from the policy (orphans). */
static void batch_add_orphans(struct batch *b, const struct sla_out *out)
{
	for (size_t i = 0; i < out->norphans; i++) {
		const struct sla_ticket *o = out->orphans[i];
		char code[64];

		for (int j = 0; j < o->nms; j++) {
			const struct val row[OR_NCOLS] = {TEXT(o->ticket_id), TEXT(milestone_name(o->ms[j].kind)),
							  INT4(o->ms[j].occurrence)};
			put_arrays(b->om, row, OR_NCOLS);
		}
		for (int j = 0; j < o->nvs; j++) {
			const struct val row[OR_NCOLS] = {TEXT(o->ticket_id),
							  TEXT(violation_code(&o->vs[j], code, sizeof code)),
							  INT4(o->vs[j].occurrence)};
			put_arrays(b->ov, row, OR_NCOLS);
		}
	}
}

/* The dirty tickets' rows and states, then the states saved alone. */
static bool batch_add_tickets(struct batch *b, const struct sla_out *out, const char *policy_version,
			      struct ticket_set *fresh, char *err, size_t errlen)
{
	for (size_t i = 0; i < out->ndirty; i++) {
		const struct sla_ticket *t = out->dirty[i];

		/* A placeholder (not created yet) has no rows, only its state:
		 * the early events it holds must survive a restart too. */
		if (t->created) {
			bool first = false;

			if (b->copy && !ticket_set_add(fresh, t->ticket_id, &first)) {
				pg_set_err(err, errlen, "out of memory");
				return false;
			}
			batch_add_ticket_rows(b, t, policy_version, first && ticket_copyable(t));
		}
		if (!out->defer_state && !batch_add_state(b, t, err, errlen))
			return false;
	}
	for (size_t i = 0; i < out->nstates; i++)
		if (!batch_add_state(b, out->states[i], err, errlen))
			return false;
	return true;
}

static void batch_add_history(struct batch *b, const struct sla_history *h)
{
	const struct val row[HI_NCOLS] = {
		[HI_ID] = TEXT(h->ticket_id), [HI_CODE] = TEXT(h->rule_code), [HI_OCC] = INT4(h->occurrence),
		[HI_STATUS] = TEXT(v_status_name(h->status)), [HI_CHANGED] = TIME(h->changed_at),
		[HI_CAUSE] = TEXT(h->cause_event_id),
	};

	put_arrays(b->hi, row, HI_NCOLS);
}

static void batch_add_dead_letters(struct batch *b, const struct sla_out *out)
{
	for (size_t i = 0; i < out->ndead; i++) {
		const struct sla_dead *d = &out->dead[i];
		const char *reason = verdict_reason(d->reason);
		char fallback[32];

		if (reason == NULL) {
			/* Not a dead-letter verdict: a core bug, but keep the message. */
			snprintf(fallback, sizeof fallback, "VERDICT_%d", (int)d->reason);
			reason = fallback;
		}
		const struct val row[DL_NCOLS] = {
			[DL_TOPIC] = TEXT(d->topic), [DL_PART] = INT4(d->partition),
			[DL_OFFSET] = INT8(d->offset), [DL_REASON] = TEXT(reason),
			[DL_DETAIL] = TEXT(d->detail),
			[DL_PAYLOAD] = BYTES(d->len ? d->payload : (const uint8_t *)"", d->len),
		};
		put_arrays(b->dl, row, DL_NCOLS);
	}
}

/* The escalations, and as COPY rows too (with the policy version). */
static void batch_add_escalations(struct batch *b, const struct sla_out *out, const char *policy_version)
{
	for (size_t i = 0; i < out->nesc; i++) {
		const struct sla_escalation *e = &out->esc[i];
		const struct val row[ES_NCOLS + 1] = {
			[ES_ID] = TEXT(e->ticket_id), [ES_MS] = TEXT(milestone_name(e->milestone)),
			[ES_OCC] = INT4(e->occurrence), [ES_LEVEL] = TEXT(esc_level_name(e->level)),
			[ES_AT] = TIME(e->at), [ES_PARTNER] = OPT(e->partner_id),
			[ES_ENGINEER] = OPT(e->engineer_id), [ES_PART] = INT4(e->partition),
			[ES_NCOLS] = TEXT(policy_version),
		};

		put_arrays(b->es, row, ES_NCOLS);
		if (b->copy)
			put_copy(&b->copies[COPY_ESCALATIONS], row, ES_NCOLS + 1);
	}
}

static bool batch_add_events(struct batch *b, const struct sla_out *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < out->napplied; i++) {
		struct val row[EV_NCOLS];

		event_row(row, &out->applied[i]);
		put_arrays(b->ev, row, EV_NCOLS);
	}
	if ((b->copy || b->copy_events) && !batch_copy_events(b, out)) {
		pg_set_err(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* An engineer's ONE_OFF clock-in (schema/0006). */
static void batch_add_engineer_clock(struct batch *b, const struct sla_engclock *e)
{
	const struct val row[EC_NCOLS] = {
		[EC_ENG] = TEXT(e->engineer_id), [EC_TICKET] = TEXT(e->ticket_id), [EC_EVENT] = TEXT(e->event_id),
		[EC_PARTNER] = TEXT(e->partner_id), [EC_KIND] = TEXT(e->kind), [EC_AT] = TIME(e->at),
		[EC_DAY] = INT8(e->local_day),
	};

	put_arrays(b->ec, row, EC_NCOLS);
}

bool batch_build(struct batch *b, const struct sla_out *out, const char *policy_version, struct ticket_set *fresh,
		 char *err, size_t errlen)
{
	b->copy = fresh != NULL;
	b->copy_events = out->applied_new;
	batch_add_orphans(b, out);
	if (!batch_add_tickets(b, out, policy_version, fresh, err, errlen))
		return false;
	for (size_t i = 0; i < out->nhist; i++)
		batch_add_history(b, &out->hist[i]);
	batch_add_dead_letters(b, out);
	batch_add_escalations(b, out, policy_version);
	if (!batch_add_events(b, out, err, errlen))
		return false;
	for (size_t i = 0; i < out->neng; i++)
		batch_add_engineer_clock(b, &out->eng[i]);
	return true;
}


/* The statements of a batch, in commit order (the offsets' compare-and-set
 * goes before them, the partition clocks and the cross-ticket evaluation
 * after: store_commit.c). */
enum stmt_for { FOR_ALL, FOR_DAEMON, FOR_REPLAY };
static const struct batch_table {
	const char *sql;
	size_t cols; /* offsetof(struct batch, its columns) */
	int ncols;
	bool with_version; /* policy_version as the last parameter */
	enum stmt_for who;
	const char *what;
	int copy; /* >= 0: copy_tables[copy] writes the same rows (batch_build's copy) */
} batch_tables[] = {
	{sql_tickets, offsetof(struct batch, tk), TK_NCOLS, false, FOR_ALL, "writing sla.tickets", -1},
	{sql_tickets, offsetof(struct batch, tk_new), TK_NCOLS, false, FOR_ALL, "writing sla.tickets", COPY_TICKETS},
	{sql_orphan_milestones, offsetof(struct batch, om), OR_NCOLS, false, FOR_ALL, "cancelling milestones", -1},
	{sql_orphan_violations, offsetof(struct batch, ov), OR_NCOLS, false, FOR_ALL, "retracting violations", -1},
	{sql_milestones, offsetof(struct batch, ms), MS_NCOLS, true, FOR_ALL, "writing sla.milestones", -1},
	{sql_milestones, offsetof(struct batch, ms_new), MS_NCOLS, true, FOR_ALL, "writing sla.milestones",
	 COPY_MILESTONES},
	{sql_violations, offsetof(struct batch, vi), VI_NCOLS, true, FOR_ALL, "writing sla.violations", -1},
	{sql_violations, offsetof(struct batch, vi_new), VI_NCOLS, true, FOR_ALL, "writing sla.violations",
	 COPY_VIOLATIONS},
	{sql_states, offsetof(struct batch, st), ST_NCOLS, false, FOR_ALL, "writing sla.ticket_state", COPY_STATES},
	{sql_history, offsetof(struct batch, hi), HI_NCOLS, false, FOR_ALL, "writing sla.violation_history", -1},
	{sql_dead_once, offsetof(struct batch, dl), DL_NCOLS, false, FOR_DAEMON, "writing sla.dead_letters", -1},
	{sql_dead, offsetof(struct batch, dl), DL_NCOLS, false, FOR_REPLAY, "writing sla.dead_letters", -1},
	{sql_escalations, offsetof(struct batch, es), ES_NCOLS, true, FOR_ALL, "writing sla.escalations", COPY_ESCALATIONS},
	{sql_events, offsetof(struct batch, ev), EV_NCOLS, false, FOR_ALL, "writing sla.event_log", COPY_EVENTS},
	{sql_eng_clocks, offsetof(struct batch, ec), EC_NCOLS, false, FOR_ALL, "writing sla.engineer_clocks", -1},
};

size_t batch_nstatements(void)
{
	return sizeof(batch_tables) / sizeof(batch_tables[0]);
}

enum batch_statement_result batch_statement(struct batch *b, size_t i, bool daemon, bool copying,
					    const char *policy_version, struct batch_statement *s, char *err, size_t errlen)
{
	const struct batch_table *t = &batch_tables[i];
	struct pgarr *cols = (struct pgarr *)(void *)((char *)b + t->cols);

	if ((t->who == FOR_DAEMON && !daemon) || (t->who == FOR_REPLAY && daemon) || cols[0].n == 0 ||
	    (copying && t->copy >= 0 && b->copies[t->copy].n > 0))
		return BATCH_SKIP;
	for (int c = 0; c < t->ncols; c++) {
		s->vals[c] = arr_finish(&cols[c]);
		if (s->vals[c] == NULL || cols[c].len > INT_MAX) {
			pg_set_err(err, errlen, "%s: out of memory", t->what);
			return BATCH_ERROR;
		}
		s->lengths[c] = cols[c].bin ? (int)cols[c].len : 0;
		s->formats[c] = cols[c].bin ? 1 : 0;
	}
	s->vals[t->ncols] = policy_version;
	s->lengths[t->ncols] = 0;
	s->formats[t->ncols] = 0;
	s->nparams = t->ncols + (t->with_version ? 1 : 0);
	s->sql = t->sql;
	s->what = t->what;
	return BATCH_SEND;
}

bool batch_copies(const struct batch *b)
{
	return b->copy || (b->copy_events && (b->copies[COPY_EVENTS].n > 0 || b->copies[COPY_MILESTONES].n > 0));
}

size_t batch_ncopies(void)
{
	return COPY_NTABLES;
}

enum batch_statement_result batch_copy(struct batch *b, size_t i, struct batch_copy *c, char *err, size_t errlen)
{
	struct pgarr *data = &b->copies[i];

	if (data->n == 0)
		return BATCH_SKIP;
	c->data = copy_finish(data);
	if (c->data == NULL || data->len > INT_MAX) {
		pg_set_err(err, errlen, "%s: out of memory", copy_tables[i].what);
		return BATCH_ERROR;
	}
	c->len = (int)data->len;
	c->sql = copy_tables[i].sql;
	c->what = copy_tables[i].what;
	return BATCH_SEND;
}
