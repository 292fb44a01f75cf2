/* daemon_internal.h - what the daemon's files share (daemon.c: start and
 * cleanup; intake.c: Kafka intake, the event-time merge, rebalances; batch.c:
 * batches, commits, the degraded state; loop.c: events, tick, signals, the
 * drain; reload.c: SIGHUP; partition.c: partitions' cores; consumer.c: the
 * Kafka consumer's configuration and callbacks; health.c: /healthz, /metrics
 * and STATUS=). Not for use outside daemon/. */
#ifndef SLAD_DAEMON_INTERNAL_H
#define SLAD_DAEMON_INTERNAL_H

#include "slad/daemon.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "slad/core.h"
#include "slad/engine.h"
#include "slad/http.h"
#include "slad/topics.h"
#include "slad/log.h"
#include "slad/metrics.h"
#include "slad/notify.h"
#include "slad/policy.h"
#include "slad/escalate.h"
#include "slad/policy_file.h"
#include "slad/scoring.h"
#include "slad/store_partners.h"
#include "slad/store.h"
#include "slad/store_writer.h"


#define FUTURE_LIMIT SLA_DAY /* occurred_at further ahead of the wall clock is a bad value */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 30000
#define READY_WAIT_MS 30000  /* READY=1 at the latest this long after start (on_ready_wait) */
#define TICK_MS 1000          /* periodic chores: watchdog, PostgreSQL ping, STATUS= */
#define PING_IDLE_MS 2000     /* ping PostgreSQL when no commit proved it alive for this long */
#define KAFKA_STATS_MS "5000" /* librdkafka statistics: broker states for /healthz */

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
	/* Messages before this offset had their results written by a batch since the
	 * checkpoint (written_offset): applied again, their rows exist already. */
	int64_t rewrite_until;
	bool eof;          /* caught up at the last look */
	int64_t bisect_until; /* isolating: back to full batches once committed reaches it; -1: none */
	sla_time clock_written; /* the processing clock last committed for it */
	struct pending *q; /* FIFO: q[qhead..qtail) */
	size_t qhead, qtail, qcap;
};

#define MERGE_MAX_WAIT 100000 /* past this many waiting messages, stop waiting for the other topic */
#define POISON_MAX 16 /* messages isolated as rejected by PostgreSQL whose dead letters are not yet committed */

/* A message PostgreSQL rejects what it writes (a data error: store_sqlstate_is_data_error),
 * found by bisecting the batch. When it is consumed again it is dead-lettered, never applied. */
struct poison {
	enum sla_topic topic;
	int32_t partition;
	int64_t offset;
	char detail[256]; /* "rejected by PostgreSQL: <SQLSTATE> <message>" */
	bool bare;        /* its dead letter was rejected too: written without the payload */
	bool in_batch;    /* its dead letter is in the batch in progress */
};

/* The state of one partition number: its tickets live in one core. */
struct part {
	/* Its tickets (work-order and clock-in partition p) and partners
	 * (assessment partition p), each half present while its partition is ours. */
	struct sla_engine eng;
	sla_time maxev[HALF_COUNT]; /* largest occurred_at consumed per half: the processing clock while lagging */
	/* Read at start while the group forms (prefetch_states): adopted at the
	 * first assignment if the partition's offsets have not moved since. */
	struct sla_core *pf_core;
	int64_t pf_workorders, pf_clockins; /* the offsets of that snapshot (-1: no row) */
	size_t pf_count;
	bool pf_bad; /* a state did not restore: load it the normal way (dead letter) */
};

#define OFFSETS_MAX 256 /* rows of sla offsets in one commit */

#define WRITERS_MAX METRICS_WRITERS /* batch.writers at most */

/* One commit thread's share of the partitions (partition number modulo
 * batch.writers): their cores write into its outputs, and it commits their
 * results and offsets in a transaction of its own, on a connection of its
 * own, while the loop applies the next batch (batch.c). */
struct shard {
	struct store *st; /* shard 0's is the daemon's (d->st) */
	struct store_writer *writer;
	struct sla_out out;
	struct partners_out pout;
	struct sla_effects fx; /* {&out, &pout}: where its partitions' engines write */
	bool rewrites;         /* a message of its share is before its rewrite_until */
	/* Its share of the batch in flight, until batch_wait collects it: */
	bool active;
	bool ckpt; /* a checkpoint: its offsets move */
	size_t ndead;
	struct metrics_tally *tally;
	struct store_offset offs[OFFSETS_MAX];
	size_t noffs;
};

/* Where a message is: its topic, partition and offset. */
struct msg_pos {
	enum sla_topic topic;
	int32_t partition;
	int64_t offset;
};

/* The batch in flight (its shares in the shards). */
struct inflight {
	bool active;
	bool ckpt;  /* a checkpoint in every share */
	int64_t t0; /* monotonic ms when it was handed over */
	size_t nevents;
	struct msg_pos first; /* its first message */
};

struct daemon {
	struct config *cfg; /* the reloadable keys change on SIGHUP */
	const char *config_path;
	struct sla_policy *pol; /* owned; the cores borrow it */
	struct calendar_set cals;
	/* Used by shard 0's commit thread while a batch is in flight
	 * (inflight.active): every other use goes through daemon_store(), which
	 * waits for it. */
	struct store *st;
	struct shard *shards; /* batch.writers of them */
	int nshards;
	struct inflight inflight;
	int writerpipe[2]; /* the commit threads' "commit done" wake-up */
	struct event_base *base;
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	int pipefd[2];
	struct event *ev_kafka, *ev_timer, *ev_retry, *ev_stop, *ev_hup, *ev_drain, *ev_tick, *ev_ready, *ev_writer;
	int stoppipe[2]; /* the stop-signal handler wakes the loop through it */
	struct metrics *metrics;
	struct http_server *http;
	struct escalator *esc; /* the escalation outbox -> kafka.topics.escalations */
	const char *topics[TOPIC_COUNT];

	struct topic_part *tps;
	size_t ntps;
	struct part *parts;
	int nparts;
	size_t batch_events;
	struct msg_pos batch_first; /* its first message */
	/* Isolating a message PostgreSQL rejects: batches hold at most this many
	 * messages, halved at each rejected commit; 0: batch.max_events. */
	size_t bisect_limit;
	struct poison poison[POISON_MAX];
	size_t npoison;
	bool rebuilding; /* paused only to rebuild the cores from the committed state (not an outage) */
	/* State checkpoints (docs/architecture.md): work-order and clock-in offsets move, and the
	 * changed ticket states are written, only with a checkpoint batch. */
	int64_t checkpoint_at;   /* monotonic ms of the last checkpoint */
	bool lagged;             /* a full batch since the last checkpoint: a backlog */
	bool force_checkpoint;   /* the next flush checkpoints (revoke, shutdown) */

	bool stopping, degraded;
	bool ready;           /* READY=1 sent: the first assignment is restored (or READY_WAIT_MS passed) */
	int64_t started_at;   /* monotonic ms at start */
	bool closing;         /* leaving the consumer group (rd_kafka_consumer_close_queue) */
	bool pg_up, kafka_up; /* for /healthz, /metrics and STATUS= */
	char degraded_why[64];
	int64_t db_ok_at; /* monotonic ms of the last proof that PostgreSQL answers */
	char status[256]; /* the last STATUS= sent */
	int retry_ms;
	unsigned long long consumed, applied, duplicates, dead;
};

struct totals {
	size_t open_tickets, armed_timers;
	int64_t lag; /* sum over assigned partitions whose watermark is known */
};

/* A callback's parameter that its signature (libevent's) requires but it does not read. */
#define UNUSED __attribute__((unused))

static inline int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline struct timeval ms_to_tv(int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

/* The next wait of a back-off: twice the last, at most RETRY_MAX_MS. */
static inline int backoff_next(int ms)
{
	return ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ms * 2;
}

/* Empties a wake-up pipe (non-blocking): one wake-up however many bytes were written. */
static inline void pipe_drain(int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* A partition's largest event time consumed (its processing clock while lagging). */
static inline void clock_see(sla_time *maxev, sla_time occurred_at)
{
	if (*maxev == SLA_TIME_NONE || occurred_at > *maxev)
		*maxev = occurred_at;
}

/* Error text from libpq or librdkafka may quote the configuration: never a secret in the log. */
static inline char *redacted(const struct daemon *d, char *msg)
{
	config_redact(d->cfg, msg);
	return msg;
}

static inline sla_time wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sla_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* clock.source auto: a caught-up partition's clock follows the wall clock, and a
 * held event's grace counts on it too (rules.md section 1; docs/architecture.md). */
static inline bool clock_follows_wall(const struct daemon *d)
{
	return strcmp(d->cfg->clock_source, "auto") == 0;
}

/* The shard of partition p (p >= 0). */
static inline struct shard *shard_of(const struct daemon *d, int32_t p)
{
	return &d->shards[p % d->nshards];
}

/* intake.c: Kafka messages into the event-time merge and the batch. */
int topic_index(const struct daemon *d, const char *name);
struct topic_part *tp_find(struct daemon *d, int topic, int32_t partition);
/* The committed offset from PostgreSQL: next and fetched start there. false: logged. */
bool tp_load_offset(struct daemon *d, struct topic_part *tp) __attribute__((warn_unused_result));
void pending_free(struct pending *pe);
/* Frees the messages waiting in the merge: they are re-read from the committed offset. */
void tp_clear_queue(struct topic_part *tp);
void set_kafka_up(struct daemon *d, bool up, const char *why);
/* Drains the consumer queue without blocking; commits full batches, then the rest. */
void intake_consume(struct daemon *d);
void intake_on_kafka(evutil_socket_t fd, short what, void *arg);
void intake_on_timer(evutil_socket_t fd, short what, void *arg);
/* Every assigned topic-partition at its committed offset (offset 0, the beginning, without one). */
rd_kafka_topic_partition_list_t *intake_assignment(struct daemon *d);
void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque);

/* batch.c: the batch in progress, its commit, and the degraded state. */
/* Applies one message (takes it): through the core, or straight to the dead letters. */
void batch_apply(struct daemon *d, struct topic_part *tp, struct pending *pe);
/* Hands the batch to the commit thread (results, dead letters and offsets in
 * one transaction), once the batch before it is committed. Returns at once,
 * except while isolating a message (bisect) or stopping, when it waits for
 * the commit. false: the batch before it, or this one then, failed. */
bool batch_flush(struct daemon *d);
/* batch_flush, then waiting for the commit. false: not committed. */
bool batch_flush_wait(struct daemon *d);
/* Waits for the batch in flight, if any, and takes its outcome (after a
 * failure: degraded). false: it failed. */
bool batch_wait(struct daemon *d);
/* A commit thread reported a commit done: the batch's outcome once every share is in. */
void batch_on_commit_done(evutil_socket_t fd, short what, void *arg);
/* A share of the batch is still being committed. */
bool batch_committing(const struct daemon *d);
/* The isolated messages of a revoked partition: its next owner isolates them itself. */
void batch_forget_poison(struct daemon *d, const struct topic_part *tp);
/* Pauses consumption (the database is down, a commit failed): retried with back-off. */
void enter_degraded(struct daemon *d, const char *why);
void batch_on_retry(evutil_socket_t fd, short what, void *arg);

/* The store, once no batch is in flight (batch_wait); every use but the
 * commit thread's goes through here. */
static inline struct store *daemon_store(struct daemon *d)
{
	(void)batch_wait(d);
	return d->st;
}

/* loop.c: the event base, its events, the tick, the signals and the bounded drain. */
bool loop_setup(struct daemon *d) __attribute__((warn_unused_result));
bool loop_add_events(struct daemon *d) __attribute__((warn_unused_result));
void loop_run(struct daemon *d);
void loop_cleanup(struct daemon *d);
/* PostgreSQL at start, retried with back-off; NULL when a stop signal came first. */
struct store *loop_connect_store(struct daemon *d, char *err, size_t errlen);
void loop_mark_ready(struct daemon *d);
void loop_publish_escalations(struct daemon *d);

/* reload.c: SIGHUP's configuration, policies and calendars; false: the old ones stay. */
bool reload_config(struct daemon *d);

/* partition.c: the engines of the partitions: half HALF_TICKETS (the
 * work-order and clock-in partitions) and half HALF_PARTNERS (the assessment
 * partitions). Every topic partition of half h at its end, nothing queued. */
bool part_caught_up(const struct daemon *d, int32_t p, enum engine_half h);
/* Half h's processing clock (docs/architecture.md); SLA_TIME_NONE before its first event. */
sla_time part_now(const struct daemon *d, int32_t p, enum engine_half h);
/* Reads every state and offset once, while the group forms (recovery.prefetch). */
void part_prefetch(struct daemon *d);
void part_prefetch_free(struct daemon *d);
/* Restores the assigned ticket partitions without a core: the read-ahead when
 * its offsets still hold, else one binary COPY. */
bool part_load_assigned(struct daemon *d) __attribute__((warn_unused_result));
void part_drop(struct daemon *d, int32_t p, enum engine_half h);
/* Restores assessment partition p's partners (scores in progress, qualification timers). */
bool part_load_partners(struct daemon *d, int32_t p) __attribute__((warn_unused_result));

/* consumer.c: the consumer, configured from kafka.* with slad's fixed properties. */
rd_kafka_t *consumer_new(struct daemon *d);

/* health.c */
void health_totals(const struct daemon *d, struct totals *t);
/* STATUS= to systemd when it changed. */
void health_update_status(struct daemon *d);
int health_page_healthz(struct evbuffer *body, void *arg);
int health_page_metrics(struct evbuffer *body, void *arg);

#endif
