/* whatif.c - `slactl whatif`: the same events under the current and a new policy,
 * each replayed into a scratch database of its own, and what changes between them
 * by rule code, ticket type and partner (docs/tools.md, "slactl whatif"). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "slactl.h"
#include "slad/arrays.h"
#include "slad/calendar.h"
#include "slad/core.h"
#include "slad/policy.h"
#include "slad/policy_file.h"
#include "slad/store.h"

/* slad's default `policies` (interfaces.md); without that file, the built-in defaults. */
#define WHATIF_DEFAULT_POLICIES "/etc/slad/policies.yaml"
/* Every scratch database's name starts so: operators find leftovers of a killed run by it. */
#define WHATIF_DB_PREFIX "slad_whatif_"

enum side { CUR = 0, NEW = 1, NSIDES };
static const char *const side_name[NSIDES] = {"current", "new"};

/* The measures of a group: milestones met, missed (BREACHED), active violations. */
enum { M_MET, M_MISSED, M_VIOL, NMEASURES };

enum dimension { D_RULE, D_TYPE, D_PARTNER, D_TOTAL, NDIMS };
static const char *const dim_csv[NDIMS] = {"rule_code", "ticket_type", "partner", "total"};
static const char *const dim_title[NDIMS] = {"by rule code", "by ticket type", "by partner", "total"};

struct group {
	enum dimension dim;
	char *key;
	long n[NSIDES][NMEASURES];
	long tickets_changed;
	char last_changed[65]; /* rows come by ticket: a ticket counts once per group */
	char **examples;       /* up to max_examples ticket ids, in ticket id order */
	size_t nexamples;
};

/* The groups, found by (dimension, key) through an open-addressing hash. */
struct groups {
	struct group *g;
	size_t n, cap;
	size_t *slot; /* index + 1; 0: empty */
	size_t nslots;
	size_t max_examples;
};

struct scratch {
	char name[64];
	bool created;
	struct store *st;
};

static volatile sig_atomic_t whatif_stop;

static void on_signal(int sig)
{
	(void)sig;
	whatif_stop = 1;
}

static void whatif_usage(FILE *f)
{
	fprintf(f,
		"usage: slactl whatif --db CONNINFO --policies NEW.yaml [--current FILE] [--until TIME|now]\n"
		"                     [--examples N] [--format text|csv] FILE|-|--from-db\n"
		"Evaluates the same events under the current and a new policy, each replayed as\n"
		"`slactl replay` does into a scratch database of its own on the server of --db\n"
		"(CREATE DATABASE: needs the CREATEDB privilege), and prints by rule code, ticket\n"
		"type and partner the milestones met and missed and the active (provisional or\n"
		"confirmed) violations under each, the change, and example tickets per changed\n"
		"group. The scratch databases are dropped at the end, also on error or signal.\n"
		"\n"
		"  --db CONNINFO     libpq connection string (default: the PG* environment)\n"
		"  --policies FILE   the new policy\n"
		"  --current FILE    the current policy (default: " WHATIF_DEFAULT_POLICIES ", slad's\n"
		"                    default, or the built-in defaults when that file does not exist)\n"
		"  --from-db         read the events from the --db database's archive\n"
		"                    (sla.ticket_events and TOO_LATE dead letters) instead of FILE\n"
		"  --until TIME|now  move the clock there at the end (default: the last occurred_at)\n"
		"  --examples N      example tickets per changed group (default 3, 0 for none)\n"
		"  --format F        text (default) or csv\n"
		"  -h, --help        show this help\n"
		"  -V, --version     show the version\n");
}

/* ---- groups ---- */

static uint64_t group_hash(enum dimension dim, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)dim;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static bool groups_rehash(struct groups *gs, size_t nslots)
{
	size_t *slot = calloc(nslots, sizeof(*slot));
	if (!slot)
		return false;
	for (size_t i = 0; i < gs->n; i++) {
		size_t s = (size_t)(group_hash(gs->g[i].dim, gs->g[i].key) & (nslots - 1));
		while (slot[s])
			s = (s + 1) & (nslots - 1);
		slot[s] = i + 1;
	}
	free(gs->slot);
	gs->slot = slot;
	gs->nslots = nslots;
	return true;
}

/* The group (dim, key), created empty when new; NULL: out of memory. */
static struct group *groups_get(struct groups *gs, enum dimension dim, const char *key)
{
	if (gs->nslots == 0 || (gs->n + 1) * 2 > gs->nslots) {
		if (!groups_rehash(gs, gs->nslots ? gs->nslots * 2 : 64))
			return NULL;
	}
	size_t s = (size_t)(group_hash(dim, key) & (gs->nslots - 1));
	for (; gs->slot[s]; s = (s + 1) & (gs->nslots - 1)) {
		struct group *g = &gs->g[gs->slot[s] - 1];
		if (g->dim == dim && strcmp(g->key, key) == 0)
			return g;
	}
	if (!array_grow_from((void **)&gs->g, &gs->cap, gs->n + 1, sizeof(*gs->g), 64))
		return NULL;
	struct group *g = &gs->g[gs->n];
	memset(g, 0, sizeof(*g));
	g->dim = dim;
	g->key = strdup(key);
	if (!g->key)
		return NULL;
	if (gs->max_examples) {
		g->examples = calloc(gs->max_examples, sizeof(*g->examples));
		if (!g->examples) {
			free(g->key);
			return NULL;
		}
	}
	gs->slot[s] = ++gs->n;
	return g;
}

static void groups_free(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		for (size_t k = 0; k < gs->g[i].nexamples; k++)
			free(gs->g[i].examples[k]);
		free(gs->g[i].examples);
		free(gs->g[i].key);
	}
	free(gs->g);
	free(gs->slot);
	memset(gs, 0, sizeof(*gs));
}

static int group_order(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->dim != y->dim)
		return (x->dim > y->dim) - (x->dim < y->dim);
	return strcmp(x->key, y->key);
}

/* One ticket's counts for one code under both policies, into its groups. */
static bool groups_add(struct groups *gs, const char *ticket, const char *type, const char *partner,
		       const char *code, const long n[NSIDES][NMEASURES])
{
	const char *keys[NDIMS] = {code, type, partner, "all"};
	bool changed = memcmp(n[CUR], n[NEW], sizeof(n[CUR])) != 0;
	for (int d = 0; d < NDIMS; d++) {
		struct group *g = groups_get(gs, (enum dimension)d, keys[d]);
		if (!g)
			return false;
		for (int s = 0; s < NSIDES; s++)
			for (int m = 0; m < NMEASURES; m++)
				g->n[s][m] += n[s][m];
		if (!changed || strcmp(g->last_changed, ticket) == 0)
			continue;
		snprintf(g->last_changed, sizeof(g->last_changed), "%s", ticket);
		g->tickets_changed++;
		if (g->nexamples < gs->max_examples) {
			g->examples[g->nexamples] = strdup(ticket);
			if (!g->examples[g->nexamples])
				return false;
			g->nexamples++;
		}
	}
	return true;
}

/* ---- reading the results of a scratch database ---- */

/* Per ticket and code: milestones met and missed (a milestone counts under
 * its breach code, <MILESTONE>_LATE) and active violations, in byte order of
 * (ticket, code) so that the two databases merge in one pass. */
static const char sql_results[] =
	"SELECT x.ticket_id, coalesce(max(coalesce(t.ticket_type, x.ticket_type)), ''),"
	" coalesce(max(coalesce(t.partner_id, x.partner_id)), ''), x.code,"
	" sum(x.met), sum(x.missed), sum(x.viol)"
	" FROM (SELECT ticket_id, ticket_type, partner_id, milestone || '_LATE' AS code,"
	"  (status = 'MET')::int AS met, (status = 'BREACHED')::int AS missed, 0 AS viol FROM sla.milestones"
	"  UNION ALL"
	"  SELECT ticket_id, NULL, partner_id, rule_code, 0, 0, 1 FROM sla.violations"
	"  WHERE status IN ('PROVISIONAL', 'CONFIRMED')) x"
	" LEFT JOIN sla.tickets t ON t.ticket_id = x.ticket_id"
	" GROUP BY x.ticket_id, x.code"
	" ORDER BY x.ticket_id COLLATE \"C\", x.code COLLATE \"C\"";

/* One side's rows, one at a time (single-row mode: no result set in memory). */
struct rows {
	PGconn *conn;
	PGresult *row; /* the current row, or NULL at the end */
	bool failed;
};

static bool rows_next(struct rows *r)
{
	PQclear(r->row);
	r->row = PQgetResult(r->conn);
	if (r->row && PQresultStatus(r->row) == PGRES_SINGLE_TUPLE)
		return true;
	if (r->row && PQresultStatus(r->row) != PGRES_TUPLES_OK) {
		fprintf(stderr, "slactl whatif: reading results: %s", PQresultErrorMessage(r->row));
		r->failed = true;
	}
	/* The end: drain to the final NULL so the connection is free again. */
	while (r->row) {
		PQclear(r->row);
		r->row = PQgetResult(r->conn);
	}
	return false;
}

static bool rows_start(struct rows *r, PGconn *conn)
{
	r->conn = conn;
	r->row = NULL;
	r->failed = false;
	if (!PQsendQuery(conn, sql_results) || !PQsetSingleRowMode(conn)) {
		fprintf(stderr, "slactl whatif: reading results: %s", PQerrorMessage(conn));
		r->failed = true;
		return false;
	}
	(void)rows_next(r);
	return !r->failed;
}

static int rows_cmp(const struct rows *a, const struct rows *b)
{
	if (!a->row || !b->row)
		return a->row ? -1 : b->row ? 1 : 0; /* a side at its end sorts last */
	int c = strcmp(PQgetvalue(a->row, 0, 0), PQgetvalue(b->row, 0, 0));
	return c ? c : strcmp(PQgetvalue(a->row, 0, 3), PQgetvalue(b->row, 0, 3));
}

static void rows_counts(const struct rows *r, long n[NMEASURES])
{
	for (int m = 0; m < NMEASURES; m++)
		n[m] = strtol(PQgetvalue(r->row, 0, 4 + m), NULL, 10);
}

/* Merges the two databases' rows by (ticket, code) into the groups. */
static bool compare_results(struct store *cur, struct store *new, struct groups *gs)
{
	struct rows r[NSIDES];
	bool ok = false;
	memset(r, 0, sizeof(r));
	if (!rows_start(&r[CUR], (PGconn *)store_conn(cur)) || !rows_start(&r[NEW], (PGconn *)store_conn(new)))
		goto done;
	while (r[CUR].row || r[NEW].row) {
		if (whatif_stop) {
			fprintf(stderr, "slactl whatif: interrupted\n");
			goto done;
		}
		long n[NSIDES][NMEASURES];
		memset(n, 0, sizeof(n));
		int c = rows_cmp(&r[CUR], &r[NEW]);
		const struct rows *at = c <= 0 ? &r[CUR] : &r[NEW];
		if (c <= 0)
			rows_counts(&r[CUR], n[CUR]);
		if (c >= 0)
			rows_counts(&r[NEW], n[NEW]);
		if (!groups_add(gs, PQgetvalue(at->row, 0, 0), PQgetvalue(at->row, 0, 1), PQgetvalue(at->row, 0, 2),
				PQgetvalue(at->row, 0, 3), (const long(*)[NMEASURES])n)) {
			fprintf(stderr, "slactl whatif: out of memory\n");
			goto done;
		}
		if (c <= 0)
			(void)rows_next(&r[CUR]);
		if (c >= 0)
			(void)rows_next(&r[NEW]);
		if (r[CUR].failed || r[NEW].failed)
			goto done;
	}
	ok = true;
done:
	/* Stopping early: cancel what is still streaming, then drain. */
	for (int s = 0; s < NSIDES; s++) {
		if (!r[s].row)
			continue;
		PGcancel *cancel = PQgetCancel(r[s].conn);
		char ebuf[256];
		if (cancel) {
			(void)PQcancel(cancel, ebuf, sizeof(ebuf));
			PQfreeCancel(cancel);
		}
		while (r[s].row) {
			PQclear(r[s].row);
			r[s].row = PQgetResult(r[s].conn);
		}
	}
	return ok;
}

/* ---- the events of --from-db ---- */

/* The archive: every applied event, and the events dead-lettered TOO_LATE
 * (their ticket was archived: under another policy it may not have been).
 * Ties in occurred_at keep this order; slactl replay's positions are input
 * lines, so an archive it wrote gives the order of its file. */
static const char sql_archive[] =
	"SELECT payload, coalesce(src, ''), kafka_offset IS NULL FROM ("
	" SELECT payload, 'sla.ticket_events ticket ' || ticket_id || ' event ' || event_id AS src,"
	"  kafka_offset, topic, partition, ticket_id, event_id FROM sla.ticket_events"
	" UNION ALL"
	" SELECT payload, 'sla.dead_letters ' || coalesce(topic, '') || ' partition ' || coalesce(partition::text, '')"
	"  || ' offset ' || coalesce(kafka_offset::text, ''), kafka_offset, topic, partition, NULL, NULL"
	"  FROM sla.dead_letters WHERE reason = 'TOO_LATE') e"
	" ORDER BY kafka_offset NULLS LAST, topic COLLATE \"C\", partition, ticket_id COLLATE \"C\","
	" event_id COLLATE \"C\"";

static bool event_from_payload(const uint8_t *buf, size_t len, const char *src, struct jsonl_event *out)
{
	char detail[256] = "";
	Slad__V1__Event *ev = NULL;
	enum sla_verdict v = event_decode(buf, len, &ev, detail, sizeof(detail));
	memset(out, 0, sizeof(*out));
	if (v != SV_APPLIED) {
		fprintf(stderr, "slactl whatif: %s: %s: %s\n", src, verdict_reason(v), detail);
		sla_event_free(ev);
		return false;
	}
	out->payload = malloc(len ? len : 1);
	if (!out->payload) {
		fprintf(stderr, "slactl whatif: out of memory\n");
		sla_event_free(ev);
		return false;
	}
	memcpy(out->payload, buf, len);
	out->len = len;
	out->topic = ev->type == SLAD__V1__EVENT_TYPE__CLOCK_IN     ? TOPIC_CLOCKINS
		     : ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT ? TOPIC_ASSESSMENTS
								    : TOPIC_WORKORDERS;
	const char *key = ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT ? ev->partner_id : ev->ticket_id;
	snprintf(out->key, sizeof(out->key), "%s", key ? key : "");
	snprintf(out->event_id, sizeof(out->event_id), "%s", ev->event_id ? ev->event_id : "");
	out->occurred_at = ev->occurred_at;
	sla_event_free(ev);
	return true;
}

/* Reads the archive of the --db database; fails naming the first row that is
 * not an event. *out is the caller's, also on failure. */
static bool read_archive(PGconn *conn, struct replay_event **out, size_t *n)
{
	struct replay_event *evs = NULL;
	size_t len = 0, cap = 0;
	bool ok = true, sent;
	PGresult *res;
	/* Binary results: the payloads come as bytes. */
	sent = PQsendQueryParams(conn, sql_archive, 0, NULL, NULL, NULL, NULL, 1) && PQsetSingleRowMode(conn);
	if (!sent) {
		fprintf(stderr, "slactl whatif: reading the archive: %s", PQerrorMessage(conn));
		*out = NULL;
		*n = 0;
		return false;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType rs = PQresultStatus(res);
		if (rs != PGRES_SINGLE_TUPLE) {
			if (rs != PGRES_TUPLES_OK && ok) {
				fprintf(stderr, "slactl whatif: reading the archive: %s", PQresultErrorMessage(res));
				ok = false;
			}
			PQclear(res);
			continue;
		}
		if (!ok || whatif_stop) {
			ok = false;
			PQclear(res);
			continue;
		}
		const char *src = PQgetvalue(res, 0, 1);
		if (PQgetisnull(res, 0, 0)) {
			fprintf(stderr, "slactl whatif: %s: no payload kept: cannot be replayed\n", src);
			ok = false;
		} else if (len == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct replay_event *ne = realloc(evs, ncap * sizeof(*ne));
			if (!ne) {
				fprintf(stderr, "slactl whatif: out of memory\n");
				ok = false;
			} else {
				evs = ne;
				cap = ncap;
			}
		}
		if (ok && event_from_payload((const uint8_t *)PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), src,
					     &evs[len].ev)) {
			len++;
			evs[len - 1].line = (long)len;
		} else {
			ok = false;
		}
		PQclear(res);
	}
	if (whatif_stop && ok) {
		fprintf(stderr, "slactl whatif: interrupted\n");
		ok = false;
	}
	*out = evs;
	*n = len;
	return ok;
}

/* ---- scratch databases ---- */

/* The conninfo of --db's connection with another database: every option
 * libpq settled on (host, port, user, password, sslmode, ...) as key='value'.
 * It may hold a password: never printed. NULL: out of memory. */
static char *conninfo_with_dbname(PGconn *conn, const char *dbname)
{
	PQconninfoOption *opts = PQconninfo(conn);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	if (!opts)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		PQconninfoFree(opts);
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
		if (!v || !*v)
			continue;
		fprintf(f, "%s='", o->keyword);
		for (const char *p = v; *p; p++) {
			if (*p == '\'' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputs("' ", f);
	}
	PQconninfoFree(opts);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool exec_ok(PGconn *conn, const char *sql, const char *what, bool *privilege)
{
	PGresult *res = PQexec(conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (privilege)
			*privilege = state && strcmp(state, "42501") == 0;
		fprintf(stderr, "slactl whatif: %s: %s", what, PQresultErrorMessage(res));
	}
	PQclear(res);
	return ok;
}

/* Creates the scratch database on the server of admin, with --db's encoding
 * and locale, and brings its schema up with the compiled-in migrations. */
static bool scratch_create(struct store *admin, struct scratch *sc, const char *label)
{
	PGconn *conn = (PGconn *)store_conn(admin);
	PGresult *res = NULL;
	char *enc = NULL, *coll = NULL, *ctype = NULL, *sql = NULL, *ci = NULL, err[512];
	bool ok = false, privilege = false;
	int applied = 0;

	snprintf(sc->name, sizeof(sc->name), WHATIF_DB_PREFIX "%lld_%ld_%s", (long long)time(NULL), (long)getpid(),
		 label);
	res = PQexec(conn, "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database"
			   " WHERE datname = current_database()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fprintf(stderr, "slactl whatif: reading the database's encoding: %s", PQresultErrorMessage(res));
		goto done;
	}
	enc = PQescapeLiteral(conn, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
	coll = PQescapeLiteral(conn, PQgetvalue(res, 0, 1), strlen(PQgetvalue(res, 0, 1)));
	ctype = PQescapeLiteral(conn, PQgetvalue(res, 0, 2), strlen(PQgetvalue(res, 0, 2)));
	if (!enc || !coll || !ctype ||
	    asprintf(&sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING %s LC_COLLATE %s LC_CTYPE %s", sc->name, enc,
		     coll, ctype) < 0) {
		sql = NULL;
		fprintf(stderr, "slactl whatif: out of memory\n");
		goto done;
	}
	if (!exec_ok(conn, sql, "creating a scratch database", &privilege)) {
		if (privilege)
			fprintf(stderr, "slactl whatif: the role needs the CREATEDB privilege"
					" (ALTER ROLE ... CREATEDB) or must be a superuser\n");
		goto done;
	}
	sc->created = true;
	ci = conninfo_with_dbname(conn, sc->name);
	if (!ci) {
		fprintf(stderr, "slactl whatif: out of memory\n");
		goto done;
	}
	sc->st = store_connect(ci, err, sizeof(err));
	if (!sc->st) {
		fprintf(stderr, "slactl whatif: scratch database %s: %s\n", sc->name, err);
		goto done;
	}
	if (!store_migrate(sc->st, &applied, err, sizeof(err))) {
		fprintf(stderr, "slactl whatif: scratch database %s: migrate: %s\n", sc->name, err);
		goto done;
	}
	ok = true;
done:
	PQclear(res);
	PQfreemem(enc);
	PQfreemem(coll);
	PQfreemem(ctype);
	free(sql);
	if (ci) {
		explicit_bzero(ci, strlen(ci)); /* it may hold the password */
		free(ci);
	}
	return ok;
}

/* Drops the scratch database (closing our connection to it first). */
static bool scratch_drop(struct store *admin, struct scratch *sc)
{
	char sql[128], err[512];
	store_free(sc->st);
	sc->st = NULL;
	if (!sc->created)
		return true;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", sc->name);
	if (!store_ok(admin) && !store_reconnect(admin, err, sizeof(err))) {
		fprintf(stderr, "slactl whatif: could not drop scratch database %s: %s\n", sc->name, err);
		return false;
	}
	if (!exec_ok((PGconn *)store_conn(admin), sql, "dropping a scratch database", NULL)) {
		fprintf(stderr, "slactl whatif: drop it by hand: DROP DATABASE %s;\n", sc->name);
		return false;
	}
	sc->created = false;
	return true;
}

/* ---- output ---- */

static void print_change(long d, int width)
{
	if (d == 0)
		printf("%*s", width, "0");
	else
		printf("%+*ld", width, d);
}

static void print_text(const struct groups *gs, const char *cur_label, const struct sla_policy *cur,
		       const char *new_label, const struct sla_policy *new, const char *input, size_t nevents,
		       const struct replay_stats stats[NSIDES])
{
	/* One key column for every section, as wide as the longest key (rule codes reach 31). */
	int w = 16;
	for (size_t i = 0; i < gs->n; i++) {
		size_t len = strlen(gs->g[i].key);
		if (len > (size_t)w)
			w = len > 40 ? 40 : (int)len;
	}
	printf("what if: %s (policy %s) instead of %s (policy %s)\n", new_label, new->version, cur_label,
	       cur->version);
	printf("%zu events from %s, %zu tickets; dead letters: %zu current, %zu new\n", nevents, input,
	       stats[CUR].tickets, stats[CUR].dead_letters, stats[NEW].dead_letters);
	printf("milestones met and missed (BREACHED), by their breach code; violations PROVISIONAL or CONFIRMED\n");
	int last = -1;
	for (size_t i = 0; i < gs->n; i++) {
		const struct group *g = &gs->g[i];
		if ((int)g->dim != last) {
			last = (int)g->dim;
			printf("\n%-*s  %-20s %-20s %s\n", w, dim_title[g->dim], "milestones met", "milestones missed",
			       "violations");
			printf("%-*s", w, "");
			for (int m = 0; m < NMEASURES; m++)
				printf(" %7s%6s%7s", "current", "new", "change");
			printf("\n");
		}
		printf("%-*s", w, g->dim == D_TOTAL ? "all" : g->key[0] ? g->key : "(none)");
		for (int m = 0; m < NMEASURES; m++) {
			printf(" %7ld%6ld", g->n[CUR][m], g->n[NEW][m]);
			print_change(g->n[NEW][m] - g->n[CUR][m], 7);
		}
		printf("\n");
		if (g->tickets_changed) {
			printf("  %ld ticket%s changed", g->tickets_changed, g->tickets_changed == 1 ? "" : "s");
			for (size_t k = 0; k < g->nexamples; k++)
				printf("%s%s", k ? " " : ", e.g. ", g->examples[k]);
			printf("\n");
		}
	}
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_csv(const struct groups *gs)
{
	printf("section,key,met_current,met_new,met_change,missed_current,missed_new,missed_change,"
	       "violations_current,violations_new,violations_change,tickets_changed,examples\r\n");
	for (size_t i = 0; i < gs->n; i++) {
		const struct group *g = &gs->g[i];
		printf("%s,", dim_csv[g->dim]);
		csv_field(g->key);
		for (int m = 0; m < NMEASURES; m++)
			printf(",%ld,%ld,%ld", g->n[CUR][m], g->n[NEW][m], g->n[NEW][m] - g->n[CUR][m]);
		printf(",%ld,", g->tickets_changed);
		/* Ticket ids, space-separated, in one field. */
		size_t need = 1;
		for (size_t k = 0; k < g->nexamples; k++)
			need += strlen(g->examples[k]) + 1;
		char *ex = malloc(need);
		if (ex) {
			ex[0] = '\0';
			for (size_t k = 0; k < g->nexamples; k++) {
				if (k)
					strcat(ex, " ");
				strcat(ex, g->examples[k]);
			}
			csv_field(ex);
			free(ex);
		}
		printf("\r\n");
	}
}

/* ---- the command ---- */

/* --current's default, as slad decides: the file when it exists, else the built-in defaults. */
static struct sla_policy *load_policy(const char *path, bool optional, const char **label, char *err, size_t errlen)
{
	if (optional && access(path, F_OK) != 0 && errno == ENOENT) {
		*label = "the built-in defaults";
		struct sla_policy *pol = policy_copy_defaults();
		if (!pol)
			snprintf(err, errlen, "out of memory");
		return pol;
	}
	*label = path;
	return policy_load_file(path, err, errlen);
}

/* What the command line asked for. */
struct whatif_opts {
	const char *conninfo, *new_path, *cur_path, *format, *input;
	bool from_db;
	sla_time until;
	long examples;
};

/* Returns -1 when the options are good, else the exit status. */
static int whatif_parse_args(int argc, char **argv, struct whatif_opts *o)
{
	const char *until_arg = NULL;
	const struct slactl_option opts[] = {
		{"db", required_argument, &o->conninfo, 0},
		{"policies", required_argument, &o->new_path, 0},
		{"current", required_argument, &o->cur_path, 0},
		{"from-db", no_argument, NULL, 'F'},
		{"until", required_argument, &until_arg, 0},
		{"examples", required_argument, NULL, 'e'},
		{"format", required_argument, &o->format, 0},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c, optst = -1;

	memset(o, 0, sizeof(*o));
	o->format = "text";
	o->examples = 3;
	o->until = SLA_TIME_NONE;
	optind = 1;
	while ((c = slactl_getopt(argc, argv, "", opts, "whatif", whatif_usage, &optst)) != -1) {
		switch (c) {
		case 'F': o->from_db = true; break;
		case 'e':
			errno = 0;
			o->examples = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || o->examples < 0 || o->examples > 1000) {
				fprintf(stderr, "slactl whatif: --examples: expected a whole number from 0 to 1000\n");
				return 2;
			}
			break;
		}
	}
	if (optst >= 0)
		return optst;
	if (!o->new_path) {
		fprintf(stderr, "slactl whatif: --policies NEW.yaml is required\n");
		return 2;
	}
	if (strcmp(o->format, "text") != 0 && strcmp(o->format, "csv") != 0) {
		fprintf(stderr, "slactl whatif: --format: text or csv, not %s\n", o->format);
		return 2;
	}
	if (o->from_db ? optind != argc : optind + 1 != argc) {
		fprintf(stderr, "slactl whatif: expected one input: FILE, - or --from-db\n");
		return 2;
	}
	if (until_arg && !replay_parse_until(until_arg, &o->until)) {
		fprintf(stderr, "slactl whatif: --until: not an RFC 3339 time: %s\n", until_arg);
		return 2;
	}
	o->input = o->from_db ? "the archive of --db" : argv[optind];
	return -1;
}

/* One run: everything cmd_whatif acquires, freed by whatif_run_free. */
struct whatif_run {
	struct sla_policy *pol[NSIDES];
	const char *label[NSIDES];
	struct replay_event *evs;
	size_t n;
	struct store *admin;
	struct calendar_set cals;
	bool have_cals;
	struct scratch sc[NSIDES];
	struct replay_stats stats[NSIDES];
	struct groups gs;
	FILE *in;
	struct sigaction old[4];
	bool handlers;
};

static const int whatif_signals[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

/* A signal stops the run at the next event or statement; the scratch
 * databases are dropped on the way out. A second signal kills. */
static void whatif_signals_install(struct whatif_run *r)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		(void)sigaction(whatif_signals[i], &sa, &r->old[i]);
	/* A closed output pipe is an error to report, not a death that skips the cleanup. */
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	(void)sigaction(SIGPIPE, &sa, &r->old[3]);
	r->handlers = true;
}

static bool whatif_load_policies(struct whatif_run *r, const struct whatif_opts *o)
{
	char err[512];

	r->pol[CUR] = load_policy(o->cur_path ? o->cur_path : WHATIF_DEFAULT_POLICIES, !o->cur_path, &r->label[CUR], err,
				  sizeof(err));
	if (!r->pol[CUR]) {
		fprintf(stderr, "slactl whatif: --current: %s\n", err);
		return false;
	}
	r->pol[NEW] = load_policy(o->new_path, false, &r->label[NEW], err, sizeof(err));
	if (!r->pol[NEW]) {
		fprintf(stderr, "slactl whatif: --policies: %s\n", err);
		return false;
	}
	return true;
}

/* The events (from the file, or the archive of --db) in event-time order,
 * and --db's calendars when it has slad's schema. */
static bool whatif_load_events(struct whatif_run *r, const struct whatif_opts *o)
{
	char err[512];

	if (!o->from_db) {
		r->in = strcmp(o->input, "-") == 0 ? stdin : fopen(o->input, "r");
		if (!r->in) {
			fprintf(stderr, "slactl whatif: cannot open %s\n", o->input);
			return false;
		}
		if (!replay_read_events(r->in, "whatif", o->input, &r->evs, &r->n))
			return false;
	}
	r->admin = store_connect(o->conninfo ? o->conninfo : "", err, sizeof(err));
	if (!r->admin) {
		fprintf(stderr, "slactl whatif: postgres: %s\n", err);
		return false;
	}
	/* The daemon's calendars are --db's; a database without the schema (FILE
	 * only) leaves the compiled-in ones of the scratch databases. */
	if (store_migrations_current(r->admin, err, sizeof(err))) {
		if (!store_load_calendars(r->admin, &r->cals, err, sizeof(err))) {
			fprintf(stderr, "slactl whatif: calendars: %s\n", err);
			return false;
		}
		r->have_cals = true;
	} else if (o->from_db) {
		fprintf(stderr, "slactl whatif: schema: %s\n", err);
		return false;
	}
	if (o->from_db && !read_archive((PGconn *)store_conn(r->admin), &r->evs, &r->n))
		return false;
	replay_sort_events(r->evs, r->n);
	return true;
}

/* Each policy's replay into a scratch database of its own, then the two
 * compared into r->gs; the scratch databases are dropped before any output
 * (a reader that stops reading early cannot leave them behind). */
static bool whatif_evaluate(struct whatif_run *r, const struct whatif_opts *o)
{
	char err[512];

	for (int s = 0; s < NSIDES; s++) {
		if (whatif_stop) {
			fprintf(stderr, "slactl whatif: interrupted\n");
			return false;
		}
		if (!scratch_create(r->admin, &r->sc[s], side_name[s]))
			return false;
		if (!r->have_cals) {
			if (!store_load_calendars(r->sc[s].st, &r->cals, err, sizeof(err))) {
				fprintf(stderr, "slactl whatif: calendars: %s\n", err);
				return false;
			}
			r->have_cals = true;
		}
		if (!replay_apply(r->sc[s].st, r->pol[s], &r->cals, r->evs, r->n, o->until, &whatif_stop, "whatif",
				  &r->stats[s]))
			return false;
	}
	if (!compare_results(r->sc[CUR].st, r->sc[NEW].st, &r->gs))
		return false;
	for (int s = 0; s < NSIDES; s++)
		if (!scratch_drop(r->admin, &r->sc[s]))
			return false;
	/* No results at all still has a total (of zeros). */
	if (!groups_get(&r->gs, D_TOTAL, "all") || !r->gs.g) {
		fprintf(stderr, "slactl whatif: out of memory\n");
		return false;
	}
	qsort(r->gs.g, r->gs.n, sizeof(*r->gs.g), group_order);
	return true;
}

static bool whatif_print(const struct whatif_run *r, const struct whatif_opts *o)
{
	if (strcmp(o->format, "csv") == 0)
		print_csv(&r->gs);
	else
		print_text(&r->gs, r->label[CUR], r->pol[CUR], r->label[NEW], r->pol[NEW], o->input, r->n, r->stats);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "slactl whatif: writing the output: %s\n", strerror(errno));
		return false;
	}
	fprintf(stderr, "whatif: %zu events, %zu tickets; current: %zu applied, %zu dead letters; new: %zu applied,"
			" %zu dead letters\n",
		r->n, r->stats[CUR].tickets, r->stats[CUR].applied, r->stats[CUR].dead_letters, r->stats[NEW].applied,
		r->stats[NEW].dead_letters);
	return true;
}

/* Frees what the run holds; false if a scratch database could not be dropped. */
static bool whatif_run_free(struct whatif_run *r)
{
	bool ok = true;

	for (int s = 0; s < NSIDES; s++)
		if (r->admin && !scratch_drop(r->admin, &r->sc[s]))
			ok = false;
	if (r->handlers)
		for (int i = 0; i < 4; i++)
			(void)sigaction(whatif_signals[i], &r->old[i], NULL);
	groups_free(&r->gs);
	replay_free_events(r->evs, r->n);
	for (int s = 0; s < NSIDES; s++)
		policy_free(r->pol[s]);
	calendar_set_free(&r->cals);
	store_free(r->admin);
	if (r->in && r->in != stdin)
		fclose(r->in);
	return ok;
}

int cmd_whatif(int argc, char **argv)
{
	struct whatif_opts o;
	struct whatif_run r;
	int rc = whatif_parse_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.gs.max_examples = (size_t)o.examples;
	rc = 1;
	if (whatif_load_policies(&r, &o)) {
		whatif_signals_install(&r);
		if (whatif_load_events(&r, &o) && whatif_evaluate(&r, &o) && whatif_print(&r, &o))
			rc = 0;
	}
	if (!whatif_run_free(&r))
		rc = 1;
	return rc;
}
