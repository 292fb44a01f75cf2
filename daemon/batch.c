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

/* A shard's share of the batch in progress is gone: handed to its commit thread. */
static void shard_clear(struct shard *sh)
{
	core_out_clear(&sh->out);
	partners_out_clear(&sh->pout);
	sh->rewrites = false;
}

/* The batch in progress is gone: thrown away to rebuild from the committed state. */
static void batch_clear(struct daemon *d)
{
	metrics_batch_discard(d->metrics);
	for (int k = 0; k < d->nshards; k++)
		shard_clear(&d->shards[k]);
	d->batch_events = 0;
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
static bool bisect(struct daemon *d, struct store *st, size_t nevents)
{
	const char *state = store_last_sqlstate(st);
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", store_last_error_message(st));
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
	/* A checkpoint still committing counts as done (batch_commit asks before it waits). */
	bool committing = d->inflight.active && d->inflight.ckpt;
	int64_t last = committing ? d->inflight.t0 : d->checkpoint_at;
	return d->cfg->batch_checkpoint_ms == 0 || d->bisect_limit != 0 || d->force_checkpoint ||
	       d->stopping || mono_ms() - last >= d->cfg->batch_checkpoint_ms ||
	       (d->lagged && !committing && all_caught_up(d));
}

/* The offsets' rows of the batch, in the shares of their partitions: every partition
 * with a position goes in, moved or not: the compare-and-set fences out an instance that
 * lost the partition, and the commit can be read back. moved[k]: a row of shard k moves
 * (an offset or a clock). */
static void batch_offsets(struct daemon *d, bool ckpt, bool *moved)
{
	for (int k = 0; k < d->nshards; k++) {
		d->shards[k].noffs = 0;
		moved[k] = false;
	}
	for (size_t i = 0; i < d->ntps; i++) {
		const struct topic_part *tp = &d->tps[i];
		struct shard *sh = shard_of(d, tp->partition);
		if (sh->noffs == OFFSETS_MAX)
			continue;
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
		sh->offs[sh->noffs++] =
			(struct store_offset){d->topics[tp->topic], tp->partition, tp->committed, to, clock, tp->next};
		bool *m = &moved[sh - d->shards];
		*m |= to != tp->committed;
		/* An idle, caught-up partition still moves the watermark, once a second. */
		*m |= clock != SLA_TIME_NONE && clock != STORE_CLOCK_UNKNOWN && clock - tp->clock_written >= 1000;
	}
}

/* After a share's commit: the offsets and clocks it wrote are the committed ones (the loop
 * may have applied more since: the next batch). */
static void shard_committed(struct daemon *d, const struct shard *sh)
{
	for (size_t i = 0; i < sh->noffs; i++) {
		const struct store_offset *offs = sh->offs;
		struct topic_part *tp = tp_find(d, topic_index(d, offs[i].topic), offs[i].partition);
		if (!tp)
			continue;
		if (offs[i].clock != SLA_TIME_NONE && offs[i].clock != STORE_CLOCK_UNKNOWN)
			tp->clock_written = offs[i].clock;
		if (offs[i].to >= 0)
			tp->committed = offs[i].to;
	}
}

/* After every share of a batch committed. */
static void batch_committed(struct daemon *d, bool ckpt, int64_t t0)
{
	poison_committed(d);
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
static void batch_failed(struct daemon *d, struct store *st, enum store_result r, size_t nevents, char *err)
{
	poison_out_of_batch(d);
	d->pg_up = r == STORE_CONFLICT || store_ok(st);
	if (r == STORE_DATA_ERROR && bisect(d, st, nevents))
		return;
	log_error("commit failed (%s): %s",
		  r == STORE_CONFLICT	  ? "offsets moved by another instance"
		  : r == STORE_DATA_ERROR ? "PostgreSQL rejected a value, and no message of the batch can be blamed"
					  : "database",
		  redacted(d, err));
	enter_degraded(d, r == STORE_CONFLICT ? "offset conflict" : "database error");
}

bool batch_committing(const struct daemon *d)
{
	for (int k = 0; d->inflight.active && k < d->nshards; k++)
		if (d->shards[k].active && store_writer_busy(d->shards[k].writer))
			return true;
	return false;
}

/* The batch in flight comes back from the commit threads: its outcome, as the
 * loop would have taken it had it waited. A share that failed fails the batch:
 * the cores are rebuilt from what was committed, the shares that did commit
 * included. false: it failed. */
bool batch_wait(struct daemon *d)
{
	struct inflight *f = &d->inflight;
	struct store *failed_st = NULL;
	enum store_result failed = STORE_OK;
	char err[512] = "";
	if (!f->active)
		return true;
	for (int k = 0; k < d->nshards; k++) {
		struct shard *sh = &d->shards[k];
		char e[512];
		double secs;
		if (!sh->active)
			continue;
		enum store_result r = store_writer_wait(sh->writer, e, sizeof(e), &secs);
		sh->active = false;
		if (r == STORE_OK) {
			metrics_tally_committed(d->metrics, sh->tally, secs);
			d->dead += sh->ndead;
			shard_committed(d, sh);
		} else {
			metrics_tally_failed(d->metrics, sh->tally, secs, r == STORE_CONFLICT);
			if (failed == STORE_OK) {
				failed = r;
				failed_st = sh->st;
				snprintf(err, sizeof(err), "%s", e);
			}
		}
		sh->tally = NULL;
	}
	f->active = false;
	if (failed != STORE_OK) {
		d->batch_first = f->first; /* a bisect blames the failed batch's messages */
		batch_failed(d, failed_st, failed, f->nevents, err);
		return false;
	}
	batch_committed(d, f->ckpt, f->t0);
	return true;
}

void batch_on_commit_done(evutil_socket_t fd, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	pipe_drain(fd);
	if (!d->inflight.active || batch_committing(d))
		return; /* collected already, or a share still committing */
	(void)batch_wait(d);
	loop_publish_escalations(d); /* what the commit put in the outbox */
	health_update_status(d);
}

/* Whether shard sh's share of the batch writes rows (its offsets aside). */
static bool shard_has_rows(const struct shard *sh, bool ckpt)
{
	return sh->out.ndirty > 0 || sh->out.ndead > 0 || sh->out.nhist > 0 || sh->out.nesc > 0 ||
	       !partners_out_empty(&sh->pout) || sh->pout.oom || (ckpt && sh->out.npending > 0);
}

/* Shard sh's share of the batch, built: what its commit writes, copied out of
 * the cores and the partners (the loop goes on applying while a thread writes
 * it). Its offsets come later (shard_set_offsets). false (and err): out of
 * memory. */
static bool shard_build(struct shard *sh, bool ckpt, const char *policy_version, struct store_job *job, char *err,
			size_t errlen)
{
	/* Out of memory for the states: its results only; the checkpoint comes with a later batch. */
	sh->ckpt = ckpt && core_out_take_states(&sh->out);
	sh->out.applied_new = !sh->rewrites;
	memset(job, 0, sizeof(*job));
	job->rows = store_rows_build(&sh->out, policy_version, NULL, err, errlen);
	if (job->rows && (!partners_out_empty(&sh->pout) || sh->pout.oom))
		job->partners = store_partners_build(&sh->pout, err, errlen);
	return job->rows && (job->partners || (partners_out_empty(&sh->pout) && !sh->pout.oom));
}

/* Its offsets (batch_offsets), once the batch before it has committed. */
static void shard_set_offsets(const struct daemon *d, struct shard *sh, bool ckpt, struct store_job *job)
{
	if (ckpt && !sh->ckpt)
		for (size_t i = 0; i < sh->noffs; i++)
			if (strcmp(sh->offs[i].topic, d->topics[TOPIC_ASSESSMENTS]) != 0)
				sh->offs[i].to = sh->offs[i].from;
	job->group = d->cfg->kafka_group;
	job->offs = sh->offs;
	job->noffs = sh->noffs;
}

static void jobs_free(struct store_job *jobs, int n)
{
	for (int k = 0; k < n; k++) {
		store_rows_free(jobs[k].rows);
		store_partners_rows_free(jobs[k].partners);
	}
}

/* The batch to the commit threads, each its share; wait: until it is committed.
 * The shares that write rows are built while the batch before still commits:
 * only their offsets need its outcome (PostgreSQL is not left idle while the
 * loop copies a batch out of the cores). */
static bool batch_commit(struct daemon *d, bool wait)
{
	char err[512];
	struct inflight *f = &d->inflight;
	struct store_job jobs[WRITERS_MAX];
	bool moved[WRITERS_MAX] = {false}, built[WRITERS_MAX] = {false}, any = false;

	if (d->degraded) {
		(void)batch_wait(d);
		return false;
	}
	bool ckpt = checkpoint_due(d);
	memset(jobs, 0, sizeof(jobs));
	for (int k = 0; k < d->nshards; k++) {
		struct shard *sh = &d->shards[k];
		if (!shard_has_rows(sh, ckpt))
			continue;
		if (!shard_build(sh, ckpt, d->pol->version, &jobs[k], err, sizeof(err)))
			goto out_of_memory;
		built[k] = true;
	}
	/* The batch before: its offsets are this one's `from`. */
	if (!batch_wait(d) || d->degraded) {
		jobs_free(jobs, d->nshards);
		return false;
	}
	batch_offsets(d, ckpt, moved);
	for (int k = 0; k < d->nshards; k++) {
		/* A share whose offsets alone move (a checkpoint, a clock) writes them alone. */
		if (!built[k] && moved[k]) {
			if (!shard_build(&d->shards[k], ckpt, d->pol->version, &jobs[k], err, sizeof(err)))
				goto out_of_memory;
			built[k] = true;
		}
		any |= built[k];
	}
	if (!any)
		return true;
	f->ckpt = ckpt;
	for (int k = 0; k < d->nshards; k++)
		if (built[k]) {
			shard_set_offsets(d, &d->shards[k], ckpt, &jobs[k]);
			f->ckpt &= d->shards[k].ckpt;
		}
	f->t0 = mono_ms();
	f->nevents = d->batch_events;
	f->first = d->batch_first;
	f->active = true;
	d->batch_events = 0;
	for (int k = 0; k < d->nshards; k++) {
		struct shard *sh = &d->shards[k];
		if (!built[k])
			continue; /* nothing of it moves: its events count with its next share */
		sh->ndead = sh->out.ndead;
		sh->tally = metrics_batch_take(d->metrics, k, &sh->out); /* reads out: before it is cleared */
		shard_clear(sh);
		sh->active = true;
		store_writer_submit(sh->writer, &jobs[k]);
	}
	/* Isolating a message, or stopping: the outcome decides what comes next. */
	if (wait || d->bisect_limit != 0 || d->stopping)
		return batch_wait(d);
	return true;

out_of_memory:
	/* Failed as a commit that did not happen. */
	jobs_free(jobs, d->nshards);
	(void)batch_wait(d);
	if (!d->degraded) {
		size_t nevents = d->batch_events;
		metrics_tally_failed(d->metrics, NULL, 0, false);
		batch_clear(d);
		batch_failed(d, d->st, STORE_ERROR, nevents, err);
	}
	return false;
}

bool batch_flush(struct daemon *d)
{
	return batch_commit(d, false);
}

bool batch_flush_wait(struct daemon *d)
{
	return batch_commit(d, true);
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
	engine_advance(&d->parts[pe->msg->partition].eng, h, h == HALF_TICKETS && before < now ? before : now,
		       &shard_of(d, pe->msg->partition)->fx);
	return batch_flush_wait(d);
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
	struct shard *sh = shard_of(d, m->partition);
	tp->next = m->offset + 1;
	sh->rewrites |= m->offset < tp->rewrite_until;
	if (d->batch_events++ == 0) {
		d->batch_first = (struct msg_pos){tp->topic, m->partition, m->offset};
	}
	if (px) {
		/* Isolated as what PostgreSQL rejects (bisect): its effects stay out of the core. */
		v = SV_BAD_VALUE;
		px->in_batch = true;
		core_out_dead(&sh->out, tname, m->partition, m->offset, v, px->detail, px->bare ? NULL : m->payload,
			      px->bare ? 0 : m->len);
	} else if (v == SV_APPLIED && engine_has(&d->parts[m->partition].eng, engine_half_of(tp->topic))) {
		/* engine_apply records its own dead letters. */
		struct sla_origin origin = {tname, m->partition, m->offset, m->payload, m->len,
					    clock_follows_wall(d) ? wall_now() : 0};
		sla_time now = see_event(d, tp, pe);
		log_debug("apply topic=%s partition=%d offset=%lld event=%s now=%lld", tname, (int)m->partition,
			  (long long)m->offset, pe->ev->event_id, (long long)now);
		v = engine_apply(&d->parts[m->partition].eng, tp->topic, pe->ev, &origin, now, &sh->fx, pe->detail,
				 sizeof(pe->detail));
	} else if (verdict_is_dead_letter(v)) {
		core_out_dead(&sh->out, tname, m->partition, m->offset, v, pe->detail, m->payload, m->len);
	}
	metrics_batch_event(d->metrics, (int)(sh - d->shards), tp->topic, pe->ev ? (int)pe->ev->type : -1, v == SV_DUPLICATE);
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
	struct store *st = daemon_store(d);
	bool up = true;
	for (int k = 0; k < d->nshards && up; k++)
		up = store_ok(d->shards[k].st) || store_reconnect(d->shards[k].st, err, sizeof(err));
	if (up) {
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
		d->pg_up = store_ok(st);
	} else {
		d->pg_up = false;
		log_warn("database still unreachable, next try in %d ms: %s",
			 backoff_next(d->retry_ms), redacted(d, err));
	}
	d->retry_ms = backoff_next(d->retry_ms);
	struct timeval tv = ms_to_tv(d->retry_ms);
	evtimer_add(d->ev_retry, &tv);
}
