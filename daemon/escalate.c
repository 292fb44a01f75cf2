/* escalate.c - the escalation outbox: sla.escalations rows to the output topic, at least once. */
#include "slad/escalate.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/log.h"
#include "slad/v1/events.pb-c.h"

#define ESCALATE_BATCH 1000

struct escalator {
	rd_kafka_t *rk;
	const struct config *cfg; /* the daemon's, reloaded in place: its secrets scrub librdkafka's log lines */
	char *topic;
	struct store_escalation *inflight; /* the rows sent and not yet acknowledged */
	size_t ninflight, nreported;
	struct store_escalation *acked; /* acknowledged, to mark published */
	size_t nacked;
	bool failed; /* a delivery failed: send the outbox again */
	unsigned long long published;
};

/* Delivery reports come back through rd_kafka_poll in escalator_run. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct escalator *e = opaque;
	const struct store_escalation *row = m->_private; /* an element of e->inflight */
	bool ours = row >= e->inflight && row < e->inflight + e->ninflight;
	(void)rk;
	e->nreported++;
	if (m->err) {
		log_warn_f(&(struct log_fields){.topic = e->topic, .ticket = ours ? row->ticket_id : NULL},
			   "escalations: %s not delivered: %s", e->topic, rd_kafka_err2str(m->err));
		e->failed = true;
		return;
	}
	if (ours)
		e->acked[e->nacked++] = *row;
}

/* The producer's librdkafka log lines, served by rd_kafka_poll on the loop
 * thread (log.queue), through slad's log: in its format, without secrets. */
static void on_producer_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct escalator *e = rd_kafka_opaque(rk);
	char line[1024];
	snprintf(line, sizeof(line), "%s", buf);
	if (e && e->cfg)
		config_redact(e->cfg, line);
	if (level <= 2)
		log_error("kafka producer: %s: %s", fac, line);
	else if (level <= 4)
		log_warn("kafka producer: %s: %s", fac, line);
	else if (level <= 6)
		log_info("kafka producer: %s: %s", fac, line);
	else
		log_debug("kafka producer: %s: %s", fac, line);
}

struct escalator *escalator_new(const struct config *cfg, char *err, size_t errlen)
{
	char errstr[512];
	struct escalator *e = calloc(1, sizeof(*e));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (!e || !conf)
		goto fail;
	e->cfg = cfg;
	e->topic = strdup(cfg->topic_escalations);
	e->inflight = calloc(ESCALATE_BATCH, sizeof(*e->inflight));
	e->acked = calloc(ESCALATE_BATCH, sizeof(*e->acked));
	if (!e->topic || !e->inflight || !e->acked)
		goto fail;
	/* The operator's librdkafka properties apply to the producer too (security, SASL). */
	for (size_t i = 0; i < cfg->nkafka_props; i++)
		(void)rd_kafka_conf_set(conf, cfg->kafka_props[i].name, cfg->kafka_props[i].value, errstr,
					sizeof(errstr));
	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "log.queue", "true", errstr, sizeof(errstr))) {
		snprintf(err, errlen, "escalations producer: %s", errstr);
		goto fail;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_log_cb(conf, on_producer_log);
	rd_kafka_conf_set_opaque(conf, e);
	e->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!e->rk) {
		snprintf(err, errlen, "escalations producer: %s", errstr);
		goto fail;
	}
	/* Log lines to the main queue, which escalator_run's rd_kafka_poll serves. */
	rd_kafka_resp_err_t qe = rd_kafka_set_log_queue(e->rk, NULL);
	if (qe)
		log_warn("escalations: the producer's log lines stay on librdkafka's threads: %s", rd_kafka_err2str(qe));
	return e; /* rd_kafka_new kept conf */
fail:
	if (conf && (!e || !e->rk))
		rd_kafka_conf_destroy(conf);
	if (e && !err[0])
		snprintf(err, errlen, "escalations producer: out of memory");
	escalator_free(e, 0); /* e->rk is NULL here: nothing to flush */
	return NULL;
}

void escalator_free(struct escalator *e, int timeout_ms)
{
	if (!e)
		return;
	if (e->rk) {
		rd_kafka_flush(e->rk, timeout_ms);
		rd_kafka_destroy(e->rk);
	}
	free(e->topic);
	free(e->inflight);
	free(e->acked);
	free(e);
}

unsigned long long escalator_published(const struct escalator *e)
{
	return e ? e->published : 0;
}

static bool send_one(struct escalator *e, struct store_escalation *r)
{
	Slad__V1__Escalation msg = SLAD__V1__ESCALATION__INIT;
	uint8_t buf[512];
	msg.ticket_id = (char *)r->ticket_id;
	msg.milestone = (char *)r->milestone;
	msg.occurrence = r->occurrence;
	msg.level = (char *)r->level;
	msg.at = r->at;
	msg.partner_id = (char *)r->partner_id;
	msg.engineer_id = (char *)r->engineer_id;
	msg.policy_version = (char *)r->policy_version;
	size_t len = slad__v1__escalation__get_packed_size(&msg);
	if (len > sizeof(buf))
		return false;
	slad__v1__escalation__pack(&msg, buf);
	rd_kafka_resp_err_t err = rd_kafka_producev(
		e->rk, RD_KAFKA_V_TOPIC(e->topic), RD_KAFKA_V_KEY(r->ticket_id, strlen(r->ticket_id)),
		RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
	if (err) {
		log_warn_f(&(struct log_fields){.topic = e->topic, .ticket = r->ticket_id},
			   "escalations: producing to %s: %s", e->topic, rd_kafka_err2str(err));
		return false;
	}
	return true;
}

void escalator_run(struct escalator *e, struct store *st, const int32_t *partitions, size_t npartitions)
{
	char err[512];
	if (!e)
		return;
	rd_kafka_poll(e->rk, 0); /* delivery reports */
	if (e->nacked) {
		if (store_escalations_mark(st, e->acked, e->nacked, err, sizeof(err)))
			e->published += e->nacked;
		else
			log_warn("escalations: %s (they will be sent again)", err);
		e->nacked = 0;
	}
	if (e->nreported < e->ninflight)
		return; /* still in flight */
	e->ninflight = e->nreported = 0;
	e->failed = false;
	if (npartitions == 0)
		return;
	struct store_escalation *rows = NULL;
	size_t n = 0;
	if (!store_escalations_pending(st, partitions, npartitions, ESCALATE_BATCH, &rows, &n, err, sizeof(err))) {
		log_warn("escalations: %s", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		e->inflight[e->ninflight] = rows[i];
		if (send_one(e, &e->inflight[e->ninflight]))
			e->ninflight++;
	}
	free(rows);
}
