/* gen_open.c - the event streams of the recovery (B4) and latency (B5) benchmarks: tickets left open, as JSON Lines.
 *
 * Not a test. Every ticket is created, dispatched and assigned and never
 * arrives, so its RESERVATION and ARRIVAL milestones stay open with deadlines
 * armed at required_arrival_at (rules.md section 3); DISPATCH is met at once.
 *
 * usage: gen_open recovery N NOW_MS
 *          N tickets (ids R0000000..), events spread over [NOW - 60 min,
 *          NOW - 10 min] in event-time order, required arrival 20 to 30 days
 *          after NOW: nothing falls due while the benchmark runs. A mix of
 *          types: MAINTENANCE NON_HOURLY / HOURLY, ONE_OFF, INSPECTION and
 *          RECTIFICATION (those two also acknowledged, so that RESPONSE does
 *          not fall due either).
 *        gen_open latency N NOW_MS LEAD_MS WINDOW_MS
 *          N MAINTENANCE tickets (ids L00000..) created, dispatched and
 *          assigned at NOW; ticket i's required arrival (its ARRIVAL due time)
 *          is NOW + LEAD_MS + i * WINDOW_MS / N, rounded to the millisecond.
 *        gen_open live N NOW_MS LEAD_MS WINDOW_MS
 *          the same deadlines (ids V00000..), but ticket i is created,
 *          dispatched and assigned LEAD_MS before its deadline: sent at their
 *          occurred_at (paced_publish), the tickets make a steady live stream.
 * The output depends only on the arguments. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "slad/timeutil.h"

#define LOCAL_OFFSET_MIN 480 /* the CN calendar's +08:00 */
#define PARTNERS 8
#define ENGINEERS 60

struct ticket_kind {
	const char *fields; /* the TICKET_CREATED fields that make the type */
	bool acknowledged;  /* opens RESPONSE: acknowledge it at once */
	int weight;	    /* out of 100 */
};

static const struct ticket_kind kinds[] = {
	{"\"ticket_type\":\"MAINTENANCE\",\"sla_class\":\"NON_HOURLY\"", false, 55},
	{"\"ticket_type\":\"MAINTENANCE\",\"sla_class\":\"HOURLY\"", false, 25},
	{"\"ticket_type\":\"ONE_OFF\",\"sla_class\":\"NON_HOURLY\"", false, 8},
	{"\"ticket_type\":\"INSPECTION\"", true, 7},
	{"\"ticket_type\":\"RECTIFICATION\",\"sla_class\":\"NON_HOURLY\"", true, 5},
};

/* A well-spread, deterministic choice in [0, n) for ticket i. */
static unsigned pick(uint64_t i, unsigned salt, unsigned n)
{
	uint64_t z = i * UINT64_C(0x9E3779B97F4A7C15) + salt;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return (unsigned)((z ^ (z >> 31)) % n);
}

static const struct ticket_kind *kind_of(uint64_t i)
{
	unsigned r = pick(i, 1, 100);
	size_t k = 0;
	while (k + 1 < sizeof(kinds) / sizeof(kinds[0]) && r >= (unsigned)kinds[k].weight)
		r -= (unsigned)kinds[k++].weight;
	return &kinds[k];
}

/* One ticket's events: created at t, dispatched at t + step, assigned (and acknowledged) at t + 2 step. */
static void write_ticket(FILE *out, const char *id, const struct ticket_kind *k, uint64_t i, sla_time t, sla_time step,
			 sla_time arrival)
{
	char at[40], due[40];
	rfc3339_format(arrival, LOCAL_OFFSET_MIN, due, sizeof(due));
	rfc3339_format(t, LOCAL_OFFSET_MIN, at, sizeof(at));
	fprintf(out,
		"{\"event_id\":\"%s-c\",\"type\":\"TICKET_CREATED\",\"ticket_id\":\"%s\",\"occurred_at\":\"%s\",%s,"
		"\"partner_id\":\"P%02u\",\"calendar_id\":\"CN\",\"required_arrival_at\":\"%s\"}\n",
		id, id, at, k->fields, pick(i, 2, PARTNERS) + 1, due);
	rfc3339_format(t + step, LOCAL_OFFSET_MIN, at, sizeof(at));
	fprintf(out, "{\"event_id\":\"%s-d\",\"type\":\"TICKET_DISPATCHED\",\"ticket_id\":\"%s\",\"occurred_at\":\"%s\"}\n",
		id, id, at);
	rfc3339_format(t + 2 * step, LOCAL_OFFSET_MIN, at, sizeof(at));
	if (k->acknowledged)
		fprintf(out,
			"{\"event_id\":\"%s-k\",\"type\":\"TICKET_ACKNOWLEDGED\",\"ticket_id\":\"%s\",\"occurred_at\":\"%s\"}\n",
			id, id, at);
	fprintf(out,
		"{\"event_id\":\"%s-a\",\"type\":\"ENGINEER_ASSIGNED\",\"ticket_id\":\"%s\",\"occurred_at\":\"%s\","
		"\"engineer_id\":\"E%03u\"}\n",
		id, id, at, pick(i, 3, ENGINEERS) + 1);
}

static void gen_recovery(FILE *out, int64_t n, sla_time now)
{
	/* 50 minutes of event time, three steps per ticket, in event-time order. */
	sla_time span = 50 * SLA_MINUTE, start = now - 60 * SLA_MINUTE;
	for (int64_t i = 0; i < n; i++) {
		char id[24];
		sla_time t = start + span * i / n, step = span / n / 3;
		sla_time arrival = now + 20 * SLA_DAY + (sla_time)pick((uint64_t)i, 4, 10 * 24 * 60) * SLA_MINUTE;
		snprintf(id, sizeof(id), "R%07" PRId64, i);
		write_ticket(out, id, kind_of((uint64_t)i), (uint64_t)i, t, step, arrival);
	}
}

static void gen_latency(FILE *out, int64_t n, sla_time now, sla_time lead, sla_time window, bool live)
{
	for (int64_t i = 0; i < n; i++) {
		char id[24];
		sla_time due = now + lead + window * i / n;
		snprintf(id, sizeof(id), "%c%05" PRId64, live ? 'V' : 'L', i);
		write_ticket(out, id, &kinds[0], (uint64_t)i, live ? due - lead : now, 0, due);
	}
}

int main(int argc, char **argv)
{
	int64_t n, now, lead, window;
	if (argc == 4 && strcmp(argv[1], "recovery") == 0 && parse_i64(argv[2], 1, &n) &&
	    parse_i64(argv[3], 0, &now)) {
		gen_recovery(stdout, n, now);
	} else if (argc == 6 && (strcmp(argv[1], "latency") == 0 || strcmp(argv[1], "live") == 0) &&
		   parse_i64(argv[2], 1, &n) && parse_i64(argv[3], 0, &now) && parse_i64(argv[4], 0, &lead) &&
		   parse_i64(argv[5], 0, &window)) {
		gen_latency(stdout, n, now, lead, window, strcmp(argv[1], "live") == 0);
	} else {
		fprintf(stderr, "usage: gen_open recovery N NOW_MS\n"
				"       gen_open latency|live N NOW_MS LEAD_MS WINDOW_MS\n");
		return 2;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gen_open: writing");
		return 1;
	}
	return 0;
}
