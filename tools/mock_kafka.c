/* mock_kafka.c - slactl mock-kafka: librdkafka's in-process mock cluster on loopback, for tests and the demo. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slactl.h"
#include "slad/jsonl.h"

#define MAX_EXTRA_TOPICS 16

struct mock_opts {
	int partitions;
	int brokers;
	const char *extra_topics[MAX_EXTRA_TOPICS];
	int n_extra;
};

static void mock_usage(FILE *out)
{
	fprintf(out,
		"usage: slactl mock-kafka [--partitions N] [--brokers N] [--topic NAME]...\n"
		"\n"
		"Runs librdkafka's mock Kafka cluster on loopback with the topics fsm.workorders,\n"
		"fsm.clockins and fsm.assessments, prints its bootstrap servers as the first line\n"
		"of standard output, and runs until SIGTERM or SIGINT. SIGUSR1 takes every broker\n"
		"down (connections closed, new ones refused), SIGUSR2 brings them back up. For\n"
		"tests and the demo, never for production: it keeps at most about 5 MiB per\n"
		"partition and silently drops older messages, so consume while producing or use\n"
		"more partitions.\n"
		"\n"
		"  --partitions N   partitions per topic (default 4)\n"
		"  --brokers N      number of mock brokers (default 1)\n"
		"  --topic NAME     also create this topic (repeatable)\n"
		"  -h, --help       show this help\n"
		"  -V, --version    show the version\n");
}

static bool parse_count(const char *opt, const char *s, int max, int *out)
{
	long v;

	if (!slactl_parse_count("mock-kafka", opt, s, max, &v))
		return false;
	*out = (int)v;
	return true;
}

static bool parse_args(int argc, char **argv, struct mock_opts *opts, int *status)
{
	enum { OPT_PARTITIONS = 256, OPT_BROKERS, OPT_TOPIC };
	static const struct slactl_option longopts[] = {
		{ "partitions", required_argument, NULL, OPT_PARTITIONS },
		{ "brokers", required_argument, NULL, OPT_BROKERS },
		{ "topic", required_argument, NULL, OPT_TOPIC },
		{ NULL, 0, NULL, 0 },
	};
	int c, st = -1;

	*status = 2;
	opts->partitions = 4;
	opts->brokers = 1;
	optind = 1;
	while ((c = slactl_getopt(argc, argv, "", longopts, "mock-kafka", mock_usage, &st)) != -1) {
		switch (c) {
		case OPT_PARTITIONS:
			if (!parse_count("--partitions", optarg, 1000, &opts->partitions))
				return false;
			break;
		case OPT_BROKERS:
			if (!parse_count("--brokers", optarg, 16, &opts->brokers))
				return false;
			break;
		case OPT_TOPIC:
			if (opts->n_extra == MAX_EXTRA_TOPICS || optarg[0] == '\0') {
				fprintf(stderr, "slactl mock-kafka: at most %d non-empty --topic names\n",
					MAX_EXTRA_TOPICS);
				return false;
			}
			opts->extra_topics[opts->n_extra++] = optarg;
			break;
		}
	}
	if (st >= 0) {
		*status = st;
		return false;
	}
	return slactl_no_operands(argc, argv, "mock-kafka");
}

static bool create_topic(rd_kafka_mock_cluster_t *mcluster, const char *topic, int partitions)
{
	rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, topic, partitions, 1);

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "slactl mock-kafka: cannot create topic %s: %s\n", topic, rd_kafka_err2str(err));
		return false;
	}
	return true;
}

/* SIGUSR1 / SIGUSR2: every broker down / up (broker ids are 1..n). */
static void set_brokers(rd_kafka_mock_cluster_t *mcluster, int brokers, bool up)
{
	for (int id = 1; id <= brokers; id++) {
		rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(mcluster, id)
					     : rd_kafka_mock_broker_set_down(mcluster, id);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			fprintf(stderr, "slactl mock-kafka: broker %d: %s\n", id, rd_kafka_err2str(err));
	}
	fprintf(stderr, "slactl mock-kafka: %s\n", up ? "brokers up (SIGUSR2)" : "brokers down (SIGUSR1)");
}

/* Blocks the signals waited for before librdkafka starts its threads, which
 * inherit the mask, so that sigwait() is their only receiver. */
static bool block_signals(sigset_t *stop_signals)
{
	sigemptyset(stop_signals);
	sigaddset(stop_signals, SIGTERM);
	sigaddset(stop_signals, SIGINT);
	sigaddset(stop_signals, SIGUSR1);
	sigaddset(stop_signals, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, stop_signals, NULL) != 0) {
		fprintf(stderr, "slactl mock-kafka: cannot block signals\n");
		return false;
	}
	signal(SIGPIPE, SIG_IGN);
	return true;
}

int cmd_mock_kafka(int argc, char **argv)
{
	struct mock_opts opts = { 0 };
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mcluster = NULL;
	sigset_t stop_signals;
	char errstr[512];
	int status, sig;

	if (!parse_args(argc, argv, &opts, &status))
		return status;
	status = 1;

	if (!block_signals(&stop_signals))
		return 1;

	/* The mock cluster needs a client handle for its bookkeeping; this one
	 * never connects anywhere. Notices ("no bootstrap.servers") are noise. */
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "slactl mock-kafka: %s\n", errstr);
		goto done;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "slactl mock-kafka: cannot create client: %s\n", errstr);
		goto done;
	}
	conf = NULL; /* owned by rk now */

	mcluster = rd_kafka_mock_cluster_new(rk, opts.brokers);
	if (mcluster == NULL) {
		fprintf(stderr, "slactl mock-kafka: cannot create the mock cluster\n");
		goto done;
	}
	for (int t = 0; t < TOPIC_COUNT; t++)
		if (!create_topic(mcluster, topic_default_name((enum sla_topic)t), opts.partitions))
			goto done;
	for (int i = 0; i < opts.n_extra; i++)
		if (!create_topic(mcluster, opts.extra_topics[i], opts.partitions))
			goto done;

	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
	if (fflush(stdout) != 0) {
		fprintf(stderr, "slactl mock-kafka: cannot write to standard output\n");
		goto done;
	}
	fprintf(stderr,
		"slactl mock-kafka: %d broker%s, %d partition%s per topic, at most ~5 MiB kept per partition; "
		"SIGTERM or SIGINT stops\n",
		opts.brokers, opts.brokers == 1 ? "" : "s", opts.partitions, opts.partitions == 1 ? "" : "s");

	for (;;) {
		if (sigwait(&stop_signals, &sig) != 0) {
			fprintf(stderr, "slactl mock-kafka: sigwait failed\n");
			goto done;
		}
		if (sig != SIGUSR1 && sig != SIGUSR2)
			break;
		set_brokers(mcluster, opts.brokers, sig == SIGUSR2);
	}
	fprintf(stderr, "slactl mock-kafka: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	status = 0;
done:
	if (mcluster != NULL)
		rd_kafka_mock_cluster_destroy(mcluster);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	return status;
}
