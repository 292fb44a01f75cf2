/* main.c - slad's command line: run the daemon, migrate the schema, check the configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/config.h"
#include "slad/daemon.h"
#include "slad/log.h"
#include "slad/policy.h"
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
		   "Every configuration key can also be set as SLAD_<SECTION>_<KEY>, e.g. SLAD_KAFKA_BROKERS.\n");
}

static void print_key(const char *key, const char *value, void *arg)
{
	(void)arg;
	printf("%s = %s\n", key, value);
}

static int cmd_migrate(const struct config *cfg)
{
	char err[512];
	int applied = 0;
	struct store *st = store_connect(cfg->postgres_conninfo, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "slad: postgres: %s\n", err);
		return 1;
	}
	if (!store_migrate(st, &applied, err, sizeof(err))) {
		fprintf(stderr, "slad: migrate: %s\n", err);
		store_free(st);
		return 1;
	}
	printf("%d migration(s) applied; schema is current\n", applied);
	store_free(st);
	return 0;
}

static int cmd_check_config(const struct config *cfg)
{
	char err[512];
	int rc = 0;
	config_dump(cfg, print_key, NULL);
	printf("policy = built-in defaults of rules.md, version %s\n", policy_defaults()->version);
	if (!cfg->kafka_brokers[0]) {
		fprintf(stderr, "slad: kafka.brokers is not set\n");
		rc = 1;
	}
	struct store *st = store_connect(cfg->postgres_conninfo, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "slad: postgres: %s\n", err);
		return 1;
	}
	struct calendar_set cals = {0};
	if (!store_migrations_current(st, err, sizeof(err))) {
		fprintf(stderr, "slad: schema: %s\n", err);
		rc = 1;
	} else if (!store_load_calendars(st, &cals, err, sizeof(err))) {
		fprintf(stderr, "slad: calendars: %s\n", err);
		rc = 1;
	} else {
		for (size_t i = 0; i < cals.ncals; i++)
			printf("calendar %s: %s, %zu exceptions\n", cals.cals[i].id, cals.cals[i].tz,
			       cals.cals[i].nexceptions);
	}
	calendar_set_free(&cals);
	store_free(st);
	if (rc == 0)
		printf("configuration OK\n");
	return rc;
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
		} else if (i == 1 && (strcmp(argv[i], "migrate") == 0 || strcmp(argv[i], "check-config") == 0)) {
			cmd = argv[i];
		} else {
			fprintf(stderr, "slad: unexpected argument '%s' (see slad --help)\n", argv[i]);
			return 2;
		}
	}
	if (!config_load(&cfg, path, err, sizeof(err))) {
		fprintf(stderr, "slad: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (!log_level_parse(cfg.log_level, &log_min_level)) {
		fprintf(stderr, "slad: log.level must be debug, info, warn or error\n");
		config_free(&cfg);
		return 1;
	}
	if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&cfg);
	else if (strcmp(cmd, "check-config") == 0)
		rc = cmd_check_config(&cfg);
	else
		rc = daemon_run(&cfg);
	config_free(&cfg);
	return rc;
}
