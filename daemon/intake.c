/* intake.c - Kafka intake: the consumer queue's wake-up pipe and drain, each
 * message decoded and checked, the event-time merge of a partition's work-order
 * and clock-in topics, the deadline timer, and the rebalance callback (offsets
 * read from PostgreSQL and passed to rd_kafka_assign). */
#include "daemon_internal.h"
#include "merge.h"

static void arm_timer(struct daemon *d);

int topic_index(const struct daemon *d, const char *name)
{
	for (int i = 0; i < TOPIC_COUNT; i++)
		if (strcmp(d->topics[i], name) == 0)
			return i;
	return -1;
}

struct topic_part *tp_find(struct daemon *d, int topic, int32_t partition)
{
	for (size_t i = 0; i < d->ntps; i++)
		if ((int)d->tps[i].topic == topic && d->tps[i].partition == partition)
			return &d->tps[i];
	return NULL;
}

void pending_free(struct pending *pe)
{
	if (pe->ev)
		sla_event_free(pe->ev);
	if (pe->msg)
		rd_kafka_message_destroy(pe->msg);
	pe->ev = NULL;
	pe->msg = NULL;
}

void tp_clear_queue(struct topic_part *tp)
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
	pe->verdict = event_classify((enum sla_topic)topic, m->payload, m->len, wall_now() + FUTURE_LIMIT, &pe->ev,
				     pe->detail, sizeof(pe->detail));
}

static sla_time pending_time(const struct pending *pe)
{
	return pe->ev ? pe->ev->occurred_at : INT64_MIN; /* undecodable: no reason to wait */
}

static struct merge_side merge_side_of(const struct topic_part *tp)
{
	struct merge_side m = {.assigned = tp != NULL};
	if (tp) {
		m.waiting = tp->qtail - tp->qhead;
		m.head_at = m.waiting ? pending_time(&tp->q[tp->qhead]) : INT64_MIN;
		m.eof = tp->eof;
	}
	return m;
}

/* Applies partition p's work-order and clock-in messages in event-time order
 * (merge.c decides which goes next). */
static void pump(struct daemon *d, int32_t p)
{
	struct topic_part *wo = tp_find(d, TOPIC_WORKORDERS, p), *ci = tp_find(d, TOPIC_CLOCKINS, p);
	/* Stopping: messages are dropped, so the other topic's end (EOF) no longer means that
	 * nothing earlier is coming; what waits is re-read from the committed offsets. */
	while (!d->degraded && !d->stopping) {
		struct merge_side mw = merge_side_of(wo), mc = merge_side_of(ci);
		enum merge_take next = merge_next(&mw, &mc, MERGE_MAX_WAIT);
		if (next == MERGE_NONE)
			return;
		struct topic_part *take = next == MERGE_CLOCKIN ? ci : wo;
		/* Applied while still queued: the partition is not caught up until its last message is in. */
		batch_apply(d, take, &take->q[take->qhead]);
		if (++take->qhead == take->qtail)
			take->qhead = take->qtail = 0;
	}
}

void set_kafka_up(struct daemon *d, bool up, const char *why)
{
	if (up == d->kafka_up)
		return;
	d->kafka_up = up;
	if (up)
		log_info("kafka: a broker answers again: consuming");
	else
		log_warn("kafka unreachable (%s): nothing to consume until a broker answers; /healthz reports 503", why);
}

static void handle_message(struct daemon *d, rd_kafka_message_t *m)
{
	const char *tname = rd_kafka_topic_name(m->rkt);
	int topic = topic_index(d, tname);
	struct topic_part *tp = topic >= 0 ? tp_find(d, topic, m->partition) : NULL;

	if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
		set_kafka_up(d, true, NULL); /* a fetch answered */
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
	/* Not ours (any more), waiting to reload, stopping, or already seen: it is re-read from the committed offset. */
	if (!tp || d->degraded || d->stopping || (tp->fetched >= 0 && m->offset < tp->fetched) ||
	    m->partition >= d->nparts ||
	    !engine_has(&d->parts[m->partition].eng, engine_half_of(topic))) {
		rd_kafka_message_destroy(m);
		return;
	}
	tp->fetched = m->offset + 1;
	/* At the high watermark of the fetch that brought it (cached, never blocks): the
	 * partition's end, as the end-of-partition event that follows will say, up to
	 * fetch.wait.max.ms later. Knowing it now lets a caught-up partition's clock
	 * (and its deadlines) follow the wall clock without that delay. */
	int64_t lo = -1, hi = -1;
	bool at_end = rd_kafka_get_watermark_offsets(d->rk, tname, m->partition, &lo, &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		      hi >= 0 && tp->fetched >= hi;
	d->consumed++;
	struct pending pe = {m, NULL, SV_APPLIED, ""};
	classify(topic, &pe);
	if (topic == TOPIC_ASSESSMENTS) {
		/* Applied on event time; the wall clock takes over after it. */
		tp->eof = false;
		batch_apply(d, tp, &pe);
		tp->eof = at_end;
		return;
	}
	/* Queued messages keep their partition lagging until applied (part_caught_up). */
	tp->eof = at_end;
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

/* Continues draining on the next loop iteration. A zero timeout, not
 * event_active: libevent runs events activated from a callback in the same
 * pass, so a backlog would starve signals, the HTTP endpoint and timers. */
static void drain_later(struct daemon *d)
{
	struct timeval now = {0, 0};
	evtimer_add(d->ev_drain, &now);
}

/* calendar.md: a date outside a calendar's loaded years is reported once per
 * calendar and year (the computation went on with Monday-Friday, no holidays). */
static void report_unloaded_years(struct daemon *d)
{
	int years[16];
	for (size_t c = 0; c < d->cals.ncals; c++) {
		size_t n = calendar_take_unloaded_years(&d->cals.cals[c], years, sizeof(years) / sizeof(years[0]));
		for (size_t i = 0; i < n; i++) {
			log_warn("calendar %s: year %d is not loaded: its working days are taken as Monday-Friday without "
				 "holidays; add them to sla.calendar_exceptions and reload",
				 d->cals.cals[c].id, years[i]);
			metrics_calendar_unloaded_year(d->metrics, d->cals.cals[c].id, years[i]);
		}
	}
}

/* Drains the consumer queue without blocking; commits full batches, then the rest. */
void intake_consume(struct daemon *d)
{
	size_t budget = (size_t)d->cfg->batch_max_events * 4;
	while (budget-- > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, 0);
		if (!m)
			break;
		handle_message(d, m); /* takes m */
	}
	if (d->closing) {
		/* Draining: polling served the revoke; nothing more is applied. */
		if (rd_kafka_consumer_closed(d->rk)) {
			log_info("left the consumer group");
			event_base_loopbreak(d->base);
		} else if (budget == (size_t)-1) {
			drain_later(d);
		}
		return;
	}
	/* Partitions that reached their end now run on the wall clock. */
	for (int p = 0; p < d->nparts; p++)
		for (enum engine_half h = HALF_TICKETS; h < HALF_COUNT; h++)
			if (engine_has(&d->parts[p].eng, h) && part_caught_up(d, p, h))
				engine_advance(&d->parts[p].eng, h, part_now(d, p, h), &shard_of(d, p)->fx);
	(void)batch_flush(d);
	loop_publish_escalations(d);
	report_unloaded_years(d);
	if (budget == (size_t)-1) /* more may be waiting: yield to timers, then continue */
		drain_later(d);
	arm_timer(d);
}

void intake_on_kafka(evutil_socket_t fd, short what UNUSED, void *arg)
{
	pipe_drain(fd);
	intake_consume(arg);
}

void intake_on_timer(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	intake_consume(d);
}

/* One libevent timer, armed for the earliest deadline of a caught-up partition (at most 1 s away,
 * which doubles as the safety drain of the consumer queue). */
static void arm_timer(struct daemon *d)
{
	sla_time wait = 1000, w = wall_now();
	for (int p = 0; p < d->nparts; p++) {
		for (enum engine_half h = HALF_TICKETS; h < HALF_COUNT; h++) {
			if (!engine_has(&d->parts[p].eng, h) || !part_caught_up(d, p, h))
				continue;
			sla_time due = engine_next_due(&d->parts[p].eng, h);
			if (due != SLA_TIME_NONE && due - w < wait)
				wait = due > w ? due - w : 0;
		}
	}
	struct timeval tv = ms_to_tv(wait);
	evtimer_add(d->ev_timer, &tv);
}

rd_kafka_topic_partition_list_t *intake_assignment(struct daemon *d)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)d->ntps);
	for (size_t i = 0; i < d->ntps; i++) {
		rd_kafka_topic_partition_t *e =
			rd_kafka_topic_partition_list_add(l, d->topics[d->tps[i].topic], d->tps[i].partition);
		/* No offset yet: from 0, not RD_KAFKA_OFFSET_BEGINNING, whose ListOffsets round
		 * delayed the first fetch by up to a second in half the starts we measured. Where
		 * retention removed offset 0, auto.offset.reset (earliest) starts at the topic's
		 * first offset, as BEGINNING does. */
		e->offset = d->tps[i].committed >= 0 ? d->tps[i].committed : 0;
	}
	return l;
}

bool tp_load_offset(struct daemon *d, struct topic_part *tp)
{
	char err[512];
	if (!store_load_offset(daemon_store(d), d->cfg->kafka_group, d->topics[tp->topic], tp->partition, &tp->committed,
			       &tp->rewrite_until, err, sizeof(err))) {
		log_error("loading offsets: %s", redacted(d, err));
		return false;
	}
	tp->next = tp->fetched = tp->committed;
	return true;
}

/* A new topic-partition at its committed offset; NULL: not ours to track (unknown topic, known already, out of memory). */
static struct topic_part *tp_add(struct daemon *d, const rd_kafka_topic_partition_t *tpl)
{
	int topic = topic_index(d, tpl->topic);
	if (topic < 0 || tp_find(d, topic, tpl->partition))
		return NULL;
	struct topic_part *n = realloc(d->tps, (d->ntps + 1) * sizeof(*n));
	if (!n)
		return NULL;
	d->tps = n;
	struct topic_part *tp = &d->tps[d->ntps++];
	memset(tp, 0, sizeof(*tp));
	tp->topic = (enum sla_topic)topic;
	tp->partition = tpl->partition;
	tp->bisect_until = -1;
	return tp;
}

/* Offsets from PostgreSQL, the partitions' states restored, then rd_kafka_assign at those offsets. */
static void assign_partitions(struct daemon *d, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	set_kafka_up(d, true, NULL);
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *tpl = &parts->elems[i];
		struct topic_part *tp = tp_add(d, tpl);
		if (!tp)
			continue;
		if (!tp_load_offset(d, tp)) {
			tp->committed = tp->next = tp->fetched = -1;
			enter_degraded(d, "database error");
		}
		if (!d->degraded && tp->topic == TOPIC_ASSESSMENTS && !part_load_partners(d, tpl->partition))
			enter_degraded(d, "database error");
		log_info_f(&(struct log_fields){.topic = tpl->topic, .partition = LOG_NUM(tpl->partition)},
			   "assigned %s [%d] from offset %lld", tpl->topic, (int)tpl->partition, (long long)tp->committed);
	}
	/* Every newly assigned work-order and clock-in partition in one load. */
	if (!d->degraded && !part_load_assigned(d))
		enter_degraded(d, "database error");
	part_prefetch_free(d); /* what was read ahead for partitions not assigned here */
	rd_kafka_topic_partition_list_t *l = intake_assignment(d);
	rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (!d->degraded)
		loop_mark_ready(d);
}

/* Commits and checkpoints while the partitions are still ours, then forgets them. */
static void revoke_partitions(struct daemon *d, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	d->force_checkpoint = true;
	(void)batch_flush_wait(d); /* committed while the partitions are still ours */
	for (int i = 0; i < parts->cnt; i++) {
		int topic = topic_index(d, parts->elems[i].topic);
		struct topic_part *tp = topic >= 0 ? tp_find(d, topic, parts->elems[i].partition) : NULL;
		if (!tp)
			continue;
		log_info_f(&(struct log_fields){.topic = parts->elems[i].topic, .partition = LOG_NUM(tp->partition)},
			   "revoked %s [%d]", parts->elems[i].topic, (int)tp->partition);
		tp_clear_queue(tp); /* not applied: the next owner reads them from the committed offset */
		batch_forget_poison(d, tp);
		*tp = d->tps[--d->ntps];
	}
	for (int p = 0; p < d->nparts; p++) {
		bool kept[HALF_COUNT] = {false, false};
		for (size_t i = 0; i < d->ntps; i++)
			kept[engine_half_of(d->tps[i].topic)] |= d->tps[i].partition == p;
		for (enum engine_half h = HALF_TICKETS; h < HALF_COUNT; h++)
			if (!kept[h])
				part_drop(d, p, h);
	}
	rd_kafka_assign(rk, NULL);
}

void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct daemon *d = opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		assign_partitions(d, rk, parts);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		revoke_partitions(d, rk, parts);
		return;
	}
	log_error("rebalance error: %s", rd_kafka_err2str(err));
	rd_kafka_assign(rk, NULL);
}
