/* escalate.h - publishing escalations to the output topic for a notifier, from the sla.escalations outbox. */
#ifndef SLAD_ESCALATE_H
#define SLAD_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/config.h"
#include "slad/store.h"

struct escalator;

/* A producer on cfg->topic_escalations with the configuration's Kafka properties. */
struct escalator *escalator_new(const struct config *cfg, char *err, size_t errlen);
/* Flushes what is in flight (at most timeout_ms), then frees. Accepts NULL. */
void escalator_free(struct escalator *e, int timeout_ms);
/* One step, never blocking: marks the acknowledged escalations published,
 * and when nothing is in flight sends the outbox rows of tickets on the
 * given partitions. Call it after commits and from the periodic tick. */
void escalator_run(struct escalator *e, struct store *st, const int32_t *partitions, size_t npartitions);
/* Published and acknowledged since start, for metrics and tests. */
unsigned long long escalator_published(const struct escalator *e);

#endif
