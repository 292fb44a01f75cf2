/* test_config.c - the configuration table, file and environment
 * (daemon/config*.c), without a daemon: what `slad check-config` and SIGHUP
 * rely on. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slad/config.h"
#include "shell_suites.h"

/* A configuration file with these contents, in a temp dir; the path is static. */
static const char *conf_file(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/slad-shell-test.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* No SLAD_* from the machine running the tests. */
static void clear_env(void)
{
	extern char **environ;
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; *e; e++)
			if (strncmp(*e, "SLAD_", 5) == 0) {
				char name[128];
				size_t n = strcspn(*e, "=");
				snprintf(name, sizeof(name), "%.*s", (int)n, *e);
				unsetenv(name);
				again = 1;
				break;
			}
	}
}

static const char *where_of(const struct config *cfg, const char *key)
{
	struct config_key_info info;
	for (size_t i = 0; config_describe_key(i, &info); i++)
		if (strcmp(info.name, key) == 0)
			return cfg->where[i];
	return NULL;
}

START_TEST(defaults_file_then_environment)
{
	struct config cfg;
	char err[1024] = "";
	clear_env();
	const char *path = conf_file("kafka:\n  brokers: \"k1:9092,k2:9092\"\n  group: g1\n"
				     "batch:\n  max_events: 700\nlateness:\n  allowed: 20m\n");
	setenv("SLAD_BATCH_MAX_EVENTS", "900", 1);
	ck_assert_msg(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(cfg.kafka_brokers, "k1:9092,k2:9092");
	ck_assert_str_eq(cfg.kafka_group, "g1");
	ck_assert_int_eq(cfg.batch_max_events, 900); /* the environment wins over the file */
	ck_assert_int_eq(cfg.lateness_allowed, 20 * SLA_MINUTE);
	ck_assert_str_eq(cfg.topic_workorders, "fsm.workorders"); /* a default */
	ck_assert_str_eq(where_of(&cfg, "batch.max_events"), "SLAD_BATCH_MAX_EVENTS");
	ck_assert_ptr_nonnull(strstr(where_of(&cfg, "kafka.group"), ":3"));
	ck_assert_str_eq(where_of(&cfg, "kafka.topics.workorders"), "default");
	config_free(&cfg);
	unsetenv("SLAD_BATCH_MAX_EVENTS");
	unlink(path);
}
END_TEST

START_TEST(every_error_named_with_its_line)
{
	struct config cfg;
	char err[2048] = "";
	clear_env();
	const char *path = conf_file("kafka:\n  brokers: \"k1:9092\"\n"
				     "batch:\n  max_events: -3\n"
				     "log:\n  format: xml\n"
				     "no_such_section:\n  key: 1\n");
	ck_assert(!config_load(&cfg, path, err, sizeof(err)));
	ck_assert_msg(strstr(err, ":4:") && strstr(err, "batch.max_events"), "%s", err);
	ck_assert_msg(strstr(err, ":6:") && strstr(err, "log.format"), "%s", err);
	ck_assert_msg(strstr(err, ":7:") || strstr(err, ":8:"), "%s", err);
	config_free(&cfg);
	unlink(path);
}
END_TEST

START_TEST(kafka_properties_pass_through_and_secrets_stay_hidden)
{
	struct config cfg;
	char err[1024] = "", masked[256], msg[256];
	clear_env();
	const char *path = conf_file("kafka:\n  brokers: \"k1:9092\"\n  sasl.password: hunter2secret\n"
				     "  fetch.wait.max.ms: 100\n"
				     "postgres:\n  conninfo: \"host=/tmp dbname=slad password=pgsecret99\"\n");
	ck_assert_msg(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	bool seen = false;
	for (size_t i = 0; i < cfg.nkafka_props; i++)
		if (strcmp(cfg.kafka_props[i].name, "fetch.wait.max.ms") == 0) {
			ck_assert_str_eq(cfg.kafka_props[i].value, "100");
			seen = true;
		}
	ck_assert(seen);
	ck_assert(config_kafka_prop_secret("sasl.password"));
	config_mask_conninfo(cfg.postgres_conninfo, masked, sizeof(masked));
	ck_assert_ptr_null(strstr(masked, "pgsecret99"));
	ck_assert_ptr_nonnull(strstr(masked, "dbname=slad"));
	snprintf(msg, sizeof(msg), "auth failed for hunter2secret and pgsecret99");
	config_redact(&cfg, msg);
	ck_assert_msg(!strstr(msg, "hunter2secret") && !strstr(msg, "pgsecret99"), "%s", msg);
	config_free(&cfg);
	unlink(path);
}
END_TEST

static void note_restart(const char *key, void *arg)
{
	char *keys = arg;
	strcat(keys, key);
	strcat(keys, " ");
}

START_TEST(reload_takes_reloadable_keys_only)
{
	struct config cur, fresh;
	char err[1024] = "", restart[512] = "";
	clear_env();
	const char *p1 = conf_file("kafka:\n  brokers: \"k1:9092\"\nlog:\n  level: info\n");
	ck_assert_msg(config_load(&cur, p1, err, sizeof(err)), "%s", err);
	const char *p2 = conf_file("kafka:\n  brokers: \"k9:9092\"\nlog:\n  level: debug\n");
	ck_assert_msg(config_load(&fresh, p2, err, sizeof(err)), "%s", err);
	config_reload(&cur, &fresh, note_restart, restart);
	ck_assert_str_eq(cur.log_level, "debug");          /* reloadable */
	ck_assert_str_eq(cur.kafka_brokers, "k1:9092");    /* needs a restart: kept */
	ck_assert_ptr_nonnull(strstr(restart, "kafka.brokers"));
	config_free(&cur);
	config_free(&fresh);
	unlink(p1);
	unlink(p2);
}
END_TEST

START_TEST(listen_addresses)
{
	char host[64];
	int port = -1;
	ck_assert(config_split_listen("127.0.0.1:9187", host, sizeof(host), &port));
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 9187);
	ck_assert(config_split_listen("[::1]:80", host, sizeof(host), &port));
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(port, 80);
	ck_assert(!config_split_listen("nonsense", host, sizeof(host), &port));
}
END_TEST

START_TEST(every_key_documented)
{
	struct config_key_info info;
	size_t n = 0;
	for (size_t i = 0; config_describe_key(i, &info); i++, n++) {
		ck_assert_msg(info.doc && info.doc[0], "%s has no documentation", info.name);
		ck_assert_msg(strncmp(info.env, "SLAD_", 5) == 0, "%s: env %s", info.name, info.env);
	}
	ck_assert_uint_ge(n, 15);
}
END_TEST

Suite *shell_config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, defaults_file_then_environment);
	tcase_add_test(tc, every_error_named_with_its_line);
	tcase_add_test(tc, kafka_properties_pass_through_and_secrets_stay_hidden);
	tcase_add_test(tc, reload_takes_reloadable_keys_only);
	tcase_add_test(tc, listen_addresses);
	tcase_add_test(tc, every_key_documented);
	suite_add_tcase(s, tc);
	return s;
}
