/* daemon.c - the loop: Kafka intake through an io-event pipe, one core per partition,
 * one PostgreSQL transaction per batch (results + offsets), deadline timers, signals,
 * reloads, the bounded drain, systemd notifications. The consumer's configuration is
 * in consumer.c, /healthz, /metrics and STATUS= in health.c. */
#include "slad/daemon.h"

#include "daemon_internal.h"

static int topic_index(const struct daemon *d, const char *name)
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

static void arm_timer(struct daemon *d);
static void publish_escalations(struct daemon *d);
static void pause_to_rebuild(struct daemon *d, const char *why, int delay_ms);

/* The most messages the batch in progress may hold. */
static size_t batch_cap(const struct daemon *d)
{
	size_t cap = (size_t)d->cfg->batch_max_events;
	return d->bisect_limit > 0 && d->bisect_limit < cap ? d->bisect_limit : cap;
}

static struct poison *poison_find(struct daemon *d, enum sla_topic topic, int32_t partition, int64_t offset)
{
	for (size_t i = 0; i < d->npoison; i++)
		if (d->poison[i].topic == topic && d->poison[i].partition == partition && d->poison[i].offset == offset)
			return &d->poison[i];
	return NULL;
}

static void poison_remove(struct daemon *d, size_t i)
{
	d->poison[i] = d->poison[--d->npoison];
}

static void bisect_end(struct daemon *d)
{
	d->bisect_limit = 0;
	for (size_t i = 0; i < d->ntps; i++)
		d->tps[i].bisect_until = -1;
}

/* After a commit: the isolated messages whose dead letters it held are done.
 * Full batches again once none is pending and either one was just written or
 * every message of the batch that was rejected has been committed since. */
static void poison_committed(struct daemon *d)
{
	bool written = false;
	for (size_t i = d->npoison; i-- > 0;)
		if (d->poison[i].in_batch) {
			metrics_poison_committed(d->metrics);
			poison_remove(d, i);
			written = true;
		}
	if (d->bisect_limit == 0 || d->npoison > 0)
		return;
	bool passed = true;
	for (size_t i = 0; i < d->ntps; i++)
		if (d->tps[i].bisect_until >= 0 && d->tps[i].next < d->tps[i].bisect_until)
			passed = false;
	if (written || passed) {
		log_info("back to batches of up to %ld messages", (long)d->cfg->batch_max_events);
		bisect_end(d);
	}
}

/* A commit that PostgreSQL refused because of a value in it (a data error)
 * would fail again as it is: find the message that writes the value. The cores
 * are rebuilt from the committed state and the same messages consumed again in
 * batches half as large, until one message alone still fails; that one is then
 * dead-lettered (BAD_VALUE) instead of applied on the next rebuild, and batches
 * are full again. Timer effects commit apart from the message while batches
 * hold one (apply_pending), so what fails is what the message writes. false:
 * nothing to blame (no message in the batch, too many pending): the caller
 * takes the retry path. */
static bool bisect(struct daemon *d, size_t nevents)
{
	const char *state = store_last_sqlstate(d->st);
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", store_last_error_message(d->st));
	redacted(d, msg);
	if (nevents == 0)
		return false;
	if (d->bisect_limit == 1 && nevents == 1) {
		const char *tname = d->topics[d->batch_first.topic];
		struct poison *px =
			poison_find(d, d->batch_first.topic, d->batch_first.partition, d->batch_first.offset);
		if (px) {
			if (px->bare)
				return false; /* even a dead letter without the payload is refused */
			px->bare = true;
			log_warn_f(&(struct log_fields){.topic = tname, .partition = LOG_NUM(px->partition),
							.offset = LOG_NUM(px->offset), .reason = "BAD_VALUE"},
				   "topic=%s partition=%d offset=%lld: PostgreSQL rejects its dead letter too (%s %s): "
				   "writing the dead letter without the payload",
				   tname, (int)px->partition, (long long)px->offset, state, msg);
		} else {
			if (d->npoison == POISON_MAX)
				return false;
			px = &d->poison[d->npoison++];
			memset(px, 0, sizeof(*px));
			px->topic = d->batch_first.topic;
			px->partition = d->batch_first.partition;
			px->offset = d->batch_first.offset;
			snprintf(px->detail, sizeof(px->detail), "rejected by PostgreSQL: %.5s %.200s", state, msg);
			log_error_f(&(struct log_fields){.topic = tname, .partition = LOG_NUM(px->partition),
							 .offset = LOG_NUM(px->offset), .reason = "BAD_VALUE"},
				    "topic=%s partition=%d offset=%lld: PostgreSQL rejects what this message writes (%s %s): "
				    "dead-lettering it (BAD_VALUE); it is not applied",
				    tname, (int)px->partition, (long long)px->offset, state, msg);
		}
	} else {
		if (d->bisect_limit == 0)
			for (size_t i = 0; i < d->ntps; i++)
				d->tps[i].bisect_until = -1;
		for (size_t i = 0; i < d->ntps; i++)
			if (d->tps[i].next > d->tps[i].committed && d->tps[i].next > d->tps[i].bisect_until)
				d->tps[i].bisect_until = d->tps[i].next;
		d->bisect_limit = nevents / 2 > 0 ? nevents / 2 : 1;
		log_warn("commit of %zu messages failed: PostgreSQL rejected a value (%s %s): consuming them again "
			 "from the committed state in batches of %zu to find the message",
			 nevents, state, msg, d->bisect_limit);
	}
	pause_to_rebuild(d, "isolating a message PostgreSQL rejects", 0);
	return true;
}

/* Commits the batch: results, dead letters and offsets in one transaction. */
static bool all_caught_up(const struct daemon *d)
{
	for (size_t i = 0; i < d->ntps; i++)
		if (d->tps[i].topic != TOPIC_ASSESSMENTS && (!d->tps[i].eof || d->tps[i].qhead != d->tps[i].qtail))
			return false;
	return true;
}

/* Whether this batch is a checkpoint: every batch with batch.checkpoint_ms 0 or
 * while isolating a poison message; else every batch.checkpoint_ms, and as soon
 * as every partition caught up after a backlog (a full batch since the last
 * checkpoint), so that a restart then re-applies nothing. */
static bool checkpoint_due(const struct daemon *d)
{
	return d->cfg->batch_checkpoint_ms == 0 || d->bisect_limit != 0 || d->force_checkpoint ||
	       d->stopping || mono_ms() - d->checkpoint_at >= d->cfg->batch_checkpoint_ms ||
	       (d->lagged && all_caught_up(d));
}

static bool flush(struct daemon *d)
{
	char err[512];
	struct store_offset offs[256];
	size_t noffs = 0;
	bool moved = false;

	if (d->degraded)
		return false;
	bool ckpt = checkpoint_due(d);
	/* Every partition with a position goes in, moved or not: the compare-and-set
	 * fences out an instance that lost the partition, and the commit can be read back. */
	for (size_t i = 0; i < d->ntps && noffs < 256; i++) {
		struct topic_part *tp = &d->tps[i];
		/* Work orders and clock-ins carry their partition's processing clock: the group's
		 * watermark (the slowest) decides when rules across tickets are evaluated. */
		/* A partition assigned here that has no clock yet (nothing consumed, not at its end)
		 * still gets a row, at -infinity: until it reports, the watermark waits for it. */
		sla_time clock = SLA_TIME_NONE;
		if (tp->topic != TOPIC_ASSESSMENTS && tp->partition < d->nparts && d->parts[tp->partition].core) {
			clock = part_now(d, tp->partition);
			if (clock == SLA_TIME_NONE)
				clock = STORE_CLOCK_UNKNOWN;
		}
		if (tp->next < 0 && clock == SLA_TIME_NONE)
			continue;
		/* Between checkpoints a work-order or clock-in offset only fences the batch. */
		int64_t to = ckpt || tp->topic == TOPIC_ASSESSMENTS ? tp->next : tp->committed;
		offs[noffs++] = (struct store_offset){d->topics[tp->topic], tp->partition, tp->committed, to, clock};
		moved |= to != tp->committed;
		/* An idle, caught-up partition still moves the watermark, once a second. */
		moved |= clock != SLA_TIME_NONE && clock != STORE_CLOCK_UNKNOWN && clock - tp->clock_written >= 1000;
	}
	if (!moved && d->out.ndirty == 0 && d->out.ndead == 0 && d->out.nhist == 0 && d->out.nesc == 0 &&
	    partners_out_empty(&d->pout) && !(ckpt && d->out.npending > 0))
		return true;
	if (ckpt && !core_out_take_states(&d->out)) {
		/* Out of memory: a batch of results only; the checkpoint comes with a later one. */
		ckpt = false;
		for (size_t i = 0; i < noffs; i++)
			if (strcmp(offs[i].topic, d->topics[TOPIC_ASSESSMENTS]) != 0)
				offs[i].to = offs[i].from;
	}

	int64_t t0 = mono_ms();
	struct timespec ts0, ts1;
	clock_gettime(CLOCK_MONOTONIC, &ts0);
	enum store_result r =
		store_commit(d->st, d->cfg->kafka_group, &d->out, offs, noffs, d->pol->version, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	double secs = (double)(ts1.tv_sec - ts0.tv_sec) + (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9;
	size_t ndead = d->out.ndead, nevents = d->batch_events;
	if (r == STORE_OK)
		metrics_batch_committed(d->metrics, &d->out, secs); /* reads out: before it is cleared */
	else
		metrics_commit_failed(d->metrics, secs, r == STORE_CONFLICT);
	metrics_batch_discard(d->metrics);
	core_out_clear(&d->out);
	partners_out_clear(&d->pout);
	d->batch_events = 0;
	if (r == STORE_OK) {
		poison_committed(d);
		for (size_t i = 0; i < noffs; i++) {
			struct topic_part *tp = tp_find(d, topic_index(d, offs[i].topic), offs[i].partition);
			if (tp && offs[i].clock != SLA_TIME_NONE && offs[i].clock != STORE_CLOCK_UNKNOWN)
				tp->clock_written = offs[i].clock;
		}
		for (size_t i = 0; i < d->ntps; i++)
			if (d->tps[i].next >= 0 && (ckpt || d->tps[i].topic == TOPIC_ASSESSMENTS))
				d->tps[i].committed = d->tps[i].next;
		if (ckpt) {
			d->checkpoint_at = t0;
			d->lagged = d->force_checkpoint = false;
		}
		d->dead += ndead;
		d->retry_ms = RETRY_MIN_MS; /* back-off grows until a commit succeeds again */
		d->db_ok_at = t0;
		return true;
	}
	/* The core moved ahead of the database: go back to what was committed. */
	for (size_t i = 0; i < d->npoison; i++)
		d->poison[i].in_batch = false;
	d->pg_up = r == STORE_CONFLICT || store_ok(d->st);
	if (r == STORE_DATA_ERROR && bisect(d, nevents))
		return false;
	log_error("commit failed (%s): %s",
		  r == STORE_CONFLICT	  ? "offsets moved by another instance"
		  : r == STORE_DATA_ERROR ? "PostgreSQL rejected a value, and no message of the batch can be blamed"
					  : "database",
		  redacted(d, err));
	enter_degraded(d, r == STORE_CONFLICT ? "offset conflict" : "database error");
	return false;
}

static void pending_free(struct pending *pe)
{
	if (pe->ev)
		sla_event_free(pe->ev);
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

/* While batches hold one message (bisect): the deadlines the clock passes before
 * the message fire and commit first, on their own, as core_apply and
 * partners_apply would fire them before it. false: that commit failed. */
static bool advance_apart(struct daemon *d, struct topic_part *tp, const struct pending *pe)
{
	int32_t p = pe->msg->partition;
	if (tp->topic != TOPIC_ASSESSMENTS) {
		if (d->parts[p].maxev == SLA_TIME_NONE || pe->ev->occurred_at > d->parts[p].maxev)
			d->parts[p].maxev = pe->ev->occurred_at;
		sla_time now = part_now(d, p), before = pe->ev->occurred_at - 1;
		core_advance(d->parts[p].core, now < before ? now : before, &d->out);
	} else if (d->parts[p].ps) {
		if (d->parts[p].amaxev == SLA_TIME_NONE || pe->ev->occurred_at > d->parts[p].amaxev)
			d->parts[p].amaxev = pe->ev->occurred_at;
		partners_advance(d->parts[p].ps, apart_now(d, p), &d->pout);
	}
	return flush(d);
}

/* Applies one message: through the core, or straight to the dead letters. */
static void apply_pending(struct daemon *d, struct topic_part *tp, struct pending *pe)
{
	rd_kafka_message_t *m = pe->msg;
	const char *tname = d->topics[tp->topic];
	enum sla_verdict v = pe->verdict;
	struct poison *px = d->npoison ? poison_find(d, tp->topic, m->partition, m->offset) : NULL;
	if (!px && v == SV_APPLIED && d->bisect_limit == 1 && !advance_apart(d, tp, pe)) {
		pending_free(pe); /* consumed again after the rebuild */
		return;
	}
	tp->next = m->offset + 1;
	if (d->batch_events++ == 0) {
		d->batch_first.topic = tp->topic;
		d->batch_first.partition = m->partition;
		d->batch_first.offset = m->offset;
	}
	if (px) {
		/* Isolated as what PostgreSQL rejects (bisect): its effects stay out of the core. */
		v = SV_BAD_VALUE;
		px->in_batch = true;
		core_out_dead(&d->out, tname, m->partition, m->offset, v, px->detail, px->bare ? NULL : m->payload,
			      px->bare ? 0 : m->len);
	} else if (v == SV_APPLIED && tp->topic != TOPIC_ASSESSMENTS) {
		int32_t p = m->partition;
		struct sla_origin origin = {tname, p, m->offset, m->payload, m->len};
		if (d->parts[p].maxev == SLA_TIME_NONE || pe->ev->occurred_at > d->parts[p].maxev)
			d->parts[p].maxev = pe->ev->occurred_at;
		/* core_apply records its own dead letters. */
		sla_time now = part_now(d, p);
		log_debug("apply topic=%s partition=%d offset=%lld event=%s now=%lld", tname, (int)p,
			  (long long)m->offset, pe->ev->event_id, (long long)now);
		v = core_apply(d->parts[p].core, pe->ev, &origin, now, &d->out);
	} else if (v == SV_APPLIED && d->parts[m->partition].ps) {
		/* An assessment: the partner's quarter and qualification timers (scoring.md). */
		int32_t p = m->partition;
		if (d->parts[p].amaxev == SLA_TIME_NONE || pe->ev->occurred_at > d->parts[p].amaxev)
			d->parts[p].amaxev = pe->ev->occurred_at;
		v = partners_apply(d->parts[p].ps, pe->ev, apart_now(d, p), &d->pout, pe->detail, sizeof(pe->detail));
		if (verdict_is_dead_letter(v))
			core_out_dead(&d->out, tname, p, m->offset, v, pe->detail, m->payload, m->len);
	} else if (verdict_is_dead_letter(v)) {
		core_out_dead(&d->out, tname, m->partition, m->offset, v, pe->detail, m->payload, m->len);
	}
	metrics_batch_event(d->metrics, tp->topic, pe->ev ? (int)pe->ev->type : -1, v == SV_DUPLICATE);
	if (v == SV_DUPLICATE)
		d->duplicates++;
	else if (verdict_is_dead_letter(v))
		log_debug_f(&(struct log_fields){.topic = tname, .partition = LOG_NUM(m->partition),
						 .offset = LOG_NUM(m->offset), .reason = verdict_reason(v),
						 .ticket = pe->ev && pe->ev->ticket_id[0] ? pe->ev->ticket_id : NULL},
			    "dead letter topic=%s partition=%d offset=%lld: %s", tname, (int)m->partition,
			    (long long)m->offset, verdict_reason(v));
	else
		d->applied++;
	pending_free(pe);
	if (d->batch_events >= batch_cap(d)) {
		d->lagged = true; /* a backlog: checkpoint once it is consumed */
		(void)flush(d);
	}
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
	/* Stopping: messages are dropped, so the other topic's end (EOF) no longer means that
	 * nothing earlier is coming; what waits is re-read from the committed offsets. */
	while (!d->degraded && !d->stopping) {
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
	    (topic != TOPIC_ASSESSMENTS ? !d->parts[m->partition].core : !d->parts[m->partition].ps)) {
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
		apply_pending(d, tp, &pe);
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
static void consume(struct daemon *d)
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
	for (int p = 0; p < d->nparts; p++) {
		if (d->parts[p].core && part_caught_up(d, p))
			core_advance(d->parts[p].core, part_now(d, p), &d->out);
		if (d->parts[p].ps && apart_caught_up(d, p))
			partners_advance(d->parts[p].ps, apart_now(d, p), &d->pout);
	}
	(void)flush(d);
	publish_escalations(d);
	report_unloaded_years(d);
	if (budget == (size_t)-1) /* more may be waiting: yield to timers, then continue */
		drain_later(d);
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
		sla_time dues[2] = {SLA_TIME_NONE, SLA_TIME_NONE};
		if (d->parts[p].core && part_caught_up(d, p))
			dues[0] = core_next_due(d->parts[p].core);
		if (d->parts[p].ps && apart_caught_up(d, p))
			dues[1] = partners_next_due(d->parts[p].ps);
		for (int k = 0; k < 2; k++)
			if (dues[k] != SLA_TIME_NONE && dues[k] - w < wait)
				wait = dues[k] > w ? dues[k] - w : 0;
	}
	struct timeval tv = ms_to_tv(wait);
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
	metrics_batch_discard(d->metrics);
	core_out_clear(&d->out);
	partners_out_clear(&d->pout);
	d->batch_events = 0;
	for (size_t i = 0; i < d->npoison; i++)
		d->poison[i].in_batch = false;
	for (int p = 0; p < d->nparts; p++) {
		part_drop(d, p);
		apart_drop(d, p);
	}
	for (size_t i = 0; i < d->ntps; i++) {
		struct topic_part *tp = &d->tps[i];
		if (!store_load_offset(d->st, d->cfg->kafka_group, d->topics[tp->topic], tp->partition, &tp->committed,
				       err, sizeof(err))) {
			log_error("loading offsets: %s", redacted(d, err));
			return false;
		}
		tp->next = tp->fetched = tp->committed;
		tp->eof = false;
		tp_clear_queue(tp);
		if (tp->topic == TOPIC_ASSESSMENTS && !apart_load(d, tp->partition))
			return false;
	}
	if (!part_load_assigned(d))
		return false;
	rd_kafka_topic_partition_list_t *l = assignment_with_offsets(d);
	rd_kafka_resp_err_t e = rd_kafka_assign(d->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		log_error("kafka assign: %s", rd_kafka_err2str(e));
		return false;
	}
	return true;
}

/* READY=1 once consumption has started: the first partition assignment is
 * restored from PostgreSQL with every deadline armed. */
static void mark_ready(struct daemon *d)
{
	struct totals t;
	if (d->ready)
		return;
	d->ready = true;
	event_del(d->ev_ready);
	health_totals(d, &t);
	log_info("ready: %zu open tickets restored, %zu timers armed, %lld ms after start", t.open_tickets,
		 t.armed_timers, (long long)(mono_ms() - d->started_at));
	notify_send("READY=1");
}

/* No assignment within READY_WAIT_MS (Kafka unreachable, say): report ready
 * anyway rather than be killed by the service manager's start timeout; the
 * partitions are restored when they come, and /healthz tells the truth. */
static void on_ready_wait(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;
	if (d->ready)
		return;
	log_warn("no partition assignment %d s after start (is Kafka reachable?): reporting ready; "
		 "partitions are restored when they are assigned",
		 READY_WAIT_MS / 1000);
	mark_ready(d);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char err[512];
	(void)fd;
	(void)what;
	if (d->stopping)
		return;
	if (store_ok(d->st) || store_reconnect(d->st, err, sizeof(err))) {
		d->degraded = false;
		d->pg_up = true;
		if (reset_from_store(d)) {
			d->db_ok_at = mono_ms();
			if (d->rebuilding)
				log_info("rebuilt from the committed state: consuming again, batch size %zu",
					 batch_cap(d));
			else
				log_info("database reachable again: resumed from committed offsets");
			d->rebuilding = false;
			if (d->ntps > 0)
				mark_ready(d);
			health_update_status(d);
			consume(d);
			return;
		}
		d->degraded = true;
		d->rebuilding = false;
		d->pg_up = store_ok(d->st);
	} else {
		d->pg_up = false;
		log_warn("database still unreachable, next try in %d ms: %s",
			 d->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : d->retry_ms * 2, redacted(d, err));
	}
	d->retry_ms = d->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : d->retry_ms * 2;
	struct timeval tv = ms_to_tv(d->retry_ms);
	evtimer_add(d->ev_retry, &tv);
}

/* Stops consuming until on_retry has reloaded offsets and ticket state from
 * PostgreSQL: whatever was applied after the last commit is thrown away. */
void enter_degraded(struct daemon *d, const char *why)
{
	if (d->degraded)
		return;
	log_warn("pausing consumption (%s); /healthz reports 503; retrying in %d ms", why, d->retry_ms);
	pause_to_rebuild(d, why, d->retry_ms);
	d->rebuilding = false;
}

/* The same pause without an outage (bisect): the cores are rebuilt after delay_ms. */
static void pause_to_rebuild(struct daemon *d, const char *why, int delay_ms)
{
	if (d->degraded)
		return;
	d->degraded = true;
	d->rebuilding = true;
	snprintf(d->degraded_why, sizeof(d->degraded_why), "%s", why);
	health_update_status(d);
	struct timeval tv = ms_to_tv(delay_ms);
	evtimer_add(d->ev_retry, &tv);
}

void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct daemon *d = opaque;
	char e[512];
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		set_kafka_up(d, true, NULL);
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
			tp->bisect_until = -1;
			if (!store_load_offset(d->st, d->cfg->kafka_group, tpl->topic, tpl->partition, &tp->committed, e,
					       sizeof(e))) {
				log_error("loading offsets: %s", redacted(d, e));
				tp->committed = -1;
				enter_degraded(d, "database error");
			}
			tp->next = tp->fetched = tp->committed;
			if (!d->degraded && topic == TOPIC_ASSESSMENTS && !apart_load(d, tpl->partition))
				enter_degraded(d, "database error");
			log_info_f(&(struct log_fields){.topic = tpl->topic, .partition = LOG_NUM(tpl->partition)},
				   "assigned %s [%d] from offset %lld", tpl->topic, (int)tpl->partition,
				   (long long)tp->committed);
		}
		/* Every newly assigned work-order and clock-in partition in one load. */
		if (!d->degraded && !part_load_assigned(d))
			enter_degraded(d, "database error");
		part_prefetch_free(d); /* what was read ahead for partitions not assigned here */
		rd_kafka_topic_partition_list_t *l = assignment_with_offsets(d);
		rd_kafka_assign(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
		if (!d->degraded)
			mark_ready(d);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		d->force_checkpoint = true;
		(void)flush(d); /* commit what we did, and checkpoint, while it is still ours */
		for (int i = 0; i < parts->cnt; i++) {
			int topic = topic_index(d, parts->elems[i].topic);
			struct topic_part *tp = topic >= 0 ? tp_find(d, topic, parts->elems[i].partition) : NULL;
			if (!tp)
				continue;
			log_info_f(&(struct log_fields){.topic = parts->elems[i].topic, .partition = LOG_NUM(tp->partition)},
				   "revoked %s [%d]", parts->elems[i].topic, (int)tp->partition);
			tp_clear_queue(tp); /* not applied: the next owner reads them from the committed offset */
			/* The next owner isolates its poison messages itself. */
			for (size_t k = d->npoison; k-- > 0;)
				if (d->poison[k].topic == tp->topic && d->poison[k].partition == tp->partition)
					poison_remove(d, k);
			*tp = d->tps[--d->ntps];
		}
		for (int p = 0; p < d->nparts; p++) {
			bool kept = false, kept_assessments = false;
			for (size_t i = 0; i < d->ntps; i++) {
				kept |= d->tps[i].partition == p && d->tps[i].topic != TOPIC_ASSESSMENTS;
				kept_assessments |= d->tps[i].partition == p && d->tps[i].topic == TOPIC_ASSESSMENTS;
			}
			if (!kept)
				part_drop(d, p);
			if (!kept_assessments)
				apart_drop(d, p);
		}
		rd_kafka_assign(rk, NULL);
		return;
	}
	log_error("rebalance error: %s", rd_kafka_err2str(err));
	rd_kafka_assign(rk, NULL);
}

/* Sends the outbox's escalations of this instance's tickets (and marks the acknowledged ones). */
static void publish_escalations(struct daemon *d)
{
	int32_t parts[256];
	size_t n = 0;
	if (!d->esc || d->degraded || d->stopping)
		return;
	for (int p = 0; p < d->nparts && n < 256; p++)
		if (d->parts[p].core)
			parts[n++] = p;
	escalator_run(d->esc, d->st, parts, n);
}

/* Periodic chores, one tick: the watchdog, a PostgreSQL ping when idle, STATUS=. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char err[512];
	(void)fd;
	(void)what;
	if (notify_watchdog_usec())
		notify_send("WATCHDOG=1");
	publish_escalations(d);
	/* An idle partition's checkpoint comes at the next tick after batch.checkpoint_ms. */
	if (!d->degraded && !d->stopping && !d->closing)
		(void)flush(d);
	if (!d->degraded && !d->stopping && mono_ms() - d->db_ok_at >= PING_IDLE_MS) {
		if (store_ping(d->st, err, sizeof(err))) {
			d->db_ok_at = mono_ms();
			d->pg_up = true;
		} else {
			d->pg_up = false;
			log_error("postgres unreachable: %s", redacted(d, err));
			enter_degraded(d, "database unreachable");
		}
	}
	health_update_status(d);
}

/* ---- reload (SIGHUP) ---- */

struct sla_policy *daemon_policy_load(const struct config *cfg, bool *from_file, char *err, size_t errlen)
{
	struct sla_policy *pol;
	/* Without a policies file the built-in defaults apply (interfaces.md). */
	bool file = access(cfg->policies, F_OK) == 0 || errno != ENOENT;
	if (from_file)
		*from_file = file;
	pol = file ? policy_load_file(cfg->policies, err, errlen) : policy_copy_defaults();
	if (!pol) {
		if (!file)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pol->lateness_allowed = cfg->lateness_allowed;
	pol->archive_after = cfg->archive_after;
	policy_finalize(pol);
	return pol;
}

static void restart_needed(const char *key, void *arg)
{
	(void)arg;
	log_warn("reload: %s changed; it takes effect after a restart", key);
}

/* One line per problem in err: joined for the log. */
static void one_line(char *msg)
{
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ';';
}

/* Parses the configuration, the policies and the calendars anew; only when
 * all three are good does it swap them in, at once. Open milestones keep the
 * deadlines they were armed with; new ones use the new policy. */
static bool reload(struct daemon *d)
{
	char err[2048];
	struct config fresh;
	struct sla_policy *pol = NULL;
	struct calendar_set cals = {0};
	bool ok = false;

	bool loaded = config_load(&fresh, d->config_path, err, sizeof(err));
	if (!loaded) {
		config_redact(&fresh, err);
		one_line(redacted(d, err));
		log_error("reload failed, the old configuration, policies and calendars stay: %s", err);
		goto done;
	}
	pol = daemon_policy_load(&fresh, NULL, err, sizeof(err));
	if (!pol) {
		log_error("reload failed, the old configuration, policies and calendars stay: policies: %s", err);
		goto done;
	}
	if (d->degraded || !store_load_calendars(d->st, &cals, err, sizeof(err))) {
		log_error("reload failed, the old configuration, policies and calendars stay: calendars: %s",
			  d->degraded ? "PostgreSQL is unreachable" : redacted(d, err));
		goto done;
	}
	/* What the old policy produced is committed under its version. */
	(void)flush(d);
	config_reload(d->cfg, &fresh, restart_needed, NULL);
	if (!log_level_parse(d->cfg->log_level, &log_min_level))
		log_warn("reload: log.level %s not understood", d->cfg->log_level);
	enum log_format fmt;
	if (log_format_parse(d->cfg->log_format, &fmt))
		log_set_format(fmt); /* from the next line on: "reloaded: ..." already comes out in the new format */
	else
		log_warn("reload: log.format %s not understood", d->cfg->log_format);
	policy_free(d->pol); /* the cores move to the new one below; milestones keep their due times */
	d->pol = pol;
	pol = NULL;
	calendar_set_free(&d->cals);
	d->cals = cals;
	memset(&cals, 0, sizeof(cals));
	for (int p = 0; p < d->nparts; p++) {
		if (d->parts[p].core)
			core_set_config(d->parts[p].core, d->pol, &d->cals);
		if (d->parts[p].pf_core)
			core_set_config(d->parts[p].pf_core, d->pol, &d->cals);
	}
	log_info("reloaded: policy %s, %zu calendars, log.level %s", d->pol->version, d->cals.ncals, d->cfg->log_level);
	ok = true;
done:
	policy_free(pol);
	calendar_set_free(&cals);
	config_free(&fresh);
	return ok;
}

/* ---- stopping ---- */

/* SIGTERM and SIGINT have a real handler, not an evsignal: the drain's bound
 * and the second signal must work even while the loop is blocked (a libpq
 * call waiting on a hung server). The handler only arms a timer, switches
 * to "exit at once" and wakes the loop, which does the drain. */
static volatile sig_atomic_t stop_signals;
static int stop_pipe_w = -1;
static struct itimerval drain_bound;
static char msg_second[96], msg_timeout[128];

static void write_stderr(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	ssize_t r = write(STDERR_FILENO, s, n);
	(void)r;
}

static void on_stop_signal(int sig)
{
	int saved = errno;
	if (stop_signals++ > 0) {
		write_stderr(msg_second);
		_exit(1);
	}
	setitimer(ITIMER_REAL, &drain_bound, NULL);
	char c = (char)sig;
	ssize_t r = write(stop_pipe_w, &c, 1);
	(void)r;
	errno = saved;
}

static void on_drain_timeout(int sig)
{
	(void)sig;
	write_stderr(msg_timeout); /* what was committed stays; the rest is re-read from those offsets */
	_exit(1);
}

static void set_drain_bound(sla_time ms)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	drain_bound.it_value = ms_to_tv(ms);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static bool stop_signals_setup(struct daemon *d)
{
	/* The same line format as log.c, without its timestamp (not async-signal-safe). */
	bool journal = !isatty(STDERR_FILENO) && getenv("INVOCATION_ID") != NULL;
	snprintf(msg_second, sizeof(msg_second), "%swarn: second stop signal: exiting at once\n", journal ? "<4>" : "");
	snprintf(msg_timeout, sizeof(msg_timeout),
		 "%serror: shutdown.timeout passed before the drain finished: exiting now\n", journal ? "<3>" : "");
	set_drain_bound(d->cfg->shutdown_timeout);
	stop_pipe_w = d->stoppipe[1];
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_drain_timeout;
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return false;
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0;
}

/* The bounded drain: stop applying, commit the batch, leave the consumer
 * group (the revoke commits once more), then the loop ends. */
static void begin_shutdown(struct daemon *d)
{
	d->stopping = true;
	notify_send("STOPPING=1");
	health_update_status(d);
	log_info("stopping: committing the current batch, leaving the consumer group (shutdown.timeout %lld ms)",
		 (long long)d->cfg->shutdown_timeout);
	event_del(d->ev_retry);
	(void)flush(d);
	rd_kafka_error_t *e = rd_kafka_consumer_close_queue(d->rk, d->queue);
	if (e) {
		log_error("kafka: closing the consumer: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		event_base_loopbreak(d->base);
		return;
	}
	d->closing = true;
	consume(d);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char buf[16];
	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (!d->stopping)
		begin_shutdown(d);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)sig;
	(void)what;
	if (d->stopping)
		return;
	notify_reloading();
	log_info("SIGHUP: reloading configuration, policies and calendars");
	metrics_reload(d->metrics, reload(d));
	set_drain_bound(d->cfg->shutdown_timeout);
	if (d->ready) /* before the first assignment, READY=1 is still to come */
		notify_send("READY=1");
	d->status[0] = '\0';
	health_update_status(d);
}

static volatile sig_atomic_t early_stop;

static void on_early_stop(int sig)
{
	(void)sig;
	early_stop = 1;
}

/* PostgreSQL unreachable at start (booted before the database, a failover):
 * keep trying with back-off, as once running, until it answers or a stop
 * signal comes (NULL then). READY=1 waits; STATUS= and the log say why. */
static struct store *connect_at_start(struct daemon *d, char *err, size_t errlen)
{
	struct sigaction sa, old_term, old_int;
	struct store *st;
	int wait_ms = RETRY_MIN_MS;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_early_stop;
	(void)sigaction(SIGTERM, &sa, &old_term);
	(void)sigaction(SIGINT, &sa, &old_int);
	while (!(st = store_connect(d->cfg->postgres_conninfo, err, errlen)) && !early_stop) {
		log_warn("postgres: %s; retrying in %d ms", redacted(d, err), wait_ms);
		notify_send("STATUS=waiting for PostgreSQL");
		for (int slept = 0; slept < wait_ms && !early_stop; slept += 100) {
			if (notify_watchdog_usec())
				notify_send("WATCHDOG=1");
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		wait_ms = wait_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait_ms * 2;
	}
	(void)sigaction(SIGTERM, &old_term, NULL);
	(void)sigaction(SIGINT, &old_int, NULL);
	if (st && wait_ms > RETRY_MIN_MS)
		log_info("postgres: reachable");
	return st;
}

/* Order: PostgreSQL (connect, schema, calendars, policy), the loop and its
 * events, Kafka, HTTP, subscribe, READY=1; cleanup in reverse. */
int daemon_run(struct config *cfg, const char *config_path)
{
	struct daemon dd = {0}, *d = &dd;
	char err[512];
	int rc = 1;
	d->cfg = cfg;
	d->config_path = config_path;
	d->pipefd[0] = d->pipefd[1] = -1;
	d->stoppipe[0] = d->stoppipe[1] = -1;
	d->retry_ms = RETRY_MIN_MS;
	d->started_at = mono_ms();
	d->checkpoint_at = d->started_at; /* the first one after batch.checkpoint_ms */
	d->topics[TOPIC_WORKORDERS] = cfg->topic_workorders;
	d->topics[TOPIC_CLOCKINS] = cfg->topic_clockins;
	d->topics[TOPIC_ASSESSMENTS] = cfg->topic_assessments;
	core_out_init(&d->out);
	d->out.defer_state = true; /* ticket states go with checkpoints */
	partners_out_init(&d->pout);
	notify_setup();

	if (!cfg->kafka_brokers[0]) {
		log_error("kafka.brokers is not set (configuration file or SLAD_KAFKA_BROKERS)");
		goto fail;
	}
	bool policy_file = false;
	d->pol = daemon_policy_load(cfg, &policy_file, err, sizeof(err));
	if (!d->pol) {
		log_error("policies: %s", err);
		goto fail;
	}
	log_info("policy %s from %s", d->pol->version, policy_file ? cfg->policies : "the built-in defaults");
	d->metrics = metrics_new(d->topics);
	if (!d->metrics)
		goto fail;
	d->st = connect_at_start(d, err, sizeof(err));
	if (!d->st) {
		log_info("stopped while waiting for PostgreSQL");
		rc = 0;
		goto fail;
	}
	d->pg_up = true;
	d->db_ok_at = mono_ms();
	/* Partner scores and qualification events join each batch's transaction. */
	store_set_batch_hook(d->st, store_partners_hook, &d->pout);
	if (!store_migrations_current(d->st, err, sizeof(err))) {
		log_error("the database schema is behind this slad: %s (run `slad migrate`)", redacted(d, err));
		goto fail;
	}
	if (!store_load_calendars(d->st, &d->cals, err, sizeof(err))) {
		log_error("loading calendars: %s", redacted(d, err));
		goto fail;
	}

	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (!d->base || pipe2(d->pipefd, O_NONBLOCK | O_CLOEXEC) != 0 || pipe2(d->stoppipe, O_NONBLOCK | O_CLOEXEC) != 0)
		goto fail;
	d->rk = consumer_new(d);
	if (!d->rk)
		goto fail;
	d->esc = escalator_new(cfg, err, sizeof(err));
	if (!d->esc) {
		log_error("%s", redacted(d, err));
		goto fail;
	}
	d->queue = rd_kafka_queue_get_consumer(d->rk);
	/* librdkafka writes to the pipe when the queue goes from empty to non-empty. */
	rd_kafka_queue_io_event_enable(d->queue, d->pipefd[1], "1", 1);
	d->ev_kafka = event_new(d->base, d->pipefd[0], EV_READ | EV_PERSIST, on_kafka, d);
	d->ev_drain = evtimer_new(d->base, on_timer, d);
	d->ev_timer = evtimer_new(d->base, on_timer, d);
	d->ev_retry = evtimer_new(d->base, on_retry, d);
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->ev_ready = evtimer_new(d->base, on_ready_wait, d);
	d->ev_stop = event_new(d->base, d->stoppipe[0], EV_READ | EV_PERSIST, on_stop, d);
	d->ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	if (!d->ev_kafka || !d->ev_drain || !d->ev_timer || !d->ev_retry || !d->ev_tick || !d->ev_stop || !d->ev_hup ||
	    !d->ev_ready)
		goto fail;
	/* The watchdog wants a ping at least every WATCHDOG_USEC: tick at half of that if it is short. */
	int64_t tick = TICK_MS, wd_ms = (int64_t)(notify_watchdog_usec() / 1000);
	if (wd_ms > 0 && wd_ms / 2 < tick)
		tick = wd_ms / 2 > 10 ? wd_ms / 2 : 10;
	struct timeval tick_tv = ms_to_tv(tick);
	event_add(d->ev_kafka, NULL);
	event_add(d->ev_tick, &tick_tv);
	event_add(d->ev_stop, NULL);
	event_add(d->ev_hup, NULL);
	if (!stop_signals_setup(d))
		goto fail;

	if (cfg->http_listen[0]) {
		struct http_pages pages = {health_page_healthz, health_page_metrics, d};
		d->http = http_setup(d->base, cfg->http_listen, &pages, err, sizeof(err));
		if (!d->http) {
			log_error("%s", err);
			goto fail;
		}
		log_info("http: listening on %s (/healthz, /metrics)", http_address(d->http));
	}

	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(TOPIC_COUNT);
	for (int i = 0; i < TOPIC_COUNT; i++)
		rd_kafka_topic_partition_list_add(subs, d->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t kerr = rd_kafka_subscribe(d->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (kerr) {
		log_error("kafka subscribe: %s", rd_kafka_err2str(kerr));
		goto fail;
	}
	char masked[1024];
	config_mask_conninfo(cfg->postgres_conninfo, masked, sizeof(masked));
	log_info("consuming %s, %s, %s as group %s from %s (policy %s, %zu calendars; PostgreSQL: %s)", d->topics[0],
		 d->topics[1], d->topics[2], cfg->kafka_group, cfg->kafka_brokers, d->pol->version, d->cals.ncals,
		 masked[0] ? redacted(d, masked) : "libpq environment");
	d->kafka_up = true; /* until librdkafka says otherwise */
	health_update_status(d);
	struct timeval ready_tv = ms_to_tv(READY_WAIT_MS);
	evtimer_add(d->ev_ready, &ready_tv); /* READY=1 comes with the first assignment (mark_ready) */
	if (d->cfg->recovery_prefetch)
		part_prefetch(d); /* while librdkafka's threads join the group */
	consume(d);
	event_base_dispatch(d->base);

	if (!rd_kafka_consumer_closed(d->rk)) /* the loop ended some other way: close the blocking way */
		rd_kafka_consumer_close(d->rk);
	log_info("stopped: %llu consumed, %llu applied, %llu duplicates, %llu dead letters", d->consumed, d->applied,
		 d->duplicates, d->dead);
	rc = 0;
fail:
	http_cleanup(d->http);
	escalator_free(d->esc, 2000);
	if (d->queue)
		rd_kafka_queue_destroy(d->queue);
	if (d->rk)
		rd_kafka_destroy(d->rk);
	part_prefetch_free(d);
	for (int p = 0; p < d->nparts; p++) {
		part_drop(d, p);
		apart_drop(d, p);
	}
	free(d->parts);
	for (size_t i = 0; i < d->ntps; i++)
		tp_clear_queue(&d->tps[i]);
	free(d->tps);
	core_out_free(&d->out);
	partners_out_free(&d->pout);
	struct event *evs[] = {d->ev_kafka, d->ev_drain, d->ev_timer, d->ev_retry, d->ev_tick, d->ev_stop, d->ev_hup, d->ev_ready};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (d->base)
		event_base_free(d->base);
	if (d->pipefd[0] >= 0)
		close(d->pipefd[0]);
	if (d->pipefd[1] >= 0)
		close(d->pipefd[1]);
	stop_pipe_w = -1;
	for (int i = 0; i < 2; i++)
		if (d->stoppipe[i] >= 0)
			close(d->stoppipe[i]);
	calendar_set_free(&d->cals);
	policy_free(d->pol);
	store_free(d->st);
	metrics_free(d->metrics);
	return rc;
}
