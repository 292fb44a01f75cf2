/* test_codec.c - suite "codec": ticket_encode -> core_restore gives the same ticket, and the same future. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbuild.h"
#include "slad/core.h"
#include "suites.h"

static struct calendar_set cals;
static struct sla_core *live, *restored;
static struct sla_out out_live, out_restored;

static void setup(void)
{
	struct calendar cn;
	memset(&cals, 0, sizeof(cals));
	calendar_init_cn(&cn);
	ck_assert(calendar_set_add(&cals, &cn));
	live = core_new(policy_defaults(), &cals);
	restored = core_new(policy_defaults(), &cals);
	ck_assert_ptr_nonnull(live);
	ck_assert_ptr_nonnull(restored);
	core_out_init(&out_live);
	core_out_init(&out_restored);
}

static void teardown(void)
{
	core_out_free(&out_live);
	core_out_free(&out_restored);
	core_free(live);
	core_free(restored);
	calendar_set_free(&cals);
}

static void apply_live(struct evb *b, const char *now)
{
	size_t len;
	uint8_t *buf = evb_pack(b, &len);
	struct sla_origin o = {"fsm.workorders", 1, 10, buf, len, 0};
	enum sla_verdict v = core_apply_raw(live, &o, now ? T(now) : b->ev.occurred_at, &out_live);
	ck_assert_msg(v == SV_APPLIED || v == SV_HELD, "%s: verdict %d", b->ev.event_id, v);
	free(buf);
}

/* T1: open milestones, a PROVISIONAL and a CONFIRMED violation, an
 * authorization, seen ids; T9: a placeholder holding an early event. */
static void build_live(void)
{
	struct evb b;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	evb_site(&b, 30.2741, 120.1551);
	evb_required_arrival(&b, "2025-03-14T14:00:00+08:00");
	apply_live(&b, NULL);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	apply_live(&b, NULL);
	evb_auth(&b, "g1", "T1", "2025-03-14T10:20:00+08:00", "2025-03-14T11:00:00+08:00",
		 "2025-03-14T18:00:00+08:00");
	apply_live(&b, NULL);
	evb_part(&b, SLAD__V1__EVENT_TYPE__SPARE_PART_REQUESTED, "s1", "T1", "2025-03-14T10:25:00+08:00", "PART-A");
	apply_live(&b, NULL);
	evb_part(&b, SLAD__V1__EVENT_TYPE__SPARE_PART_REPLACED, "s2", "T1", "2025-03-14T10:26:00+08:00", "PART-B");
	apply_live(&b, NULL);
	/* DISPATCH (due 10:30) fires at 10:35: PROVISIONAL, confirmation at 10:45 */
	evb_clock(&b, "k1", "T1", "2025-03-14T10:35:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	apply_live(&b, NULL); /* CLOCK_NO_LOCATION, CONFIRMED */
	evb_clock(&b, "k2", "T1", "2025-03-14T10:36:00+08:00", "E7", SLAD__V1__CLOCK_KIND__START);
	evb_location(&b, 30.2750, 120.1560);
	apply_live(&b, NULL); /* START_OUTSIDE_AUTH, PROVISIONAL until 10:51 */
	evb_clock(&b, "k9", "T9", "2025-03-14T10:37:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	apply_live(&b, NULL); /* held until 10:52 */
	core_out_clear(&out_live);
}

static void restore_all(void)
{
	static const char *const ids[] = {"T1", "T9"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		const struct sla_ticket *t = core_find(live, ids[i]);
		ck_assert_ptr_nonnull(t);
		ck_assert(ticket_encode(t, &buf, &len));
		ck_assert_uint_gt(len, 1);
		ck_assert(core_restore(restored, buf, len));
		free(buf);
	}
	ck_assert_uint_eq(core_ticket_count(restored), core_ticket_count(live));
}

#define SAME(field) ck_assert_msg(a->field == b->field, "%s: " #field " differs", a->ticket_id)
#define SAME_MORE(field) \
	ck_assert_msg(ticket_more(a)->field == ticket_more(b)->field, "%s: " #field " differs", a->ticket_id)
#define SAME_STR(field) ck_assert_msg(strcmp(a->field, b->field) == 0, "%s: " #field " differs", a->ticket_id)

static void assert_same_ticket(const struct sla_ticket *a, const struct sla_ticket *b)
{
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	SAME_STR(ticket_id);
	SAME(created);
	SAME(type);
	SAME(sla_class);
	SAME(severity);
	SAME(state);
	SAME_STR(partner_id);
	SAME_STR(engineer_id);
	SAME_STR(calendar_id);
	SAME(site_classified);
	SAME(has_site);
	SAME(site_lat);
	SAME(site_lon);
	SAME(created_at);
	SAME(closed_at);
	SAME(updated_at);
	SAME(required_arrival_at);
	SAME(first_dispatched_at);
	SAME(first_assigned_at);
	SAME_MORE(first_arrive_at);
	SAME_MORE(reservation_at);
	SAME_MORE(reservation_appoint);
	SAME_MORE(visit_arrive_at);
	SAME(visit_paused);
	SAME(partition);
	if (a->created) /* a placeholder gets its calendar when it is created */
		ck_assert_str_eq(a->cal->id, b->cal->id);
	SAME(nms);
	for (int i = 0; i < a->nms; i++) {
		const struct sla_milestone *x = &a->ms[i], *y = &b->ms[i];
		ck_assert_int_eq(x->kind, y->kind);
		ck_assert_int_eq(x->occurrence, y->occurrence);
		ck_assert_int_eq(x->status, y->status);
		ck_assert_int_eq(x->started_at, y->started_at);
		ck_assert_int_eq(x->due_at, y->due_at);
		ck_assert_int_eq(x->stopped_at, y->stopped_at);
		ck_assert_str_eq(ms_part_id(a, i), ms_part_id(b, i));
		ck_assert_int_eq(x->flags & ~MS_WRITTEN, y->flags & ~MS_WRITTEN);
		ck_assert(y->flags & MS_WRITTEN); /* restored: its row may exist */
	}
	SAME(nvs);
	for (int i = 0; i < a->nvs; i++) {
		const struct sla_violation *x = &a->vs[i], *y = &b->vs[i];
		ck_assert_int_eq(x->code, y->code);
		ck_assert_int_eq(x->milestone, y->milestone);
		ck_assert_int_eq(x->occurrence, y->occurrence);
		ck_assert_int_eq(x->status, y->status);
		ck_assert_int_eq(x->due_at, y->due_at);
		ck_assert_int_eq(x->observed_at, y->observed_at);
		ck_assert_int_eq(x->detected_at, y->detected_at);
		ck_assert_int_eq(x->confirm_at, y->confirm_at);
		ck_assert_str_eq(x->engineer_id, y->engineer_id);
		ck_assert_str_eq(x->details, y->details);
	}
	SAME_MORE(nauths);
	for (int i = 0; i < ticket_more(a)->nauths; i++) {
		ck_assert_int_eq(ticket_more(a)->auths[i].granted_at, ticket_more(b)->auths[i].granted_at);
		ck_assert_int_eq(ticket_more(a)->auths[i].window_start, ticket_more(b)->auths[i].window_start);
		ck_assert_int_eq(ticket_more(a)->auths[i].window_end, ticket_more(b)->auths[i].window_end);
	}
	SAME(nseen);
	size_t pa = 0, pb = 0;
	for (const char *ia, *ib; (ia = ticket_seen_next(a, &pa)) != NULL;) {
		ib = ticket_seen_next(b, &pb);
		ck_assert_ptr_nonnull(ib);
		ck_assert_str_eq(ia, ib);
	}
	ck_assert_ptr_null(ticket_seen_next(b, &pb));
	SAME_MORE(nheld);
	for (int i = 0; i < ticket_more(a)->nheld; i++) {
		ck_assert_str_eq(ticket_more(a)->held[i].topic, ticket_more(b)->held[i].topic);
		ck_assert_int_eq(ticket_more(a)->held[i].partition, ticket_more(b)->held[i].partition);
		ck_assert_int_eq(ticket_more(a)->held[i].offset, ticket_more(b)->held[i].offset);
		ck_assert_int_eq(ticket_more(a)->held[i].occurred_at, ticket_more(b)->held[i].occurred_at);
		ck_assert_uint_eq(ticket_more(a)->held[i].len, ticket_more(b)->held[i].len);
		ck_assert_mem_eq(ticket_more(a)->held[i].payload, ticket_more(b)->held[i].payload,
				 ticket_more(a)->held[i].len);
	}
}

static void assert_same_cores(void)
{
	assert_same_ticket(core_find(live, "T1"), core_find(restored, "T1"));
	assert_same_ticket(core_find(live, "T9"), core_find(restored, "T9"));
}

static void assert_same_outputs(void)
{
	ck_assert_uint_eq(out_live.nhist, out_restored.nhist);
	for (size_t i = 0; i < out_live.nhist; i++) {
		const struct sla_history *x = &out_live.hist[i], *y = &out_restored.hist[i];
		ck_assert_str_eq(x->ticket_id, y->ticket_id);
		ck_assert_str_eq(x->rule_code, y->rule_code);
		ck_assert_int_eq(x->occurrence, y->occurrence);
		ck_assert_int_eq(x->status, y->status);
		ck_assert_int_eq(x->changed_at, y->changed_at);
		ck_assert_str_eq(x->cause_event_id, y->cause_event_id);
	}
	ck_assert_uint_eq(out_live.ndead, out_restored.ndead);
	for (size_t i = 0; i < out_live.ndead; i++) {
		ck_assert_int_eq(out_live.dead[i].reason, out_restored.dead[i].reason);
		ck_assert_int_eq(out_live.dead[i].offset, out_restored.dead[i].offset);
		ck_assert_uint_eq(out_live.dead[i].len, out_restored.dead[i].len);
	}
	ck_assert_uint_eq(out_live.norphans, out_restored.norphans);
	core_out_clear(&out_live);
	core_out_clear(&out_restored);
}

static void advance_both(const char *now)
{
	core_advance(live, T(now), &out_live);
	core_advance(restored, T(now), &out_restored);
	assert_same_outputs();
	assert_same_cores();
}

START_TEST(round_trip_same_state)
{
	build_live();
	const struct sla_ticket *t = core_find(live, "T1");
	/* the state is worth checking: something of every kind */
	ck_assert_int_ge(t->nms, 3);
	ck_assert_int_ge(t->nvs, 3);
	ck_assert_int_eq(ticket_more(core_find(live, "T9"))->nheld, 1);
	restore_all();
	assert_same_cores();
	/* restored rows are not dirty: they came from the store */
	const struct sla_ticket *r = core_find(restored, "T1");
	for (int i = 0; i < r->nms; i++)
		ck_assert(!r->ms[i].dirty);
	for (int i = 0; i < r->nvs; i++)
		ck_assert(!r->vs[i].dirty);
	ck_assert_int_eq(core_next_due(restored), core_next_due(live));
}
END_TEST

/* Encoding is canonical: encode(restore(encode(t))) == encode(t). */
START_TEST(round_trip_same_bytes)
{
	build_live();
	restore_all();
	static const char *const ids[] = {"T1", "T9"};
	for (size_t i = 0; i < 2; i++) {
		uint8_t *a = NULL, *b = NULL;
		size_t na = 0, nb = 0;
		ck_assert(ticket_encode(core_find(live, ids[i]), &a, &na));
		ck_assert(ticket_encode(core_find(restored, ids[i]), &b, &nb));
		ck_assert_uint_eq(na, nb);
		ck_assert_mem_eq(a, b, na);
		free(a);
		free(b);
	}
}
END_TEST

/* After a restore the timers fire as they would have: confirmations,
 * deadlines, held-event expiry, and events still apply the same way. */
START_TEST(timers_fire_the_same_after_restore)
{
	struct evb b;
	build_live();
	restore_all();
	advance_both("2025-03-14T10:44:00+08:00");
	advance_both("2025-03-14T10:46:00+08:00"); /* DISPATCH_LATE confirmed */
	advance_both("2025-03-14T10:52:00+08:00"); /* START_OUTSIDE_AUTH confirmed, T9's event dead */
	const struct sla_ticket *t = core_find(restored, "T1");
	for (int i = 0; i < t->nvs; i++)
		ck_assert_int_ne(t->vs[i].status, VS_PROVISIONAL);

	/* the same late event on both: SPARE_CONFIRM met, ARRIVAL reserved */
	evb_part(&b, SLAD__V1__EVENT_TYPE__SPARE_PART_CONFIRMED, "s1c", "T1", "2025-03-14T11:00:00+08:00", "PART-A");
	ck_assert_int_eq(core_apply(live, &b.ev, NULL, b.ev.occurred_at, &out_live), SV_APPLIED);
	ck_assert_int_eq(core_apply(restored, &b.ev, NULL, b.ev.occurred_at, &out_restored), SV_APPLIED);
	assert_same_outputs();
	assert_same_cores();
	/* a duplicate is recognised by the restored core too */
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	ck_assert_int_eq(core_apply(restored, &b.ev, NULL, T("2025-03-14T11:01:00+08:00"), &out_restored),
			 SV_DUPLICATE);
	core_out_clear(&out_restored);

	evb_assigned(&b, "a1", "T1", "2025-03-14T11:10:00+08:00", "E7");
	ck_assert_int_eq(core_apply(live, &b.ev, NULL, b.ev.occurred_at, &out_live), SV_APPLIED);
	ck_assert_int_eq(core_apply(restored, &b.ev, NULL, b.ev.occurred_at, &out_restored), SV_APPLIED);
	assert_same_outputs();
	assert_same_cores();
	/* ARRIVAL (due 14:00) and its confirmation */
	advance_both("2025-03-14T14:00:00+08:00");
	advance_both("2025-03-14T14:15:00+08:00");
	advance_both("2025-03-30T00:00:00+08:00");
	ck_assert_int_eq(core_next_due(restored), core_next_due(live));
}
END_TEST

/* A restore of a timer-free moment: deadlines still open are re-armed. */
START_TEST(open_deadline_rearmed)
{
	struct evb b;
	evb_created(&b, "c1", "T1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__HOURLY);
	apply_live(&b, NULL);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "d1", "T1", "2025-03-14T10:00:00+08:00");
	apply_live(&b, NULL);
	uint8_t *buf = NULL;
	size_t len = 0;
	ck_assert(ticket_encode(core_find(live, "T1"), &buf, &len));
	ck_assert(core_restore(restored, buf, len));
	free(buf);
	/* the WARNING escalation (80 % of 10 min) comes before the deadline */
	ck_assert_int_eq(core_next_due(restored), T("2025-03-14T10:08:00+08:00"));
	core_advance(restored, T("2025-03-14T10:11:00+08:00"), &out_restored);
	ck_assert_uint_eq(out_restored.nhist, 1);
	ck_assert_str_eq(out_restored.hist[0].rule_code, "DISPATCH_LATE");
	ck_assert_int_eq(out_restored.hist[0].status, VS_PROVISIONAL);
}
END_TEST

/* The event log survives a restore: a late work-order event re-derives the
 * ticket the same way on the restored core as on the live one. */
START_TEST(late_work_order_same_after_restore)
{
	struct evb b;
	build_live();
	restore_all();
	const struct sla_ticket *t = core_find(live, "T1"), *r = core_find(restored, "T1");
	ck_assert(t->log_complete && r->log_complete);
	ck_assert_int_eq(ticket_more(t)->nlog, 7);
	ck_assert_int_eq(ticket_more(r)->nlog, 7);
	ck_assert_int_eq(r->last_at, T("2025-03-14T10:36:00+08:00"));
	/* assigned at 10:10, before the DISPATCH deadline (10:30) that fired at 10:35 */
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:10:00+08:00", "E7");
	ck_assert_int_eq(core_apply(live, &b.ev, NULL, T("2025-03-14T10:40:00+08:00"), &out_live), SV_APPLIED);
	ck_assert_int_eq(core_apply(restored, &b.ev, NULL, T("2025-03-14T10:40:00+08:00"), &out_restored),
			 SV_APPLIED);
	t = core_find(live, "T1");
	for (int i = 0; i < t->nms; i++)
		if (t->ms[i].kind == MS_DISPATCH)
			ck_assert_int_eq(t->ms[i].status, MSS_MET);
	for (int i = 0; i < t->nvs; i++)
		ck_assert_msg(!(t->vs[i].code == RC_MILESTONE_LATE && t->vs[i].milestone == MS_DISPATCH),
			      "DISPATCH_LATE is still on the re-derived ticket");
	/* the DISPATCH_LATE row is handed to the store to be retracted */
	ck_assert_uint_eq(out_live.norphans, 1);
	ck_assert_int_eq(out_live.orphans[0]->nvs, 1);
	ck_assert_int_eq(out_live.orphans[0]->vs[0].status, VS_RETRACTED);
	ck_assert_int_eq(ticket_more(t)->nlog, 8);
	assert_same_outputs();
	assert_same_cores();
}
END_TEST

/* The archive as a history source (core_set_history, what the daemon does):
 * the restored core keeps no event log, and re-derives the ticket from the
 * archive's events the same way, taking only those the ticket applied, once
 * each (the archive may also hold another ticket's and repeated rows). */
static uint8_t *archive;
static size_t archive_len;
static int history_calls;

static bool from_archive(void *arg, const char *ticket_id, uint8_t **log, size_t *len)
{
	(void)arg;
	ck_assert_str_eq(ticket_id, "T1");
	history_calls++;
	*log = malloc(archive_len);
	ck_assert_ptr_nonnull(*log);
	memcpy(*log, archive, archive_len);
	*len = archive_len;
	return true;
}

static void archive_add(const uint8_t *p, size_t n)
{
	archive = realloc(archive, archive_len + 4 + n);
	ck_assert_ptr_nonnull(archive);
	for (int k = 0; k < 4; k++)
		archive[archive_len++] = (uint8_t)((uint32_t)n >> (8 * k));
	memcpy(archive + archive_len, p, n);
	archive_len += n;
}

START_TEST(late_work_order_from_the_archive)
{
	struct evb b;
	build_live();
	const struct sla_ticket *t = core_find(live, "T1");
	archive = NULL;
	archive_len = 0;
	history_calls = 0;
	size_t pos = 0, first_len = 0;
	const uint8_t *first = NULL;
	const struct sla_ticket_more *tm = ticket_more(t);
	while (pos + 4 <= tm->loglen) { /* [u32 little-endian length][protobuf]... */
		size_t len = (size_t)tm->log[pos] | (size_t)tm->log[pos + 1] << 8 | (size_t)tm->log[pos + 2] << 16 |
			     (size_t)tm->log[pos + 3] << 24;
		ck_assert_uint_le(pos + 4 + len, tm->loglen);
		archive_add(tm->log + pos + 4, len);
		if (!first) {
			first = tm->log + pos + 4;
			first_len = len;
		}
		pos += 4 + len;
	}
	archive_add(first, first_len); /* a repeated row */
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "x1", "T1", "2025-03-14T09:30:00+08:00");
	size_t xlen;
	uint8_t *x = evb_pack(&b, &xlen);
	archive_add(x, xlen); /* an event T1 never applied */
	free(x);

	core_set_history(restored, from_archive, NULL);
	restore_all();
	const struct sla_ticket *r = core_find(restored, "T1");
	ck_assert(r->log_complete);
	ck_assert_int_eq(ticket_more(r)->nlog, 0);
	ck_assert_ptr_null(ticket_more(r)->log);
	uint8_t *buf = NULL;
	size_t blen = 0, tlen = 0;
	uint8_t *tbuf = NULL;
	/* version 5: fixed-width counts and lengths, so only the log's bytes differ */
	ck_assert(ticket_encode_version(r, 5, &buf, &blen));
	ck_assert(ticket_encode_version(t, 5, &tbuf, &tlen));
	ck_assert_uint_eq(blen + ticket_more(t)->loglen, tlen); /* the state without its log */
	free(buf);
	free(tbuf);

	evb_assigned(&b, "a1", "T1", "2025-03-14T10:10:00+08:00", "E7");
	ck_assert_int_eq(core_apply(live, &b.ev, NULL, T("2025-03-14T10:40:00+08:00"), &out_live), SV_APPLIED);
	ck_assert_int_eq(core_apply(restored, &b.ev, NULL, T("2025-03-14T10:40:00+08:00"), &out_restored),
			 SV_APPLIED);
	ck_assert_int_eq(history_calls, 1);
	r = core_find(restored, "T1");
	t = core_find(live, "T1");
	ck_assert_int_eq(r->nms, t->nms);
	for (int i = 0; i < r->nms; i++) {
		ck_assert_int_eq(r->ms[i].kind, t->ms[i].kind);
		ck_assert_int_eq(r->ms[i].status, t->ms[i].status);
		ck_assert_int_eq(r->ms[i].due_at, t->ms[i].due_at);
	}
	ck_assert_int_eq(r->nvs, t->nvs);
	for (int i = 0; i < r->nvs; i++) {
		ck_assert_int_eq(r->vs[i].code, t->vs[i].code);
		ck_assert_int_eq(r->vs[i].status, t->vs[i].status);
	}
	size_t at = 0;
	for (const char *id; (id = ticket_seen_next(r, &at)) != NULL;)
		ck_assert_str_ne(id, "x1");
	ck_assert_uint_eq(out_restored.norphans, 1);
	ck_assert_int_eq(out_restored.orphans[0]->vs[0].status, VS_RETRACTED);
	ck_assert_int_eq(ticket_more(r)->nlog, 0);
	free(archive);
}
END_TEST

/* A state saved by the previous version (4, no event log) still restores;
 * its ticket is not re-derived (its earlier events are not there). */
START_TEST(restores_version_4)
{
	struct evb b;
	uint8_t *buf = NULL;
	size_t len = 0;
	build_live();
	const struct sla_ticket *t = core_find(live, "T1");
	ck_assert(ticket_encode_version(t, 5, &buf, &len));
	size_t tail = 4 * 8 + ticket_more(t)->loglen; /* log_complete, last_at, nlog, the log's length, the log */
	ck_assert_uint_gt(len, tail);
	buf[0] = 4;
	ck_assert(core_restore(restored, buf, len - tail));
	free(buf);
	const struct sla_ticket *r = core_find(restored, "T1");
	ck_assert(!r->log_complete);
	ck_assert_int_eq(ticket_more(r)->nlog, 0);
	ck_assert_int_eq(r->nms, t->nms);
	evb_assigned(&b, "a1", "T1", "2025-03-14T10:10:00+08:00", "E7");
	ck_assert_int_eq(core_apply(restored, &b.ev, NULL, T("2025-03-14T10:40:00+08:00"), &out_restored),
			 SV_APPLIED);
	ck_assert_uint_eq(out_restored.norphans, 0);
}
END_TEST

/* Version 5 (every integer in 8 bytes) still restores, to the same ticket
 * that version 6 (varints) gives; version 6 is the smaller by far. */
START_TEST(restores_version_5)
{
	uint8_t *v5 = NULL, *v6 = NULL, *again = NULL;
	size_t n5 = 0, n6 = 0, nagain = 0;
	build_live();
	const struct sla_ticket *t = core_find(live, "T1");
	ck_assert(ticket_encode_version(t, 5, &v5, &n5));
	ck_assert(ticket_encode_version(t, 6, &v6, &n6));
	ck_assert_int_eq(v5[0], 5);
	ck_assert_int_eq(v6[0], 6);
	ck_assert_msg(n6 * 2 < n5, "version 6 is %zu bytes, version 5 %zu", n6, n5);
	ck_assert(core_restore(restored, v5, n5));
	ck_assert(ticket_encode_version(core_find(restored, "T1"), 6, &again, &nagain));
	ck_assert_uint_eq(nagain, n6);
	ck_assert(memcmp(again, v6, n6) == 0);
	uint8_t *none = NULL;
	size_t nnone = 0;
	ck_assert(!ticket_encode_version(t, 4, &none, &nnone)); /* only 5 to 7 are written */
	ck_assert_ptr_null(none);
	free(v5);
	free(v6);
	free(again);
}
END_TEST

/* The seen ids of a ticket, in order, one per line. */
static void seen_lines(const struct sla_ticket *t, char *buf, size_t cap)
{
	size_t pos = 0, at = 0;
	buf[0] = '\0';
	for (const char *id; (id = ticket_seen_next(t, &pos)) != NULL;)
		at += (size_t)snprintf(buf + at, cap - at, "%s\n", id);
}

/* Version 7 writes a seen id after the prefix it shares with the ticket id:
 * ids made of the ticket's id and a number cost a few bytes each; an id
 * equal to the ticket's, one sharing nothing and one sharing part of it come
 * back as they were, as from version 6. */
START_TEST(seen_ids_after_the_ticket_prefix)
{
	const char *tid = "HZ20250106-01423";
	char ids[][SLA_ID_MAX + 1] = {"HZ20250106-01423-01", "HZ20250106-01423", "k9", "HZ20250106-02"};
	struct evb b;
	evb_created(&b, ids[0], tid, "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	apply_live(&b, NULL);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, ids[1], tid, "2025-03-14T10:00:00+08:00");
	apply_live(&b, NULL);
	evb_clock(&b, ids[2], tid, "2025-03-14T10:35:00+08:00", "E7", SLAD__V1__CLOCK_KIND__ARRIVE);
	apply_live(&b, NULL);
	evb_clock(&b, ids[3], tid, "2025-03-14T10:40:00+08:00", "E7", SLAD__V1__CLOCK_KIND__LEAVE);
	apply_live(&b, NULL);
	const struct sla_ticket *t = core_find(live, tid);
	ck_assert_ptr_nonnull(t);

	uint8_t *v6 = NULL, *v7 = NULL, *again = NULL;
	size_t n6 = 0, n7 = 0, nagain = 0;
	ck_assert(ticket_encode_version(t, 6, &v6, &n6));
	ck_assert(ticket_encode(t, &v7, &n7));
	ck_assert_int_eq(v7[0], 7);
	/* 16 + 16 + 12 bytes of shared prefixes, one byte each to say so */
	ck_assert_uint_eq(n6 - n7, 16 + 16 + 12 - 4);

	char want[256], got[256];
	seen_lines(t, want, sizeof want);
	ck_assert_str_eq(want, "HZ20250106-01423-01\nHZ20250106-01423\nk9\nHZ20250106-02\n");
	ck_assert(core_restore(restored, v6, n6));
	seen_lines(core_find(restored, tid), got, sizeof got);
	ck_assert_str_eq(got, want);
	ck_assert(ticket_encode(core_find(restored, tid), &again, &nagain));
	ck_assert_uint_eq(nagain, n7);
	ck_assert(memcmp(again, v7, n7) == 0);

	/* A shared length longer than the ticket id does not restore. */
	struct sla_core *c = core_new(policy_defaults(), &cals);
	ck_assert_ptr_nonnull(c);
	ck_assert(core_restore(c, v7, n7));
	core_free(c);
	/* varints are zigzag + 1 (bytes.c): 16 is 33, 3 is 7, 17 is 35 */
	size_t at = 0;
	for (size_t i = 1; i + 5 <= n7 && at == 0; i++)
		if (memcmp(v7 + i, "\x21\x07-01", 5) == 0)
			at = i;
	ck_assert_uint_gt(at, 0);
	v7[at] = 35;
	c = core_new(policy_defaults(), &cals);
	ck_assert(!core_restore(c, v7, n7));
	core_free(c);
	free(v6);
	free(v7);
	free(again);
}
END_TEST

START_TEST(restore_rejects_damaged_bytes)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	build_live();
	ck_assert(ticket_encode(core_find(live, "T1"), &buf, &len));
	/* every truncation fails cleanly and adds nothing */
	for (size_t n = 0; n < len; n++)
		ck_assert_msg(!core_restore(restored, buf, n), "restore of the first %zu of %zu bytes succeeded", n,
			      len);
	ck_assert_uint_eq(core_ticket_count(restored), 0);
	/* trailing bytes */
	uint8_t *longer = malloc(len + 1);
	ck_assert_ptr_nonnull(longer);
	memcpy(longer, buf, len);
	longer[len] = 0;
	ck_assert(!core_restore(restored, longer, len + 1));
	free(longer);
	/* an unknown version */
	buf[0] ^= 0x80;
	ck_assert(!core_restore(restored, buf, len));
	buf[0] ^= 0x80;
	ck_assert_uint_eq(core_ticket_count(restored), 0);
	ck_assert(core_restore(restored, buf, len));
	ck_assert_uint_eq(core_ticket_count(restored), 1);
	/* already live here: kept as is */
	ck_assert(core_restore(restored, buf, len));
	ck_assert_uint_eq(core_ticket_count(restored), 1);
	free(buf);
}
END_TEST

/* A shallow copy of a ticket, its id included (ticket_encode only reads it),
 * with a copy of its more of its own (in the same block) to corrupt; free() it. */
static struct sla_ticket *shallow_copy(const struct sla_ticket *t)
{
	size_t n = offsetof(struct sla_ticket, ticket_id) + strlen(t->ticket_id) + 1; /* as ticket_new allocates */
	n = n > sizeof(*t) ? n : sizeof(*t);
	size_t at = (n + 15) / 16 * 16;
	struct sla_ticket *c = malloc(at + sizeof(struct sla_ticket_more));
	ck_assert_ptr_nonnull(c);
	memcpy(c, t, n);
	c->more = (struct sla_ticket_more *)(void *)((char *)c + at);
	*c->more = *ticket_more(t);
	return c;
}

/* A saved state whose values no event could produce (a corrupt row) is
 * refused, not restored: its arithmetic would overflow (issue 11). */
static void corrupt_att_next_day(struct sla_ticket *t) { t->more->att_next_day = INT64_MAX; }
static void corrupt_service_end(struct sla_ticket *t) { t->more->service_end_at = INT64_MAX; }
static void corrupt_created_at(struct sla_ticket *t) { t->created_at = INT64_MIN + 1; }
static void corrupt_last_assigned(struct sla_ticket *t) { t->last_assigned_at = INT64_MAX - 5; }
static void corrupt_state(struct sla_ticket *t) { t->state = (enum sla_ticket_state)99; }
static void corrupt_shift(struct sla_ticket *t) { t->more->shift_start_min = -1; }
static void corrupt_site(struct sla_ticket *t) { t->site_lat = NAN; }
static void corrupt_partner(struct sla_ticket *t) { t->partner_id = "P\xff"; /* shallow copy: never released */ }

/* A saved open milestone with a deadline but no start (found by fuzz_state,
 * fuzz/regressions/state/milestone-without-start): it restores, its deadline
 * is armed, and no escalation instant is reckoned from the missing start. */
START_TEST(milestone_without_start_restores)
{
	build_live();
	const struct sla_ticket *t = core_find(live, "T1");
	struct sla_ticket *copy = shallow_copy(t);
	struct sla_milestone ms[16];
	ck_assert_int_le(t->nms, 16);
	memcpy(ms, t->ms, (size_t)t->nms * sizeof(*ms));
	int open = -1;
	for (int i = 0; i < t->nms; i++)
		if (ms[i].status == MSS_PENDING && ms[i].due_at != SLA_TIME_NONE) {
			ms[i].started_at = SLA_TIME_NONE;
			ms[i].flags &= (uint8_t)~MS_ESCALATIONS;
			open = i;
		}
	ck_assert_int_ge(open, 0);
	copy->ms = ms;
	uint8_t *buf = NULL;
	size_t len = 0;
	ck_assert(ticket_encode(copy, &buf, &len));
	free(copy);
	ck_assert(core_restore(restored, buf, len));
	free(buf);
	core_advance(restored, INT64_MAX, &out_restored);
	/* only the escalation at the deadline itself: no WARNING or TIER3 */
	for (size_t i = 0; i < out_restored.nesc; i++)
		if (out_restored.esc[i].milestone == ms[open].kind)
			ck_assert_int_eq(out_restored.esc[i].at, ms[open].due_at);
}
END_TEST

START_TEST(restore_refuses_values_out_of_range)
{
	static void (*const corrupt[])(struct sla_ticket *) = {
		corrupt_att_next_day, corrupt_service_end, corrupt_created_at, corrupt_last_assigned,
		corrupt_state,	      corrupt_shift,	   corrupt_site,       corrupt_partner};
	build_live();
	const struct sla_ticket *t = core_find(live, "T1");
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		struct sla_ticket *copy = shallow_copy(t);
		uint8_t *buf = NULL;
		size_t len = 0;
		corrupt[i](copy);
		ck_assert(ticket_encode(copy, &buf, &len));
		free(copy);
		ck_assert_msg(!core_restore(restored, buf, len), "corruption %zu was restored", i);
		ck_assert_ptr_null(core_find(restored, "T1"));
		free(buf);
	}
	/* the intact state still restores, and the clock can run to the end of time */
	uint8_t *buf = NULL;
	size_t len = 0;
	ck_assert(ticket_encode(t, &buf, &len));
	ck_assert(core_restore(restored, buf, len));
	free(buf);
	core_advance(restored, INT64_MAX, &out_restored);
}
END_TEST

/* A created, dispatched and assigned ticket of a core with a history source
 * has no struct sla_ticket_more (B3); its state is the same bytes as with a default one, restores without
 * one, and gets one with its first reservation. */
START_TEST(plain_ticket_without_more)
{
	struct evb b;
	archive = NULL;
	archive_len = 0;
	core_set_history(live, from_archive, NULL); /* as the daemon's cores: no event log in memory */
	evb_created(&b, "p1", "P1", "2025-03-14T09:00:00+08:00", SLAD__V1__TICKET_TYPE__MAINTENANCE,
		    SLAD__V1__SLA_CLASS__NON_HOURLY);
	evb_required_arrival(&b, "2025-03-15T14:00:00+08:00");
	apply_live(&b, NULL);
	evb_init(&b, SLAD__V1__EVENT_TYPE__TICKET_DISPATCHED, "p2", "P1", "2025-03-14T09:10:00+08:00");
	apply_live(&b, NULL);
	evb_assigned(&b, "p3", "P1", "2025-03-14T09:20:00+08:00", "E1");
	apply_live(&b, NULL);
	const struct sla_ticket *t = core_find(live, "P1");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(t->more);
	ck_assert_int_ge(t->nms, 3);

	uint8_t *buf = NULL, *with = NULL, *again = NULL;
	size_t len = 0, wlen = 0, alen = 0;
	ck_assert(ticket_encode(t, &buf, &len));
	struct sla_ticket *copy = shallow_copy(t); /* with a more of sla_ticket_more_none's values */
	ck_assert_ptr_nonnull(copy->more);
	ck_assert(ticket_encode(copy, &with, &wlen));
	free(copy);
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(buf, with, len);
	ck_assert(core_restore(restored, buf, len));
	const struct sla_ticket *r = core_find(restored, "P1");
	ck_assert_ptr_null(r->more);
	assert_same_ticket(t, r);
	ck_assert(ticket_encode(r, &again, &alen));
	ck_assert_uint_eq(len, alen);
	ck_assert_mem_eq(buf, again, len);
	free(buf);
	free(with);
	free(again);

	evb_reservation(&b, "p4", "P1", "2025-03-14T09:30:00+08:00", "2025-03-15T10:00:00+08:00", "ev-1");
	apply_live(&b, NULL);
	ck_assert_ptr_nonnull(t->more);
	ck_assert_int_eq(t->more->reservation_appoint, T("2025-03-15T10:00:00+08:00"));
	ck_assert(ticket_encode(t, &buf, &len));
	struct sla_core *other = core_new(policy_defaults(), &cals);
	ck_assert_ptr_nonnull(other);
	ck_assert(core_restore(other, buf, len));
	free(buf);
	r = core_find(other, "P1");
	ck_assert_ptr_nonnull(r->more);
	assert_same_ticket(t, r);
	core_free(other);
}
END_TEST

Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("codec");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip_same_state);
	tcase_add_test(tc, round_trip_same_bytes);
	tcase_add_test(tc, timers_fire_the_same_after_restore);
	tcase_add_test(tc, open_deadline_rearmed);
	tcase_add_test(tc, restore_rejects_damaged_bytes);
	tcase_add_test(tc, late_work_order_same_after_restore);
	tcase_add_test(tc, late_work_order_from_the_archive);
	tcase_add_test(tc, milestone_without_start_restores);
	tcase_add_test(tc, restores_version_4);
	tcase_add_test(tc, restores_version_5);
	tcase_add_test(tc, seen_ids_after_the_ticket_prefix);
	tcase_add_test(tc, restore_refuses_values_out_of_range);
	tcase_add_test(tc, plain_ticket_without_more);
	suite_add_tcase(s, tc);
	return s;
}
