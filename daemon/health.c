/* health.c - what slad says of itself: /healthz (JSON, 200 while consuming),
 * /metrics (Prometheus text, metrics.c renders it) and systemd's STATUS=. */
#include "daemon_internal.h"

/* Messages between what was applied and the partition's high watermark, or
 * -1 when librdkafka has not learned the watermark yet (cached: never blocks). */
static int64_t tp_lag(const struct daemon *d, const struct topic_part *tp)
{
	int64_t lo = -1, hi = -1;
	if (rd_kafka_get_watermark_offsets(d->rk, d->topics[tp->topic], tp->partition, &lo, &hi) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR ||
	    hi < 0)
		return -1;
	int64_t pos = tp->next >= 0 ? tp->next : lo;
	if (pos < 0)
		return -1;
	return hi > pos ? hi - pos : 0;
}

void health_totals(const struct daemon *d, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (int p = 0; p < d->nparts; p++)
		if (d->parts[p].eng.tickets) {
			t->open_tickets += core_ticket_count(d->parts[p].eng.tickets);
			t->armed_timers += core_timer_count(d->parts[p].eng.tickets);
		}
	for (size_t i = 0; i < d->ntps; i++) {
		int64_t l = tp_lag(d, &d->tps[i]);
		if (l > 0)
			t->lag += l;
	}
}

static bool consuming(const struct daemon *d)
{
	return d->pg_up && d->kafka_up && !d->degraded && !d->stopping;
}

void health_update_status(struct daemon *d)
{
	char st[256];
	struct totals t;
	health_totals(d, &t);
	if (d->stopping)
		snprintf(st, sizeof(st), "stopping");
	else if (d->degraded)
		snprintf(st, sizeof(st), "paused: %s; retrying", d->degraded_why);
	else if (!d->kafka_up)
		snprintf(st, sizeof(st), "waiting for Kafka; %zu open tickets", t.open_tickets);
	else
		snprintf(st, sizeof(st), "consuming: lag %lld messages, %zu open tickets, %zu timers", (long long)t.lag,
			 t.open_tickets, t.armed_timers);
	if (strcmp(st, d->status) != 0) {
		snprintf(d->status, sizeof(d->status), "%s", st);
		notify_send("STATUS=%s", st);
	}
}

int health_page_healthz(struct evbuffer *body, void *arg)
{
	struct daemon *d = arg;
	struct totals t;
	bool ok = consuming(d);
	health_totals(d, &t);
	evbuffer_add_printf(body,
			    "{\"status\":\"%s\",\"postgres\":\"%s\",\"kafka\":\"%s\",\"consuming\":%s,\"lag\":%lld,"
			    "\"open_tickets\":%zu,\"armed_timers\":%zu,\"partitions\":%zu,\"policy\":\"%s\"}\n",
			    ok ? "ok" : d->stopping ? "stopping" : "unavailable", d->pg_up ? "up" : "down",
			    d->kafka_up ? "up" : "down", ok ? "true" : "false", (long long)t.lag, t.open_tickets,
			    t.armed_timers, d->ntps, d->pol->version);
	return ok ? 200 : 503;
}

int health_page_metrics(struct evbuffer *body, void *arg)
{
	struct daemon *d = arg;
	struct totals t;
	struct metrics_lag *lags = calloc(d->ntps + 1, sizeof(*lags));
	struct metrics_clock *clocks = calloc((size_t)d->nparts + 1, sizeof(*clocks));
	struct metrics_gauges g = {0};
	sla_time w = wall_now();
	if (!lags || !clocks) {
		free(lags);
		free(clocks);
		evbuffer_add_printf(body, "# out of memory\n");
		return 503;
	}
	health_totals(d, &t);
	for (size_t i = 0; i < d->ntps; i++)
		lags[g.nlags++] = (struct metrics_lag){d->topics[d->tps[i].topic], d->tps[i].partition, tp_lag(d, &d->tps[i])};
	for (int p = 0; p < d->nparts; p++) {
		if (!d->parts[p].eng.tickets)
			continue;
		sla_time now = part_now(d, p, HALF_TICKETS);
		if (now == SLA_TIME_NONE)
			continue;
		clocks[g.nclocks++] = (struct metrics_clock){p, w > now ? (double)(w - now) / 1000.0 : 0.0};
	}
	g.postgres_up = d->pg_up;
	g.kafka_up = d->kafka_up;
	g.consuming = consuming(d);
	g.open_tickets = t.open_tickets;
	g.armed_timers = t.armed_timers;
	g.lags = lags;
	g.clocks = clocks;
	g.policy_version = d->pol->version;
	g.calendars = d->cals.ncals;
	metrics_render(d->metrics, &g, body);
	free(lags);
	free(clocks);
	return 200;
}

