/* test_merge.c - the event-time merge of a partition's work-order and
 * clock-in topics (daemon/merge.c): which waiting message goes next. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "merge.h"
#include "shell_suites.h"

static struct merge_side side(size_t waiting, sla_time head_at, bool eof)
{
	struct merge_side s = {.assigned = true, .waiting = waiting, .head_at = head_at, .eof = eof};
	return s;
}

START_TEST(earlier_first_ties_to_the_work_order)
{
	struct merge_side wo = side(1, 2000, false), ci = side(1, 1000, false);
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_CLOCKIN);
	ci.head_at = 3000;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_WORKORDER);
	ci.head_at = 2000;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_WORKORDER);
	/* An undecodable message has no time: it goes at once (to the dead letters). */
	ci.head_at = INT64_MIN;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_CLOCKIN);
}
END_TEST

START_TEST(one_side_waits_for_the_other)
{
	struct merge_side wo = side(3, 1000, false), ci = side(0, 0, false);
	/* The clock-ins may still deliver something earlier. */
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_NONE);
	ck_assert_int_eq(merge_next(&ci, &wo, 100), MERGE_NONE);
	/* ... not once they are at their end, or not assigned here. */
	ci.eof = true;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_WORKORDER);
	ci.eof = false;
	ci.assigned = false;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_WORKORDER);
	/* The same for clock-ins waiting on work orders. */
	struct merge_side none = {0};
	ck_assert_int_eq(merge_next(&none, &wo, 100), MERGE_CLOCKIN);
	/* A stalled topic holds the other back only up to max_wait messages. */
	ci.assigned = true;
	wo.waiting = 100;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_NONE);
	wo.waiting = 101;
	ck_assert_int_eq(merge_next(&wo, &ci, 100), MERGE_WORKORDER);
	/* Nothing waiting anywhere. */
	ck_assert_int_eq(merge_next(&none, &none, 100), MERGE_NONE);
}
END_TEST

/* Two topics, each in time order, delivered in random chunks: applying what
 * merge_next picks, and waiting when it says so, yields one stream in time order. */
START_TEST(random_deliveries_merge_in_time_order)
{
	enum { N = 400 };
	sla_time t[2][N];
	srand(12345u + (unsigned)_i);
	for (int k = 0; k < 2; k++) {
		sla_time at = 0;
		for (int i = 0; i < N; i++)
			t[k][i] = at += rand() % 5;
	}
	size_t delivered[2] = {0, 0}, applied[2] = {0, 0}, n = 0;
	sla_time last = INT64_MIN;
	while (n < 2 * N) {
		int k = rand() % 2;
		size_t more = (size_t)(rand() % 7);
		delivered[k] = delivered[k] + more > N ? N : delivered[k] + more;
		for (;;) {
			struct merge_side s[2];
			for (int j = 0; j < 2; j++) {
				s[j] = side(delivered[j] - applied[j], 0, delivered[j] == N);
				if (s[j].waiting)
					s[j].head_at = t[j][applied[j]];
			}
			enum merge_take m = merge_next(&s[0], &s[1], 1000);
			if (m == MERGE_NONE)
				break;
			int j = m == MERGE_WORKORDER ? 0 : 1;
			ck_assert_int_ge(t[j][applied[j]], last);
			last = t[j][applied[j]++];
			n++;
		}
	}
	ck_assert_uint_eq(applied[0], N);
	ck_assert_uint_eq(applied[1], N);
}
END_TEST

Suite *shell_merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("merge");
	tcase_add_test(tc, earlier_first_ties_to_the_work_order);
	tcase_add_test(tc, one_side_waits_for_the_other);
	tcase_add_loop_test(tc, random_deliveries_merge_in_time_order, 0, 20);
	suite_add_tcase(s, tc);
	return s;
}
