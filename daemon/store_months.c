/* store_months.c - the month partitions of the append-only tables (schema/0010):
 * the months a batch's rows need, and making sure of their partitions once
 * per month and process. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include <libpq-fe.h>

#include "slad/log.h"
#include "slad/pgarr.h"
#include "store_internal.h"

int store_month_of(sla_time t)
{
	int y;
	unsigned m, d;

	if (t == SLA_TIME_NONE)
		return -1;
	civil_from_days(floor_div(t, SLA_DAY), &y, &m, &d);
	if (y < 1970 || y >= 1970 + STORE_MONTHS / 12)
		return -1;
	return (y - 1970) * 12 + (int)m - 1;
}


static sla_time month_start(int mo)
{
	return (sla_time)days_from_civil(1970 + mo / 12, (unsigned)(mo % 12) + 1, 1) * SLA_DAY;
}

static void month_need_add(struct month_need *nd, sla_time t)
{
	if (t >= nd->lo && t < nd->hi)
		return;
	int mo = store_month_of(t);

	if (mo < 0)
		return;
	nd->lo = month_start(mo);
	nd->hi = month_start(mo + 1);
	for (size_t i = 0; i < nd->n; i++)
		if (nd->v[i] == mo)
			return;
	if (nd->n < sizeof nd->v / sizeof nd->v[0])
		nd->v[nd->n++] = mo;
}

/* The month partitions a batch's rows need (events by occurred_at, status
 * changes by changed_at, dead letters and undated changes by now). */
void store_months_needed(struct month_need *nd, const struct sla_out *out)
{
	month_need_add(nd, (sla_time)time(NULL) * 1000);
	for (size_t i = 0; i < out->napplied; i++)
		month_need_add(nd, out->applied[i].occurred_at);
	for (size_t i = 0; i < out->nhist; i++)
		month_need_add(nd, out->hist[i].changed_at);
}

/* Before a batch's transaction, in a transaction of its own: the month
 * partitions it needs that this process has not made sure of yet. Once per
 * month and process; a failure only sends rows to the default partition. */
void store_months_ensure(struct store *st, const struct month_need *nd)
{
	static const char sql[] = "SELECT sla.ensure_months(" MS_TS("$1::bigint") ", " MS_TS("$1::bigint") ")";

	for (size_t i = 0; i < nd->n; i++) {
		int mo = nd->v[i];
		char from[24];
		const char *vals[1] = {from};

		if ((st->months[mo / 8] >> (mo % 8)) & 1)
			continue;
		snprintf(from, sizeof from, "%" PRId64, (int64_t)month_start(mo));
		PGresult *res = PQexecParams(st->conn, sql, 1, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			st->months[mo / 8] |= (uint8_t)(1u << (mo % 8));
		else {
			char why[256];

			pg_set_err(why, sizeof why, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
			log_warn("creating the partitions of %04d-%02d: %s (its rows go to the default partitions)",
				 1970 + mo / 12, mo % 12 + 1, why);
		}
		PQclear(res);
	}
}

