/* consumer.c - the Kafka consumer: kafka.* properties, the ones slad fixes
 * (offsets in PostgreSQL, range assignment, log lines on the loop's queue),
 * and its error, log and statistics callbacks. */
#include "daemon_internal.h"

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct daemon *d = opaque;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", reason);
	redacted(d, buf);
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		set_kafka_up(d, false, buf);
	} else if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];
		rd_kafka_fatal_error(rk, why, sizeof(why));
		log_error("kafka: fatal error: %s", redacted(d, why));
		set_kafka_up(d, false, "fatal error");
	} else {
		log_debug("kafka: %s", buf); /* librdkafka's own log line (on_kafka_log) said it already */
	}
}

/* librdkafka's log lines, served on the loop thread (log.queue), in our format. */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct daemon *d = rd_kafka_opaque(rk);
	char line[1024];
	snprintf(line, sizeof(line), "%s", buf);
	redacted(d, line);
	if (level <= 2)
		log_error("kafka: %s: %s", fac, line);
	else if (level >= 7 || !d->kafka_up) /* reported unreachable already: no line per reconnect attempt */
		log_debug("kafka: %s: %s", fac, line);
	else if (level <= 4)
		log_warn("kafka: %s: %s", fac, line);
	else
		log_info("kafka: %s: %s", fac, line);
}

/* librdkafka's statistics, every KAFKA_STATS_MS: is any broker connection up? */
static int on_kafka_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct daemon *d = opaque;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = NULL, *brokers;
	(void)rk;
	if (tok)
		root = json_tokener_parse_ex(tok, json, (int)(len > 0x7fffffff ? 0x7fffffff : len));
	if (root && json_object_object_get_ex(root, "brokers", &brokers) && json_object_is_type(brokers, json_type_object)) {
		int known = 0, up = 0;
		json_object_object_foreach(brokers, name, b)
		{
			struct json_object *state, *nodeid;
			(void)name;
			if (!json_object_object_get_ex(b, "nodeid", &nodeid) || json_object_get_int(nodeid) < 0)
				continue; /* bootstrap and internal entries */
			known++;
			if (json_object_object_get_ex(b, "state", &state) &&
			    strcmp(json_object_get_string(state), "UP") == 0)
				up++;
		}
		if (known > 0)
			set_kafka_up(d, up > 0, "no broker connection is up");
	}
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return 0; /* librdkafka frees json */
}

/* Sets librdkafka properties slad chooses; false: one was refused (logged). */
static bool conf_set_pairs(rd_kafka_conf_t *conf, const char *const (*pairs)[2], size_t n)
{
	char errstr[512];
	for (size_t i = 0; i < n; i++)
		if (rd_kafka_conf_set(conf, pairs[i][0], pairs[i][1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			log_error("kafka %s: %s", pairs[i][0], errstr);
			return false;
		}
	return true;
}

rd_kafka_t *consumer_new(struct daemon *d)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *const fixed[][2] = {
		{"bootstrap.servers", d->cfg->kafka_brokers},
		{"group.id", d->cfg->kafka_group},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"enable.partition.eof", "true"},
		{"auto.offset.reset", "earliest"},
		/* range co-partitions the work-order and clock-in topics: partition p of both on one instance */
		{"partition.assignment.strategy", "range"},
		{"log.queue", "true"}, /* log lines come through the consumer queue, on the loop thread */
	};
	/* Defaults a kafka.* key may override. */
	const char *const defaults[][2] = {
		{"queued.max.messages.kbytes", "65536"},
		{"statistics.interval.ms", KAFKA_STATS_MS},
	};
	if (!conf_set_pairs(conf, defaults, sizeof(defaults) / sizeof(defaults[0]))) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	for (size_t i = 0; i < d->cfg->nkafka_props; i++)
		if (rd_kafka_conf_set(conf, d->cfg->kafka_props[i].name, d->cfg->kafka_props[i].value, errstr,
				      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			log_error("kafka.%s: %s", d->cfg->kafka_props[i].name,
				  config_kafka_prop_secret(d->cfg->kafka_props[i].name) ? "invalid value"
											: redacted(d, errstr));
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	if (!conf_set_pairs(conf, fixed, sizeof(fixed) / sizeof(fixed[0]))) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_error_cb(conf, on_kafka_error);
	rd_kafka_conf_set_stats_cb(conf, on_kafka_stats);
	rd_kafka_conf_set_log_cb(conf, on_kafka_log);
	rd_kafka_conf_set_opaque(conf, d);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		log_error("kafka: %s", redacted(d, errstr));
		rd_kafka_conf_destroy(conf); /* rd_kafka_new keeps conf only on success */
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_resp_err_t e = rd_kafka_set_log_queue(rk, NULL); /* the main queue, forwarded to the consumer's */
	if (e)
		log_warn("kafka: log lines stay on librdkafka's threads: %s", rd_kafka_err2str(e));
	return rk;
}

