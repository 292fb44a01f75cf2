/* config.c - the configuration table, its YAML file (libyaml) and SLAD_* environment overrides. */
#include "slad/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum key_type { KT_STRING, KT_DURATION, KT_INT };

struct config_key {
	const char *name;
	enum key_type type;
	const char *def;
	bool reloadable;
	bool secret;
	size_t offset;
};

#define OFF(f) offsetof(struct config, f)

/* One row per key: interfaces.md "Configuration". */
static const struct config_key config_keys[] = {
	{"kafka.brokers", KT_STRING, "", false, false, OFF(kafka_brokers)},
	{"kafka.group", KT_STRING, "slad", false, false, OFF(kafka_group)},
	{"kafka.topics.workorders", KT_STRING, "fsm.workorders", false, false, OFF(topic_workorders)},
	{"kafka.topics.clockins", KT_STRING, "fsm.clockins", false, false, OFF(topic_clockins)},
	{"kafka.topics.assessments", KT_STRING, "fsm.assessments", false, false, OFF(topic_assessments)},
	{"postgres.conninfo", KT_STRING, "", false, true, OFF(postgres_conninfo)},
	{"policies", KT_STRING, "/etc/slad/policies.yaml", true, false, OFF(policies)},
	{"lateness.allowed", KT_DURATION, "15m", true, false, OFF(lateness_allowed)},
	{"batch.max_events", KT_INT, "5000", true, false, OFF(batch_max_events)},
	{"batch.max_ms", KT_INT, "50", true, false, OFF(batch_max_ms)},
	{"http.listen", KT_STRING, "127.0.0.1:9187", false, false, OFF(http_listen)},
	{"log.level", KT_STRING, "info", true, false, OFF(log_level)},
	{"clock.source", KT_STRING, "auto", false, false, OFF(clock_source)},
	{"shutdown.timeout", KT_DURATION, "10s", true, false, OFF(shutdown_timeout)},
};
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static bool parse_duration(const char *s, sla_time *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return false;
	if (strcmp(end, "ms") == 0)
		*out = v;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		*out = v * 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		*out = v * SLA_MINUTE;
	else if (strcmp(end, "h") == 0)
		*out = v * SLA_HOUR;
	else if (strcmp(end, "d") == 0)
		*out = v * SLA_DAY;
	else
		return false;
	return true;
}

static bool set_key(struct config *cfg, const struct config_key *k, const char *value, char *err, size_t errlen,
		    const char *where)
{
	void *field = (char *)cfg + k->offset;
	switch (k->type) {
	case KT_STRING: {
		char *dup = strdup(value);
		if (!dup) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		free(*(char **)field);
		*(char **)field = dup;
		return true;
	}
	case KT_DURATION:
		if (!parse_duration(value, (sla_time *)field)) {
			snprintf(err, errlen, "%s: %s: not a duration (e.g. 15m, 10s, 500ms)", where, k->name);
			return false;
		}
		return true;
	case KT_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v <= 0) {
			snprintf(err, errlen, "%s: %s: not a positive integer", where, k->name);
			return false;
		}
		*(long *)field = v;
		return true;
	}
	}
	return false;
}

static bool set_by_name(struct config *cfg, const char *name, const char *value, char *err, size_t errlen,
			const char *where)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return set_key(cfg, &config_keys[i], value, err, errlen, where);
	if (strncmp(name, "kafka.", 6) == 0 && strncmp(name, "kafka.topics.", 13) != 0) {
		/* Any other librdkafka property passes through. */
		for (size_t i = 0; i < cfg->nkafka_props; i++)
			if (strcmp(cfg->kafka_props[i].name, name + 6) == 0) {
				char *v = strdup(value);
				if (!v)
					return false;
				free(cfg->kafka_props[i].value);
				cfg->kafka_props[i].value = v;
				return true;
			}
		struct kafka_prop *n = realloc(cfg->kafka_props, (cfg->nkafka_props + 1) * sizeof(*n));
		if (!n)
			return false;
		cfg->kafka_props = n;
		n[cfg->nkafka_props].name = strdup(name + 6);
		n[cfg->nkafka_props].value = strdup(value);
		cfg->nkafka_props++;
		return n[cfg->nkafka_props - 1].name && n[cfg->nkafka_props - 1].value;
	}
	snprintf(err, errlen, "%s: unknown key %s", where, name);
	return false;
}

/* Walks a YAML document of nested mappings, turning scalars into dotted keys. */
static bool load_yaml(struct config *cfg, const char *path, FILE *f, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	char stack[8][128];
	int depth = 0;
	char pending_key[128] = "";
	bool have_key = false, ok = true, done = false;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: cannot initialise the YAML parser", path);
		return false;
	}
	yaml_parser_set_input_file(&parser, f);
	while (ok && !done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "YAML syntax error");
			ok = false;
			break;
		}
		unsigned long line = (unsigned long)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			if (depth > 0 || have_key) {
				if (!have_key || depth >= 7) {
					snprintf(err, errlen, "%s:%lu: unexpected mapping", path, line);
					ok = false;
					break;
				}
				snprintf(stack[depth], sizeof(stack[depth]), "%s", pending_key);
				have_key = false;
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
			snprintf(err, errlen, "%s:%lu: lists are not configuration values", path, line);
			ok = false;
			break;
		case YAML_SCALAR_EVENT: {
			const char *val = (const char *)ev.data.scalar.value;
			if (!have_key) {
				snprintf(pending_key, sizeof(pending_key), "%s", val);
				have_key = true;
				break;
			}
			char full[512] = "", where[600];
			for (int i = 1; i < depth; i++) {
				strncat(full, stack[i], sizeof(full) - strlen(full) - 2);
				strcat(full, ".");
			}
			strncat(full, pending_key, sizeof(full) - strlen(full) - 1);
			snprintf(where, sizeof(where), "%s:%lu", path, line);
			ok = set_by_name(cfg, full, val, err, errlen, where);
			have_key = false;
			break;
		}
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ok;
}

bool config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++)
		if (!set_key(cfg, &config_keys[i], config_keys[i].def, err, errlen, "default"))
			return false;

	const char *file = path ? path : CONFIG_DEFAULT_PATH;
	FILE *f = fopen(file, "r");
	if (!f && path) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return false;
	}
	if (f) {
		bool ok = load_yaml(cfg, file, f, err, errlen);
		fclose(f);
		if (!ok)
			return false;
	}

	/* SLAD_<SECTION>_<KEY>: the key upper-cased, dots as underscores. */
	for (size_t i = 0; i < NKEYS; i++) {
		char env[96] = "SLAD_";
		size_t n = 5;
		for (const char *p = config_keys[i].name; *p && n < sizeof(env) - 1; p++)
			env[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
		env[n] = '\0';
		const char *v = getenv(env);
		if (v && !set_key(cfg, &config_keys[i], v, err, errlen, env))
			return false;
	}
	if (strcmp(cfg->clock_source, "auto") != 0 && strcmp(cfg->clock_source, "event") != 0) {
		snprintf(err, errlen, "clock.source must be auto or event");
		return false;
	}
	return true;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (config_keys[i].type == KT_STRING) {
			char **field = (char **)((char *)cfg + config_keys[i].offset);
			free(*field);
			*field = NULL;
		}
	for (size_t i = 0; i < cfg->nkafka_props; i++) {
		free(cfg->kafka_props[i].name);
		free(cfg->kafka_props[i].value);
	}
	free(cfg->kafka_props);
	cfg->kafka_props = NULL;
	cfg->nkafka_props = 0;
}

void config_mask_conninfo(const char *conninfo, char *buf, size_t len)
{
	/* Mask "password=..." in key=value form and ":secret@" in URIs. */
	size_t o = 0;
	const char *p = conninfo;
	while (*p && o + 1 < len) {
		if (strncmp(p, "password", 8) == 0) {
			const char *q = p + 8;
			while (*q == ' ')
				q++;
			if (*q == '=') {
				q++;
				while (*q == ' ')
					q++;
				o += (size_t)snprintf(buf + o, len - o, "password=***");
				if (*q == '\'') {
					for (q++; *q && *q != '\''; q++)
						if (*q == '\\' && q[1])
							q++;
					if (*q)
						q++;
				} else {
					while (*q && *q != ' ')
						q++;
				}
				p = q;
				continue;
			}
		}
		if (strncmp(p, "://", 3) == 0) {
			const char *at = strchr(p + 3, '@');
			const char *colon = strchr(p + 3, ':');
			const char *slash = strchr(p + 3, '/');
			if (at && colon && colon < at && (!slash || at < slash)) {
				size_t userlen = (size_t)(colon - p);
				if (o + userlen + 5 < len) {
					memcpy(buf + o, p, userlen);
					o += userlen;
					o += (size_t)snprintf(buf + o, len - o, ":***");
					p = at;
					continue;
				}
			}
		}
		buf[o++] = *p++;
	}
	buf[o < len ? o : len - 1] = '\0';
}

void config_dump(const struct config *cfg, void (*emit)(const char *key, const char *value, void *arg), void *arg)
{
	char buf[1024];
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const void *field = (const char *)cfg + k->offset;
		switch (k->type) {
		case KT_STRING:
			if (k->secret)
				config_mask_conninfo(*(char *const *)field, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "%s", *(char *const *)field);
			break;
		case KT_DURATION: snprintf(buf, sizeof(buf), "%lldms", (long long)*(const sla_time *)field); break;
		case KT_INT: snprintf(buf, sizeof(buf), "%ld", *(const long *)field); break;
		}
		emit(k->name, buf, arg);
	}
	for (size_t i = 0; i < cfg->nkafka_props; i++) {
		char key[256];
		snprintf(key, sizeof(key), "kafka.%s", cfg->kafka_props[i].name);
		bool secret = strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.oauthbearer");
		emit(key, secret ? "***" : cfg->kafka_props[i].value, arg);
	}
}
