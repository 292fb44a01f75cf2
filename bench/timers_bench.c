/* timers_bench.c - the timers benchmark (B3): memory per open ticket and deadline firing lag, in the core.
 *
 * Not a test. No Kafka, no PostgreSQL: one core, as one partition of slad
 * holds it.
 *   memory  The core is set up (policies, the CN calendar), the resident set
 *           is read from /proc/self/statm, then the events of N open tickets
 *           (`gen_open recovery N NOW`, read through a pipe, each applied as
 *           it is parsed, at a processing clock of its occurred_at) are
 *           applied; every ticket keeps RESERVATION and ARRIVAL open with
 *           their deadlines (and escalations) armed 20-30 days ahead. Then the
 *           resident set again: (after - before) / N is the memory per open
 *           ticket. malloc's bytes in use (mallinfo2) are printed too.
 *   lag     With the N tickets still held, K more tickets whose ARRIVAL
 *           deadlines fall LEAD_MS + i * WINDOW_MS / K after now
 *           (`gen_open latency`) are applied at the wall clock; then a live
 *           loop like slad's timer module: sleep until the core's earliest
 *           due time (core_next_due), core_advance to the wall clock, and for
 *           each ARRIVAL_LATE violation the core emits as PROVISIONAL, its lag
 *           = wall clock when core_advance returned - due_at (ms). What the
 *           store adds (the transaction that writes the row) is B5's.
 *
 * usage: timers_bench GEN_OPEN ZONEINFO SCHEMA_DIR N [K LEAD_MS WINDOW_MS]
 * Prints "tickets N timers T rss_before B rss_after A heap_bytes H events E"
 * and, with K, one "lag MS" line per deadline. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_core.h"
#include "bench_util.h"
#include "slad/core.h"
#include "slad/jsonl.h"
#include "slad/policy.h"

#define CLEAR_EVERY 1000

static long rss_bytes(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static sla_time wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sla_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Applies every event `cmd` prints, each at its occurred_at (or at the wall
 * clock if at_wall), dropping the output every CLEAR_EVERY events. */
static bool apply_stream(struct sla_core *core, struct sla_out *out, const char *cmd, bool at_wall, long *events)
{
	char *line = NULL, err[512];
	size_t lcap = 0;
	ssize_t got;
	bool ok = true;
	sla_time clock = SLA_TIME_NONE;
	FILE *in = popen(cmd, "r");
	if (!in) {
		fprintf(stderr, "cannot run %s\n", cmd);
		return false;
	}
	while ((got = getline(&line, &lcap, in)) >= 0) {
		struct jsonl_event ev;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (got == 0)
			continue;
		if (!jsonl_parse_event(line, &ev, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			ok = false;
			break;
		}
		sla_time now = at_wall ? wall_ms() : ev.occurred_at;
		if (clock == SLA_TIME_NONE || now > clock)
			clock = now;
		struct sla_origin origin = {topic_default_name(ev.topic), 0, *events, ev.payload, ev.len, 0};
		enum sla_verdict v = core_apply_raw(core, &origin, clock, out);
		jsonl_event_clear(&ev);
		if (v != SV_APPLIED) {
			fprintf(stderr, "event %ld: verdict %d (%s)\n", *events, (int)v, out->ndead ? out->dead[0].detail : "");
			ok = false;
			break;
		}
		if (++*events % CLEAR_EVERY == 0)
			core_out_clear(out);
	}
	core_out_clear(out);
	free(line);
	if (pclose(in) != 0) {
		fprintf(stderr, "%s failed\n", cmd);
		ok = false;
	}
	return ok;
}

/* The live loop: runs until k ARRIVAL deadlines of the latency tickets have fired (or the time is up). */
static bool fire_live(struct sla_core *core, struct sla_out *out, long k, sla_time give_up)
{
	long seen = 0;
	while (seen < k) {
		sla_time now = wall_ms(), due = core_next_due(core);
		if (now > give_up) {
			fprintf(stderr, "only %ld of %ld deadlines fired in time\n", seen, k);
			return false;
		}
		if (due == SLA_TIME_NONE || due > now) {
			sla_time until = due == SLA_TIME_NONE || due > now + 100 ? now + 100 : due;
			struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000};
			clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
		}
		core_advance(core, wall_ms(), out);
		sla_time done = wall_ms();
		for (size_t i = 0; i < out->ndirty; i++) {
			const struct sla_ticket *t = out->dirty[i];
			if (t->ticket_id[0] != 'L')
				continue;
			for (int j = 0; j < t->nvs; j++) {
				const struct sla_violation *v = &t->vs[j];
				if (v->dirty && v->status == VS_PROVISIONAL && v->code == RC_MILESTONE_LATE &&
				    v->milestone == MS_ARRIVAL) {
					printf("lag %lld\n", (long long)(done - v->due_at));
					seen++;
				}
			}
		}
		core_out_clear(out);
	}
	return true;
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
	struct calendar_set cals = {0};
	struct sla_core *core = NULL;
	struct sla_out out;
	char cmd[2048];
	int64_t n, k = 0, lead = 0, window = 0;
	long events = 0;
	int rc = 1;
	if (!(argc == 5 || argc == 8) || !parse_i64(argv[4], 1, &n) ||
	    (argc == 8 && !(parse_i64(argv[5], 1, &k) && parse_i64(argv[6], 0, &lead) &&
			    parse_i64(argv[7], 1, &window)))) {
		fprintf(stderr, "usage: %s GEN_OPEN ZONEINFO SCHEMA_DIR N [K LEAD_MS WINDOW_MS]\n", argv[0]);
		return 2;
	}
	core_out_init(&out);
	if (!bench_calendars(&cals, argv[2], argv[3]))
		goto done;
	core = core_new(policy_defaults(), &cals);
	if (!core)
		goto done;
	/* As the daemon's cores: the archive is the history source, no event log in memory. */
	core_set_history(core, no_history, NULL);

	long before = rss_bytes();
	size_t heap_before = mallinfo2().uordblks;
	snprintf(cmd, sizeof(cmd), "'%s' recovery %lld %lld", argv[1], (long long)n, (long long)wall_ms());
	if (!apply_stream(core, &out, cmd, false, &events))
		goto done;
	long after = rss_bytes();
	size_t heap = mallinfo2().uordblks - heap_before;
	printf("tickets %zu timers %zu rss_before %ld rss_after %ld heap_bytes %zu events %ld\n", core_ticket_count(core),
	       core_timer_count(core), before, after, heap, events);
	fflush(stdout);
	if ((int64_t)core_ticket_count(core) != n) {
		fprintf(stderr, "%zu tickets held, %lld expected\n", core_ticket_count(core), (long long)n);
		goto done;
	}
	if (k > 0) {
		sla_time t0 = wall_ms();
		snprintf(cmd, sizeof(cmd), "'%s' latency %lld %lld %lld %lld", argv[1], (long long)k, (long long)t0,
			 (long long)lead, (long long)window);
		if (!apply_stream(core, &out, cmd, true, &events))
			goto done;
		if (wall_ms() >= t0 + lead) {
			fprintf(stderr, "the latency tickets took longer than the lead to apply\n");
			goto done;
		}
		if (!fire_live(core, &out, k, t0 + lead + window + 10000))
			goto done;
	}
	rc = 0;
done:
	core_out_free(&out);
	core_free(core);
	calendar_set_free(&cals);
	return rc;
}
