/* violation_poller.c - the latency benchmark's (B5) reader: polls sla.violations and stamps when each row first shows.
 *
 * Not a test. Every INTERVAL_MS it reads the violations with an id above the
 * largest seen so far (slad is the only writer and commits one transaction
 * at a time, so ids become visible in order) and prints, for each new
 * PROVISIONAL row of RULE_CODE whose ticket id starts with PREFIX, one line
 *   ticket_id due_ms seen_ms written_ms
 * where seen_ms is the wall clock when the poll that first returned the row
 * came back (what a dashboard polling at this rate would see), and
 * written_ms is the row's written_at: the start of the transaction that
 * wrote it. It stops once EXPECTED rows were printed, or after TIMEOUT_MS
 * (exit 1). Summary on standard error.
 *
 * usage: violation_poller CONNINFO RULE_CODE PREFIX EXPECTED INTERVAL_MS TIMEOUT_MS */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define POLL_SQL                                                                                                       \
	"SELECT violation_id, rule_code, status, ticket_id, (extract(epoch FROM due_at) * 1000)::bigint,"             \
	" (extract(epoch FROM written_at) * 1000)::bigint"                                                              \
	" FROM sla.violations WHERE violation_id > $1 ORDER BY violation_id"

struct poll_opts {
	const char *conninfo, *rule_code, *prefix;
	int64_t expected, interval_ms, timeout_ms;
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until_ms(int64_t at)
{
	int64_t wait = at - wall_ms();
	if (wait > 0) {
		struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

/* One poll: prints the new matching rows, moves *last_id past every row returned. */
static bool poll_once(PGconn *conn, const struct poll_opts *o, int64_t *last_id, int64_t *found)
{
	char id[24];
	const char *vals[1] = {id};
	snprintf(id, sizeof(id), "%" PRId64, *last_id);
	PGresult *res = PQexecParams(conn, POLL_SQL, 1, NULL, vals, NULL, NULL, 0);
	int64_t seen = wall_ms();
	size_t plen = strlen(o->prefix);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "violation_poller: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		*last_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		if (strcmp(PQgetvalue(res, r, 1), o->rule_code) != 0 || strcmp(PQgetvalue(res, r, 2), "PROVISIONAL") != 0 ||
		    strncmp(PQgetvalue(res, r, 3), o->prefix, plen) != 0 || PQgetisnull(res, r, 4))
			continue;
		printf("%s %s %lld %s\n", PQgetvalue(res, r, 3), PQgetvalue(res, r, 4), (long long)seen,
		       PQgetvalue(res, r, 5));
		(*found)++;
	}
	PQclear(res);
	return fflush(stdout) == 0;
}

int main(int argc, char **argv)
{
	struct poll_opts o;
	PGconn *conn = NULL;
	int64_t last_id = 0, found = 0, polls = 0;
	int rc = 1;

	if (argc != 7 || !parse_i64(argv[4], 1, &o.expected) || !parse_i64(argv[5], 1, &o.interval_ms) ||
	    !parse_i64(argv[6], 1, &o.timeout_ms)) {
		fprintf(stderr, "usage: violation_poller CONNINFO RULE_CODE PREFIX EXPECTED INTERVAL_MS TIMEOUT_MS\n");
		return 2;
	}
	o.conninfo = argv[1];
	o.rule_code = argv[2];
	o.prefix = argv[3];
	conn = PQconnectdb(o.conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "violation_poller: %s", PQerrorMessage(conn));
		goto fail;
	}
	int64_t start = wall_ms(), next = start;
	while (found < o.expected) {
		if (wall_ms() - start > o.timeout_ms) {
			fprintf(stderr, "violation_poller: timed out with %lld of %lld rows seen\n", (long long)found,
				(long long)o.expected);
			goto fail;
		}
		sleep_until_ms(next);
		next += o.interval_ms;
		if (!poll_once(conn, &o, &last_id, &found))
			goto fail;
		polls++;
	}
	fprintf(stderr, "violation_poller: %lld rows in %lld polls over %lld ms\n", (long long)found, (long long)polls,
		(long long)(wall_ms() - start));
	rc = 0;
fail:
	PQfinish(conn);
	return rc;
}
