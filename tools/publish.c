/* publish.c - slactl publish: validates a JSON Lines file, then produces it to Kafka as protobuf. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slactl.h"
#include "slad/core.h"
#include "slad/jsonl.h"

#define MAX_REPORTED_ERRORS 20
#define FLUSH_STEP_MS 1000

struct publish_opts {
	const char *brokers;
	const char *topics[TOPIC_COUNT];
	const char *path;
	bool checks; /* false (--no-checks): publish what slad would dead-letter */
	rd_kafka_conf_t *conf; /* -X properties, applied before ours */
};

struct delivery_stats {
	long delivered;
	long failed;
	char first_error[256];
	char kafka_error[512]; /* the latest client-level error (connection refused, ...) */
	bool warned_down;
};

static void publish_usage(FILE *out)
{
	fprintf(out,
		"usage: slactl publish [-b BROKERS] [--topic-workorders T] [--topic-clockins T]\n"
		"                      [--topic-assessments T] [-X PROP=VALUE]... FILE|-\n"
		"\n"
		"Reads JSON Lines events (events.md), validates every line with slad's own checks\n"
		"(FILE:LINE: REASON: detail for each that slad would dead-letter), and only if all are\n"
		"valid produces them as protobuf: work-order events to fsm.workorders and\n"
		"clock-ins to fsm.clockins keyed by ticket_id, assessments to fsm.assessments\n"
		"keyed by partner_id. Blank lines are skipped.\n"
		"\n"
		"  -b, --brokers BROKERS      bootstrap servers (default: $SLAD_KAFKA_BROKERS)\n"
		"      --topic-workorders T   default fsm.workorders\n"
		"      --topic-clockins T     default fsm.clockins\n"
		"      --topic-assessments T  default fsm.assessments\n"
		"      --no-checks            publish lines that parse even if slad would dead-letter\n"
		"                             them (to exercise a deployment's dead-letter path)\n"
		"  -X PROP=VALUE              any librdkafka producer property (security.protocol,\n"
		"                             sasl.*, ssl.*, message.timeout.ms, ...)\n"
		"  -h, --help                 show this help\n"
		"  -V, --version              show the version\n"
		"\n"
		"Exit status: 0 all delivered, 1 invalid input or delivery failure, 2 bad arguments.\n");
}

static sla_time wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sla_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool line_is_blank(const char *line)
{
	return line[strspn(line, " \t\r\n")] == '\0';
}

/*
 * First pass: every line must parse. Standard input is copied to a temporary
 * file on the way so that the second pass can read it again; nothing is kept
 * in memory, so a file of any size can be validated before the first send.
 */
static bool validate_all(FILE *in, FILE *copy, const char *name, bool checks, long counts[TOPIC_COUNT], long *total)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, bad = 0;
	char err[512];

	while ((n = getline(&line, &cap, in)) != -1) {
		struct jsonl_event ev;

		lineno++;
		if (copy != NULL && fwrite(line, 1, (size_t)n, copy) != (size_t)n) {
			fprintf(stderr, "slactl publish: cannot write temporary copy of %s\n", name);
			free(line);
			return false;
		}
		if (line_is_blank(line))
			continue;
		if (strlen(line) != (size_t)n) {
			snprintf(err, sizeof(err), "line contains a NUL byte");
		} else if (jsonl_parse_event(line, &ev, err, sizeof(err))) {
			/* What slad would dead-letter is not published: the same checks. */
			char detail[256] = "";
			enum sla_verdict v = checks ? event_validate(ev.payload, ev.len, wall_now_ms() + SLA_DAY,
								     detail, sizeof(detail))
						    : SV_APPLIED;
			if (v == SV_APPLIED)
				counts[ev.topic]++;
			jsonl_event_clear(&ev);
			if (v == SV_APPLIED) {
				(*total)++;
				continue;
			}
			snprintf(err, sizeof(err), "%s: %s", verdict_reason(v), detail);
		}
		if (++bad <= MAX_REPORTED_ERRORS)
			fprintf(stderr, "%s:%ld: %s\n", name, lineno, err);
	}
	free(line);
	if (ferror(in)) {
		fprintf(stderr, "slactl publish: error reading %s\n", name);
		return false;
	}
	if (bad > MAX_REPORTED_ERRORS)
		fprintf(stderr, "%s: %ld more invalid lines not shown\n", name, bad - MAX_REPORTED_ERRORS);
	if (bad > 0) {
		fprintf(stderr, "slactl publish: %ld invalid line%s in %s; nothing published\n", bad, bad == 1 ? "" : "s",
			name);
		return false;
	}
	return true;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	struct delivery_stats *stats = opaque;

	(void)rk;
	if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		stats->delivered++;
		return;
	}
	if (stats->failed++ == 0)
		snprintf(stats->first_error, sizeof(stats->first_error), "%s: %s", rd_kafka_topic_name(msg->rkt),
			 rd_kafka_err2str(msg->err));
}

/* Called from rd_kafka_poll/flush on this thread. librdkafka's own log lines
 * are off by default (log_level 2); the errors that matter come through here
 * and are summed up in one line at the end. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct delivery_stats *stats = opaque;

	(void)rk;
	snprintf(stats->kafka_error, sizeof(stats->kafka_error), "%s", reason);
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !stats->warned_down) {
		fprintf(stderr, "slactl publish: all brokers down, retrying until message.timeout.ms (%s)\n", reason);
		stats->warned_down = true;
	}
}

static rd_kafka_t *producer_new(struct publish_opts *opts, struct delivery_stats *stats)
{
	char errstr[512];
	rd_kafka_conf_t *conf = opts->conf;
	rd_kafka_t *rk;

	opts->conf = NULL;
	if (rd_kafka_conf_set(conf, "bootstrap.servers", opts->brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "slactl publish: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, stats);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "slactl publish: cannot create producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf); /* rd_kafka_new keeps conf only on success */
		return NULL;
	}
	return rk;
}

static bool produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const struct jsonl_event *ev)
{
	rd_kafka_resp_err_t err;

	for (;;) {
		err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_KEY(ev->key, strlen(ev->key)),
					RD_KAFKA_V_VALUE(ev->payload, ev->len), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(rk, 100); /* serve delivery reports to make room */
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "slactl publish: produce to %s failed: %s\n", rd_kafka_topic_name(rkt),
			rd_kafka_err2str(err));
		return false;
	}
	rd_kafka_poll(rk, 0);
	return true;
}

/* Second pass: the input is known to be valid. */
static bool produce_all(FILE *in, rd_kafka_t *rk, rd_kafka_topic_t *rkts[TOPIC_COUNT], const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	char err[512];
	bool ok = true;

	while (ok && getline(&line, &cap, in) != -1) {
		struct jsonl_event ev;

		lineno++;
		if (line_is_blank(line))
			continue;
		if (!jsonl_parse_event(line, &ev, err, sizeof(err))) {
			/* the file changed between the passes */
			fprintf(stderr, "%s:%ld: %s\n", name, lineno, err);
			ok = false;
			break;
		}
		ok = produce_one(rk, rkts[ev.topic], &ev);
		jsonl_event_clear(&ev);
	}
	free(line);
	return ok;
}

static bool parse_args(int argc, char **argv, struct publish_opts *opts, int *status)
{
	enum { OPT_NO_CHECKS = 256 };
	const struct slactl_option longopts[] = {
		{ "brokers", required_argument, &opts->brokers, 'b' },
		{ "topic-workorders", required_argument, &opts->topics[TOPIC_WORKORDERS], 0 },
		{ "topic-clockins", required_argument, &opts->topics[TOPIC_CLOCKINS], 0 },
		{ "topic-assessments", required_argument, &opts->topics[TOPIC_ASSESSMENTS], 0 },
		{ "no-checks", no_argument, NULL, OPT_NO_CHECKS },
		{ NULL, 0, NULL, 0 },
	};
	char errstr[512];
	int c, st = -1;

	*status = 2;
	for (int t = 0; t < TOPIC_COUNT; t++)
		opts->topics[t] = topic_default_name((enum sla_topic)t);
	opts->brokers = getenv("SLAD_KAFKA_BROKERS");
	opts->checks = true;
	opts->conf = rd_kafka_conf_new();
	/* Fail within half a minute, not librdkafka's five, when Kafka is down. */
	rd_kafka_conf_set(opts->conf, "message.timeout.ms", "30000", NULL, 0);
	rd_kafka_conf_set(opts->conf, "log_level", "2", NULL, 0);

	optind = 1;
	while ((c = slactl_getopt(argc, argv, "b:X:", longopts, "publish", publish_usage, &st)) != -1) {
		switch (c) {
		case OPT_NO_CHECKS:
			opts->checks = false;
			break;
		case 'X': {
			char *eq = strchr(optarg, '=');
			char prop[256];

			if (eq == NULL || eq == optarg || (size_t)(eq - optarg) >= sizeof(prop)) {
				fprintf(stderr, "slactl publish: -X expects PROP=VALUE, got '%s'\n", optarg);
				return false;
			}
			memcpy(prop, optarg, (size_t)(eq - optarg));
			prop[eq - optarg] = '\0';
			if (rd_kafka_conf_set(opts->conf, prop, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
				fprintf(stderr, "slactl publish: -X %s: %s\n", prop, errstr);
				return false;
			}
			break;
		}
		}
	}
	if (st >= 0) {
		*status = st;
		return false;
	}
	opts->path = slactl_one_operand(argc, argv, "publish", "exactly one FILE (or - for standard input)");
	if (!opts->path)
		return false;
	for (int t = 0; t < TOPIC_COUNT; t++)
		if (opts->topics[t][0] == '\0') {
			fprintf(stderr, "slactl publish: empty topic name\n");
			return false;
		}
	if (opts->brokers == NULL || opts->brokers[0] == '\0') {
		fprintf(stderr, "slactl publish: no brokers: use -b BROKERS or set SLAD_KAFKA_BROKERS\n");
		return false;
	}
	return true;
}

/* A topic handle for each topic the file has events for. */
static bool topics_new(rd_kafka_t *rk, const struct publish_opts *opts, const long counts[TOPIC_COUNT],
		       rd_kafka_topic_t *rkts[TOPIC_COUNT])
{
	for (int t = 0; t < TOPIC_COUNT; t++) {
		if (counts[t] == 0)
			continue;
		rkts[t] = rd_kafka_topic_new(rk, opts->topics[t], NULL);
		if (rkts[t] == NULL) {
			fprintf(stderr, "slactl publish: topic %s: %s\n", opts->topics[t],
				rd_kafka_err2str(rd_kafka_last_error()));
			return false;
		}
	}
	return true;
}

int cmd_publish(int argc, char **argv)
{
	struct publish_opts opts = { 0 };
	struct delivery_stats stats = { 0 };
	rd_kafka_t *rk = NULL;
	rd_kafka_topic_t *rkts[TOPIC_COUNT] = { NULL };
	FILE *in = NULL, *copy = NULL, *second = NULL;
	long counts[TOPIC_COUNT] = { 0 }, total = 0;
	const char *name;
	bool from_stdin;
	int status;

	if (!parse_args(argc, argv, &opts, &status))
		goto done;
	status = 1;
	from_stdin = strcmp(opts.path, "-") == 0;
	name = from_stdin ? "<stdin>" : opts.path;
	if (from_stdin) {
		in = stdin;
		copy = tmpfile();
		if (copy == NULL) {
			perror("slactl publish: tmpfile");
			goto done;
		}
	} else if ((in = fopen(opts.path, "r")) == NULL) {
		fprintf(stderr, "slactl publish: cannot open %s: %m\n", opts.path);
		goto done;
	}
	if (!validate_all(in, copy, name, opts.checks, counts, &total))
		goto done;
	if (total == 0) {
		fprintf(stderr, "published 0 events\n");
		status = 0;
		goto done;
	}
	second = from_stdin ? copy : in;
	if (fflush(second) != 0 || fseek(second, 0, SEEK_SET) != 0) {
		fprintf(stderr, "slactl publish: cannot rewind %s: %m\n", name);
		goto done;
	}

	rk = producer_new(&opts, &stats);
	if (rk == NULL)
		goto done;
	if (!topics_new(rk, &opts, counts, rkts) || !produce_all(second, rk, rkts, name))
		goto done;
	/* Every message ends in a delivery report: success, or failure after
	 * message.timeout.ms. Wait for all of them. */
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_flush(rk, FLUSH_STEP_MS);
	if (stats.failed > 0 || stats.delivered != total) {
		fprintf(stderr, "slactl publish: %ld of %ld events not delivered (%s)%s%s\n", total - stats.delivered,
			total, stats.failed > 0 ? stats.first_error : "no delivery report",
			stats.kafka_error[0] ? "; last Kafka error: " : "", stats.kafka_error);
		goto done;
	}
	fprintf(stderr, "published %ld events (%ld to %s, %ld to %s, %ld to %s)\n", total, counts[TOPIC_WORKORDERS],
		opts.topics[TOPIC_WORKORDERS], counts[TOPIC_CLOCKINS], opts.topics[TOPIC_CLOCKINS],
		counts[TOPIC_ASSESSMENTS], opts.topics[TOPIC_ASSESSMENTS]);
	status = 0;
done:
	for (int t = 0; t < TOPIC_COUNT; t++)
		if (rkts[t] != NULL)
			rd_kafka_topic_destroy(rkts[t]);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	if (opts.conf != NULL)
		rd_kafka_conf_destroy(opts.conf);
	if (copy != NULL)
		fclose(copy);
	if (in != NULL && in != stdin)
		fclose(in);
	return status;
}
