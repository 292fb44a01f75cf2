/* partners_fixture.c - drives the scoring core and store_partners the way the
 * daemon does, for the integration tests: JSON Lines assessment events in
 * event-time order through partners_apply, then one store_commit whose batch
 * hook writes the partner rows (until `slactl replay` scores by itself).
 *
 * usage: slad_partners_fixture --db CONNINFO [--until TIME|now] [--restart-after N] FILE
 *   --restart-after N  commit after N events, drop the in-memory state and
 *                      reload it from sla.partner_state before going on
 * Exit 0 when everything committed and the state reloaded from the database
 * equals the state in memory. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slad/core.h"
#include "slad/jsonl.h"
#include "slad/scoring.h"
#include "slad/store.h"
#include "slad/store_partners.h"

struct line_event {
	struct jsonl_event ev;
	long line;
};

static int by_time(const void *a, const void *b)
{
	const struct line_event *x = a, *y = b;
	if (x->ev.occurred_at != y->ev.occurred_at)
		return (x->ev.occurred_at > y->ev.occurred_at) - (x->ev.occurred_at < y->ev.occurred_at);
	return (x->line > y->line) - (x->line < y->line);
}

static bool commit(struct store *st, struct sla_out *out, struct partners_out *pout)
{
	char err[512];
	enum store_result r = store_commit(st, "", out, NULL, 0, NULL, err, sizeof(err));
	core_out_clear(out);
	partners_out_clear(pout);
	if (r != STORE_OK)
		fprintf(stderr, "partners_fixture: commit: %s\n", err);
	return r == STORE_OK;
}

/* Every partner of `ids` encodes the same in both. */
static bool same_state(const struct partners *a, const struct partners *b, char (*ids)[65], size_t nids)
{
	for (size_t i = 0; i < nids; i++) {
		const struct partner *x = partners_find(a, ids[i]), *y = partners_find(b, ids[i]);
		uint8_t *bx = NULL, *by = NULL;
		size_t lx = 0, ly = 0;
		bool same;
		if (!x && !y)
			continue;
		if (!x || !y || !partner_encode(x, &bx, &lx) || !partner_encode(y, &by, &ly)) {
			free(bx);
			fprintf(stderr, "partners_fixture: partner %s missing after reload\n", ids[i]);
			return false;
		}
		same = lx == ly && memcmp(bx, by, lx) == 0;
		free(bx);
		free(by);
		if (!same) {
			fprintf(stderr, "partners_fixture: partner %s differs after reload\n", ids[i]);
			return false;
		}
	}
	if (partners_timer_count(a) != partners_timer_count(b)) {
		fprintf(stderr, "partners_fixture: %zu timers in memory, %zu after reload\n", partners_timer_count(a),
			partners_timer_count(b));
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"until", required_argument, NULL, 'u'},
					     {"restart-after", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *conninfo = "", *until_arg = NULL;
	long restart_after = -1;
	char err[512], detail[256], *line = NULL;
	char(*ids)[65] = NULL;
	size_t nids = 0, n = 0, cap = 0, lcap = 0, applied = 0, dead = 0, dups = 0;
	struct line_event *evs = NULL;
	struct store *st = NULL;
	struct partners *ps = NULL, *check = NULL;
	struct sla_out out;
	struct partners_out pout;
	FILE *in = NULL;
	sla_time until = SLA_TIME_NONE, clock = SLA_TIME_NONE;
	long lineno = 0;
	ssize_t got;
	int c, rc = 1;

	core_out_init(&out);
	partners_out_init(&pout);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': conninfo = optarg; break;
		case 'u': until_arg = optarg; break;
		case 'r': restart_after = strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: %s --db CONNINFO [--until TIME|now] [--restart-after N] FILE\n", argv[0]);
		return 2;
	}
	if (until_arg && strcmp(until_arg, "now") == 0)
		until = (sla_time)time(NULL) * 1000;
	else if (until_arg && !rfc3339_parse(until_arg, &until))
		return 2;
	in = fopen(argv[optind], "r");
	if (!in) {
		fprintf(stderr, "partners_fixture: cannot open %s\n", argv[optind]);
		return 1;
	}
	while ((got = getline(&line, &lcap, in)) >= 0) {
		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)got)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct line_event *ne = realloc(evs, cap * sizeof(*ne));
			char(*ni)[65] = realloc(ids, cap * sizeof(*ni));
			if (ni)
				ids = ni;
			if (!ne || !ni) {
				free(ne ? ne : evs);
				evs = NULL;
				goto done;
			}
			evs = ne;
		}
		if (!jsonl_parse_event(line, &evs[n].ev, err, sizeof(err))) {
			fprintf(stderr, "partners_fixture: line %ld: %s\n", lineno, err);
			goto done;
		}
		evs[n].line = lineno;
		snprintf(ids[nids++], 65, "%s", evs[n].ev.key);
		n++;
	}
	qsort(evs, n, sizeof(*evs), by_time);

	st = store_connect(conninfo, err, sizeof(err));
	if (!st || !store_migrations_current(st, err, sizeof(err))) {
		fprintf(stderr, "partners_fixture: postgres: %s\n", err);
		goto done;
	}
	store_set_batch_hook(st, store_partners_hook, &pout);
	ps = partners_new(0);
	if (!ps)
		goto done;
	for (size_t i = 0; i < n; i++) {
		Slad__V1__Event *ev = NULL;
		enum sla_verdict v;

		clock = evs[i].ev.occurred_at;
		v = event_decode(evs[i].ev.payload, evs[i].ev.len, &ev, detail, sizeof(detail));
		if (v == SV_APPLIED)
			v = partners_apply(ps, ev, clock, &pout, detail, sizeof(detail));
		if (ev)
			sla_event_free(ev);
		if (verdict_is_dead_letter(v)) {
			dead++;
			if (!core_out_dead(&out, "fsm.assessments", 0, evs[i].line, v, detail, evs[i].ev.payload,
					   evs[i].ev.len))
				goto done;
		} else if (v == SV_DUPLICATE) {
			dups++;
		} else {
			applied++;
		}
		if ((long)i + 1 == restart_after) {
			/* A restart: what was committed is all there is. */
			if (!commit(st, &out, &pout))
				goto done;
			partners_free(ps);
			ps = partners_new(0);
			if (!ps || !store_partners_load(st, 0, ps, NULL, NULL, err, sizeof(err))) {
				fprintf(stderr, "partners_fixture: reload: %s\n", err);
				goto done;
			}
		}
	}
	partners_advance(ps, until != SLA_TIME_NONE ? until : clock, &pout);
	if (!commit(st, &out, &pout))
		goto done;

	check = partners_new(0);
	if (!check || !store_partners_load(st, 0, check, NULL, NULL, err, sizeof(err))) {
		fprintf(stderr, "partners_fixture: reload: %s\n", err);
		goto done;
	}
	if (!same_state(ps, check, ids, nids))
		goto done;
	fprintf(stderr, "partners: %zu events, %zu applied, %zu duplicates, %zu dead letters, %zu partners, %zu timers\n",
		n, applied, dups, dead, partners_count(ps), partners_timer_count(ps));
	rc = 0;
done:
	for (size_t i = 0; i < n; i++)
		jsonl_event_clear(&evs[i].ev);
	free(evs);
	free(ids);
	free(line);
	core_out_free(&out);
	partners_out_free(&pout);
	partners_free(ps);
	partners_free(check);
	store_free(st);
	if (in)
		fclose(in);
	return rc;
}
