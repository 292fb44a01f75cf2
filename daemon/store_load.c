/* store_load.c - saved ticket and partner states (sla.ticket_state,
 * sla.partner_state) back into cores: one partition or many in one binary
 * COPY, the read-ahead snapshot, and a row that does not restore moved to
 * sla.dead_letters (docs/storage.md). */
#include "slad/store.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "slad/log.h"
#include "slad/pgarr.h"
#include "store_internal.h"

/* A row that does not restore: its bytes go to sla.dead_letters and the row
 * is emptied, in one statement (one transaction). The role has no DELETE
 * (schema/0001_init.sql, grants), so the row stays, empty, and loading skips
 * it; a new state of the ticket or partner overwrites it. Only the bytes that
 * were read are moved: a row written meanwhile is left alone. */
static const char sql_reject_ticket[] =
	"WITH old AS (SELECT ticket_id, partition, state FROM sla.ticket_state"
	" WHERE ticket_id = $1 AND partition = $2::int AND state = $3::bytea FOR UPDATE),"
	" emptied AS (UPDATE sla.ticket_state s SET state = ''::bytea, updated_at = now() FROM old"
	" WHERE s.ticket_id = old.ticket_id RETURNING s.ticket_id)"
	" INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)"
	" SELECT 'sla.ticket_state', old.partition, -1, 'DECODE_ERROR',"
	" 'saved state of ticket ' || old.ticket_id || ' does not restore', old.state"
	" FROM old JOIN emptied USING (ticket_id)";
static const char sql_reject_partner[] =
	"WITH old AS (SELECT partner_id, partition, state FROM sla.partner_state"
	" WHERE partner_id = $1 AND partition = $2::int AND state = $3::bytea FOR UPDATE),"
	" emptied AS (UPDATE sla.partner_state s SET state = ''::bytea, updated_at = now() FROM old"
	" WHERE s.partner_id = old.partner_id RETURNING s.partner_id)"
	" INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, detail, payload)"
	" SELECT 'sla.partner_state', old.partition, -1, 'DECODE_ERROR',"
	" 'saved state of partner ' || old.partner_id || ' does not restore', old.state"
	" FROM old JOIN emptied USING (partner_id)";

/* A saved state that did not restore, kept until the load's query is done. */
struct rejected_row {
	char *id;
	uint8_t *state;
	size_t len;
	int32_t partition;
	size_t slot; /* its partition's index in the load's list */
};

static bool reject_add(struct rejected_row **v, size_t *n, size_t *cap, const char *id, size_t idlen,
		       const uint8_t *buf, size_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct rejected_row *nv = realloc(*v, c * sizeof(*nv));
		if (nv == NULL)
			return false;
		*v = nv;
		*cap = c;
	}
	struct rejected_row *r = &(*v)[*n];
	r->id = strndup(id, idlen);
	r->state = malloc(len ? len : 1);
	if (r->id == NULL || r->state == NULL) {
		free(r->id);
		free(r->state);
		return false;
	}
	if (len)
		memcpy(r->state, buf, len);
	r->len = len;
	(*n)++;
	return true;
}

/* Dead-letters and empties one rejected row; false with err when PostgreSQL
 * fails or the row changed since it was read. */
static bool reject_row(struct store *st, enum store_state_table table, int32_t partition,
		       const struct rejected_row *r, char *err, size_t errlen) __attribute__((warn_unused_result));

static bool reject_row(struct store *st, enum store_state_table table, int32_t partition,
		       const struct rejected_row *r, char *err, size_t errlen)
{
	const char *kind = table == STORE_TICKET_STATE ? "ticket" : "partner";
	char part[16];
	const char *vals[3] = {r->id, part, (const char *)r->state};
	int lengths[3] = {0, 0, (int)r->len};
	int formats[3] = {0, 0, 1};
	PGresult *res;
	bool ok;

	if (r->len > INT_MAX) {
		pg_set_err(err, errlen, "%s %.64s: saved state too large to dead-letter", kind, r->id);
		return false;
	}
	snprintf(part, sizeof part, "%" PRId32, partition);
	res = PQexecParams(st->conn, table == STORE_TICKET_STATE ? sql_reject_ticket : sql_reject_partner, 3, NULL,
			   vals, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_set_err(err, errlen, "%s %.64s: dead-lettering its saved state: %s", kind, r->id,
			   res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		PQclear(res);
		return false;
	}
	ok = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!ok)
		pg_set_err(err, errlen, "%s %.64s: its saved state changed while loading: load again", kind, r->id);
	return ok;
}

/* One load: binary COPY rows (partition int4, id text, state bytea) arrive
 * as a byte stream (in practice one CopyData message a row); `pending` holds
 * what an incomplete row left over. */
struct state_load {
	enum store_state_table table;
	const int32_t *partitions;
	size_t nparts;
	store_restore_part_fn restore;
	void *arg;
	size_t *counts, *rejected;
	struct rejected_row *bad;
	size_t nbad, capbad;
	uint8_t *pending;
	size_t npending, cappending;
	bool header, trailer;
	const char *fail; /* why the stream is not what we asked for */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static size_t load_slot(const struct state_load *l, int32_t partition)
{
	if (l->partitions == NULL)
		return 0; /* every partition: one slot */
	for (size_t i = 0; i < l->nparts; i++)
		if (l->partitions[i] == partition)
			return i;
	return l->nparts;
}

/* Parses what it can of buf[0..len): returns the bytes consumed (a partial
 * row is left), or sets l->fail. */
static size_t load_parse(struct state_load *l, const uint8_t *buf, size_t len)
{
	static const uint8_t sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
	size_t pos = 0;

	if (!l->header) {
		if (len < 19)
			return 0;
		if (memcmp(buf, sig, sizeof sig) != 0) {
			l->fail = "not a binary COPY stream";
			return 0;
		}
		uint32_t ext = be32(buf + 15);
		if (ext > len - 19)
			return 0;
		pos = 19 + ext;
		l->header = true;
	}
	while (!l->trailer && !l->fail && len - pos >= 2) {
		int16_t nf = (int16_t)((uint16_t)buf[pos] << 8 | buf[pos + 1]);
		if (nf == -1) {
			l->trailer = true;
			return pos + 2;
		}
		if (nf != 3) {
			l->fail = "a row of the wrong shape";
			return pos;
		}
		/* partition (4 + 4), id (4 + n), state (4 + n); NULLs (-1) are refused. */
		size_t p = pos + 2;
		const uint8_t *f[3];
		size_t fl[3];
		for (int i = 0; i < 3; i++) {
			if (len - p < 4)
				return pos;
			uint32_t n = be32(buf + p);
			if (n == UINT32_MAX || (i == 0 && n != 4)) {
				l->fail = "a NULL or malformed column";
				return pos;
			}
			if (n > len - p - 4)
				return pos;
			f[i] = buf + p + 4;
			fl[i] = n;
			p += 4 + n;
		}
		int32_t partition = (int32_t)be32(f[0]);
		size_t slot = load_slot(l, partition);
		if (l->partitions != NULL && slot == l->nparts) {
			l->fail = "a row of a partition not asked for";
			return pos;
		}
		if (l->restore(l->arg, partition, f[2], fl[2])) {
			if (l->counts != NULL)
				l->counts[slot]++;
		} else if (reject_add(&l->bad, &l->nbad, &l->capbad, (const char *)f[1], fl[1], f[2], fl[2])) {
			l->bad[l->nbad - 1].partition = partition;
			l->bad[l->nbad - 1].slot = slot;
		} else {
			l->fail = "out of memory setting aside a state that does not restore";
			return pos;
		}
		pos = p;
	}
	return pos;
}

/* Feeds one CopyData message: parsed in place when nothing is pending. */
static void load_feed(struct state_load *l, const uint8_t *buf, size_t len)
{
	if (l->npending == 0) {
		size_t used = load_parse(l, buf, len);
		buf += used;
		len -= used;
		if (len == 0 || l->fail)
			return;
	}
	if (l->npending + len > l->cappending) {
		size_t c = l->cappending ? l->cappending : 4096;
		while (c < l->npending + len)
			c *= 2;
		uint8_t *nb = realloc(l->pending, c);
		if (nb == NULL) {
			l->fail = "out of memory";
			return;
		}
		l->pending = nb;
		l->cappending = c;
	}
	memcpy(l->pending + l->npending, buf, len);
	l->npending += len;
	size_t used = load_parse(l, l->pending, l->npending);
	memmove(l->pending, l->pending + used, l->npending - used);
	l->npending -= used;
}

/* The COPY of the saved states of the partitions asked for (NULL: every
 * partition), as malloc'd text; NULL and err when it cannot be built. */
static char *load_copy_sql(enum store_state_table table, const int32_t *partitions, size_t nparts, const char *what,
			   char *err, size_t errlen)
{
	size_t cap = 160 + 12 * nparts, n;
	char *sql = malloc(cap);

	if (sql == NULL) {
		pg_set_err(err, errlen, "%s: out of memory", what);
		return NULL;
	}
	n = (size_t)snprintf(sql, cap, "COPY (SELECT partition, %s, state FROM %s WHERE %s",
			     table == STORE_TICKET_STATE ? "ticket_id" : "partner_id",
			     table == STORE_TICKET_STATE ? "sla.ticket_state" : "sla.partner_state",
			     partitions == NULL ? "" : "partition IN (");
	for (size_t i = 0; partitions != NULL && i < nparts && n < cap; i++)
		n += (size_t)snprintf(sql + n, cap - n, "%s%" PRId32, i ? "," : "", partitions[i]);
	if (n < cap)
		n += (size_t)snprintf(sql + n, cap - n, "%slength(state) > 0) TO STDOUT (FORMAT binary)",
				      partitions == NULL ? "" : ") AND ");
	if (n >= cap) {
		free(sql);
		pg_set_err(err, errlen, "%s: query too long", what);
		return NULL;
	}
	return sql;
}

/* The rows of a COPY TO STDOUT that has started, fed to the load, up to the
 * end of its results; false and err when the stream or the load failed. */
static bool load_read_copy(struct store *st, struct state_load *l, const char *what, char *err, size_t errlen)
{
	bool failed = false;
	PGresult *res;

	for (;;) {
		char *row = NULL;
		int len = PQgetCopyData(st->conn, &row, 0);
		if (len < 0) {
			if (len == -2 && !failed) {
				pg_set_err(err, errlen, "%s: %s", what, PQerrorMessage(st->conn));
				failed = true;
			}
			break;
		}
		if (!failed && l->fail == NULL)
			load_feed(l, (const uint8_t *)row, (size_t)len);
		PQfreemem(row);
	}
	while ((res = PQgetResult(st->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed) {
			pg_set_err(err, errlen, "%s: %s", what, PQresultErrorMessage(res));
			failed = true;
		}
		PQclear(res);
	}
	if (!failed && (l->fail != NULL || !l->trailer || l->npending != 0)) {
		pg_set_err(err, errlen, "%s: %s", what, l->fail ? l->fail : "the stream ended early");
		failed = true;
	}
	return !failed;
}

/* Once the connection is free again: the rows that did not restore go to
 * sla.dead_letters, each counted and logged. */
static bool load_set_aside_rejected(struct store *st, const struct state_load *l, char *err, size_t errlen)
{
	enum store_state_table table = l->table;
	const char *kind = table == STORE_TICKET_STATE ? "ticket" : "partner";

	for (size_t i = 0; i < l->nbad; i++) {
		const struct rejected_row *b = &l->bad[i];
		if (!reject_row(st, table, b->partition, b, err, errlen))
			return false;
		if (l->rejected != NULL)
			l->rejected[b->slot]++;
		log_error_f(&(struct log_fields){.topic = table == STORE_TICKET_STATE ? "sla.ticket_state"
										  : "sla.partner_state",
						 .partition = LOG_NUM(b->partition),
						 .ticket = table == STORE_TICKET_STATE ? b->id : NULL,
						 .reason = "DECODE_ERROR"},
			    "%spartition=%d %s=%.64s: its saved state (%zu bytes) does not restore: moved to "
			    "sla.dead_letters (DECODE_ERROR) and left out; the %s comes back only with new events",
			    table == STORE_TICKET_STATE ? "" : "assessments ", (int)b->partition, kind, b->id, b->len,
			    kind);
	}
	return true;
}

static void load_cleanup(struct state_load *l)
{
	for (size_t i = 0; i < l->nbad; i++) {
		free(l->bad[i].id);
		free(l->bad[i].state);
	}
	free(l->bad);
	free(l->pending);
}

bool store_load_states_many(struct store *st, enum store_state_table table, const int32_t *partitions,
			    size_t nparts, store_restore_part_fn restore, void *arg, size_t *counts,
			    size_t *rejected, char *err, size_t errlen)
{
	const char *what = table == STORE_TICKET_STATE ? "reading sla.ticket_state" : "reading sla.partner_state";
	struct state_load l = {.table = table,
			       .partitions = partitions,
			       .nparts = nparts,
			       .restore = restore,
			       .arg = arg,
			       .counts = counts,
			       .rejected = rejected};
	bool ok;
	char *sql;
	PGresult *res;

	size_t nslots = partitions == NULL ? 1 : nparts;
	for (size_t i = 0; i < nslots; i++) {
		if (counts != NULL)
			counts[i] = 0;
		if (rejected != NULL)
			rejected[i] = 0;
	}
	if (partitions != NULL && nparts == 0)
		return true;
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	/* One scan for every partition asked for: a partition's rows are spread
	 * over the whole table (states are written in commit order), so loading
	 * the partitions one by one would read every page once per partition.
	 * Binary COPY: the bytes as stored, no result object per row. */
	sql = load_copy_sql(table, partitions, nparts, what, err, errlen);
	if (sql == NULL)
		return false;
	res = PQexec(st->conn, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pg_set_err(err, errlen, "%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	ok = load_read_copy(st, &l, what, err, errlen) && load_set_aside_rejected(st, &l, err, errlen);
	load_cleanup(&l);
	return ok;
}

bool store_snapshot(struct store *st, bool begin, char *err, size_t errlen)
{
	if (!store_conn_usable(st)) {
		pg_set_err(err, errlen, "not connected to PostgreSQL");
		return false;
	}
	return store_exec_simple(st, begin ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "COMMIT",
			   begin ? "starting a snapshot" : "ending a snapshot", err, errlen);
}

struct one_partition {
	store_restore_fn restore;
	void *arg;
};

static bool restore_one(void *arg, int32_t partition, const uint8_t *buf, size_t len)
{
	const struct one_partition *o = arg;
	(void)partition;
	return o->restore(o->arg, buf, len);
}

bool store_load_states(struct store *st, enum store_state_table table, int32_t partition, store_restore_fn restore,
		       void *arg, size_t *count, size_t *rejected, char *err, size_t errlen)
{
	struct one_partition o = {restore, arg};
	size_t c = 0, r = 0;
	bool ok = store_load_states_many(st, table, &partition, 1, restore_one, &o, &c, &r, err, errlen);
	if (count != NULL)
		*count = c;
	if (rejected != NULL)
		*rejected = r;
	return ok;
}

