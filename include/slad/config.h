/* config.h - slad's configuration: one declarative table of keys, a YAML file, SLAD_<SECTION>_<KEY> overrides. */
#ifndef SLAD_CONFIG_H
#define SLAD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/timeutil.h"

#define CONFIG_DEFAULT_PATH "/etc/slad/slad.conf"

struct kafka_prop {
	char *name; /* librdkafka property, e.g. "security.protocol" */
	char *value;
};

/* Owns every string it holds; config_free releases them. */
struct config {
	char *kafka_brokers;
	char *kafka_group;
	char *topic_workorders, *topic_clockins, *topic_assessments;
	char *postgres_conninfo;
	char *policies;
	sla_time lateness_allowed;
	long batch_max_events;
	long batch_max_ms;
	char *http_listen;
	char *log_level;
	char *clock_source; /* "auto" (event time while lagging, then wall) or "event" (tests, backfills) */
	sla_time shutdown_timeout;
	struct kafka_prop *kafka_props; /* kafka.* keys not in the table: passed to librdkafka */
	size_t nkafka_props;
};

/* Defaults, then the file (path NULL: the default path, which may be
 * missing; a named file must exist), then the environment. */
bool config_load(struct config *cfg, const char *path, char *err, size_t errlen) __attribute__((warn_unused_result));
void config_free(struct config *cfg);
/* Prints every key and value, secrets masked. */
void config_dump(const struct config *cfg, void (*emit)(const char *key, const char *value, void *arg), void *arg);
/* A copy of a libpq conninfo with password=... masked, for logs. */
void config_mask_conninfo(const char *conninfo, char *buf, size_t len);

#endif
