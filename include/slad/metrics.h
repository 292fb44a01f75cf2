/* metrics.h - slad's counters, gauges and the batch-commit histogram, rendered in the Prometheus text format.
 *
 * Counters move only when a batch commits: events are tallied into the batch
 * as they are applied; when the batch goes to its commit, metrics_batch_take
 * moves them, with the batch's dead letters and violation status changes from
 * `struct sla_out`, into a tally, which metrics_tally_committed adds to the
 * totals or metrics_tally_failed drops. A batch thrown away before its commit
 * is dropped by metrics_batch_discard. So the counters match the rows in
 * PostgreSQL. */
#ifndef SLAD_METRICS_H
#define SLAD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/core.h"
#include "slad/jsonl.h"

struct evbuffer;
struct metrics;

/* topics: the configured names, copied. NULL when out of memory. */
struct metrics *metrics_new(const char *const topics[TOPIC_COUNT]);
void metrics_free(struct metrics *m); /* accepts NULL */

/* The batch is tallied apart for each commit thread (writer) that commits a
 * share of it, 0 <= writer < METRICS_WRITERS. */
#define METRICS_WRITERS 16
/* One consumed message applied in the current batch, in writer's share;
 * event_type is the protobuf EventType value, or -1 when the message did not
 * decode. */
void metrics_batch_event(struct metrics *m, int writer, enum sla_topic topic, int event_type, bool duplicate);
/* What writer's share of a batch going to its commit counts: its events
 * (taken from the batch in progress, which starts again from zero) and out's
 * dead letters and violation history. Call before core_out_clear. NULL when
 * out of memory: the share's counts are lost, not its rows. */
struct metrics_tally;
struct metrics_tally *metrics_batch_take(struct metrics *m, int writer, const struct sla_out *out);
/* The batch committed: its tally (freed; NULL: none) joins the totals. */
void metrics_tally_committed(struct metrics *m, struct metrics_tally *t, double seconds);
/* Its commit failed (conflict: another instance owns a partition): the tally
 * is freed. */
void metrics_tally_failed(struct metrics *m, struct metrics_tally *t, double seconds, bool conflict);
/* A message PostgreSQL rejected (a data error) was isolated and its dead
 * letter committed: slad_poison_messages_total (the dead letter itself is
 * counted with its batch). */
void metrics_poison_committed(struct metrics *m);
/* n saved-state rows of a table ("sla.ticket_state", "sla.partner_state")
 * did not restore and were dead-lettered (committed by the load):
 * slad_state_rows_rejected_total and slad_dead_letters_total{DECODE_ERROR}. */
void metrics_state_rows_rejected(struct metrics *m, const char *table, size_t n);
/* The batch was thrown away (failed commit, reset from PostgreSQL): every
 * writer's share. */
void metrics_batch_discard(struct metrics *m);
void metrics_reload(struct metrics *m, bool ok);
/* A query used a year outside a calendar's loaded years (reported once per calendar and year). */
void metrics_calendar_unloaded_year(struct metrics *m, const char *calendar, int year);
unsigned long long metrics_reloads(const struct metrics *m, bool ok);

/* What the daemon knows at scrape time. */
struct metrics_lag {
	const char *topic;
	int32_t partition;
	int64_t lag; /* messages: high watermark - applied offset; -1: unknown */
};
struct metrics_clock {
	int32_t partition;
	double lag_seconds; /* wall clock - processing clock */
};
struct metrics_gauges {
	bool postgres_up, kafka_up, consuming;
	size_t open_tickets, armed_timers;
	const struct metrics_lag *lags;
	size_t nlags;
	const struct metrics_clock *clocks;
	size_t nclocks;
	const char *policy_version;
	size_t calendars;
};

/* Appends the whole exposition (text format 0.0.4) to out. */
void metrics_render(const struct metrics *m, const struct metrics_gauges *g, struct evbuffer *out);

#endif
