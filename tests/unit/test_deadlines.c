/* test_deadlines.c - the core's one deadline heap (deadlines.c), its one id
 * table (idtable.c), shared by tickets and partners, and its interned ids
 * (strpool.c). */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/core/deadlines.h"
#include "../../daemon/core/idtable.h"
#include "../../daemon/core/strpool.h"
#include "suites.h"

/* ---- deadlines ---- */

/* Live entries for the test: idx a multiple of 10, or any when all_live. */
static bool all_live;
static int live_calls;

static bool tenth_live(const void *ctx, const struct deadline *e)
{
	(void)ctx;
	live_calls++;
	return all_live || e->idx % 10 == 0;
}

START_TEST(pops_in_time_order_ties_any)
{
	struct deadlines h;
	deadlines_init(&h, tenth_live, NULL);
	all_live = true;
	/* A fixed pseudo-random order of 5,000 instants with repeats. */
	unsigned x = 12345;
	for (int i = 0; i < 5000; i++) {
		x = x * 1103515245u + 12345u;
		ck_assert(deadlines_push(&h, &(struct deadline){.at = (sla_time)(x % 1000), .idx = i}));
	}
	ck_assert_int_eq(deadlines_next(&h), 0);
	sla_time last = -1;
	size_t n = 0;
	while (deadlines_due(&h, 999)) {
		struct deadline e = deadlines_pop(&h);
		ck_assert_int_ge(e.at, last);
		last = e.at;
		n++;
	}
	/* Every push is there: compaction found every entry live. */
	ck_assert_uint_eq(n, 5000);
	ck_assert_int_eq(deadlines_next(&h), SLA_TIME_NONE);
	ck_assert(!deadlines_due(&h, 1000000));
	deadlines_free(&h);
}
END_TEST

START_TEST(due_only_up_to_now)
{
	struct deadlines h;
	deadlines_init(&h, tenth_live, NULL);
	all_live = true;
	ck_assert(deadlines_push(&h, &(struct deadline){.at = 30}));
	ck_assert(deadlines_push(&h, &(struct deadline){.at = 10}));
	ck_assert(deadlines_push(&h, &(struct deadline){.at = 20}));
	ck_assert(deadlines_due(&h, 10));
	ck_assert_int_eq(deadlines_pop(&h).at, 10);
	ck_assert(!deadlines_due(&h, 19));
	ck_assert_int_eq(deadlines_next(&h), 20);
	deadlines_free(&h);
}
END_TEST

START_TEST(stale_entries_dropped_when_doubled)
{
	struct deadlines h;
	deadlines_init(&h, tenth_live, NULL);
	all_live = false;
	live_calls = 0;
	/* Nine in ten are stale: the heap never holds much more than twice the
	 * live ones (30,000), where without compaction it would hold 300,000. */
	size_t peak = 0;
	for (int i = 0; i < 300000; i++) {
		ck_assert(deadlines_push(&h, &(struct deadline){.at = 300000 - i, .idx = i}));
		if (h.n > peak)
			peak = h.n;
	}
	ck_assert_int_gt(live_calls, 0);
	ck_assert_uint_le(peak, 2 * 30000 + 4096 + 1);
	/* The live ones all come out, in order. */
	size_t live = 0;
	sla_time last = -1;
	while (deadlines_due(&h, 400000)) {
		struct deadline e = deadlines_pop(&h);
		ck_assert_int_ge(e.at, last);
		last = e.at;
		live += e.idx % 10 == 0;
	}
	ck_assert_uint_eq(live, 30000);
	deadlines_free(&h);
}
END_TEST

START_TEST(entries_name_their_subject)
{
	struct deadlines h;
	int a, b; /* any two objects: the heap never looks inside */
	deadlines_init(&h, tenth_live, NULL);
	ck_assert(deadlines_push(&h, &(struct deadline){.at = 2, .subject.ticket = (struct sla_ticket *)&a, .kind = 3}));
	ck_assert(deadlines_push(&h, &(struct deadline){.at = 1, .subject.partner = (struct partner *)&b, .kind = 7}));
	struct deadline e = deadlines_pop(&h);
	ck_assert_ptr_eq(e.subject.partner, (struct partner *)&b);
	ck_assert_int_eq(e.kind, 7);
	e = deadlines_pop(&h);
	ck_assert_ptr_eq(e.subject.ticket, (struct sla_ticket *)&a);
	ck_assert_int_eq(e.kind, 3);
	deadlines_free(&h);
}
END_TEST

/* ---- idtable ---- */

struct item {
	int n;
	char id[24];
};

START_TEST(finds_every_item_after_growing)
{
	struct idtable t;
	enum { N = 20000 };
	struct item *items = calloc(N, sizeof(*items));
	ck_assert_ptr_nonnull(items);
	ck_assert(idtable_init(&t, 8, offsetof(struct item, id)));
	for (int i = 0; i < N; i++) {
		items[i].n = i;
		snprintf(items[i].id, sizeof items[i].id, "T%05d", i);
		ck_assert(idtable_put(&t, &items[i]));
	}
	ck_assert_uint_eq(t.count, N);
	ck_assert_uint_ge(t.nslots * 7, t.count * 10); /* at most 70 % full */
	for (int i = 0; i < N; i++) {
		char id[24];
		snprintf(id, sizeof id, "T%05d", i);
		const struct item *it = idtable_get(&t, id);
		ck_assert_ptr_nonnull(it);
		ck_assert_int_eq(it->n, i);
	}
	ck_assert_ptr_null(idtable_get(&t, "T"));
	ck_assert_ptr_null(idtable_get(&t, "T20000"));
	ck_assert_ptr_null(idtable_get(&t, ""));
	/* Iterating the slots visits each item once. */
	size_t seen = 0;
	for (size_t i = 0; i < t.nslots; i++)
		seen += t.slots[i] != NULL;
	ck_assert_uint_eq(seen, N);
	idtable_free(&t, NULL);
	ck_assert_ptr_null(idtable_get(&t, "T00001"));
	free(items);
}
END_TEST

START_TEST(ids_compared_whole)
{
	struct idtable t;
	struct item a = {1, "HZ-1"}, b = {2, "HZ-10"}, c = {3, "HZ-1 "};
	ck_assert(idtable_init(&t, 64, offsetof(struct item, id)));
	ck_assert(idtable_put(&t, &a));
	ck_assert(idtable_put(&t, &b));
	ck_assert(idtable_put(&t, &c));
	ck_assert_int_eq(((struct item *)idtable_get(&t, "HZ-1"))->n, 1);
	ck_assert_int_eq(((struct item *)idtable_get(&t, "HZ-10"))->n, 2);
	ck_assert_int_eq(((struct item *)idtable_get(&t, "HZ-1 "))->n, 3);
	ck_assert_ptr_null(idtable_get(&t, "hz-1"));
	/* FNV-1a 64 of "a" (a published test vector). */
	ck_assert_uint_eq(id_hash("a"), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(id_hash(""), 14695981039346656037ULL);
	idtable_free(&t, NULL);
}
END_TEST

Suite *deadlines_suite(void)
{
	Suite *s = suite_create("deadlines");
	TCase *tc = tcase_create("heap");
	tcase_add_test(tc, pops_in_time_order_ties_any);
	tcase_add_test(tc, due_only_up_to_now);
	tcase_add_test(tc, stale_entries_dropped_when_doubled);
	tcase_add_test(tc, entries_name_their_subject);
	suite_add_tcase(s, tc);
	return s;
}

Suite *idtable_suite(void)
{
	Suite *s = suite_create("idtable");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, finds_every_item_after_growing);
	tcase_add_test(tc, ids_compared_whole);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- strpool ---- */

START_TEST(interns_once_and_frees_with_the_last_reference)
{
	struct strpool *p = strpool_new();
	ck_assert_ptr_nonnull(p);
	char a[] = "PARTNER-1", b[] = "PARTNER-1";
	const char *x = strpool_intern(p, a, 64), *y = strpool_intern(p, b, 64);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_eq(x, y);
	ck_assert_str_eq(x, "PARTNER-1");
	ck_assert_uint_eq(strpool_count(p), 1);
	ck_assert_ptr_eq(strpool_dup(x), x);
	strpool_release(x);
	strpool_release(y);
	ck_assert_uint_eq(strpool_count(p), 1);
	strpool_release(x);
	ck_assert_uint_eq(strpool_count(p), 0);
	/* at most max_len bytes, as str_copy keeps */
	const char *cut = strpool_intern(p, "ABCDEF", 3);
	ck_assert_str_eq(cut, "ABC");
	strpool_release(cut);
	strpool_drop(p);
}
END_TEST

/* An unbounded stream of distinct ids costs only the ids still held. */
START_TEST(distinct_ids_do_not_accumulate)
{
	struct strpool *p = strpool_new();
	const char *held[8] = {0};
	for (int i = 0; i < 20000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "ENG-%d", i);
		const char **slot = &held[i % 8];
		if (!*slot)
			*slot = strpool_empty;
		ck_assert(strpool_set(p, slot, id, 64));
		ck_assert_uint_le(strpool_count(p), 8);
	}
	ck_assert_str_eq(held[19999 % 8], "ENG-19999");
	for (int i = 0; i < 8; i++)
		strpool_release(held[i]);
	ck_assert_uint_eq(strpool_count(p), 0);
	strpool_drop(p);
}
END_TEST

/* "" is never pooled; a string outlives its pool's owner (an orphan ticket
 * freed after its core). */
START_TEST(empty_ids_and_late_releases)
{
	struct strpool *p = strpool_new();
	const char *e = strpool_intern(p, "", 64);
	ck_assert_ptr_eq(e, strpool_empty);
	ck_assert_uint_eq(strpool_count(p), 0);
	strpool_release(e);
	strpool_release(NULL);
	strpool_release("");
	const char *x = strpool_intern(p, "CN", 32);
	strpool_hold(p);
	strpool_drop(p);
	strpool_drop(p); /* the owners are gone, x keeps the pool */
	ck_assert_str_eq(x, "CN");
	strpool_release(x); /* frees the pool: ASan sees neither a leak nor a use after free */
}
END_TEST

Suite *strpool_suite(void)
{
	Suite *s = suite_create("strpool");
	TCase *tc = tcase_create("pool");
	tcase_add_test(tc, interns_once_and_frees_with_the_last_reference);
	tcase_add_test(tc, distinct_ids_do_not_accumulate);
	tcase_add_test(tc, empty_ids_and_late_releases);
	suite_add_tcase(s, tc);
	return s;
}
