/* slactl.c - the operator's tool: dispatches to publish, replay, mock-kafka, gen, report, ticket and whatif. */
#include "slactl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SLAD_VERSION
#define SLAD_VERSION "0.1.0"
#endif

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "publish", cmd_publish, "validate JSON Lines events and produce them to Kafka as protobuf" },
	{ "replay", cmd_replay, "evaluate JSON Lines events offline and write the results to PostgreSQL" },
	{ "mock-kafka", cmd_mock_kafka, "run librdkafka's in-process mock Kafka cluster (tests and demo only)" },
	{ "gen", cmd_gen, "write a seeded, realistic demo event stream as JSON Lines" },
	{ "report", cmd_report, "compliance summary: milestones, violations, partner scores (80 columns)" },
	{ "ticket", cmd_ticket, "one ticket's timeline: events, milestones, violations with history, escalations" },
	{ "whatif", cmd_whatif, "the same events under the current and a new policy: what changes" },
};

void slactl_print_version(void)
{
	printf("slactl %s\n", SLAD_VERSION);
}

/* The option of opts that getopt_long found: by its index among the long
 * options, else (a short option) by its key; NULL for one of the common options. */
static const struct slactl_option *found_option(const struct slactl_option *opts, size_t n, int index, int key)
{
	if (index >= 0)
		return (size_t)index < n ? &opts[index] : NULL;
	for (size_t i = 0; i < n; i++)
		if (opts[i].key == key)
			return &opts[i];
	return NULL;
}

int slactl_getopt(int argc, char **argv, const char *optstring, const struct slactl_option *opts, const char *prog,
		  void (*usage)(FILE *), int *status)
{
	struct option longopts[SLACTL_MAX_OPTIONS + 3];
	const struct slactl_option *o;
	char spec[64];
	size_t n = 0;
	int c, index;

	for (; opts[n].name; n++) {
		if (n == SLACTL_MAX_OPTIONS) {
			fprintf(stderr, "slactl %s: more than %d options\n", prog, SLACTL_MAX_OPTIONS);
			*status = 2;
			return -1;
		}
		longopts[n] = (struct option){opts[n].name, opts[n].has_arg, NULL, opts[n].key};
	}
	longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n + 1] = (struct option){"version", no_argument, NULL, 'V'};
	longopts[n + 2] = (struct option){NULL, 0, NULL, 0};
	/* ':' first: a missing value is ':' and an unknown option '?', and
	 * getopt itself prints nothing (the messages name the subcommand). */
	snprintf(spec, sizeof(spec), ":%shV", optstring);
	opterr = 0;
	for (;;) {
		index = -1;
		c = getopt_long(argc, argv, spec, longopts, &index);
		switch (c) {
		case -1:
			return -1;
		case 'h':
			usage(stdout);
			*status = 0;
			return -1;
		case 'V':
			slactl_print_version();
			*status = 0;
			return -1;
		case ':':
			fprintf(stderr, "slactl %s: option '%s' needs a value\n", prog, argv[optind - 1]);
			*status = 2;
			return -1;
		case '?':
			/* optopt: the unknown short option, or the key of a long
			 * option given a value it does not take (0 for an unknown one). */
			if (optopt > 0 && optopt < 256)
				fprintf(stderr, "slactl %s: unknown option '-%c' (try 'slactl %s --help')\n", prog, optopt,
					prog);
			else
				fprintf(stderr, "slactl %s: unknown option '%s' (try 'slactl %s --help')\n", prog,
					argv[optind - 1], prog);
			*status = 2;
			return -1;
		default:
			o = found_option(opts, n, index, c);
			if (!o || !o->value)
				return c;
			*o->value = optarg;
		}
	}
}

int slactl_parse_options(int argc, char **argv, const struct slactl_option *opts, const char *prog,
			 void (*usage)(FILE *))
{
	int status = -1;

	optind = 1;
	/* Every option stores its value: nothing comes back but the end. */
	while (slactl_getopt(argc, argv, "", opts, prog, usage, &status) != -1)
		;
	return status;
}

bool slactl_no_operands(int argc, char **argv, const char *prog)
{
	if (optind == argc)
		return true;
	fprintf(stderr, "slactl %s: unexpected argument '%s'\n", prog, argv[optind]);
	return false;
}

const char *slactl_one_operand(int argc, char **argv, const char *prog, const char *expected)
{
	if (optind + 1 == argc)
		return argv[optind];
	fprintf(stderr, "slactl %s: expected %s\n", prog, expected);
	return NULL;
}

bool slactl_parse_count(const char *prog, const char *opt, const char *s, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "slactl %s: %s expects an integer from 1 to %ld, got '%s'\n", prog, opt, max, s);
		return false;
	}
	*out = v;
	return true;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: slactl COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n'slactl COMMAND --help' describes a command's options.\n"
		     "  --help       show this help\n"
		     "  --version    show the version\n");
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		fprintf(stderr, "slactl: missing command (try 'slactl --help')\n");
		return 2;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
		slactl_print_version();
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(name, subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "slactl: unknown command '%s' (try 'slactl --help')\n", name);
	return 2;
}
