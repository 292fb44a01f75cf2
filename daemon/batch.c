/* batch.c - the batch: messages applied to the cores, its commit (results, dead
 * letters and offsets in one PostgreSQL transaction), checkpoints, isolating a
 * message PostgreSQL rejects (bisect), and the degraded state: pausing, the
 * retry with back-off, rebuilding the cores from the committed state. */
#include "daemon_internal.h"

#include <malloc.h>

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

void batch_forget_poison(struct daemon *d, const struct topic_part *tp)
{
	for (size_t k = d->npoison; k-- > 0;)
		if (d->poison[k].topic == tp->topic && d->poison[k].partition == tp->partition)
			poison_remove(d, k);
}

/* The batch in progress is gone: committed, or thrown away to rebuild from the committed state. */
static void batch_clear(struct daemon *d)
{
	metrics_batch_discard(d->metrics);
	core_out_clear(&d->out);
	partners_out_clear(&d->pout);
	d->batch_events = 0;
	d->batch_rewrites = false;
}

/* The isolated messages' dead letters are not in a batch (it failed, or is thrown away). */
static void poison_out_of_batch(struct daemon *d)
{
	for (size_t i = 0; i < d->npoison; i++)
		d->poison[i].in_batch = false;
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

/* A message the bisect isolated, logged with its position and what is done with it. */
static void poison_log(const struct daemon *d, enum log_level lvl, const struct poison *px, const char *what,
		       const char *state, const char *msg, const char *action)
{
	const char *tname = d->topics[px->topic];
	log_fields(lvl, &(struct log_fields){.topic = tname, .partition = LOG_NUM(px->partition),
					    .offset = LOG_NUM(px->offset), .reason = "BAD_VALUE"},
		   "topic=%s partition=%d offset=%lld: PostgreSQL rejects %s (%s %s): %s", tname, (int)px->partition,
		   (long long)px->offset, what, state, msg, action);
}

/* A commit that PostgreSQL refused because of a value in it (a data error)
 * would fail again as it is: find the message that writes the value. The cores
 * are rebuilt from the committed state and the same messages consumed again in
 * batches half as large, until one message alone still fails; that one is then
 * dead-lettered (BAD_VALUE) instead of applied on the next rebuild, and batches
 * are full again. Timer effects commit apart from the message while batches
 * hold one (batch_apply), so what fails is what the message writes. false:
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
		struct poison *px =
			poison_find(d, d->batch_first.topic, d->batch_first.partition, d->batch_first.offset);
		if (px) {
			if (px->bare)
				return false; /* even a dead letter without the payload is refused */
			px->bare = true;
			poison_log(d, LOG_LVL_WARN, px, "its dead letter too", state, msg,
				   "writing the dead letter without the payload");
		} else {
			if (d->npoison == POISON_MAX)
				return false;
			px = &d->poison[d->npoison++];
			memset(px, 0, sizeof(*px));
			px->topic = d->batch_first.topic;
			px->partition = d->batch_first.partition;
			px->offset = d->batch_first.offset;
			snprintf(px->detail, sizeof(px->detail), "rejected by PostgreSQL: %.5s %.200s", state, msg);
			poison_log(d, LOG_LVL_ERROR, px, "what this message writes", state, msg,
				   "dead-lettering it (BAD_VALUE); it is not applied");
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

#define OFFSETS_MAX 256 /* rows of sla offsets in one commit */

/* The offsets' rows of the batch: every partition with a position goes in, moved or
 * not: the compare-and-set fences out an instance that lost the partition, and the
 * commit can be read back. Returns whether a row moves (an offset or a clock). */
static bool batch_offsets(const struct daemon *d, bool ckpt, struct store_offset *offs, size_t *noffs)
{
	bool moved = false;
	for (size_t i = 0; i < d->ntps && *noffs < OFFSETS_MAX; i++) {
		const struct topic_part *tp = &d->tps[i];
		/* Work orders and clock-ins carry their partition's processing clock: the group's
		 * watermark (the slowest) decides when rules across tickets are evaluated. */
		/* A partition assigned here that has no clock yet (nothing consumed, not at its end)
		 * still gets a row, at -infinity: until it reports, the watermark waits for it. */
		sla_time clock = SLA_TIME_NONE;
		if (tp->topic != TOPIC_ASSESSMENTS && tp->partition < d->nparts && d->parts[tp->partition].eng.tickets) {
			clock = part_now(d, tp->partition, HALF_TICKETS);
			if (clock == SLA_TIME_NONE)
				clock = STORE_CLOCK_UNKNOWN;
		}
		if (tp->next < 0 && clock == SLA_TIME_NONE)
			continue;
		/* Between checkpoints a work-order or clock-in offset only fences the batch. */
		int64_t to = ckpt || tp->topic == TOPIC_ASSESSMENTS ? tp->next : tp->committed;
		offs[(*noffs)++] =
			(struct store_offset){d->topics[tp->topic], tp->partition, tp->committed, to, clock, tp->next};
		moved |= to != tp->committed;
		/* An idle, caught-up partition still moves the watermark, once a second. */
		moved |= clock != SLA_TIME_NONE && clock != STORE_CLOCK_UNKNOWN && clock - tp->clock_written >= 1000;
	}
	return moved;
}

/* After a commit: the offsets and clocks it wrote are the committed ones. */
static void batch_committed(struct daemon *d, const struct store_offset *offs, size_t noffs, bool ckpt, int64_t t0)
{
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
		d->force_checkpoint = false;
		/* An interval checkpoint in a backlog: the one once it is consumed is still due. */
		if (d->lagged && all_caught_up(d)) {
			d->lagged = false;
			(void)malloc_trim(0); /* the backlog's batch memory, kept while it ran (daemon.c) */
		}
	}
	d->retry_ms = RETRY_MIN_MS; /* back-off grows until a commit succeeds again */
	d->db_ok_at = t0;
}

/* After a failed commit: the core moved ahead of the database, go back to what was committed. */
static void batch_failed(struct daemon *d, enum store_result r, size_t nevents, char *err)
{
	poison_out_of_batch(d);
	d->pg_up = r == STORE_CONFLICT || store_ok(d->st);
	if (r == STORE_DATA_ERROR && bisect(d, nevents))
		return;
	log_error("commit failed (%s): %s",
		  r == STORE_CONFLICT	  ? "offsets moved by another instance"
		  : r == STORE_DATA_ERROR ? "PostgreSQL rejected a value, and no message of the batch can be blamed"
					  : "database",
		  redacted(d, err));
	enter_degraded(d, r == STORE_CONFLICT ? "offset conflict" : "database error");
}

bool batch_flush(struct daemon *d)
{
	char err[512];
	struct store_offset offs[OFFSETS_MAX];
	size_t noffs = 0;

	if (d->degraded)
		return false;
	bool ckpt = checkpoint_due(d);
	bool moved = batch_offsets(d, ckpt, offs, &noffs);
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
	d->out.applied_new = !d->batch_rewrites;
	enum store_result r =
		store_commit(d->st, d->cfg->kafka_group, &d->out, offs, noffs, d->pol->version, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	double secs = (double)(ts1.tv_sec - ts0.tv_sec) + (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9;
	size_t ndead = d->out.ndead, nevents = d->batch_events;
	if (r == STORE_OK)
		metrics_batch_committed(d->metrics, &d->out, secs); /* reads out: before it is cleared */
	else
		metrics_commit_failed(d->metrics, secs, r == STORE_CONFLICT);
	batch_clear(d);
	if (r != STORE_OK) {
		batch_failed(d, r, nevents, err);
		return false;
	}
	batch_committed(d, offs, noffs, ckpt, t0);
	d->dead += ndead;
	return true;
}

/* The processing clock of the half that message pe feeds, having seen its event. */
static sla_time see_event(struct daemon *d, struct topic_part *tp, const struct pending *pe)
{
	int32_t p = pe->msg->partition;
	enum engine_half h = engine_half_of(tp->topic);
	clock_see(&d->parts[p].maxev[h], pe->ev->occurred_at);
	return part_now(d, p, h);
}

/* While batches hold one message (bisect): the deadlines the clock passes before
 * the message fire and commit first, on their own, as engine_apply would fire
 * them before it. false: that commit failed. */
static bool advance_apart(struct daemon *d, struct topic_part *tp, const struct pending *pe)
{
	enum engine_half h = engine_half_of(tp->topic);
	sla_time now = see_event(d, tp, pe), before = pe->ev->occurred_at - 1;
	/* Work orders and clock-ins stop short of the event's own instant, which it may
	 * still change; partners' timers (the end of a grace) fire at it, as partners_apply does. */
	engine_advance(&d->parts[pe->msg->partition].eng, h, h == HALF_TICKETS && before < now ? before : now, &d->fx);
	return batch_flush(d);
}

/* Applies one message: through the core, or straight to the dead letters. */
void batch_apply(struct daemon *d, struct topic_part *tp, struct pending *pe)
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
	d->batch_rewrites |= m->offset < tp->rewrite_until;
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
	} else if (v == SV_APPLIED && engine_has(&d->parts[m->partition].eng, engine_half_of(tp->topic))) {
		/* engine_apply records its own dead letters. */
		struct sla_origin origin = {tname, m->partition, m->offset, m->payload, m->len,
					    clock_follows_wall(d) ? wall_now() : 0};
		sla_time now = see_event(d, tp, pe);
		log_debug("apply topic=%s partition=%d offset=%lld event=%s now=%lld", tname, (int)m->partition,
			  (long long)m->offset, pe->ev->event_id, (long long)now);
		v = engine_apply(&d->parts[m->partition].eng, tp->topic, pe->ev, &origin, now, &d->fx, pe->detail,
				 sizeof(pe->detail));
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
		(void)batch_flush(d);
	}
}

/* Stops consuming until batch_on_retry has reloaded offsets and ticket state from
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

/* Reads committed offsets and ticket state back from PostgreSQL and restarts every partition there. */
static bool reset_from_store(struct daemon *d)
{
	batch_clear(d);
	poison_out_of_batch(d);
	for (int p = 0; p < d->nparts; p++)
		for (int h = 0; h < HALF_COUNT; h++)
			part_drop(d, p, (enum engine_half)h);
	for (size_t i = 0; i < d->ntps; i++) {
		struct topic_part *tp = &d->tps[i];
		if (!tp_load_offset(d, tp))
			return false;
		tp->eof = false;
		tp_clear_queue(tp);
		if (tp->topic == TOPIC_ASSESSMENTS && !part_load_partners(d, tp->partition))
			return false;
	}
	if (!part_load_assigned(d))
		return false;
	rd_kafka_topic_partition_list_t *l = intake_assignment(d);
	rd_kafka_resp_err_t e = rd_kafka_assign(d->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		log_error("kafka assign: %s", rd_kafka_err2str(e));
		return false;
	}
	return true;
}

void batch_on_retry(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	char err[512];
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
				loop_mark_ready(d);
			health_update_status(d);
			intake_consume(d);
			return;
		}
		d->degraded = true;
		d->rebuilding = false;
		d->pg_up = store_ok(d->st);
	} else {
		d->pg_up = false;
		log_warn("database still unreachable, next try in %d ms: %s",
			 backoff_next(d->retry_ms), redacted(d, err));
	}
	d->retry_ms = backoff_next(d->retry_ms);
	struct timeval tv = ms_to_tv(d->retry_ms);
	evtimer_add(d->ev_retry, &tv);
}
