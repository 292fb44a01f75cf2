/* store_readback.c - reading back the outcome of a COMMIT whose answer was
 * lost (docs/storage.md, "The exactly-once commit"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "slad/pgarr.h"
#include "store_internal.h"

/* How long a commit-outcome readback waits for the old session to end. */
#define STORE_READBACK_WAIT_MS 10000

static const char sql_offset_read[] =
	"SELECT next_offset, last_batch FROM sla.consumer_offsets"
	" WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR SHARE";

/* After a COMMIT whose answer was lost: ends the old session if it is still
 * there (so its transaction is decided), then reads the offsets back. The
 * batch committed iff every offset holds `to` and this batch's token. */
enum store_result store_commit_readback(struct store *st, const char *group, const struct store_offset *offs,
					 size_t noffs, const char *token, char *err, size_t errlen)
{
	int old_pid = st->backend_pid;
	long long old_start = st->backend_start_us;
	char pid_s[16], start_s[24], part[16];
	char why[256];
	PGresult *res = NULL;
	size_t matched = 0;

	if (!store_reconnect(st, why, sizeof why)) {
		pg_set_err(err, errlen, "connection lost during COMMIT; outcome unknown (%s)", why);
		return STORE_ERROR;
	}
	if (noffs == 0) {
		pg_set_err(err, errlen, "connection lost during COMMIT; outcome unknown (no offsets to read back)");
		return STORE_ERROR;
	}
	if (old_start >= 0) {
		const char *vals[2] = {pid_s, start_s};
		struct timespec pause = {0, 100 * 1000 * 1000};

		snprintf(pid_s, sizeof pid_s, "%d", old_pid);
		snprintf(start_s, sizeof start_s, "%lld", old_start);
		for (int waited = 0; waited < STORE_READBACK_WAIT_MS; waited += 100) {
			res = PQexecParams(st->conn,
					   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1"
					   " AND (extract(epoch FROM backend_start) * 1000000)::bigint = $2",
					   2, NULL, vals, NULL, NULL, 0);
			/* Not allowed to signal it: the row lock below still waits. */
			if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0)
				break;
			PQclear(res);
			res = NULL;
			nanosleep(&pause, NULL);
		}
		PQclear(res);
		res = NULL;
	}

	if (!store_exec_simple(st, "BEGIN", "reading back offsets", err, errlen) ||
	    !store_exec_simple(st, "SET LOCAL lock_timeout = '10s'", "reading back offsets", err, errlen))
		goto unknown;
	for (size_t i = 0; i < noffs; i++) {
		const char *vals[3] = {group, offs[i].topic, part};

		if (!store_offset_has_row(&offs[i])) {
			matched++;
			continue;
		}
		snprintf(part, sizeof part, "%" PRId32, offs[i].partition);
		res = store_exec_params(st, sql_offset_read, 3, vals, "reading back offsets", err, errlen);
		if (res == NULL)
			goto unknown;
		if (PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) == offs[i].to &&
		    strcmp(PQgetvalue(res, 0, 1), token) == 0)
			matched++;
		PQclear(res);
		res = NULL;
	}
	if (!store_exec_simple(st, "COMMIT", "reading back offsets", err, errlen))
		goto unknown;
	if (matched == noffs)
		return STORE_OK;
	pg_set_err(err, errlen, "connection lost during COMMIT; read back: not committed");
	return STORE_ERROR;
unknown:
	PQclear(res);
	store_rollback_quietly(st);
	snprintf(why, sizeof why, "%s", err ? err : "");
	pg_set_err(err, errlen, "connection lost during COMMIT; outcome unknown (%s)", why);
	return STORE_ERROR;
}

