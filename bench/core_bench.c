/* core_bench.c - the core cost benchmark (B2): decode + state machine + rules of a realistic stream, no I/O.
 *
 * Not a test. Reads JSON Lines events (slactl gen days), packs them to
 * protobuf beforehand, then hands every message, in file order (late
 * clock-ins arrive late), to core_apply_raw at a processing clock that is
 * the largest occurred_at so far, as a caught-up daemon's would be.
 * bench/run.sh runs it under callgrind collecting only inside
 * core_apply_raw (--toggle-collect): total instructions / events is the
 * cost of decoding, checking and applying one event, deadlines that pass
 * on the way included. What the store would write is dropped every
 * 1000 events, outside the measured function.
 *
 * usage: core_bench ZONEINFO SCHEMA_DIR FILE...
 * Prints one line: events, verdicts, tickets, timers and wall ns/event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_core.h"
#include "slad/core.h"
#include "slad/jsonl.h"
#include "slad/policy.h"

#define CLEAR_EVERY 1000

struct events {
	struct jsonl_event *ev;
	size_t n, cap;
};

static bool read_file(const char *path, struct events *evs)
{
	char *line = NULL, err[512];
	size_t lcap = 0;
	ssize_t got;
	long lineno = 0;
	bool ok = true;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return false;
	}
	while (ok && (got = getline(&line, &lcap, f)) >= 0) {
		lineno++;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (got == 0)
			continue;
		if (!array_grow_from((void **)&evs->ev, &evs->cap, evs->n + 1, sizeof(*evs->ev), 4096)) {
			ok = false;
			break;
		}
		if (!jsonl_parse_event(line, &evs->ev[evs->n], err, sizeof(err))) {
			fprintf(stderr, "%s:%ld: %s\n", path, lineno, err);
			ok = false;
			break;
		}
		evs->n++;
	}
	free(line);
	fclose(f);
	return ok;
}

static double wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The daemon reads a re-derived ticket's events from sla.ticket_events; these
 * events never need it (work orders come in order). */
static bool no_history(void *arg, const char *ticket_id, uint8_t **log, size_t *len)
{
	(void)arg;
	(void)ticket_id;
	*log = NULL;
	*len = 0;
	return false;
}

int main(int argc, char **argv)
{
	struct events evs = {0};
	struct calendar_set cals = {0};
	struct sla_core *core = NULL;
	struct sla_out out;
	size_t verdicts[SV_OVERSIZE + 1] = {0}, skipped = 0;
	int rc = 1;
	core_out_init(&out);
	if (argc < 4) {
		fprintf(stderr, "usage: %s ZONEINFO SCHEMA_DIR FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 3; i < argc; i++)
		if (!read_file(argv[i], &evs))
			goto done;
	if (!bench_calendars(&cals, argv[1], argv[2]))
		goto done;
	core = core_new(policy_defaults(), &cals);
	if (!core)
		goto done;
	/* As the daemon's cores: the archive is the history source, no event log in memory. */
	core_set_history(core, no_history, NULL);

	sla_time clock = SLA_TIME_NONE;
	double t0 = wall_ns(), applying = 0;
	for (size_t i = 0; i < evs.n; i++) {
		const struct jsonl_event *e = &evs.ev[i];
		if (e->topic == TOPIC_ASSESSMENTS) { /* partner scoring, not the ticket core */
			skipped++;
			continue;
		}
		struct sla_origin origin = {topic_default_name(e->topic), 0, (int64_t)i, e->payload, e->len, 0};
		if (clock == SLA_TIME_NONE || e->occurred_at > clock)
			clock = e->occurred_at;
		double a = wall_ns();
		enum sla_verdict v = core_apply_raw(core, &origin, clock, &out);
		applying += wall_ns() - a;
		verdicts[v]++;
		if ((i + 1) % CLEAR_EVERY == 0)
			core_out_clear(&out);
	}
	core_out_clear(&out);
	double total = wall_ns() - t0;
	size_t dead = 0, measured = evs.n - skipped;
	for (int v = SV_DECODE_ERROR; v <= SV_OVERSIZE; v++)
		dead += verdicts[v];
	printf("events %zu applied %zu duplicates %zu held %zu dead_letters %zu skipped %zu tickets %zu timers %zu "
	       "ns_per_event %.0f loop_ns_per_event %.0f\n",
	       measured, verdicts[SV_APPLIED], verdicts[SV_DUPLICATE], verdicts[SV_HELD], dead, skipped,
	       core_ticket_count(core), core_timer_count(core), measured ? applying / (double)measured : 0,
	       measured ? total / (double)measured : 0);
	rc = measured > 0 && verdicts[SV_APPLIED] > 0 ? 0 : 1;
done:
	for (size_t i = 0; i < evs.n; i++)
		jsonl_event_clear(&evs.ev[i]);
	free(evs.ev);
	core_out_free(&out);
	core_free(core);
	calendar_set_free(&cals);
	return rc;
}
