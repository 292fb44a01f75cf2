/* engine.h - one engine per Kafka partition p: the tickets of work-order and
 * clock-in partition p (core.h) and the partners of assessment partition p
 * (scoring.h), behind one interface. Pure: no I/O.
 *
 * The two halves share the id table (idtable.h), the deadline heap
 * (deadlines.h), the field-table codec (bytes.h) and one commit path, but
 * keep a heap and a processing clock each: they are fed by different Kafka
 * partitions, which are assigned, restored, lag and catch up independently,
 * so each half is present only while its partition is ours, and a deadline
 * of one half must not fire on the other half's clock
 * (docs/architecture.md, "One engine per partition"). */
#ifndef SLAD_ENGINE_H
#define SLAD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/core.h"
#include "slad/scoring.h"
#include "slad/topics.h"

enum engine_half { HALF_TICKETS, HALF_PARTNERS, HALF_COUNT };

/* The half a topic feeds: assessments the partners, the rest the tickets. */
static inline enum engine_half engine_half_of(enum sla_topic topic)
{
	return topic == TOPIC_ASSESSMENTS ? HALF_PARTNERS : HALF_TICKETS;
}

/* Where an engine writes what a batch changed (borrowed buffers: the caller
 * may swap them between batches, as replay's writer thread does). */
struct sla_effects {
	struct sla_out *tickets;     /* ticket rows, dead letters of every topic */
	struct partners_out *partners; /* partner scores, events and states */
};

struct sla_engine {
	int32_t partition;
	struct sla_core *tickets;  /* NULL while the work-order partition is not ours */
	struct partners *partners; /* NULL while the assessment partition is not ours */
};

static inline bool engine_has(const struct sla_engine *e, enum engine_half h)
{
	return h == HALF_TICKETS ? e->tickets != NULL : e->partners != NULL;
}

/* Frees a half (nothing if absent). */
void engine_drop(struct sla_engine *e, enum engine_half h);

/* Applies one decoded, checked event of `topic` at processing time `now`
 * (first letting that half's clock pass what is due before it). A
 * dead-letter verdict has been recorded in fx->tickets, with `detail`. The
 * half must be present. */
enum sla_verdict engine_apply(struct sla_engine *e, enum sla_topic topic, const Slad__V1__Event *ev,
			      const struct sla_origin *origin, sla_time now, const struct sla_effects *fx,
			      char *detail, size_t detail_len);
/* Decodes, checks and applies a message of `topic`, recording dead letters. */
enum sla_verdict engine_apply_raw(struct sla_engine *e, enum sla_topic topic, const struct sla_origin *origin,
				  sla_time now, const struct sla_effects *fx);
/* Moves half h's processing clock to `now` (nothing if absent). */
void engine_advance(struct sla_engine *e, enum engine_half h, sla_time now, const struct sla_effects *fx);
/* Half h's earliest pending timer, or SLA_TIME_NONE (also when absent). */
sla_time engine_next_due(const struct sla_engine *e, enum engine_half h);
/* Armed timers of half h. */
size_t engine_timer_count(const struct sla_engine *e, enum engine_half h);

#endif
