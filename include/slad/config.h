/* config.h - slad's configuration: one declarative table of keys, a YAML file, SLAD_<SECTION>_<KEY> overrides.
 *
 * Every key has a type, a default, a validator and a reloadable flag (see
 * config_keys[] in daemon/config.c and deploy/slad.conf, which documents
 * each). Load order: defaults, then the file, then the environment. Any
 * other `kafka.<property>` passes through to librdkafka; in the environment
 * it is SLAD_KAFKA__<PROPERTY> with dots written as `_` (and `_` as `__`).
 * Secrets (the password in postgres.conninfo, sasl.password, ssl keys) are
 * never printed: config_dump masks them and config_redact scrubs messages. */
#ifndef SLAD_CONFIG_H
#define SLAD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/timeutil.h"

#define CONFIG_DEFAULT_PATH "/etc/slad/slad.conf"
#define CONFIG_WHERE_MAX 96 /* "path:line", "SLAD_X" or "default" */
#define CONFIG_ENV_MAX 96   /* "SLAD_<SECTION>_<KEY>" */

struct kafka_prop {
	char *name; /* librdkafka property, e.g. "security.protocol" */
	char *value;
	char where[CONFIG_WHERE_MAX];
};

/* Owns every string it holds; config_free releases them. */
struct config {
	char *kafka_brokers;
	char *kafka_group;
	char *topic_workorders, *topic_clockins, *topic_assessments;
	char *topic_escalations; /* output: escalations for a notifier */
	char *postgres_conninfo;
	char *policies;
	sla_time lateness_allowed;
	sla_time archive_after; /* a closed ticket with nothing open is archived after this */
	long batch_max_events;
	long batch_max_ms;
	long batch_checkpoint_ms; /* ticket states at most this often; 0: with every batch */
	long batch_writers;       /* commit threads, each with its PostgreSQL connection and share of the partitions */
	long recovery_prefetch;   /* 1: read every saved state while the group forms (partition.c) */
	char *http_listen; /* "host:port", "[v6]:port", or "" (no HTTP) */
	char *log_level;
	char *log_format; /* text | json */
	char *clock_source; /* "auto" (event time while lagging, then wall) or "event" (tests, backfills) */
	sla_time shutdown_timeout;
	struct kafka_prop *kafka_props; /* kafka.* keys not in the table: passed to librdkafka */
	size_t nkafka_props;
	char *path;                         /* the file read, or NULL when none was */
	char (*where)[CONFIG_WHERE_MAX];    /* per table key: where its value came from */
	char **secrets;                     /* values to scrub from messages (config_redact) */
	size_t nsecrets;
};

/* Defaults, then the file (path NULL: the default path, which may be
 * missing; a named file must exist), then the environment. Every problem
 * found goes into err, one per line ("file:line: key: what is wrong");
 * false when there was any. Always config_free afterwards. */
bool config_load(struct config *cfg, const char *path, char *err, size_t errlen) __attribute__((warn_unused_result));
void config_free(struct config *cfg);

/* SIGHUP: takes the reloadable keys of `fresh` into `cur` (moving strings
 * out of fresh); for every other key whose value differs, calls
 * restart_needed(key) and keeps cur's value. */
void config_reload(struct config *cur, struct config *fresh, void (*restart_needed)(const char *key, void *arg),
		   void *arg);

/* Prints every key and value with where it came from, secrets masked. */
void config_dump(const struct config *cfg,
		 void (*emit)(const char *key, const char *value, const char *where, void *arg), void *arg);
/* A copy of a libpq conninfo with password=... masked, for logs. */
void config_mask_conninfo(const char *conninfo, char *buf, size_t len);
/* Replaces every occurrence of a configured secret in msg by "***", in place. */
void config_redact(const struct config *cfg, char *msg);
/* A librdkafka property whose value is a secret. */
bool config_kafka_prop_secret(const char *name);
/* Splits http.listen ("host:port", "[v6]:port", ":port" = every address) into host and port. */
bool config_split_listen(const char *listen, char *host, size_t hostlen, int *port) __attribute__((warn_unused_result));

/* One key of the table as documented: slad.conf(5) is made from these
 * (tools/mkman.c). Every pointer is to static data. */
struct config_key_info {
	const char *name;           /* "batch.max_events" */
	const char *type;           /* "string", "duration" or "integer" */
	const char *def;            /* the default, as written in the file ("" for none) */
	char min[32], max[32];      /* the bounds as written in the file; "" for strings */
	const char *const *allowed; /* a string key's values, NULL-terminated; NULL: any the doc describes */
	bool reloadable;            /* SIGHUP applies it; else it needs a restart */
	bool secret;                /* never printed */
	char env[CONFIG_ENV_MAX];   /* the environment variable that overrides it */
	const char *doc;            /* what it means (one paragraph of plain text) */
};
/* The i-th key of the table, in the table's order; false past the last. */
bool config_describe_key(size_t i, struct config_key_info *info) __attribute__((warn_unused_result));
/* The i-th librdkafka property slad sets itself and refuses as kafka.<property>,
 * and why in *why; NULL past the last. */
const char *config_kafka_reserved(size_t i, const char **why);

#endif
