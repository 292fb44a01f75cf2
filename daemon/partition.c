/* partition.c - a Kafka partition's state in this instance: its core (tickets,
 * timers, processing clock) and its partners' scores, created on assignment,
 * restored from PostgreSQL (read ahead while the group forms, or after), and
 * dropped on revocation (docs/architecture.md). */
#include "daemon_internal.h"

bool part_caught_up(const struct daemon *d, int32_t p, enum engine_half h)
{
	bool any = false;
	for (size_t i = 0; i < d->ntps; i++) {
		if (d->tps[i].partition != p || engine_half_of(d->tps[i].topic) != h)
			continue;
		any = true;
		if (!d->tps[i].eof || d->tps[i].qhead != d->tps[i].qtail)
			return false;
	}
	return any;
}

/* A caught-up partition's clock follows the wall clock (clock.source auto), never going back. */
static sla_time at_least_wall(sla_time now)
{
	sla_time w = wall_now();
	return now == SLA_TIME_NONE || w > now ? w : now;
}

/* The processing clock of a partition (rules.md section 1). */
sla_time part_now(const struct daemon *d, int32_t p, enum engine_half h)
{
	sla_time now = d->parts[p].maxev[h];
	return clock_follows_wall(d) && part_caught_up(d, p, h) ? at_least_wall(now) : now;
}

static bool part_ensure(struct daemon *d, int32_t p)
{
	if (p >= d->nparts) {
		int n = p + 1;
		struct part *np = realloc(d->parts, (size_t)n * sizeof(*np));
		if (!np)
			return false;
		for (int i = d->nparts; i < n; i++) {
			np[i].eng = (struct sla_engine){.partition = i};
			np[i].maxev[HALF_TICKETS] = np[i].maxev[HALF_PARTNERS] = SLA_TIME_NONE;
			np[i].pf_core = NULL;
			np[i].pf_count = 0;
			np[i].pf_bad = false;
		}
		d->parts = np;
		d->nparts = n;
	}
	return true;
}

#define HISTORY_MAX 4096 /* events read back to re-derive one ticket */


/* The cores' history source (core_set_history): a ticket's events from
 * sla.ticket_events, then those of the batch in progress. If PostgreSQL
 * cannot answer, slad rebuilds from the committed state (the batch is not
 * committed), and the event is re-derived when it is applied again. */
static bool history_source(void *arg, const char *ticket_id, uint8_t **log, size_t *len)
{
	struct daemon *d = arg;
	char err[512];
	uint8_t *buf = NULL;
	size_t n = 0, extra = 0;
	if (!store_ticket_history(daemon_store(d), ticket_id, HISTORY_MAX, &buf, &n, err, sizeof(err))) {
		log_error_f(&(struct log_fields){.ticket = ticket_id}, "re-deriving ticket %s: %s", ticket_id,
			    redacted(d, err));
		enter_degraded(d, "database error");
		return false;
	}
	/* The ticket's partition is not known here: its shard's batch is one of these. */
	for (int k = 0; k < d->nshards; k++) {
		const struct sla_out *out = &d->shards[k].out;
		for (size_t i = 0; i < out->napplied; i++)
			if (out->applied[i].payload && strcmp(out->applied[i].ticket_id, ticket_id) == 0)
				extra += 4 + out->applied[i].len;
	}
	if (extra) {
		uint8_t *nb = realloc(buf, n + extra);
		if (!nb) {
			free(buf);
			return false;
		}
		buf = nb;
		for (int k = 0; k < d->nshards; k++) {
			const struct sla_out *out = &d->shards[k].out;
			for (size_t i = 0; i < out->napplied; i++) {
				const struct sla_applied *a = &out->applied[i];
				if (!a->payload || strcmp(a->ticket_id, ticket_id) != 0)
					continue;
				for (int b = 0; b < 4; b++)
					buf[n++] = (uint8_t)((uint32_t)a->len >> (8 * b));
				memcpy(buf + n, a->payload, a->len);
				n += a->len;
			}
		}
	}
	*log = buf;
	*len = n;
	return true;
}

/* ---- prefetch: the states read while the group forms ---- */

#define PF_MAX_PARTITION 65535

static bool restore_into_pf(void *arg, int32_t partition, const uint8_t *buf, size_t len)
{
	struct daemon *d = arg;
	if (partition < 0 || partition > PF_MAX_PARTITION || !part_ensure(d, partition))
		return true; /* not ours to judge: the normal load will see it */
	struct part *pt = &d->parts[partition];
	if (pt->pf_bad)
		return true;
	if (!pt->pf_core) {
		pt->pf_core = core_new(d->pol, &d->cals);
		if (!pt->pf_core) {
			pt->pf_bad = true;
			return true;
		}
		core_set_history(pt->pf_core, history_source, d);
		pt->pf_count = 0;
	}
	/* A state that does not restore is left for the normal load, which
	 * dead-letters it: the whole partition loads again then. */
	if (core_restore(pt->pf_core, buf, len))
		pt->pf_count++;
	else
		pt->pf_bad = true;
	return true;
}

void part_prefetch_free(struct daemon *d)
{
	for (int p = 0; p < d->nparts; p++) {
		core_free(d->parts[p].pf_core);
		d->parts[p].pf_core = NULL;
		d->parts[p].pf_count = 0;
		d->parts[p].pf_bad = false;
	}
}

/* Every saved ticket state, with the work-order and clock-in offsets, in one
 * snapshot, read after subscribing: the group join (seconds, and about twice
 * session.timeout.ms after a crash) and the restore then overlap instead of
 * adding up. At the assignment a partition whose offsets are still those of
 * the snapshot takes its cores as read (no checkpoint moved them, and states
 * only change with a checkpoint); any other is loaded again, and partitions
 * not assigned here are freed. Skipped when recovery.prefetch is off. */
void part_prefetch(struct daemon *d)
{
	char err[512];
	size_t count = 0;
	int64_t t0 = mono_ms();
	bool ok = store_snapshot(daemon_store(d), true, err, sizeof(err));
	if (ok) {
		ok = store_load_states_many(daemon_store(d), STORE_TICKET_STATE, NULL, 0, restore_into_pf, d, &count, NULL, err,
					    sizeof(err));
		for (int p = 0; ok && p < d->nparts; p++) {
			struct part *pt = &d->parts[p];
			if (pt->pf_core)
				ok = store_load_offset(daemon_store(d), d->cfg->kafka_group, d->topics[TOPIC_WORKORDERS], p,
						       &pt->pf_workorders, NULL, err, sizeof(err)) &&
				     store_load_offset(daemon_store(d), d->cfg->kafka_group, d->topics[TOPIC_CLOCKINS], p,
						       &pt->pf_clockins, NULL, err, sizeof(err));
		}
		char err2[256];
		if (!store_snapshot(daemon_store(d), false, err2, sizeof(err2)) && ok) {
			ok = false;
			snprintf(err, sizeof(err), "%s", err2);
		}
	}
	if (!ok) {
		log_warn("reading saved states ahead of the assignment: %s; they are read when assigned",
			 redacted(d, err));
		part_prefetch_free(d);
		return;
	}
	log_info("read %zu saved ticket states ahead of the assignment in %lld ms", count,
		 (long long)(mono_ms() - t0));
}

static int64_t tp_committed(struct daemon *d, enum sla_topic topic, int32_t p)
{
	const struct topic_part *tp = tp_find(d, topic, p);
	return tp ? tp->committed : INT64_MIN;
}

/* Takes partition p's prefetched core when its offsets have not moved. */
static bool pf_adopt(struct daemon *d, int32_t p)
{
	struct part *pt = &d->parts[p];
	bool ok = pt->pf_core && !pt->pf_bad && tp_committed(d, TOPIC_WORKORDERS, p) == pt->pf_workorders &&
		  tp_committed(d, TOPIC_CLOCKINS, p) == pt->pf_clockins;
	if (!ok)
		return false;
	pt->eng.tickets = pt->pf_core;
	pt->pf_core = NULL;
	pt->maxev[HALF_TICKETS] = SLA_TIME_NONE;
	log_info_f(&(struct log_fields){.partition = LOG_NUM(p)},
		   "partition=%d: %zu tickets restored, %zu timers armed (read while the group formed)", (int)p,
		   pt->pf_count, core_timer_count(pt->eng.tickets));
	pt->pf_count = 0;
	return true;
}

static bool restore_into_part(void *arg, int32_t partition, const uint8_t *buf, size_t len)
{
	struct daemon *d = arg;
	return partition >= 0 && partition < d->nparts && d->parts[partition].eng.tickets != NULL &&
	       core_restore(d->parts[partition].eng.tickets, buf, len);
}

/* Loads the open tickets of partitions ps[0..n) that have no core yet from
 * PostgreSQL into fresh cores, in one scan of sla.ticket_state. A partition
 * listed twice (work orders and clock-ins share one) loads once. */
static bool parts_load(struct daemon *d, const int32_t *ps, size_t n)
{
	char err[512];
	int32_t *todo = calloc(n ? n : 1, sizeof(*todo));
	size_t *counts = calloc(n ? n : 1, sizeof(*counts)), *rejected = calloc(n ? n : 1, sizeof(*rejected));
	size_t ntodo = 0;
	bool ok = todo != NULL && counts != NULL && rejected != NULL;

	for (size_t i = 0; i < n && ok; i++) {
		int32_t p = ps[i];
		bool listed = false;
		if (!part_ensure(d, p)) {
			ok = false;
			break;
		}
		for (size_t k = 0; k < ntodo; k++)
			listed |= todo[k] == p;
		if (listed || d->parts[p].eng.tickets)
			continue;
		if (pf_adopt(d, p))
			continue;
		struct sla_core *core = core_new(d->pol, &d->cals);
		if (!core) {
			ok = false;
			break;
		}
		core_set_history(core, history_source, d); /* no event log in memory or in the state */
		d->parts[p].eng.tickets = core;
		d->parts[p].maxev[HALF_TICKETS] = SLA_TIME_NONE;
		todo[ntodo++] = p;
	}
	if (ok) {
		ok = store_load_states_many(daemon_store(d), STORE_TICKET_STATE, todo, ntodo, restore_into_part, d, counts,
					    rejected, err, sizeof(err));
		if (!ok)
			log_error("partitions %zu: loading tickets: %s", ntodo, redacted(d, err));
	}
	for (size_t i = 0; i < ntodo && todo != NULL; i++) {
		int32_t p = todo[i];
		/* Rows set aside (dead-lettered) before a failure stay set aside. */
		metrics_state_rows_rejected(d->metrics, "sla.ticket_state", rejected[i]);
		d->dead += rejected[i];
		if (!ok) {
			core_free(d->parts[p].eng.tickets);
			d->parts[p].eng.tickets = NULL;
		} else if (rejected[i]) {
			log_info_f(&(struct log_fields){.partition = LOG_NUM(p)},
				   "partition=%d: %zu tickets restored, %zu timers armed; %zu saved states did not restore "
				   "(sla.dead_letters)",
				   (int)p, counts[i], core_timer_count(d->parts[p].eng.tickets), rejected[i]);
		} else {
			log_info_f(&(struct log_fields){.partition = LOG_NUM(p)},
				   "partition=%d: %zu tickets restored, %zu timers armed", (int)p, counts[i],
				   core_timer_count(d->parts[p].eng.tickets));
		}
	}
	free(todo);
	free(counts);
	free(rejected);
	return ok;
}

/* parts_load for every assigned work-order and clock-in partition. */
bool part_load_assigned(struct daemon *d)
{
	int32_t *ps = malloc((d->ntps ? d->ntps : 1) * sizeof(*ps));
	size_t n = 0;
	if (!ps)
		return false;
	for (size_t i = 0; i < d->ntps; i++)
		if (d->tps[i].topic != TOPIC_ASSESSMENTS)
			ps[n++] = d->tps[i].partition;
	bool ok = parts_load(d, ps, n);
	free(ps);
	return ok;
}

bool part_load_partners(struct daemon *d, int32_t p)
{
	char err[512];
	size_t count = 0, rejected = 0;
	if (!part_ensure(d, p))
		return false;
	if (d->parts[p].eng.partners)
		return true;
	struct partners *ps = partners_new(p);
	if (!ps)
		return false;
	bool ok = store_partners_load(daemon_store(d), p, ps, &count, &rejected, err, sizeof(err));
	metrics_state_rows_rejected(d->metrics, "sla.partner_state", rejected);
	d->dead += rejected;
	if (!ok) {
		log_error_f(&(struct log_fields){.topic = d->topics[TOPIC_ASSESSMENTS], .partition = LOG_NUM(p)},
			    "assessments partition=%d: loading partners: %s", (int)p, redacted(d, err));
		partners_free(ps);
		return false;
	}
	d->parts[p].eng.partners = ps;
	d->parts[p].maxev[HALF_PARTNERS] = SLA_TIME_NONE;
	log_info_f(&(struct log_fields){.topic = d->topics[TOPIC_ASSESSMENTS], .partition = LOG_NUM(p)},
		   "assessments partition=%d: %zu partners restored, %zu timers armed", (int)p, count,
		   partners_timer_count(ps));
	return true;
}

void part_drop(struct daemon *d, int32_t p, enum engine_half h)
{
	if (p >= d->nparts || !engine_has(&d->parts[p].eng, h))
		return;
	if (h == HALF_TICKETS)
		core_out_forget_partition(&shard_of(d, p)->out, p);
	engine_drop(&d->parts[p].eng, h);
	d->parts[p].maxev[h] = SLA_TIME_NONE;
}
