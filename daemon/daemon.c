/* daemon.c - daemon_run: the start in one documented order (PostgreSQL, the loop,
 * Kafka, HTTP, subscribe, READY=1) and the cleanup in reverse. What runs on the
 * loop is in intake.c (Kafka), batch.c (commits, the degraded state), loop.c
 * (tick, signals, the drain) and reload.c (SIGHUP); partitions in partition.c,
 * the consumer's configuration in consumer.c, /healthz and /metrics in health.c. */
#include "slad/daemon.h"

#include "daemon_internal.h"

#include <malloc.h>

/* A backlog's batches build a few tens of MiB of rows each (batch.max_events
 * events: the archive's payloads, the statements' arrays, the COPY data) and free
 * them at the commit. glibc's defaults hand that memory back to the kernel and take
 * it again at every batch: a third of slad's CPU in a backlog went to page faults
 * and to realloc copying. Keep it in the heap while a backlog runs; the commit that
 * ends one (batch.c, batch_committed) returns it with malloc_trim. */
#define MALLOC_MMAP_FROM (32 << 20)  /* glibc's largest; the default starts at 128 KiB */
#define MALLOC_TRIM_FROM (256 << 20) /* free at the heap's top kept before trimming */

static void daemon_init(struct daemon *d, struct config *cfg, const char *config_path)
{
	(void)mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_FROM);
	(void)mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_FROM);
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->config_path = config_path;
	d->pipefd[0] = d->pipefd[1] = -1;
	d->stoppipe[0] = d->stoppipe[1] = -1;
	d->writerpipe[0] = d->writerpipe[1] = -1;
	d->retry_ms = RETRY_MIN_MS;
	d->started_at = mono_ms();
	d->checkpoint_at = d->started_at; /* the first one after batch.checkpoint_ms */
	d->topics[TOPIC_WORKORDERS] = cfg->topic_workorders;
	d->topics[TOPIC_CLOCKINS] = cfg->topic_clockins;
	d->topics[TOPIC_ASSESSMENTS] = cfg->topic_assessments;
}

/* The shards (batch.writers): their outputs, and a connection for each but the
 * first, which uses the daemon's. *stopped: a stop signal came while waiting
 * for PostgreSQL. */
static bool start_shards(struct daemon *d, bool *stopped)
{
	char err[512];
	d->shards = calloc((size_t)d->cfg->batch_writers, sizeof(*d->shards));
	if (!d->shards)
		return false;
	d->nshards = (int)d->cfg->batch_writers;
	for (int k = 0; k < d->nshards; k++) {
		struct shard *sh = &d->shards[k];
		core_out_init(&sh->out);
		sh->out.defer_state = true; /* ticket states go with checkpoints */
		partners_out_init(&sh->pout);
		sh->fx = (struct sla_effects){&sh->out, &sh->pout};
	}
	d->shards[0].st = d->st;
	for (int k = 1; k < d->nshards; k++) {
		d->shards[k].st = loop_connect_store(d, err, sizeof(err));
		if (!d->shards[k].st) {
			log_info("stopped while waiting for PostgreSQL");
			*stopped = true;
			return false;
		}
	}
	return true;
}

/* The policies, then PostgreSQL: connect (waiting for it), schema, calendars.
 * *stopped: a stop signal came while waiting for PostgreSQL. */
static bool start_store(struct daemon *d, bool *stopped)
{
	char err[512];
	bool policy_file = false;
	d->pol = daemon_policy_load(d->cfg, &policy_file, err, sizeof(err));
	if (!d->pol) {
		log_error("policies: %s", err);
		return false;
	}
	log_info("policy %s from %s", d->pol->version, policy_file ? d->cfg->policies : "the built-in defaults");
	d->metrics = metrics_new(d->topics);
	if (!d->metrics)
		return false;
	d->st = loop_connect_store(d, err, sizeof(err));
	if (!d->st) {
		log_info("stopped while waiting for PostgreSQL");
		*stopped = true;
		return false;
	}
	d->pg_up = true;
	d->db_ok_at = mono_ms();
	if (!store_migrations_current(d->st, err, sizeof(err))) {
		log_error("the database schema is behind this slad: %s (run `slad migrate`)", redacted(d, err));
		return false;
	}
	int deferred = 0;
	if (store_indexes_deferred(d->st, &deferred, err, sizeof(err)) && deferred > 0)
		log_warn("%d index(es) of the results tables were dropped by a `slactl replay` that did not finish;"
			 " dashboards and the escalation outbox run without them until `slad migrate` builds them",
			 deferred);
	if (!store_load_calendars(d->st, &d->cals, err, sizeof(err))) {
		log_error("loading calendars: %s", redacted(d, err));
		return false;
	}
	return start_shards(d, stopped);
}

/* The consumer, the escalation producer, and the consumer queue's wake-up pipe. */
static bool start_kafka(struct daemon *d)
{
	char err[512];
	d->rk = consumer_new(d);
	if (!d->rk)
		return false;
	d->esc = escalator_new(d->cfg, err, sizeof(err));
	if (!d->esc) {
		log_error("%s", redacted(d, err));
		return false;
	}
	d->queue = rd_kafka_queue_get_consumer(d->rk);
	/* librdkafka writes to the pipe when the queue goes from empty to non-empty. */
	rd_kafka_queue_io_event_enable(d->queue, d->pipefd[1], "1", 1);
	return true;
}

static bool start_http(struct daemon *d)
{
	char err[512];
	if (!d->cfg->http_listen[0])
		return true;
	struct http_pages pages = {health_page_healthz, health_page_metrics, d};
	d->http = http_setup(d->base, d->cfg->http_listen, &pages, err, sizeof(err));
	if (!d->http) {
		log_error("%s", err);
		return false;
	}
	log_info("http: listening on %s (/healthz, /metrics)", http_address(d->http));
	return true;
}

static bool subscribe(struct daemon *d)
{
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(TOPIC_COUNT);
	for (int i = 0; i < TOPIC_COUNT; i++)
		rd_kafka_topic_partition_list_add(subs, d->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t kerr = rd_kafka_subscribe(d->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (kerr) {
		log_error("kafka subscribe: %s", rd_kafka_err2str(kerr));
		return false;
	}
	char masked[1024];
	config_mask_conninfo(d->cfg->postgres_conninfo, masked, sizeof(masked));
	log_info("consuming %s, %s, %s as group %s from %s (policy %s, %zu calendars; PostgreSQL: %s)", d->topics[0],
		 d->topics[1], d->topics[2], d->cfg->kafka_group, d->cfg->kafka_brokers, d->pol->version, d->cals.ncals,
		 masked[0] ? redacted(d, masked) : "libpq environment");
	return true;
}

static void daemon_cleanup(struct daemon *d)
{
	for (int k = 0; k < d->nshards; k++) {
		store_writer_free(d->shards[k].writer); /* lets a commit in flight finish */
		d->shards[k].writer = NULL;
	}
	http_cleanup(d->http);
	escalator_free(d->esc, 2000);
	if (d->queue)
		rd_kafka_queue_destroy(d->queue);
	if (d->rk)
		rd_kafka_destroy(d->rk);
	part_prefetch_free(d);
	for (int p = 0; p < d->nparts; p++)
		for (int h = 0; h < HALF_COUNT; h++)
			part_drop(d, p, (enum engine_half)h);
	free(d->parts);
	for (size_t i = 0; i < d->ntps; i++)
		tp_clear_queue(&d->tps[i]);
	free(d->tps);
	for (int k = 0; k < d->nshards; k++) {
		core_out_free(&d->shards[k].out);
		partners_out_free(&d->shards[k].pout);
		if (k > 0)
			store_free(d->shards[k].st);
	}
	free(d->shards);
	loop_cleanup(d);
	calendar_set_free(&d->cals);
	policy_free(d->pol);
	store_free(d->st);
	metrics_free(d->metrics);
}

/* Order: PostgreSQL (connect, schema, calendars, policy), the loop and its
 * events, Kafka, HTTP, subscribe, READY=1; cleanup in reverse. */
int daemon_run(struct config *cfg, const char *config_path)
{
	struct daemon dd, *d = &dd;
	bool stopped = false;
	int rc = 1;
	daemon_init(d, cfg, config_path);
	notify_setup();

	if (!cfg->kafka_brokers[0]) {
		log_error("kafka.brokers is not set (configuration file or SLAD_KAFKA_BROKERS)");
		goto fail;
	}
	if (!start_store(d, &stopped)) {
		rc = stopped ? 0 : 1;
		goto fail;
	}
	if (!loop_setup(d) || !start_kafka(d) || !loop_add_events(d) || !start_http(d) || !subscribe(d))
		goto fail;
	d->kafka_up = true; /* until librdkafka says otherwise */
	health_update_status(d);
	loop_run(d);
	log_info("stopped: %llu consumed, %llu applied, %llu duplicates, %llu dead letters", d->consumed, d->applied,
		 d->duplicates, d->dead);
	rc = 0;
fail:
	daemon_cleanup(d);
	return rc;
}
