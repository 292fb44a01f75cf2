/* config_internal.h - what the configuration's files share (config.c: the table
 * and setting values; config_file.c: the YAML file and the environment;
 * config_check.c: the validators; config_secrets.c: secrets and redaction).
 * Not for use outside daemon/config*.c. */
#ifndef SLAD_CONFIG_INTERNAL_H
#define SLAD_CONFIG_INTERNAL_H

#include "slad/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum key_type { KT_STRING, KT_DURATION, KT_INT };

/* Problems found while loading, one per line; loading goes on after one so
 * that check-config can list them all. */
struct errs {
	char *buf;
	size_t len;
	size_t used;
	int n;
};

void errs_add(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A validator explains a bad value in why, without repeating the value. */
typedef bool (*validator)(const char *value, char *why, size_t whylen);

struct config_key {
	const char *name;
	enum key_type type;
	const char *def;
	bool reloadable; /* SIGHUP applies it; the others need a restart */
	bool secret;     /* never printed */
	validator valid; /* KT_STRING only; NULL: any value */
	long long min, max; /* KT_INT: the value; KT_DURATION: milliseconds */
	size_t offset;
	const char *const *allowed; /* the values `valid` accepts, when it accepts a list; NULL otherwise */
	const char *doc;            /* what it means: the comment in deploy/slad.conf, for slad.conf(5) */
};

/* config.c: the table, and setting one value (where: "default", "file:line" or the variable). */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;
bool config_set_key(struct config *cfg, size_t ki, const char *value, const char *where, struct errs *e);
/* kafka.<prop>: checked against librdkafka now, so check-config reports it. */
bool config_set_kafka_prop(struct config *cfg, const char *prop, const char *value, const char *where,
			   bool from_file, struct errs *e);
/* A table key or kafka.<prop>; from_file: a second setting in the file is an error. */
bool config_set_by_name(struct config *cfg, const char *name, const char *value, const char *where, bool from_file,
			struct errs *e);

/* config_file.c */
/* Walks a YAML document of nested mappings, turning scalars into dotted keys. */
bool config_load_yaml(struct config *cfg, const char *path, FILE *f, struct errs *e);
/* SLAD_<SECTION>_<KEY> and SLAD_KAFKA__<PROPERTY> over the file's values. */
void config_load_env(struct config *cfg, struct errs *e);
/* SLAD_<SECTION>_<KEY>: the key upper-cased, dots as underscores. */
void config_key_env_name(const char *key, char *env, size_t len);

/* config_check.c: the validators of the table's string keys. */
bool v_brokers(const char *v, char *why, size_t n);
bool v_name(const char *v, char *why, size_t n);
bool v_topic(const char *v, char *why, size_t n);
bool v_conninfo(const char *v, char *why, size_t n);
bool v_path(const char *v, char *why, size_t n);
bool v_listen(const char *v, char *why, size_t n);
bool v_oneof(const char *v, const char *const *allowed, char *why, size_t n);

/* config_secrets.c: the values config_redact scrubs: the conninfo's password and secret Kafka properties. */
bool config_collect_secrets(struct config *cfg) __attribute__((warn_unused_result));

#endif
