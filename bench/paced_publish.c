/* paced_publish.c - the live load of the latency benchmark (B5): sends each JSON Lines event when the wall clock reaches its occurred_at.
 *
 * Not a test. Reads every line first (events.md JSON Lines, in occurred_at
 * order, parsed with slactl's own jsonl_parse_event), then produces each one
 * to its topic, keyed like `slactl publish`, at its occurred_at on the wall
 * clock: a live stream rather than a backlog. Events whose time has passed
 * go at once. At the end it waits for every delivery report and prints one
 * line: events sent, failed, and how late the latest send was against its
 * schedule (the pacing's own error).
 *
 * usage: paced_publish BROKERS FILE */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slad/arrays.h"
#include "slad/jsonl.h"

#define LINGER_MS "2" /* live traffic: a small batch, not a backlog's */

struct delivery_count {
	long delivered, failed;
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct delivery_count *c = opaque;
	(void)rk;
	if (m->err)
		c->failed++;
	else
		c->delivered++;
}

/* Reads and parses every line of path into *evs (malloc'd, *n of them). */
static bool read_events(const char *path, struct jsonl_event **evs, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, err[512];
	size_t cap = 0, ncap = 0;
	long lineno = 0;
	bool ok = false;

	*evs = NULL;
	*n = 0;
	if (!f) {
		fprintf(stderr, "paced_publish: %s: %s\n", path, strerror(errno));
		return false;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (!array_grow_from((void **)evs, &ncap, *n + 1, sizeof(**evs), 1024))
			goto fail;
		if (!jsonl_parse_event(line, &(*evs)[*n], err, sizeof(err))) {
			fprintf(stderr, "paced_publish: %s:%ld: %s\n", path, lineno, err);
			goto fail;
		}
		(*n)++;
	}
	ok = true;
fail:
	free(line);
	fclose(f);
	return ok;
}

/* Sleeps until the wall clock reaches at, serving delivery reports meanwhile. */
static void wait_until(rd_kafka_t *rk, int64_t at)
{
	for (int64_t left = at - wall_ms(); left > 0; left = at - wall_ms())
		rd_kafka_poll(rk, (int)(left > 100 ? 100 : left));
}

int main(int argc, char **argv)
{
	struct delivery_count count = {0, 0};
	struct jsonl_event *evs = NULL;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	char errstr[512];
	size_t n = 0;
	int64_t worst_lag = 0;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: paced_publish BROKERS FILE\n");
		return 2;
	}
	if (!read_events(argv[2], &evs, &n))
		goto fail;
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "linger.ms", LINGER_MS, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "paced_publish: %s\n", errstr);
		goto fail;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_opaque(conf, &count);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "paced_publish: %s\n", errstr);
		goto fail;
	}
	conf = NULL; /* owned by rk now */
	for (size_t i = 0; i < n; i++) {
		const struct jsonl_event *ev = &evs[i];
		wait_until(rk, ev->occurred_at);
		int64_t lag = wall_ms() - ev->occurred_at;
		if (lag > worst_lag)
			worst_lag = lag;
		rd_kafka_resp_err_t err = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(topic_default_name(ev->topic)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY(ev->key, strlen(ev->key)), RD_KAFKA_V_VALUE(ev->payload, ev->len), RD_KAFKA_V_END);
		if (err) {
			fprintf(stderr, "paced_publish: produce: %s\n", rd_kafka_err2str(err));
			goto fail;
		}
		rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fprintf(stderr, "paced_publish: not every event was delivered within 30 s\n");
	fprintf(stderr, "paced_publish: %ld events sent, %ld failed, sent at most %lld ms after their time\n",
		count.delivered, count.failed, (long long)worst_lag);
	rc = count.delivered == (long)n ? 0 : 1;
fail:
	if (rk)
		rd_kafka_destroy(rk);
	if (conf)
		rd_kafka_conf_destroy(conf);
	for (size_t i = 0; i < n; i++)
		jsonl_event_clear(&evs[i]);
	free(evs);
	return rc;
}
