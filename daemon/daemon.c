/* daemon.c - the loop: Kafka intake through an io-event pipe, one core per partition,
 * one PostgreSQL transaction per batch (results + offsets), deadline timers, signals. */
#include "slad/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "slad/core.h"
#include "slad/jsonl.h"
#include "slad/log.h"
#include "slad/policy.h"
#include "slad/store.h"

#define FUTURE_LIMIT SLA_DAY /* occurred_at further ahead of the wall clock is a bad value */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 30000

/* A consumed message waiting for its turn in the event-time merge. */
struct pending {
	rd_kafka_message_t *msg;
	Slad__V1__Event *ev; /* NULL when it did not decode */
	enum sla_verdict verdict;
	char detail[160];
};

/* One assigned topic-partition, the offsets of the batch in progress, and
 * the messages consumed but not yet applied. */
struct topic_part {
	enum sla_topic topic;
	int32_t partition;
	int64_t committed; /* next_offset in PostgreSQL; -1 when no row */
	int64_t next;      /* next offset after the last applied message */
	int64_t fetched;   /* next offset after the last consumed message */
	bool eof;          /* caught up at the last look */
	struct pending *q; /* FIFO: q[qhead..qtail) */
	size_t qhead, qtail, qcap;
};

#define MERGE_MAX_WAIT 100000 /* past this many waiting messages, stop waiting for the other topic */

/* The state of one partition number: its tickets live in one core. */
struct part {
	struct sla_core *core;
	sla_time maxev; /* largest occurred_at consumed: the processing clock while lagging */
};

struct daemon {
	const struct config *cfg;
	struct sla_policy pol;
	struct calendar_set cals;
	struct store *st;
	struct event_base *base;
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	int pipefd[2];
	struct event *ev_kafka, *ev_timer, *ev_retry, *ev_term, *ev_int, *ev_hup, *ev_drain;
	const char *topics[TOPIC_COUNT];

	struct topic_part *tps;
	size_t ntps;
	struct part *parts;
	int nparts;
	struct sla_out out;
	size_t batch_events;

	bool stopping, degraded;
	int retry_ms;
	int sigterms;
	unsigned long long consumed, applied, duplicates, dead;
};

static sla_time wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sla_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int topic_index(const struct daemon *d, const char *name)
{
	for (int i = 0; i < TOPIC_COUNT; i++)
		if (strcmp(d->topics[i], name) == 0)
			return i;
	return -1;
}

static struct topic_part *tp_find(struct daemon *d, int topic, int32_t partition)
{
	for (size_t i = 0; i < d->ntps; i++)
		if ((int)d->tps[i].topic == topic && d->tps[i].partition == partition)
			return &d->tps[i];
	return NULL;
}

static bool part_caught_up(const struct daemon *d, int32_t p)
{
	bool any = false;
	for (size_t i = 0; i < d->ntps; i++) {
		if (d->tps[i].partition != p || d->tps[i].topic == TOPIC_ASSESSMENTS)
			continue;
		any = true;
		if (!d->tps[i].eof || d->tps[i].qhead != d->tps[i].qtail)
			return false;
	}
	return any;
}

/* The processing clock of a partition (rules.md section 1). */
static sla_time part_now(const struct daemon *d, int32_t p)
{
	sla_time now = d->parts[p].maxev;
	if (strcmp(d->cfg->clock_source, "auto") == 0 && part_caught_up(d, p)) {
		sla_time w = wall_now();
		if (now == SLA_TIME_NONE || w > now)
			now = w;
	}
	return now;
}

static bool part_ensure(struct daemon *d, int32_t p)
{
	if (p >= d->nparts) {
		int n = p + 1;
		struct part *np = realloc(d->parts, (size_t)n * sizeof(*np));
		if (!np)
			return false;
		for (int i = d->nparts; i < n; i++) {
			np[i].core = NULL;
			np[i].maxev = SLA_TIME_NONE;
		}
		d->parts = np;
		d->nparts = n;
	}
	return true;
}

/* Loads partition p's open tickets from PostgreSQL into a fresh core. */
static bool part_load(struct daemon *d, int32_t p)
{
	char err[512];
	size_t count = 0;
	if (!part_ensure(d, p))
		return false;
	if (d->parts[p].core)
		return true;
	struct sla_core *core = core_new(&d->pol, &d->cals);
	if (!core)
		return false;
	if (!store_load_tickets(d->st, p, core, &count, err, sizeof(err))) {
		log_error("partition=%d: loading tickets: %s", (int)p, err);
		core_free(core);
		return false;
	}
	d->parts[p].core = core;
	d->parts[p].maxev = SLA_TIME_NONE;
	log_info("partition=%d: %zu tickets restored, %zu timers armed", (int)p, count, core_timer_count(core));
	return true;
}

static void part_drop(struct daemon *d, int32_t p)
{
	if (p < d->nparts && d->parts[p].core) {
		core_free(d->parts[p].core);
		d->parts[p].core = NULL;
		d->parts[p].maxev = SLA_TIME_NONE;
	}
}

static void arm_timer(struct daemon *d);
static void enter_degraded(struct daemon *d, const char *why);

/* Commits the batch: results, dead letters and offsets in one transaction. */
static bool flush(struct daemon *d)
{
	char err[512];
	struct store_offset offs[256];
	size_t noffs = 0;
	bool moved = false;

	if (d->degraded)
		return false;
	/* Every partition with a position goes in, moved or not: the compare-and-set
	 * fences out an instance that lost the partition, and the commit can be read back. */
	for (size_t i = 0; i < d->ntps && noffs < 256; i++) {
		struct topic_part *tp = &d->tps[i];
		if (tp->next < 0)
			continue;
		offs[noffs++] = (struct store_offset){d->topics[tp->topic], tp->partition, tp->committed, tp->next};
		moved |= tp->next != tp->committed;
	}
	if (!moved && d->out.ndirty == 0 && d->out.ndead == 0 && d->out.nhist == 0)
		return true;

	enum store_result r =
		store_commit(d->st, d->cfg->kafka_group, &d->out, offs, noffs, d->pol.version, err, sizeof(err));
	size_t ndead = d->out.ndead;
	core_out_clear(&d->out);
	d->batch_events = 0;
	if (r == STORE_OK) {
		for (size_t i = 0; i < d->ntps; i++)
			if (d->tps[i].next >= 0)
				d->tps[i].committed = d->tps[i].next;
		d->dead += ndead;
		d->retry_ms = RETRY_MIN_MS; /* back-off grows until a commit succeeds again */
		return true;
	}
	/* The core moved ahead of the database: go back to what was committed. */
	log_error("commit failed (%s): %s", r == STORE_CONFLICT ? "offsets moved by another instance" : "database",
		  err);
	enter_degraded(d, r == STORE_CONFLICT ? "offset conflict" : "database error");
	return false;
}

static void pending_free(struct pending *pe)
{
	if (pe->ev)
		slad__v1__event__free_unpacked(pe->ev, NULL);
	if (pe->msg)
		rd_kafka_message_destroy(pe->msg);
	pe->ev = NULL;
	pe->msg = NULL;
}

static void tp_clear_queue(struct topic_part *tp)
{
	for (size_t i = tp->qhead; i < tp->qtail; i++)
		pending_free(&tp->q[i]);
	free(tp->q);
	tp->q = NULL;
	tp->qhead = tp->qtail = tp->qcap = 0;
}

/* Decodes and checks a message against its topic; the verdict travels with it. */
static void classify(int topic, struct pending *pe)
{
	rd_kafka_message_t *m = pe->msg;
	pe->verdict = event_decode(m->payload, m->len, &pe->ev, pe->detail, sizeof(pe->detail));
	if (pe->verdict != SV_APPLIED)
		return;
	if (pe->ev->occurred_at > wall_now() + FUTURE_LIMIT) {
		pe->verdict = SV_BAD_VALUE;
		snprintf(pe->detail, sizeof(pe->detail), "occurred_at more than a day in the future");
	} else if (topic == TOPIC_ASSESSMENTS && pe->ev->type != SLAD__V1__EVENT_TYPE__ASSESSMENT) {
		pe->verdict = SV_BAD_VALUE;
		snprintf(pe->detail, sizeof(pe->detail), "not an ASSESSMENT event on the assessments topic");
	} else if (topic == TOPIC_CLOCKINS && pe->ev->type != SLAD__V1__EVENT_TYPE__CLOCK_IN) {
		pe->verdict = SV_BAD_VALUE;
		snprintf(pe->detail, sizeof(pe->detail), "not a CLOCK_IN event on the clock-ins topic");
	} else if (topic == TOPIC_WORKORDERS && (pe->ev->type == SLAD__V1__EVENT_TYPE__CLOCK_IN ||
						 pe->ev->type == SLAD__V1__EVENT_TYPE__ASSESSMENT)) {
		pe->verdict = SV_BAD_VALUE;
		snprintf(pe->detail, sizeof(pe->detail), "not a work-order event on the work-orders topic");
	} else if (topic == TOPIC_ASSESSMENTS) {
		pe->verdict = event_check(pe->ev, pe->detail, sizeof(pe->detail));
	}
}

/* Applies one message: through the core, or straight to the dead letters. */
static void apply_pending(struct daemon *d, struct topic_part *tp, struct pending *pe)
{
	rd_kafka_message_t *m = pe->msg;
	const char *tname = d->topics[tp->topic];
	enum sla_verdict v = pe->verdict;
	tp->next = m->offset + 1;
	d->batch_events++;
	if (v == SV_APPLIED && tp->topic != TOPIC_ASSESSMENTS) {
		int32_t p = m->partition;
		struct sla_origin origin = {tname, p, m->offset, m->payload, m->len};
		if (d->parts[p].maxev == SLA_TIME_NONE || pe->ev->occurred_at > d->parts[p].maxev)
			d->parts[p].maxev = pe->ev->occurred_at;
		/* core_apply records its own dead letters. */
		sla_time now = part_now(d, p);
		log_debug("apply topic=%s partition=%d offset=%lld event=%s now=%lld", tname, (int)p,
			  (long long)m->offset, pe->ev->event_id, (long long)now);
		v = core_apply(d->parts[p].core, pe->ev, &origin, now, &d->out);
	} else if (verdict_is_dead_letter(v)) {
		core_out_dead(&d->out, tname, m->partition, m->offset, v, pe->detail, m->payload, m->len);
	}
	if (v == SV_DUPLICATE)
		d->duplicates++;
	else if (verdict_is_dead_letter(v))
		log_debug("dead letter topic=%s partition=%d offset=%lld: %s", tname, (int)m->partition,
			  (long long)m->offset, verdict_reason(v));
	else
		d->applied++;
	pending_free(pe);
	if (d->batch_events >= (size_t)d->cfg->batch_max_events)
		(void)flush(d);
}

static sla_time pending_time(const struct pending *pe)
{
	return pe->ev ? pe->ev->occurred_at : INT64_MIN; /* undecodable: no reason to wait */
}

/* Merges partition p's work-order and clock-in messages in event-time order:
 * a message waits while the other topic may still deliver an earlier one
 * (it has nothing waiting and has not reached its end). */
static void pump(struct daemon *d, int32_t p)
{
	struct topic_part *wo = tp_find(d, TOPIC_WORKORDERS, p), *ci = tp_find(d, TOPIC_CLOCKINS, p);
	while (!d->degraded) {
		bool wo_has = wo && wo->qhead < wo->qtail, ci_has = ci && ci->qhead < ci->qtail;
		struct topic_part *take = NULL;
		if (wo_has && ci_has)
			take = pending_time(&ci->q[ci->qhead]) < pending_time(&wo->q[wo->qhead]) ? ci : wo;
		else if (wo_has && (!ci || ci->eof || wo->qtail - wo->qhead > MERGE_MAX_WAIT))
			take = wo;
		else if (ci_has && (!wo || wo->eof || ci->qtail - ci->qhead > MERGE_MAX_WAIT))
			take = ci;
		if (!take)
			return;
		/* Applied while still queued: the partition is not caught up until its last message is in. */
		apply_pending(d, take, &take->q[take->qhead]);
		if (++take->qhead == take->qtail)
			take->qhead = take->qtail = 0;
	}
}

static void handle_message(struct daemon *d, rd_kafka_message_t *m)
{
	const char *tname = rd_kafka_topic_name(m->rkt);
	int topic = topic_index(d, tname);
	struct topic_part *tp = topic >= 0 ? tp_find(d, topic, m->partition) : NULL;

	if (m->err) {
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			log_debug("eof topic=%s partition=%d offset=%lld", tname, (int)m->partition, (long long)m->offset);
			if (tp) {
				tp->eof = true;
				if (topic != TOPIC_ASSESSMENTS)
					pump(d, m->partition);
			}
		} else {
			log_warn("kafka: %s", rd_kafka_message_errstr(m));
		}
		rd_kafka_message_destroy(m);
		return;
	}
	/* Not ours (any more), waiting to reload, or already seen: it is re-read from the committed offset. */
	if (!tp || d->degraded || (tp->fetched >= 0 && m->offset < tp->fetched) ||
	    (topic != TOPIC_ASSESSMENTS && (m->partition >= d->nparts || !d->parts[m->partition].core))) {
		rd_kafka_message_destroy(m);
		return;
	}
	tp->fetched = m->offset + 1;
	tp->eof = false;
	d->consumed++;
	struct pending pe = {m, NULL, SV_APPLIED, ""};
	classify(topic, &pe);
	if (topic == TOPIC_ASSESSMENTS) {
		apply_pending(d, tp, &pe);
		return;
	}
	if (tp->qtail == tp->qcap) {
		size_t cap = tp->qcap ? tp->qcap * 2 : 1024;
		struct pending *q = realloc(tp->q, cap * sizeof(*q));
		if (!q) {
			pending_free(&pe);
			enter_degraded(d, "out of memory");
			return;
		}
		tp->q = q;
		tp->qcap = cap;
	}
	tp->q[tp->qtail++] = pe;
	pump(d, m->partition);
}

/* Drains the consumer queue without blocking; commits full batches, then the rest. */
static void consume(struct daemon *d)
{
	size_t budget = (size_t)d->cfg->batch_max_events * 4;
	while (budget-- > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, 0);
		if (!m)
			break;
		handle_message(d, m); /* takes m */
	}
	/* Partitions that reached their end now run on the wall clock. */
	for (int p = 0; p < d->nparts; p++)
		if (d->parts[p].core && part_caught_up(d, p))
			core_advance(d->parts[p].core, part_now(d, p), &d->out);
	(void)flush(d);
	if (budget == (size_t)-1) /* more may be waiting: yield to timers, then continue */
		event_active(d->ev_drain, EV_READ, 0);
	arm_timer(d);
}

static void on_kafka(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char buf[256];
	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	consume(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;
	consume(d);
}

/* One libevent timer, armed for the earliest deadline of a caught-up partition (at most 1 s away,
 * which doubles as the safety drain of the consumer queue). */
static void arm_timer(struct daemon *d)
{
	sla_time wait = 1000, w = wall_now();
	for (int p = 0; p < d->nparts; p++) {
		if (!d->parts[p].core || !part_caught_up(d, p))
			continue;
		sla_time due = core_next_due(d->parts[p].core);
		if (due != SLA_TIME_NONE && due - w < wait)
			wait = due > w ? due - w : 0;
	}
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
	evtimer_add(d->ev_timer, &tv);
}

static rd_kafka_topic_partition_list_t *assignment_with_offsets(struct daemon *d)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)d->ntps);
	for (size_t i = 0; i < d->ntps; i++) {
		rd_kafka_topic_partition_t *e =
			rd_kafka_topic_partition_list_add(l, d->topics[d->tps[i].topic], d->tps[i].partition);
		e->offset = d->tps[i].committed >= 0 ? d->tps[i].committed : RD_KAFKA_OFFSET_BEGINNING;
	}
	return l;
}

/* Reads committed offsets and ticket state back from PostgreSQL and restarts every partition there. */
static bool reset_from_store(struct daemon *d)
{
	char err[512];
	core_out_clear(&d->out);
	d->batch_events = 0;
	for (int p = 0; p < d->nparts; p++)
		part_drop(d, p);
	for (size_t i = 0; i < d->ntps; i++) {
		struct topic_part *tp = &d->tps[i];
		if (!store_load_offset(d->st, d->cfg->kafka_group, d->topics[tp->topic], tp->partition, &tp->committed,
				       err, sizeof(err))) {
			log_error("loading offsets: %s", err);
			return false;
		}
		tp->next = tp->fetched = tp->committed;
		tp->eof = false;
		tp_clear_queue(tp);
		if (tp->topic != TOPIC_ASSESSMENTS && !part_load(d, tp->partition))
			return false;
	}
	rd_kafka_topic_partition_list_t *l = assignment_with_offsets(d);
	rd_kafka_resp_err_t e = rd_kafka_assign(d->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		log_error("kafka assign: %s", rd_kafka_err2str(e));
		return false;
	}
	return true;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char err[512];
	(void)fd;
	(void)what;
	if (store_ok(d->st) || store_reconnect(d->st, err, sizeof(err))) {
		d->degraded = false;
		if (reset_from_store(d)) {
			log_info("database reachable again: resumed from committed offsets");
			sd_notify(0, "STATUS=consuming");
			consume(d);
			return;
		}
		d->degraded = true;
	} else {
		log_warn("database still unreachable: %s", err);
	}
	d->retry_ms = d->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : d->retry_ms * 2;
	struct timeval tv = {d->retry_ms / 1000, (d->retry_ms % 1000) * 1000};
	evtimer_add(d->ev_retry, &tv);
}

static void enter_degraded(struct daemon *d, const char *why)
{
	if (d->degraded)
		return;
	d->degraded = true;
	sd_notifyf(0, "STATUS=degraded: %s", why);
	log_warn("pausing consumption (%s); retrying in %d ms", why, d->retry_ms);
	struct timeval tv = {d->retry_ms / 1000, (d->retry_ms % 1000) * 1000};
	evtimer_add(d->ev_retry, &tv);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct daemon *d = opaque;
	char e[512];
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++) {
			rd_kafka_topic_partition_t *tpl = &parts->elems[i];
			int topic = topic_index(d, tpl->topic);
			if (topic < 0 || tp_find(d, topic, tpl->partition))
				continue;
			struct topic_part *n = realloc(d->tps, (d->ntps + 1) * sizeof(*n));
			if (!n)
				continue;
			d->tps = n;
			struct topic_part *tp = &d->tps[d->ntps++];
			memset(tp, 0, sizeof(*tp));
			tp->topic = (enum sla_topic)topic;
			tp->partition = tpl->partition;
			if (!store_load_offset(d->st, d->cfg->kafka_group, tpl->topic, tpl->partition, &tp->committed, e,
					       sizeof(e))) {
				log_error("loading offsets: %s", e);
				tp->committed = -1;
				enter_degraded(d, "database error");
			}
			tp->next = tp->fetched = tp->committed;
			if (topic != TOPIC_ASSESSMENTS && !d->degraded && !part_load(d, tpl->partition))
				enter_degraded(d, "database error");
			log_info("assigned %s [%d] from offset %lld", tpl->topic, (int)tpl->partition,
				 (long long)tp->committed);
		}
		rd_kafka_topic_partition_list_t *l = assignment_with_offsets(d);
		rd_kafka_assign(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		(void)flush(d); /* commit what we did while it is still ours */
		for (int i = 0; i < parts->cnt; i++) {
			int topic = topic_index(d, parts->elems[i].topic);
			struct topic_part *tp = topic >= 0 ? tp_find(d, topic, parts->elems[i].partition) : NULL;
			if (!tp)
				continue;
			log_info("revoked %s [%d]", parts->elems[i].topic, (int)tp->partition);
			tp_clear_queue(tp); /* not applied: the next owner reads them from the committed offset */
			*tp = d->tps[--d->ntps];
		}
		for (int p = 0; p < d->nparts; p++) {
			bool kept = false;
			for (size_t i = 0; i < d->ntps; i++)
				kept |= d->tps[i].partition == p && d->tps[i].topic != TOPIC_ASSESSMENTS;
			if (!kept)
				part_drop(d, p);
		}
		rd_kafka_assign(rk, NULL);
		return;
	}
	log_error("rebalance error: %s", rd_kafka_err2str(err));
	rd_kafka_assign(rk, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)what;
	if (sig == SIGHUP) {
		char err[512];
		struct calendar_set cals = {0};
		sd_notify(0, "RELOADING=1");
		if (store_load_calendars(d->st, &cals, err, sizeof(err))) {
			calendar_set_free(&d->cals);
			d->cals = cals;
			for (int p = 0; p < d->nparts; p++)
				if (d->parts[p].core)
					core_set_config(d->parts[p].core, &d->pol, &d->cals);
			log_info("reloaded %zu calendars", d->cals.ncals);
		} else {
			calendar_set_free(&cals);
			log_error("reload failed, keeping the old calendars: %s", err);
		}
		sd_notify(0, "READY=1");
		return;
	}
	if (++d->sigterms > 1) {
		log_warn("second stop signal: exiting at once");
		_exit(1);
	}
	log_info("stopping: committing the current batch");
	sd_notify(0, "STOPPING=1");
	d->stopping = true;
	event_base_loopbreak(d->base);
}

static rd_kafka_t *kafka_consumer(struct daemon *d)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *fixed[][2] = {
		{"bootstrap.servers", d->cfg->kafka_brokers},
		{"group.id", d->cfg->kafka_group},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"enable.partition.eof", "true"},
		{"auto.offset.reset", "earliest"},
		/* range co-partitions the work-order and clock-in topics: partition p of both on one instance */
		{"partition.assignment.strategy", "range"},
		{"queued.max.messages.kbytes", "65536"},
	};
	for (size_t i = 0; i < d->cfg->nkafka_props; i++)
		if (rd_kafka_conf_set(conf, d->cfg->kafka_props[i].name, d->cfg->kafka_props[i].value, errstr,
				      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			log_error("kafka.%s: %s", d->cfg->kafka_props[i].name, errstr);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			log_error("kafka %s: %s", fixed[i][0], errstr);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_opaque(conf, d);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		log_error("kafka: %s", errstr);
		rd_kafka_conf_destroy(conf); /* rd_kafka_new keeps conf only on success */
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

int daemon_run(const struct config *cfg)
{
	struct daemon dd = {0}, *d = &dd;
	char err[512];
	int rc = 1;
	d->cfg = cfg;
	d->pipefd[0] = d->pipefd[1] = -1;
	d->retry_ms = RETRY_MIN_MS;
	d->topics[TOPIC_WORKORDERS] = cfg->topic_workorders;
	d->topics[TOPIC_CLOCKINS] = cfg->topic_clockins;
	d->topics[TOPIC_ASSESSMENTS] = cfg->topic_assessments;
	d->pol = *policy_defaults();
	d->pol.lateness_allowed = cfg->lateness_allowed;
	policy_finalize(&d->pol);
	core_out_init(&d->out);

	if (!cfg->kafka_brokers[0]) {
		log_error("kafka.brokers is not set (configuration file or SLAD_KAFKA_BROKERS)");
		goto fail;
	}
	d->st = store_connect(cfg->postgres_conninfo, err, sizeof(err));
	if (!d->st) {
		log_error("postgres: %s", err);
		goto fail;
	}
	if (!store_migrations_current(d->st, err, sizeof(err))) {
		log_error("the database schema is behind this slad: %s (run `slad migrate`)", err);
		goto fail;
	}
	if (!store_load_calendars(d->st, &d->cals, err, sizeof(err))) {
		log_error("loading calendars: %s", err);
		goto fail;
	}

	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (!d->base || pipe2(d->pipefd, O_NONBLOCK | O_CLOEXEC) != 0)
		goto fail;
	d->rk = kafka_consumer(d);
	if (!d->rk)
		goto fail;
	d->queue = rd_kafka_queue_get_consumer(d->rk);
	/* librdkafka writes to the pipe when the queue goes from empty to non-empty. */
	rd_kafka_queue_io_event_enable(d->queue, d->pipefd[1], "1", 1);
	d->ev_kafka = event_new(d->base, d->pipefd[0], EV_READ | EV_PERSIST, on_kafka, d);
	d->ev_drain = event_new(d->base, -1, 0, on_timer, d);
	d->ev_timer = evtimer_new(d->base, on_timer, d);
	d->ev_retry = evtimer_new(d->base, on_retry, d);
	d->ev_term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->ev_int = evsignal_new(d->base, SIGINT, on_signal, d);
	d->ev_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
	if (!d->ev_kafka || !d->ev_drain || !d->ev_timer || !d->ev_retry || !d->ev_term || !d->ev_int || !d->ev_hup)
		goto fail;
	event_add(d->ev_kafka, NULL);
	event_add(d->ev_term, NULL);
	event_add(d->ev_int, NULL);
	event_add(d->ev_hup, NULL);

	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(TOPIC_COUNT);
	for (int i = 0; i < TOPIC_COUNT; i++)
		rd_kafka_topic_partition_list_add(subs, d->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t kerr = rd_kafka_subscribe(d->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (kerr) {
		log_error("kafka subscribe: %s", rd_kafka_err2str(kerr));
		goto fail;
	}
	log_info("consuming %s, %s, %s as group %s (policy %s)", d->topics[0], d->topics[1], d->topics[2],
		 cfg->kafka_group, d->pol.version);
	sd_notify(0, "READY=1\nSTATUS=consuming");
	consume(d);
	event_base_dispatch(d->base);

	/* Drain: commit what was applied, leave the group (the revoke callback commits too). */
	(void)flush(d);
	rd_kafka_consumer_close(d->rk);
	log_info("stopped: %llu consumed, %llu applied, %llu duplicates, %llu dead letters", d->consumed, d->applied,
		 d->duplicates, d->dead);
	rc = 0;
fail:
	if (d->queue)
		rd_kafka_queue_destroy(d->queue);
	if (d->rk)
		rd_kafka_destroy(d->rk);
	for (int p = 0; p < d->nparts; p++)
		part_drop(d, p);
	free(d->parts);
	for (size_t i = 0; i < d->ntps; i++)
		tp_clear_queue(&d->tps[i]);
	free(d->tps);
	core_out_free(&d->out);
	struct event *evs[] = {d->ev_kafka, d->ev_drain, d->ev_timer, d->ev_retry, d->ev_term, d->ev_int, d->ev_hup};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (d->base)
		event_base_free(d->base);
	if (d->pipefd[0] >= 0)
		close(d->pipefd[0]);
	if (d->pipefd[1] >= 0)
		close(d->pipefd[1]);
	calendar_set_free(&d->cals);
	store_free(d->st);
	return rc;
}
