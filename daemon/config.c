/* config.c - the configuration table (names, types, defaults, limits, validators,
 * reloadability, documentation), setting values, loading in order (defaults, file,
 * environment), reloading, dumping. The file and the environment are read in
 * config_file.c, values checked in config_check.c, secrets kept in config_secrets.c. */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void errs_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	e->n++;
	if (e->len == 0 || e->used + 2 >= e->len)
		return;
	if (e->used > 0)
		e->buf[e->used++] = '\n';
	va_start(ap, fmt);
	int w = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	if (w > 0)
		e->used += (size_t)w < e->len - e->used ? (size_t)w : e->len - e->used - 1;
	e->buf[e->used] = '\0';
}

#define OFF(f) offsetof(struct config, f)
#define NOLIM 0, 0

/* The values of the enumerated keys: their validators and slad.conf(5) read the same lists. */
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const clock_sources[] = {"auto", "event", NULL};

static bool v_log_level(const char *v, char *why, size_t n);
static bool v_log_format(const char *v, char *why, size_t n);
static bool v_clock(const char *v, char *why, size_t n);

/* One row per key: interfaces.md "Configuration". The last member is the key's
 * documentation, the comment above it in deploy/slad.conf without what the
 * row says itself (range, values, reloadable): tools/mkman.c makes slad.conf(5)
 * from this table, and tests/integration/test_manpages.sh checks the file
 * against it. */
/* A topic name key, kafka.topics.NAME (default fsm.NAME): a restart applies it. */
#define TOPIC_KEY(name, field, doc) \
	{"kafka.topics." name, KT_STRING, "fsm." name, false, false, v_topic, NOLIM, OFF(field), NULL, doc}

const struct config_key config_keys[] = {
	{"kafka.brokers", KT_STRING, "", false, false, v_brokers, NOLIM, OFF(kafka_brokers), NULL,
	 "Bootstrap servers, host:port[,host:port...]. Required: slad refuses to run without them, and "
	 "check-config says so."},
	{"kafka.group", KT_STRING, "slad", false, false, v_name, NOLIM, OFF(kafka_group), NULL,
	 "Consumer group; every instance of one deployment uses the same one: the partitions are shared out "
	 "between them."},
	TOPIC_KEY("workorders", topic_workorders,
		  "Topic of the work-order events, keyed by ticket. Work orders and clock-ins must have the same number "
		  "of partitions (slad uses the range assignor to keep partition p of both on one instance)."),
	TOPIC_KEY("clockins", topic_clockins,
		  "Topic of the clock-in events, keyed by ticket, with as many partitions as the work-order topic. The "
		  "three input topics must differ."),
	TOPIC_KEY("assessments", topic_assessments, "Topic of the assessment events, keyed by partner."),
	TOPIC_KEY("escalations", topic_escalations,
		  "Output: escalations (WARNING, TIER2, TIER3) for a notifier, protobuf slad.v1.Escalation keyed by "
		  "ticket, at least once."),
	{"postgres.conninfo", KT_STRING, "", false, true, v_conninfo, NOLIM, OFF(postgres_conninfo), NULL,
	 "A libpq connection string or URI; \"\" uses libpq's PG* environment. The role needs sla_writer. For a "
	 "remote server add connect_timeout, keepalives_idle and tcp_user_timeout so that a dead network is noticed "
	 "in seconds. Keep the password out of it: a pgpass file named by PGPASSFILE, or peer authentication."},
	{"policies", KT_STRING, "/etc/slad/policies.yaml", true, false, v_path, NOLIM, OFF(policies), NULL,
	 "The SLA policies file (rules.md's tables as data, as in deploy/policies.yaml). A missing file means the "
	 "compiled-in defaults, which are the same."},
	{"lateness.allowed", KT_DURATION, "15m", true, false, NULL, 0, 7 * SLA_DAY, OFF(lateness_allowed), NULL,
	 "How long a PROVISIONAL violation waits for late events before it is CONFIRMED (processing time), and "
	 "how long an event for a ticket not created yet is held for it before it is dead-lettered "
	 "UNKNOWN_TICKET (processing time and, live, wall time). A reload applies to new violations and "
	 "held events."},
	{"archive.after", KT_DURATION, "7d", true, false, NULL, SLA_HOUR, 3660 * SLA_DAY, OFF(archive_after), NULL,
	 "A closed or cancelled ticket with nothing open is archived this long after it closed and its last "
	 "milestone ended; later events for it are dead-lettered TOO_LATE. A reload applies on the next restore."},
	{"batch.max_events", KT_INT, "20000", true, false, NULL, 1, 1000000, OFF(batch_max_events), NULL,
	 "At most this many events per PostgreSQL transaction (results and Kafka offsets commit together)."},
	{"batch.max_ms", KT_INT, "50", true, false, NULL, 1, 60000, OFF(batch_max_ms), NULL,
	 "Reserved: a batch also ends whenever the consumer queue is empty, so a time bound is not needed today."},
	{"batch.checkpoint_ms", KT_INT, "2000", true, false, NULL, 0, 600000, OFF(batch_checkpoint_ms), NULL,
	 "Ticket states and the work-order and clock-in offsets are written at most this often (milliseconds), and "
	 "as soon as every partition has caught up after a backlog; results commit with every batch. A crash "
	 "re-applies the events since the last checkpoint. 0: with every batch."},
	{"batch.writers", KT_INT, "2", false, false, NULL, 1, 16, OFF(batch_writers), NULL,
	 "Commit threads, each with a PostgreSQL connection of its own. The partitions are shared out between them "
	 "(partition number modulo writers): each commits its partitions' results and offsets in a transaction of "
	 "its own, and the batches commit while the next is applied. 1: one transaction per batch."},
	{"recovery.prefetch", KT_INT, "1", false, false, NULL, 0, 1, OFF(recovery_prefetch), NULL,
	 "1: at start, read every saved ticket state (and the offsets they are at) while the Kafka group forms, and "
	 "keep the partitions then assigned here whose offsets have not moved since; 0: read each partition only "
	 "when it is assigned. Costs, for a moment, the memory of every partition's tickets in each instance that "
	 "starts. Used at start only."},
	{"http.listen", KT_STRING, "127.0.0.1:9187", false, false, v_listen, NOLIM, OFF(http_listen), NULL,
	 "Where /healthz and /metrics are served: host:port, [ipv6]:port, :port (every address), or port 0 for a "
	 "free one (the log says which). \"\" turns HTTP off. Keep it on a private address: there is no "
	 "authentication."},
	{"log.level", KT_STRING, "info", true, false, v_log_level, NOLIM, OFF(log_level), log_levels,
	 "The least severe level logged (dead letters are logged at debug)."},
	{"log.format", KT_STRING, "text", true, false, v_log_format, NOLIM, OFF(log_format), log_formats,
	 "How stderr looks. text: one line per message, \"TIME level: message\" (or \"<priority>level: message\" "
	 "under systemd). json: one JSON object per line (time, level, message and the fields topic, partition, "
	 "offset, ticket, reason where the message has them), valid UTF-8, for a log collector. Under systemd with "
	 "stderr on the journal, slad sends native journal entries in either format (MESSAGE, PRIORITY, "
	 "SLAD_PARTITION=, SLAD_OFFSET=, SLAD_TICKET=, SLAD_REASON=, ...): journalctl -o json."},
	{"clock.source", KT_STRING, "auto", false, false, v_clock, NOLIM, OFF(clock_source), clock_sources,
	 "auto: a partition's processing clock is event time while it lags, the wall clock once caught up. event: "
	 "event time only (backfills, tests)."},
	{"shutdown.timeout", KT_DURATION, "10s", true, false, NULL, 1000, SLA_HOUR, OFF(shutdown_timeout), NULL,
	 "SIGTERM: stop fetching, commit the batch, leave the consumer group and exit 0 within this time; past it "
	 "slad exits 1 at once (what was committed stays, the rest is consumed again after the restart). A second "
	 "SIGTERM exits at once. Keep it below systemd's TimeoutStopSec."},
};
const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

/* librdkafka properties slad sets itself: offsets live in PostgreSQL and the
 * range assignor co-partitions the topics (docs/architecture.md). */
static const char *const kafka_reserved[][2] = {
	{"bootstrap.servers", "use kafka.brokers"},
	{"metadata.broker.list", "use kafka.brokers"},
	{"group.id", "use kafka.group"},
	{"enable.auto.commit", "set by slad: offsets are committed to PostgreSQL"},
	{"enable.auto.offset.store", "set by slad: offsets are committed to PostgreSQL"},
	{"enable.partition.eof", "set by slad: the processing clock needs end-of-partition events"},
	{"auto.offset.reset", "set by slad: a partition without a stored offset starts at the beginning"},
	{"partition.assignment.strategy", "set by slad: range co-partitions the work-order and clock-in topics"},
	{"log.queue", "set by slad: librdkafka's log lines go through slad's log"},
};

static bool v_log_level(const char *v, char *why, size_t n)
{
	return v_oneof(v, log_levels, why, n);
}

static bool v_log_format(const char *v, char *why, size_t n)
{
	return v_oneof(v, log_formats, why, n);
}

static bool v_clock(const char *v, char *why, size_t n)
{
	return v_oneof(v, clock_sources, why, n);
}

/* ---- setting values ---- */

static bool parse_duration(const char *s, sla_time *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	long long unit;
	if (errno || end == s || v < 0)
		return false;
	if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		unit = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		unit = SLA_MINUTE;
	else if (strcmp(end, "h") == 0)
		unit = SLA_HOUR;
	else if (strcmp(end, "d") == 0)
		unit = SLA_DAY;
	else
		return false;
	if (v > INT64_MAX / unit)
		return false;
	*out = v * unit;
	return true;
}

static void format_duration(sla_time ms, char *buf, size_t len)
{
	if (ms % SLA_DAY == 0 && ms)
		snprintf(buf, len, "%lldd", (long long)(ms / SLA_DAY));
	else if (ms % SLA_HOUR == 0 && ms)
		snprintf(buf, len, "%lldh", (long long)(ms / SLA_HOUR));
	else if (ms % SLA_MINUTE == 0 && ms)
		snprintf(buf, len, "%lldm", (long long)(ms / SLA_MINUTE));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

bool config_set_key(struct config *cfg, size_t ki, const char *value, const char *where, struct errs *e)
{
	const struct config_key *k = &config_keys[ki];
	void *field = (char *)cfg + k->offset;
	char why[256];
	switch (k->type) {
	case KT_STRING: {
		if (k->valid && !k->valid(value, why, sizeof(why))) {
			errs_add(e, "%s: %s: %s", where, k->name, why);
			return false;
		}
		char *dup = strdup(value);
		if (!dup) {
			errs_add(e, "out of memory");
			return false;
		}
		free(*(char **)field);
		*(char **)field = dup;
		break;
	}
	case KT_DURATION: {
		sla_time d;
		char lo[32], hi[32];
		if (!parse_duration(value, &d)) {
			errs_add(e, "%s: %s: not a duration (e.g. 15m, 10s, 500ms)", where, k->name);
			return false;
		}
		if (d < k->min || d > k->max) {
			format_duration(k->min, lo, sizeof(lo));
			format_duration(k->max, hi, sizeof(hi));
			errs_add(e, "%s: %s: must be from %s to %s", where, k->name, lo, hi);
			return false;
		}
		*(sla_time *)field = d;
		break;
	}
	case KT_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end) {
			errs_add(e, "%s: %s: not an integer", where, k->name);
			return false;
		}
		if (v < k->min || v > k->max) {
			errs_add(e, "%s: %s: must be from %lld to %lld", where, k->name, k->min, k->max);
			return false;
		}
		*(long *)field = v;
		break;
	}
	}
	snprintf(cfg->where[ki], CONFIG_WHERE_MAX, "%s", where);
	return true;
}

/* kafka.<prop>: checked against librdkafka now, so check-config reports it. */
bool config_set_kafka_prop(struct config *cfg, const char *prop, const char *value, const char *where, bool from_file,
			   struct errs *e)
{
	char errstr[512];
	for (size_t i = 0; i < sizeof(kafka_reserved) / sizeof(kafka_reserved[0]); i++)
		if (strcmp(prop, kafka_reserved[i][0]) == 0) {
			errs_add(e, "%s: kafka.%s: %s", where, prop, kafka_reserved[i][1]);
			return false;
		}
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, prop, value, errstr, sizeof(errstr));
	rd_kafka_conf_destroy(conf);
	if (r == RD_KAFKA_CONF_UNKNOWN) {
		errs_add(e, "%s: kafka.%s: not a librdkafka consumer property", where, prop);
		return false;
	}
	if (r != RD_KAFKA_CONF_OK) {
		if (config_kafka_prop_secret(prop))
			errs_add(e, "%s: kafka.%s: invalid value", where, prop);
		else
			errs_add(e, "%s: kafka.%s: %s", where, prop, errstr);
		return false;
	}
	struct kafka_prop *kp = NULL;
	for (size_t i = 0; i < cfg->nkafka_props; i++)
		if (strcmp(cfg->kafka_props[i].name, prop) == 0)
			kp = &cfg->kafka_props[i];
	if (kp && from_file && strchr(kp->where, ':')) {
		errs_add(e, "%s: kafka.%s: set twice (first at %s)", where, prop, kp->where);
		return false;
	}
	char *v = strdup(value);
	if (!v) {
		errs_add(e, "out of memory");
		return false;
	}
	if (!kp) {
		struct kafka_prop *n = realloc(cfg->kafka_props, (cfg->nkafka_props + 1) * sizeof(*n));
		char *name = strdup(prop);
		if (!n || !name) {
			if (n)
				cfg->kafka_props = n;
			free(name);
			free(v);
			errs_add(e, "out of memory");
			return false;
		}
		cfg->kafka_props = n;
		kp = &n[cfg->nkafka_props++];
		kp->name = name;
		kp->value = NULL;
	}
	free(kp->value);
	kp->value = v;
	snprintf(kp->where, sizeof(kp->where), "%s", where);
	return true;
}

bool config_set_by_name(struct config *cfg, const char *name, const char *value, const char *where, bool from_file,
			struct errs *e)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0) {
			if (from_file && strchr(cfg->where[i], ':')) {
				errs_add(e, "%s: %s: set twice (first at %s)", where, name, cfg->where[i]);
				return false;
			}
			return config_set_key(cfg, i, value, where, e);
		}
	if (strncmp(name, "kafka.", 6) == 0 && strncmp(name, "kafka.topics.", 13) != 0 && name[6])
		return config_set_kafka_prop(cfg, name + 6, value, where, from_file, e);
	errs_add(e, "%s: unknown key %s", where, name);
	return false;
}

bool config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct errs e = {err, errlen, 0, 0};
	if (errlen)
		err[0] = '\0';
	memset(cfg, 0, sizeof(*cfg));
	cfg->where = calloc(config_nkeys, sizeof(*cfg->where));
	if (!cfg->where) {
		errs_add(&e, "out of memory");
		return false;
	}
	for (size_t i = 0; i < config_nkeys; i++)
		if (!config_set_key(cfg, i, config_keys[i].def, "default", &e))
			return false;

	const char *file = path ? path : CONFIG_DEFAULT_PATH;
	FILE *f = fopen(file, "r");
	if (!f && (path || errno != ENOENT)) {
		errs_add(&e, "%s: %s", file, strerror(errno));
		return false;
	}
	if (f) {
		cfg->path = strdup(file);
		(void)config_load_yaml(cfg, file, f, &e);
		fclose(f);
	}
	config_load_env(cfg, &e);
	if (strcmp(cfg->topic_workorders, cfg->topic_clockins) == 0 ||
	    strcmp(cfg->topic_workorders, cfg->topic_assessments) == 0 ||
	    strcmp(cfg->topic_clockins, cfg->topic_assessments) == 0)
		errs_add(&e, "kafka.topics: the three topics must differ");
	if (!config_collect_secrets(cfg))
		errs_add(&e, "out of memory");
	return e.n == 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < config_nkeys; i++)
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
	for (size_t i = 0; i < cfg->nsecrets; i++)
		free(cfg->secrets[i]);
	free(cfg->secrets);
	cfg->secrets = NULL;
	cfg->nsecrets = 0;
	free(cfg->path);
	cfg->path = NULL;
	free(cfg->where);
	cfg->where = NULL;
}

static bool kafka_props_equal(const struct config *a, const struct config *b)
{
	if (a->nkafka_props != b->nkafka_props)
		return false;
	for (size_t i = 0; i < a->nkafka_props; i++) {
		bool found = false;
		for (size_t j = 0; j < b->nkafka_props && !found; j++)
			found = strcmp(a->kafka_props[i].name, b->kafka_props[j].name) == 0 &&
				strcmp(a->kafka_props[i].value, b->kafka_props[j].value) == 0;
		if (!found)
			return false;
	}
	return true;
}

void config_reload(struct config *cur, struct config *fresh, void (*restart_needed)(const char *key, void *arg),
		   void *arg)
{
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		void *a = (char *)cur + k->offset, *b = (char *)fresh + k->offset;
		bool same;
		switch (k->type) {
		case KT_STRING: same = strcmp(*(char **)a, *(char **)b) == 0; break;
		case KT_DURATION: same = *(sla_time *)a == *(sla_time *)b; break;
		default: same = *(long *)a == *(long *)b; break;
		}
		if (same)
			continue;
		if (!k->reloadable) {
			restart_needed(k->name, arg);
			continue;
		}
		if (k->type == KT_STRING) {
			char *t = *(char **)a;
			*(char **)a = *(char **)b;
			*(char **)b = t;
		} else {
			memcpy(a, b, k->type == KT_DURATION ? sizeof(sla_time) : sizeof(long));
		}
		memcpy(cur->where[i], fresh->where[i], CONFIG_WHERE_MAX);
	}
	if (!kafka_props_equal(cur, fresh))
		restart_needed("kafka.*", arg);
}

void config_dump(const struct config *cfg,
		 void (*emit)(const char *key, const char *value, const char *where, void *arg), void *arg)
{
	char buf[1024];
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		const void *field = (const char *)cfg + k->offset;
		switch (k->type) {
		case KT_STRING:
			if (k->secret)
				config_mask_conninfo(*(char *const *)field, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "%s", *(char *const *)field);
			break;
		case KT_DURATION: format_duration(*(const sla_time *)field, buf, sizeof(buf)); break;
		case KT_INT: snprintf(buf, sizeof(buf), "%ld", *(const long *)field); break;
		}
		config_redact(cfg, buf);
		emit(k->name, buf, cfg->where[i], arg);
	}
	for (size_t i = 0; i < cfg->nkafka_props; i++) {
		char key[256];
		snprintf(key, sizeof(key), "kafka.%s", cfg->kafka_props[i].name);
		snprintf(buf, sizeof(buf), "%s", cfg->kafka_props[i].value);
		config_redact(cfg, buf);
		emit(key, config_kafka_prop_secret(cfg->kafka_props[i].name) ? "***" : buf, cfg->kafka_props[i].where,
		     arg);
	}
}

bool config_describe_key(size_t i, struct config_key_info *info)
{
	if (i >= config_nkeys)
		return false;
	const struct config_key *k = &config_keys[i];
	memset(info, 0, sizeof(*info));
	info->name = k->name;
	info->def = k->def;
	info->reloadable = k->reloadable;
	info->secret = k->secret;
	info->allowed = k->allowed;
	info->doc = k->doc;
	config_key_env_name(k->name, info->env, sizeof(info->env));
	switch (k->type) {
	case KT_STRING: info->type = "string"; break;
	case KT_DURATION:
		info->type = "duration";
		/* As one would write them in the file; a bare 0 needs no unit. */
		if (k->min)
			format_duration(k->min, info->min, sizeof(info->min));
		else
			snprintf(info->min, sizeof(info->min), "0");
		format_duration(k->max, info->max, sizeof(info->max));
		break;
	case KT_INT:
		info->type = "integer";
		snprintf(info->min, sizeof(info->min), "%lld", k->min);
		snprintf(info->max, sizeof(info->max), "%lld", k->max);
		break;
	}
	return true;
}

const char *config_kafka_reserved(size_t i, const char **why)
{
	if (i >= sizeof(kafka_reserved) / sizeof(kafka_reserved[0]))
		return NULL;
	*why = kafka_reserved[i][1];
	return kafka_reserved[i][0];
}
