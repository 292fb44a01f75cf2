/* main.c - slad's command line: run the daemon, migrate the schema, check the configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/config.h"
#include "slad/daemon.h"
#include "slad/log.h"
#include "slad/policy.h"
#include "slad/policy_file.h"
#include "slad/store.h"

#ifndef SLAD_VERSION
#define SLAD_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: slad [-c FILE]                 run the daemon in the foreground\n"
		   "       slad migrate [-c FILE]         apply the schema migrations, then exit\n"
		   "       slad check-config [-c FILE]    validate the configuration, policies and calendars\n"
		   "       slad --help | --version\n"
		   "Every configuration key can also be set as SLAD_<SECTION>_<KEY>, e.g. SLAD_KAFKA_BROKERS;\n"
		   "any librdkafka property as kafka.<property> or SLAD_KAFKA__<PROPERTY> (dots as _).\n"
		   "Signals: SIGHUP reloads, SIGTERM drains and exits (a second one exits at once).\n");
}

static void print_key(const char *key, const char *value, const char *where, void *arg)
{
	(void)arg;
	printf("%-28s = %-40s # %s\n", key, value, where);
}

/* Prints each line of a (multi-line) message as "slad: ...". */
static void print_problems(const char *prefix, char *msg)
{
	for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "slad: %s%s\n", prefix, line);
}

static int cmd_migrate(const struct config *cfg)
{
	char err[512];
	int applied = 0;
	struct store *st = store_connect(cfg->postgres_conninfo, err, sizeof(err));
	if (!st) {
		config_redact(cfg, err);
		fprintf(stderr, "slad: postgres: %s\n", err);
		return 1;
	}
	if (!store_migrate(st, &applied, err, sizeof(err))) {
		config_redact(cfg, err);
		fprintf(stderr, "slad: migrate: %s\n", err);
		store_free(st);
		return 1;
	}
	printf("%d migration(s) applied; schema is current\n", applied);
	/* What an interrupted slactl replay dropped (schema/0012). */
	int built = 0;
	if (!store_indexes_restore(st, &built, err, sizeof(err))) {
		config_redact(cfg, err);
		fprintf(stderr, "slad: migrate: %s\n", err);
		store_free(st);
		return 1;
	}
	if (built > 0)
		printf("%d index(es) a replay had deferred built\n", built);
	store_free(st);
	return 0;
}

/* Everything slad would refuse to start with, reported at once; secrets masked. */
static int cmd_check_config(const struct config *cfg)
{
	char err[2048];
	int problems = 0;
	struct sla_policy *pol;

	printf("configuration: %s\n", cfg->path ? cfg->path : "no file (defaults and environment)");
	config_dump(cfg, print_key, NULL);
	if (!cfg->kafka_brokers[0]) {
		fprintf(stderr, "slad: kafka.brokers: not set (configuration file or SLAD_KAFKA_BROKERS)\n");
		problems++;
	}
	bool from_file = false;
	pol = daemon_policy_load(cfg, &from_file, err, sizeof(err));
	if (!pol) {
		print_problems("policies: ", err);
		problems++;
	} else {
		printf("policies: %s, version %s\n", from_file ? cfg->policies : "built-in defaults of rules.md (no file)",
		       pol->version);
		policy_free(pol);
	}
	struct store *st = store_connect(cfg->postgres_conninfo, err, sizeof(err));
	if (!st) {
		config_redact(cfg, err);
		fprintf(stderr, "slad: postgres.conninfo: %s\n", err);
		problems++;
	} else {
		struct calendar_set cals = {0};
		if (!store_migrations_current(st, err, sizeof(err))) {
			config_redact(cfg, err);
			fprintf(stderr, "slad: schema: %s (run `slad migrate`)\n", err);
			problems++;
		} else if (!store_load_calendars(st, &cals, err, sizeof(err))) {
			config_redact(cfg, err);
			fprintf(stderr, "slad: calendars: %s\n", err);
			problems++;
		} else {
			for (size_t i = 0; i < cals.ncals; i++)
				printf("calendar %s: %s, %zu exceptions, years %d-%d\n", cals.cals[i].id, cals.cals[i].tz,
				       cals.cals[i].nexceptions, cals.cals[i].first_year, cals.cals[i].last_year);
		}
		calendar_set_free(&cals);
		store_free(st);
	}
	if (problems) {
		fprintf(stderr, "slad: %d problem(s) found\n", problems);
		return 1;
	}
	printf("configuration OK\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = "run", *path = NULL;
	char err[1024];
	struct config cfg;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("slad %s\n", SLAD_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(cmd, "run") == 0 && (strcmp(argv[i], "migrate") == 0 || strcmp(argv[i], "check-config") == 0)) {
			cmd = argv[i];
		} else {
			fprintf(stderr, "slad: unexpected argument '%s' (see slad --help)\n", argv[i]);
			return 2;
		}
	}
	if (!config_load(&cfg, path, err, sizeof(err))) {
		config_redact(&cfg, err);
		print_problems("", err);
		if (strcmp(cmd, "check-config") == 0)
			fprintf(stderr, "slad: the configuration has errors\n");
		config_free(&cfg);
		return 1;
	}
	if (!log_level_parse(cfg.log_level, &log_min_level)) /* validated by config_load: cannot happen */
		log_min_level = LOG_LVL_INFO;
	enum log_format fmt = LOG_FORMAT_TEXT;
	if (log_format_parse(cfg.log_format, &fmt)) /* validated by config_load too */
		log_set_format(fmt);
	if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&cfg);
	else if (strcmp(cmd, "check-config") == 0)
		rc = cmd_check_config(&cfg);
	else
		rc = daemon_run(&cfg, path);
	config_free(&cfg);
	return rc;
}
