/* metrics.c - counters tallied per batch and kept once it commits, gauges from the daemon, Prometheus text. */
#include "slad/metrics.h"
#include "slad/arrays.h"

#include <event2/buffer.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SLAD_VERSION
#define SLAD_VERSION "0.1.0"
#endif

#define EVT_SLOTS 64               /* protobuf EventType values 0..62 */
#define EVT_UNDECODED (EVT_SLOTS - 1) /* did not decode, or a value past the table */

/* Upper bounds of the batch-commit latency buckets, seconds. */
static const double commit_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(commit_buckets) / sizeof(commit_buckets[0]))

/* A counter with two label values (one may be unused). */
struct labelled {
	char a[64], b[32];
	unsigned long long n;
};
struct labelled_set {
	struct labelled *v;
	size_t n, cap;
};

struct metrics {
	char topics[TOPIC_COUNT][256];
	unsigned long long events[TOPIC_COUNT][EVT_SLOTS], batch_events[METRICS_WRITERS][TOPIC_COUNT][EVT_SLOTS];
	unsigned long long duplicates, batch_duplicates[METRICS_WRITERS];
	struct labelled_set dead;       /* reason */
	struct labelled_set violations; /* code, status */
	struct labelled_set unloaded;   /* calendar, year */
	struct labelled_set rejected;   /* saved-state table */
	unsigned long long poison;
	unsigned long long commits_ok, commits_conflict, commits_error;
	unsigned long long buckets[NBUCKETS]; /* non-cumulative; rendered cumulative */
	unsigned long long commit_count;
	double commit_sum;
	unsigned long long reloads_ok, reloads_failed;
};

static bool labelled_add(struct labelled_set *s, const char *a, const char *b, unsigned long long by)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].a, a) == 0 && strcmp(s->v[i].b, b) == 0) {
			s->v[i].n += by;
			return true;
		}
	if (!array_grow_sz((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return false;
	struct labelled *l = &s->v[s->n++];
	snprintf(l->a, sizeof(l->a), "%s", a);
	snprintf(l->b, sizeof(l->b), "%s", b);
	l->n = by;
	return true;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->dead.v);
	free(m->violations.v);
	free(m->unloaded.v);
	free(m->rejected.v);
	free(m);
}

struct metrics *metrics_new(const char *const topics[TOPIC_COUNT])
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	for (int i = 0; i < TOPIC_COUNT; i++)
		snprintf(m->topics[i], sizeof(m->topics[i]), "%s", topics[i]);
	/* Every dead-letter reason from the start, so that a rate over it has a zero to start from. */
	bool ok = true;
	for (int v = SV_DECODE_ERROR; ok && verdict_reason((enum sla_verdict)v); v++)
		ok = labelled_add(&m->dead, verdict_reason((enum sla_verdict)v), "", 0);
	ok = ok && labelled_add(&m->rejected, "sla.ticket_state", "", 0) &&
	     labelled_add(&m->rejected, "sla.partner_state", "", 0);
	if (!ok) {
		metrics_free(m);
		return NULL;
	}
	return m;
}


void metrics_batch_event(struct metrics *m, int writer, enum sla_topic topic, int event_type, bool duplicate)
{
	int slot = event_type >= 0 && event_type < EVT_UNDECODED ? event_type : EVT_UNDECODED;
	if ((int)topic < 0 || topic >= TOPIC_COUNT || writer < 0 || writer >= METRICS_WRITERS)
		return;
	m->batch_events[writer][topic][slot]++;
	if (duplicate)
		m->batch_duplicates[writer]++;
}

static void observe_commit(struct metrics *m, double seconds)
{
	size_t i = 0;
	while (i < NBUCKETS && seconds > commit_buckets[i])
		i++;
	if (i < NBUCKETS)
		m->buckets[i]++;
	m->commit_count++;
	m->commit_sum += seconds;
}

/* A batch's counts between its hand-over to the commit and the outcome. */
struct metrics_tally {
	unsigned long long events[TOPIC_COUNT][EVT_SLOTS];
	unsigned long long duplicates;
	struct labelled_set dead, violations;
};

static void tally_free(struct metrics_tally *t)
{
	if (!t)
		return;
	free(t->dead.v);
	free(t->violations.v);
	free(t);
}

struct metrics_tally *metrics_batch_take(struct metrics *m, int writer, const struct sla_out *out)
{
	if (writer < 0 || writer >= METRICS_WRITERS)
		return NULL;
	struct metrics_tally *t = calloc(1, sizeof(*t));
	bool ok = t != NULL;
	if (ok) {
		memcpy(t->events, m->batch_events[writer], sizeof(t->events));
		t->duplicates = m->batch_duplicates[writer];
	}
	memset(m->batch_events[writer], 0, sizeof(m->batch_events[writer]));
	m->batch_duplicates[writer] = 0;
	for (size_t i = 0; ok && i < out->ndead; i++) {
		const char *r = verdict_reason(out->dead[i].reason);
		ok = labelled_add(&t->dead, r ? r : "OTHER", "", 1);
	}
	for (size_t i = 0; ok && i < out->nhist; i++)
		ok = labelled_add(&t->violations, out->hist[i].rule_code, v_status_name(out->hist[i].status), 1);
	if (!ok) {
		tally_free(t);
		return NULL;
	}
	return t;
}

void metrics_tally_committed(struct metrics *m, struct metrics_tally *t, double seconds)
{
	observe_commit(m, seconds);
	m->commits_ok++;
	if (!t)
		return;
	for (int k = 0; k < TOPIC_COUNT; k++)
		for (int s = 0; s < EVT_SLOTS; s++)
			m->events[k][s] += t->events[k][s];
	m->duplicates += t->duplicates;
	for (size_t i = 0; i < t->dead.n; i++)
		(void)labelled_add(&m->dead, t->dead.v[i].a, "", t->dead.v[i].n);
	for (size_t i = 0; i < t->violations.n; i++)
		(void)labelled_add(&m->violations, t->violations.v[i].a, t->violations.v[i].b, t->violations.v[i].n);
	tally_free(t);
}

void metrics_tally_failed(struct metrics *m, struct metrics_tally *t, double seconds, bool conflict)
{
	tally_free(t);
	observe_commit(m, seconds);
	if (conflict)
		m->commits_conflict++;
	else
		m->commits_error++;
}

void metrics_poison_committed(struct metrics *m)
{
	m->poison++;
}

void metrics_state_rows_rejected(struct metrics *m, const char *table, size_t n)
{
	if (n == 0)
		return;
	(void)labelled_add(&m->rejected, table, "", n);
	(void)labelled_add(&m->dead, verdict_reason(SV_DECODE_ERROR), "", n);
}

void metrics_batch_discard(struct metrics *m)
{
	memset(m->batch_events, 0, sizeof(m->batch_events));
	memset(m->batch_duplicates, 0, sizeof(m->batch_duplicates));
}

void metrics_reload(struct metrics *m, bool ok)
{
	if (ok)
		m->reloads_ok++;
	else
		m->reloads_failed++;
}

void metrics_calendar_unloaded_year(struct metrics *m, const char *calendar, int year)
{
	char y[16];
	snprintf(y, sizeof(y), "%d", year);
	(void)labelled_add(&m->unloaded, calendar, y, 1);
}

unsigned long long metrics_reloads(const struct metrics *m, bool ok)
{
	return ok ? m->reloads_ok : m->reloads_failed;
}

/* A label value in the text format: backslash, double quote and newline escaped. */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void head(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *event_type_name(int slot)
{
	if (slot == EVT_UNDECODED)
		return "UNDECODED";
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&slad__v1__event_type__descriptor, slot);
	return v ? v->name : "UNKNOWN";
}

/* A metric without labels. */
static void render_one(struct evbuffer *out, const char *name, const char *type, const char *help,
		       unsigned long long value)
{
	head(out, name, type, help);
	evbuffer_add_printf(out, "%s %llu\n", name, value);
}

/* A counter by one label (lb NULL) or two. */
static void render_labelled(struct evbuffer *out, const char *name, const char *help, const struct labelled_set *s,
			    const char *la, const char *lb)
{
	char e1[512], e2[128];
	head(out, name, "counter", help);
	for (size_t i = 0; i < s->n; i++) {
		if (lb)
			evbuffer_add_printf(out, "%s{%s=\"%s\",%s=\"%s\"} %llu\n", name, la, esc(s->v[i].a, e1, sizeof(e1)),
					    lb, esc(s->v[i].b, e2, sizeof(e2)), s->v[i].n);
		else
			evbuffer_add_printf(out, "%s{%s=\"%s\"} %llu\n", name, la, esc(s->v[i].a, e1, sizeof(e1)), s->v[i].n);
	}
}

static void render_counters(const struct metrics *m, struct evbuffer *out)
{
	char e1[512];
	head(out, "slad_events_total", "counter", "Events consumed and committed, by topic and event type.");
	for (int t = 0; t < TOPIC_COUNT; t++)
		for (int s = 0; s < EVT_SLOTS; s++)
			if (m->events[t][s])
				evbuffer_add_printf(out, "slad_events_total{topic=\"%s\",type=\"%s\"} %llu\n",
						    esc(m->topics[t], e1, sizeof(e1)), event_type_name(s), m->events[t][s]);
	render_one(out, "slad_duplicates_total", "counter", "Events whose event_id the ticket had seen already.",
		   m->duplicates);
	render_labelled(out, "slad_dead_letters_total", "Messages written to sla.dead_letters, by reason.", &m->dead,
			"reason", NULL);
	render_one(out, "slad_poison_messages_total", "counter",
		   "Messages PostgreSQL rejected with a data error, isolated and dead-lettered (BAD_VALUE).", m->poison);
	render_labelled(out, "slad_state_rows_rejected_total",
			"Saved-state rows that did not restore, dead-lettered (DECODE_ERROR) and left out, by table.",
			&m->rejected, "table", NULL);
	render_labelled(out, "slad_violations_total",
			"Violation status changes written to sla.violation_history, by rule code and status.",
			&m->violations, "code", "status");
}

static void render_commits(const struct metrics *m, struct evbuffer *out)
{
	head(out, "slad_batch_commit_duration_seconds", "histogram",
	     "Time to commit one batch (results and offsets) to PostgreSQL.");
	unsigned long long cum = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += m->buckets[i];
		evbuffer_add_printf(out, "slad_batch_commit_duration_seconds_bucket{le=\"%g\"} %llu\n", commit_buckets[i],
				    cum);
	}
	evbuffer_add_printf(out, "slad_batch_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n", m->commit_count);
	evbuffer_add_printf(out, "slad_batch_commit_duration_seconds_sum %.6f\n", m->commit_sum);
	evbuffer_add_printf(out, "slad_batch_commit_duration_seconds_count %llu\n", m->commit_count);
	head(out, "slad_commits_total", "counter",
	     "Batch commits by result: ok, conflict (another instance owns a partition), error.");
	evbuffer_add_printf(out, "slad_commits_total{result=\"ok\"} %llu\n", m->commits_ok);
	evbuffer_add_printf(out, "slad_commits_total{result=\"conflict\"} %llu\n", m->commits_conflict);
	evbuffer_add_printf(out, "slad_commits_total{result=\"error\"} %llu\n", m->commits_error);
	head(out, "slad_reloads_total", "counter", "SIGHUP reloads by result; a failed one kept the old configuration.");
	evbuffer_add_printf(out, "slad_reloads_total{result=\"ok\"} %llu\n", m->reloads_ok);
	evbuffer_add_printf(out, "slad_reloads_total{result=\"failed\"} %llu\n", m->reloads_failed);
	render_labelled(out, "slad_calendar_unloaded_years_total",
			"Years outside a calendar's loaded years that deadlines needed (taken as Monday-Friday, no holidays).",
			&m->unloaded, "calendar", "year");
}

static void render_gauges(const struct metrics_gauges *g, struct evbuffer *out)
{
	char e1[512];
	render_one(out, "slad_open_tickets", "gauge", "Tickets held by the cores of the assigned partitions.",
		   g->open_tickets);
	render_one(out, "slad_armed_timers", "gauge",
		   "Timer entries in the cores of the assigned partitions (deadlines, escalations, confirmations; "
		   "entries of milestones met meanwhile until the heap is compacted).",
		   g->armed_timers);
	head(out, "slad_consumer_lag_messages", "gauge",
	     "Messages between the applied offset and the partition's high watermark.");
	for (size_t i = 0; i < g->nlags; i++)
		if (g->lags[i].lag >= 0)
			evbuffer_add_printf(out, "slad_consumer_lag_messages{topic=\"%s\",partition=\"%d\"} %lld\n",
					    esc(g->lags[i].topic, e1, sizeof(e1)), (int)g->lags[i].partition,
					    (long long)g->lags[i].lag);
	head(out, "slad_processing_clock_lag_seconds", "gauge",
	     "Wall clock minus the partition's processing clock (event time while catching up).");
	for (size_t i = 0; i < g->nclocks; i++)
		evbuffer_add_printf(out, "slad_processing_clock_lag_seconds{partition=\"%d\"} %.3f\n",
				    (int)g->clocks[i].partition, g->clocks[i].lag_seconds);
	render_one(out, "slad_postgres_up", "gauge", "1 while PostgreSQL answers.", g->postgres_up ? 1 : 0);
	render_one(out, "slad_kafka_up", "gauge", "1 while a Kafka broker is reachable.", g->kafka_up ? 1 : 0);
	render_one(out, "slad_consuming", "gauge", "1 while consuming (healthy); 0 while paused, degraded or stopping.",
		   g->consuming ? 1 : 0);
	render_one(out, "slad_calendars", "gauge", "Business calendars loaded.", g->calendars);
	head(out, "slad_policy_info", "gauge", "The policy version in force (a content hash).");
	evbuffer_add_printf(out, "slad_policy_info{version=\"%s\"} 1\n",
			    esc(g->policy_version ? g->policy_version : "", e1, sizeof(e1)));
	head(out, "slad_build_info", "gauge", "slad's version.");
	evbuffer_add_printf(out, "slad_build_info{version=\"%s\"} 1\n", SLAD_VERSION);
}

void metrics_render(const struct metrics *m, const struct metrics_gauges *g, struct evbuffer *out)
{
	render_counters(m, out);
	render_commits(m, out);
	render_gauges(g, out);
}
