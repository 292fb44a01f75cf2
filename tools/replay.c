/* replay.c - `slactl replay`: the daemon's core, offline, in event-time order, writing the same tables. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "slactl.h"
#include "slad/core.h"
#include "slad/engine.h"
#include "slad/jsonl.h"
#include "slad/policy.h"
#include "slad/policy_file.h"
#include "slad/scoring.h"
#include "slad/store.h"
#include "slad/store_partners.h"
#include "slad/store_writer.h"

/* Events per transaction. Larger batches write a ticket's rows fewer
 * times (a ticket's events span about a day); the ticket states are written
 * once, with the last batch (sla_out.defer_state): replay owns no offsets,
 * so a failed run is simply run again. While one batch commits (the writer
 * thread below), the next is applied. 100,000 rather than 50,000: at 1 M
 * events 672 rather than 696 WAL bytes per event (fewer rows written twice
 * across batches) in the same time; 200,000 writes 658 but takes 15 % longer,
 * since the first and last batches do not overlap with a commit. */
#define REPLAY_BATCH 100000
static size_t replay_batch = REPLAY_BATCH; /* --batch */

static int by_time(const void *a, const void *b)
{
	const struct replay_event *x = a, *y = b;
	if (x->ev.occurred_at != y->ev.occurred_at)
		return (x->ev.occurred_at > y->ev.occurred_at) - (x->ev.occurred_at < y->ev.occurred_at);
	return (x->line > y->line) - (x->line < y->line); /* ties in input order */
}

static void replay_usage(FILE *f)
{
	fprintf(f, "usage: slactl replay --db CONNINFO [--until TIME|now] [--policies FILE] [--batch N] FILE|-\n"
		   "Evaluates JSON Lines events with the daemon's core in event-time order and writes\n"
		   "milestones, violations and dead letters to the database. At the end the clock moves\n"
		   "to --until (default: the largest occurred_at of the input). --policies evaluates with\n"
		   "another policy file (\"what if this policy had applied\"); default: the built-in rules.md.\n"
		   "--batch: events per transaction (default 100000).\n");
}

bool replay_parse_until(const char *arg, sla_time *until)
{
	if (strcmp(arg, "now") == 0) {
		*until = (sla_time)time(NULL) * 1000;
		return true;
	}
	return rfc3339_parse(arg, until);
}

/* The input's lines are parsed on this many threads (json-c's tokenizer is
 * most of the work, and PostgreSQL has nothing to do yet). */
#define REPLAY_PARSE_THREADS 2

struct parse_part {
	char **lines;
	long *linenos;
	struct replay_event *evs;
	size_t from, to; /* [from, to) of lines and evs */
	size_t bad;      /* the first line that did not parse (index), or to */
	char err[512];
};

static void *parse_part(void *arg)
{
	struct parse_part *p = arg;
	struct jsonl_parser *jp = jsonl_parser_new();

	p->bad = p->to;
	if (jp == NULL && p->from < p->to) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		p->bad = p->from;
		return NULL;
	}
	for (size_t i = p->from; i < p->to; i++) {
		if (!jsonl_parse_event_with(jp, p->lines[i], &p->evs[i].ev, p->err, sizeof(p->err))) {
			p->bad = i;
			break;
		}
		p->evs[i].line = p->linenos[i];
	}
	jsonl_parser_free(jp);
	return NULL;
}

/* The whole input into *buf (one byte to spare), its length in *blen; the
 * caller frees *buf either way. */
static bool read_input(FILE *in, const char *prog, const char *name, char **buf, size_t *blen)
{
	size_t bcap = 0;
	struct stat sb;

	/* A file: its size at once, not a buffer doubled (and copied) up to it. */
	if (fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    (uint64_t)sb.st_size < SIZE_MAX / 2) {
		bcap = (size_t)sb.st_size + 65536;
		if ((*buf = malloc(bcap + 1)) == NULL) {
			fprintf(stderr, "slactl %s: out of memory\n", prog);
			return false;
		}
	}
	for (;;) {
		if (bcap - *blen < 65536) {
			bcap = bcap ? bcap * 2 : 1 << 20;
			char *nb = realloc(*buf, bcap + 1);
			if (!nb) {
				fprintf(stderr, "slactl %s: out of memory\n", prog);
				return false;
			}
			*buf = nb;
		}
		size_t got = fread(*buf + *blen, 1, bcap - *blen, in);
		*blen += got;
		if (got == 0)
			break;
	}
	if (ferror(in)) {
		fprintf(stderr, "slactl %s: %s: read error\n", prog, name);
		return false;
	}
	return true;
}

/* The input's non-blank lines, terminated in place, with their line numbers;
 * false: out of memory (the caller frees *lines and *linenos either way). */
static bool split_lines(char *buf, size_t blen, char ***lines, long **linenos, size_t *len)
{
	size_t cap = 0;
	long lineno = 0;

	for (size_t at = 0; at < blen;) {
		char *line = buf + at;
		char *nl = memchr(line, '\n', blen - at);
		size_t got = nl ? (size_t)(nl - line) : blen - at;

		at += got + 1;
		lineno++;
		line[got] = '\0'; /* buf has room for one more byte */
		while (got > 0 && line[got - 1] == '\r')
			line[--got] = '\0';
		if (strspn(line, " \t") == got)
			continue;
		if (*len == cap) {
			cap = cap ? cap * 2 : 1024;
			char **nls = realloc(*lines, cap * sizeof(*nls));
			if (nls)
				*lines = nls;
			long *nns = realloc(*linenos, cap * sizeof(*nns));
			if (nns)
				*linenos = nns;
			if (!nls || !nns)
				return false;
		}
		(*lines)[*len] = line;
		(*linenos)[(*len)++] = lineno;
	}
	return true;
}

/* The lines parsed into events on REPLAY_PARSE_THREADS threads; the first
 * bad line in input order fails it all (what parsed is freed). */
static bool parse_lines(char **lines, long *linenos, size_t len, const char *prog, const char *name,
			struct replay_event **out, size_t *n)
{
	struct replay_event *evs = calloc(len, sizeof(*evs));
	struct parse_part parts[REPLAY_PARSE_THREADS];
	pthread_t threads[REPLAY_PARSE_THREADS];
	bool started[REPLAY_PARSE_THREADS] = {false};
	bool ok = true;

	if (!evs) {
		fprintf(stderr, "slactl %s: out of memory\n", prog);
		return false;
	}
	for (size_t t = 0; t < REPLAY_PARSE_THREADS; t++) {
		parts[t] = (struct parse_part){lines, linenos, evs, len * t / REPLAY_PARSE_THREADS,
					       len * (t + 1) / REPLAY_PARSE_THREADS, 0, ""};
		/* The last part on this thread, the others on their own (here if one does not start). */
		if (t + 1 < REPLAY_PARSE_THREADS)
			started[t] = pthread_create(&threads[t], NULL, parse_part, &parts[t]) == 0;
		if (!started[t])
			parse_part(&parts[t]);
	}
	for (size_t t = 0; t < REPLAY_PARSE_THREADS; t++)
		if (started[t])
			pthread_join(threads[t], NULL);
	for (size_t t = 0; t < REPLAY_PARSE_THREADS && ok; t++) {
		if (parts[t].bad < parts[t].to) {
			fprintf(stderr, "slactl %s: %s:%ld: %s\n", prog, name, linenos[parts[t].bad], parts[t].err);
			ok = false;
		}
	}
	if (!ok) {
		for (size_t t = 0; t < REPLAY_PARSE_THREADS; t++)
			for (size_t i = parts[t].from; i < parts[t].bad; i++)
				jsonl_event_clear(&evs[i].ev);
		free(evs);
		return false;
	}
	*out = evs;
	*n = len;
	return true;
}

bool replay_read_events(FILE *in, const char *prog, const char *name, struct replay_event **out, size_t *n)
{
	char *buf = NULL;
	char **lines = NULL;
	long *linenos = NULL;
	size_t blen = 0, len = 0;
	bool ok = false;

	*out = NULL;
	*n = 0;
	if (!read_input(in, prog, name, &buf, &blen))
		goto done;
	if (!split_lines(buf, blen, &lines, &linenos, &len)) {
		fprintf(stderr, "slactl %s: out of memory\n", prog);
		goto done;
	}
	ok = len == 0 || parse_lines(lines, linenos, len, prog, name, out, n);
done:
	free(buf);
	free(lines);
	free(linenos);
	return ok;
}

void replay_sort_events(struct replay_event *evs, size_t n)
{
	if (n > 1)
		qsort(evs, n, sizeof(*evs), by_time);
}

void replay_free_events(struct replay_event *evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jsonl_event_clear(&evs[i].ev);
	free(evs);
}

/* Events are applied in event-time order: no ticket is ever re-derived, so
 * none keeps an event log (the daemon's cores read theirs back from
 * sla.ticket_events, which replay writes too). */
static bool no_history(void *arg, const char *ticket_id, uint8_t **log, size_t *len)
{
	(void)arg;
	(void)ticket_id;
	*log = NULL;
	*len = 0;
	return false;
}

/* Dates outside a calendar's loaded years were treated as Monday-Friday: say so, once each. */
static void report_unloaded_years(const char *prog, const struct calendar_set *cals)
{
	int years[64];
	for (size_t i = 0; i < cals->ncals; i++) {
		size_t n = calendar_take_unloaded_years(&cals->cals[i], years, 64);
		for (size_t k = 0; k < n; k++)
			fprintf(stderr,
				"slactl %s: calendar %s has no data for %d (loaded %d-%d): treated as Monday-Friday\n",
				prog, cals->cals[i].id, years[k], cals->cals[i].first_year, cals->cals[i].last_year);
	}
}

/* The commits of replay run on a thread of their own, so that PostgreSQL
 * writes batch k while the core applies batch k+1 (store_rows_build copies
 * a batch's rows out of the core first). One commit at a time, in order. */
/* One run of replay_apply: the core, the partners and the writer. */
struct replay_run {
	struct store *st;
	const struct sla_policy *pol;
	const char *prog;
	struct replay_stats *stats;
	struct sla_engine eng; /* every partition's tickets and partners in one */
	struct partners_out pout;
	struct sla_out out;
	struct store_writer *w; /* commits one batch while the next is applied */
	bool submitted;         /* a batch was handed to it and not waited for */
	struct store_new_rows *new_rows;
	bool indexes_deferred; /* built again by replay_cleanup */
	char err[512];
};

/* Builds what a replay deferred (this one's or an interrupted one's). */
static bool replay_indexes_restore(struct replay_run *r)
{
	int n = 0;

	if (store_indexes_restore(r->st, &n, r->err, sizeof(r->err)))
		return true;
	fprintf(stderr, "slactl %s: %s (`slad migrate` builds them)\n", r->prog, r->err);
	return false;
}

/* Into empty tables, the secondary indexes no write reads are dropped and
 * built after the last batch (schema/0012): when the role may (the tables'
 * owner; otherwise they stay, and so does the cost). Into tables with rows,
 * what an interrupted replay dropped is built first: upserts go on. */
static bool replay_indexes_setup(struct replay_run *r, bool empty)
{
	char err[512];
	int n = 0;

	if (!empty)
		return replay_indexes_restore(r);
	r->indexes_deferred = store_indexes_defer(r->st, &n, err, sizeof(err));
	return true;
}

/* The core, the partners and the writer thread; into empty tables, rows
 * go by COPY (store_rows_build). */
static bool replay_setup(struct replay_run *r, const struct calendar_set *cals)
{
	r->eng.tickets = core_new(r->pol, cals);
	r->eng.partners = partners_new(0);
	if (!r->eng.tickets || !r->eng.partners) {
		fprintf(stderr, "slactl %s: out of memory\n", r->prog);
		return false;
	}
	core_set_history(r->eng.tickets, no_history, NULL);
	bool empty = false;
	if (!store_tables_empty(r->st, &empty, r->err, sizeof(r->err))) {
		fprintf(stderr, "slactl %s: %s\n", r->prog, r->err);
		return false;
	}
	if (empty && (r->new_rows = store_new_rows_new()) == NULL) {
		fprintf(stderr, "slactl %s: out of memory\n", r->prog);
		return false;
	}
	if (!replay_indexes_setup(r, empty))
		return false;
	r->w = store_writer_new(r->st, -1, r->err, sizeof(r->err));
	if (!r->w) {
		fprintf(stderr, "slactl %s: %s\n", r->prog, r->err);
		return false;
	}
	return true;
}

/* false: the deferred indexes could not be built. */
static bool replay_cleanup(struct replay_run *r)
{
	store_writer_free(r->w);
	bool ok = !r->indexes_deferred || replay_indexes_restore(r);
	store_new_rows_free(r->new_rows);
	core_out_free(&r->out);
	engine_drop(&r->eng, HALF_TICKETS);
	partners_out_free(&r->pout); /* it points into the partners */
	engine_drop(&r->eng, HALF_PARTNERS);
	return ok;
}

/* One event: what slad would dead-letter is dead-lettered here, and does
 * not move the clock. */
static enum sla_verdict replay_event_apply(struct replay_run *r, const struct replay_event *e, sla_time future_limit,
					   sla_time *clock)
{
	struct sla_origin origin = {topic_default_name(e->ev.topic), 0, e->line, e->ev.payload, e->ev.len, 0};
	char detail[256] = "";
	enum sla_verdict v = event_validate(e->ev.payload, e->ev.len, future_limit, detail, sizeof(detail));

	if (v != SV_APPLIED) {
		(void)core_out_dead(&r->out, origin.topic, origin.partition, origin.offset, v, detail, origin.payload,
				    origin.len);
	} else {
		*clock = e->ev.occurred_at;
		v = engine_apply_raw(&r->eng, e->ev.topic, &origin, *clock, &(struct sla_effects){&r->out, &r->pout});
	}
	return v;
}

/* The batch handed to the writer is committed; false (reported) when it failed. */
static bool replay_wait(struct replay_run *r)
{
	if (!r->submitted)
		return true;
	r->submitted = false;
	if (store_writer_wait(r->w, r->err, sizeof(r->err), NULL) == STORE_OK)
		return true;
	fprintf(stderr, "slactl %s: commit: %s\n", r->prog, r->err);
	return false;
}

/* A batch's rows to the writer; last: the final batch, advanced to end
 * and with the ticket states. */
static bool replay_commit_batch(struct replay_run *r, bool last, sla_time end)
{
	if (last && end != SLA_TIME_NONE) {
		for (enum engine_half h = HALF_TICKETS; h < HALF_COUNT; h++)
			engine_advance(&r->eng, h, end, &(struct sla_effects){&r->out, &r->pout});
	}
	r->stats->dead_letters += r->out.ndead;
	if (last && !core_out_take_states(&r->out)) {
		fprintf(stderr, "slactl %s: out of memory\n", r->prog);
		return false;
	}
	struct store_job job = {.group = ""};
	job.rows = store_rows_build(&r->out, r->pol->version, r->new_rows, r->err, sizeof(r->err));
	if (job.rows && (!partners_out_empty(&r->pout) || r->pout.oom))
		job.partners = store_partners_build(&r->pout, r->err, sizeof(r->err));
	if (job.rows == NULL || (job.partners == NULL && (!partners_out_empty(&r->pout) || r->pout.oom))) {
		fprintf(stderr, "slactl %s: commit: %s\n", r->prog, r->err);
		store_rows_free(job.rows);
		return false;
	}
	if (!replay_wait(r)) {
		store_rows_free(job.rows);
		store_partners_rows_free(job.partners);
		return false;
	}
	/* A row was there after all: the rest goes the usual way. */
	if (r->new_rows && store_copy_conflicts(r->st) > 0) {
		store_new_rows_free(r->new_rows);
		r->new_rows = NULL;
	}
	store_writer_submit(r->w, &job);
	r->submitted = true;
	core_out_clear(&r->out);
	partners_out_clear(&r->pout); /* copied into job.partners */
	return true;
}

/* Every event in order, a batch committed every replay_batch events (--batch) and
 * after the last. */
static bool replay_events(struct replay_run *r, const struct replay_event *evs, size_t n, sla_time until,
			  const volatile sig_atomic_t *stop)
{
	sla_time clock = SLA_TIME_NONE;
	const sla_time future_limit = (sla_time)time(NULL) * 1000 + SLA_DAY; /* as slad's */

	for (size_t i = 0; i < n; i++) {
		if (stop && *stop) {
			fprintf(stderr, "slactl %s: interrupted\n", r->prog);
			return false;
		}
		enum sla_verdict v = replay_event_apply(r, &evs[i], future_limit, &clock);
		if (v == SV_DUPLICATE)
			r->stats->duplicates++;
		else if (!verdict_is_dead_letter(v))
			r->stats->applied++;
		if (((i + 1) % replay_batch == 0 || i + 1 == n) &&
		    !replay_commit_batch(r, i + 1 == n, until != SLA_TIME_NONE ? until : clock))
			return false;
	}
	return true;
}

bool replay_apply(struct store *st, const struct sla_policy *pol, const struct calendar_set *cals,
		  const struct replay_event *evs, size_t n, sla_time until, const volatile sig_atomic_t *stop,
		  const char *prog, struct replay_stats *stats)
{
	struct replay_run r = {.st = st, .pol = pol, .prog = prog, .stats = stats};
	bool ok = false;

	core_out_init(&r.out);
	r.out.defer_state = true;
	partners_out_init(&r.pout);
	memset(stats, 0, sizeof(*stats));

	if (!replay_setup(&r, cals) || !replay_events(&r, evs, n, until, stop))
		goto done;
	if (!replay_wait(&r))
		goto done;
	report_unloaded_years(prog, cals);
	if (n == 0 && until != SLA_TIME_NONE)
		core_advance(r.eng.tickets, until, &r.out);
	stats->tickets = core_ticket_count(r.eng.tickets);
	ok = true;
done:
	if (!replay_cleanup(&r))
		ok = false;
	return ok;
}

int cmd_replay(int argc, char **argv)
{
	const char *conninfo = NULL, *until_arg = NULL, *policies = NULL, *batch_arg = NULL;
	const struct slactl_option opts[] = {
		{"db", required_argument, &conninfo, 0},
		{"until", required_argument, &until_arg, 0},
		{"policies", required_argument, &policies, 0},
		{"batch", required_argument, &batch_arg, 0},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	int rc = 1, optst;
	struct replay_event *evs = NULL;
	size_t n = 0;
	struct store *st = NULL;
	struct sla_policy *pol = NULL;
	struct calendar_set cals = {0};
	struct replay_stats stats;
	FILE *in = NULL;

	optst = slactl_parse_options(argc, argv, opts, "replay", replay_usage);
	if (optst >= 0)
		return optst;
	const char *name = slactl_one_operand(argc, argv, "replay", "one input file (or -)");
	if (!name)
		return 2;
	sla_time until = SLA_TIME_NONE;
	if (until_arg && !replay_parse_until(until_arg, &until)) {
		fprintf(stderr, "slactl replay: --until: not an RFC 3339 time: %s\n", until_arg);
		return 2;
	}
	long batch = REPLAY_BATCH;
	if (batch_arg && !slactl_parse_count("replay", "--batch", batch_arg, 10000000, &batch))
		return 2;
	replay_batch = (size_t)batch;
	pol = policies ? policy_load_file(policies, err, sizeof(err)) : policy_copy_defaults();
	if (!pol) {
		fprintf(stderr, "slactl replay: %s\n", policies ? err : "out of memory");
		return 1;
	}
	in = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
	if (!in) {
		fprintf(stderr, "slactl replay: cannot open %s\n", name);
		policy_free(pol);
		return 1;
	}
	if (!replay_read_events(in, "replay", name, &evs, &n))
		goto done;
	replay_sort_events(evs, n);

	st = store_connect(conninfo ? conninfo : "", err, sizeof(err));
	if (!st) {
		fprintf(stderr, "slactl replay: postgres: %s\n", err);
		goto done;
	}
	if (!store_migrations_current(st, err, sizeof(err))) {
		fprintf(stderr, "slactl replay: schema: %s (run `slad migrate`)\n", err);
		goto done;
	}
	if (!store_load_calendars(st, &cals, err, sizeof(err))) {
		fprintf(stderr, "slactl replay: calendars: %s\n", err);
		goto done;
	}
	if (!replay_apply(st, pol, &cals, evs, n, until, NULL, "replay", &stats))
		goto done;
	fprintf(stderr, "replayed %zu events: %zu applied, %zu duplicates, %zu dead letters, %zu tickets\n", n,
		stats.applied, stats.duplicates, stats.dead_letters, stats.tickets);
	rc = 0;
done:
	replay_free_events(evs, n);
	policy_free(pol);
	calendar_set_free(&cals);
	store_free(st);
	if (in && in != stdin)
		fclose(in);
	return rc;
}
