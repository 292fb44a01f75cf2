/* test_log.c - log.c: JOURNAL_STREAM detection, UTF-8 cleaning, JSON lines, journal fields, JSON on stderr. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slad/log.h"

START_TEST(journal_stream_needs_both_numbers_to_match)
{
	ck_assert(log_journal_stream_is("2049:123456", 2049, 123456));
	ck_assert(!log_journal_stream_is("2049:123457", 2049, 123456));
	ck_assert(!log_journal_stream_is("2048:123456", 2049, 123456));
	ck_assert(!log_journal_stream_is(NULL, 2049, 123456));
	ck_assert(!log_journal_stream_is("", 2049, 123456));
	ck_assert(!log_journal_stream_is("2049", 2049, 123456));
	ck_assert(!log_journal_stream_is("2049:123456x", 2049, 123456));
	ck_assert(!log_journal_stream_is("2049:123456:1", 2049, 123456));
	ck_assert(!log_journal_stream_is("x2049:123456", 2049, 123456));
}
END_TEST

static bool utf8_ok(const char *s)
{
	char buf[1024];
	return log_utf8_clean(s, buf, sizeof(buf)) == s;
}

START_TEST(utf8_clean_replaces_only_bad_bytes)
{
	char buf[64];
	const char *good = "ticket T\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	ck_assert_ptr_eq(log_utf8_clean(good, buf, sizeof(buf)), good);
	ck_assert_str_eq(log_utf8_clean("a\xff" "b", buf, sizeof(buf)), "a\xef\xbf\xbd" "b");
	ck_assert_str_eq(log_utf8_clean("\xc0\x80", buf, sizeof(buf)), "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong NUL */
	ck_assert_str_eq(log_utf8_clean("\xed\xa0\x80", buf, sizeof(buf)),
			 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
	ck_assert_str_eq(log_utf8_clean("cut \xe2\x82", buf, sizeof(buf)), "cut \xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(log_utf8_clean("\xf4\x90\x80\x80", buf, sizeof(buf)),
			 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* past U+10FFFF */
	ck_assert(utf8_ok(log_utf8_clean("\xfe\xfe\xfe", buf, sizeof(buf))));
}
END_TEST

static struct json_object *parse_line(const char *line)
{
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_null(strchr(line, '\n'));
	ck_assert_msg(utf8_ok(line), "not UTF-8: %s", line);
	struct json_object *o = json_tokener_parse(line);
	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object), "not a JSON object: %s", line);
	return o;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(json_line_has_time_level_message_and_set_fields)
{
	/* 2026-12-06T21:44:59.123Z */
	char *line = log_json_line(LOG_LVL_WARN,
				   &(struct log_fields){.partition = LOG_NUM(3), .offset = LOG_NUM(1234), .ticket = "T1",
							.reason = "BAD_VALUE"},
				   "dead letter \"quoted\"\nnext line\t\x01", 1796593499123LL);
	struct json_object *o = parse_line(line);
	ck_assert_str_eq(str_of(o, "time"), "2026-12-06T21:44:59.123Z");
	ck_assert_str_eq(str_of(o, "level"), "warn");
	ck_assert_str_eq(str_of(o, "message"), "dead letter \"quoted\"\nnext line\t\x01");
	ck_assert_str_eq(str_of(o, "ticket"), "T1");
	ck_assert_str_eq(str_of(o, "reason"), "BAD_VALUE");
	struct json_object *v;
	ck_assert(json_object_object_get_ex(o, "partition", &v) && json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int64(v), 3);
	ck_assert(json_object_object_get_ex(o, "offset", &v) && json_object_get_int64(v) == 1234);
	ck_assert(!json_object_object_get_ex(o, "topic", &v));
	json_object_put(o);
	free(line);

	/* Partition 0 is a partition; unset fields are left out. */
	line = log_json_line(LOG_LVL_INFO, &(struct log_fields){.partition = LOG_NUM(0)}, "revoked", 0);
	o = parse_line(line);
	ck_assert_str_eq(str_of(o, "time"), "1970-01-01T00:00:00.000Z");
	ck_assert(json_object_object_get_ex(o, "partition", &v) && json_object_get_int64(v) == 0);
	ck_assert(!json_object_object_get_ex(o, "offset", &v));
	ck_assert(!json_object_object_get_ex(o, "ticket", &v));
	ck_assert(!json_object_object_get_ex(o, "reason", &v));
	ck_assert_int_eq(json_object_object_length(o), 4);
	json_object_put(o);
	free(line);

	line = log_json_line(LOG_LVL_ERROR, NULL, "no fields", 0);
	o = parse_line(line);
	ck_assert_int_eq(json_object_object_length(o), 3);
	json_object_put(o);
	free(line);
}
END_TEST

START_TEST(json_line_is_utf8_whatever_the_message_holds)
{
	/* An upstream id rejected as non-UTF-8, quoted in a message and in a field. */
	char *line = log_json_line(LOG_LVL_DEBUG, &(struct log_fields){.ticket = "T\xff" "1", .topic = "t\xc0"},
				   "ticket T\xff" "1 is \xfe\xfe not UTF-8 \xe2\x82", 0);
	struct json_object *o = parse_line(line);
	ck_assert_str_eq(str_of(o, "message"), "ticket T\xef\xbf\xbd" "1 is \xef\xbf\xbd\xef\xbf\xbd not UTF-8 "
					      "\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(str_of(o, "ticket"), "T\xef\xbf\xbd" "1");
	ck_assert_str_eq(str_of(o, "topic"), "t\xef\xbf\xbd");
	json_object_put(o);
	free(line);
}
END_TEST

static bool has_field(const struct iovec *iov, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (iov[i].iov_len == strlen(want) && memcmp(iov[i].iov_base, want, iov[i].iov_len) == 0)
			return true;
	return false;
}

START_TEST(journal_fields_are_upper_case_and_only_those_set)
{
	char buf[LOG_JOURNAL_BUF];
	struct iovec iov[LOG_JOURNAL_MAX_IOV];
	size_t n = log_journal_iov(LOG_LVL_WARN,
				   &(struct log_fields){.topic = "fsm.workorders", .partition = LOG_NUM(3),
							.offset = LOG_NUM(1234), .ticket = "T1", .reason = "BAD_VALUE"},
				   "dead letter", buf, sizeof(buf), iov);
	ck_assert_uint_eq(n, 8);
	ck_assert(has_field(iov, n, "MESSAGE=warn: dead letter"));
	ck_assert(has_field(iov, n, "PRIORITY=4"));
	ck_assert(has_field(iov, n, "SYSLOG_IDENTIFIER=slad"));
	ck_assert(has_field(iov, n, "SLAD_TOPIC=fsm.workorders"));
	ck_assert(has_field(iov, n, "SLAD_PARTITION=3"));
	ck_assert(has_field(iov, n, "SLAD_OFFSET=1234"));
	ck_assert(has_field(iov, n, "SLAD_TICKET=T1"));
	ck_assert(has_field(iov, n, "SLAD_REASON=BAD_VALUE"));

	n = log_journal_iov(LOG_LVL_DEBUG, &(struct log_fields){.partition = LOG_NUM(0)}, "x\xff", buf, sizeof(buf), iov);
	ck_assert_uint_eq(n, 4);
	ck_assert(has_field(iov, n, "MESSAGE=debug: x\xef\xbf\xbd"));
	ck_assert(has_field(iov, n, "PRIORITY=7"));
	ck_assert(has_field(iov, n, "SLAD_PARTITION=0"));

	n = log_journal_iov(LOG_LVL_ERROR, NULL, "plain", buf, sizeof(buf), iov);
	ck_assert_uint_eq(n, 3);
	ck_assert(has_field(iov, n, "PRIORITY=3"));
}
END_TEST

/* Reads what fd 2 received since it was pointed at f. */
static char *read_back(FILE *f)
{
	static char got[8192];
	fflush(stderr);
	rewind(f);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	return got;
}

START_TEST(stderr_switches_between_text_and_json)
{
	unsetenv("JOURNAL_STREAM"); /* not the journal: stderr it is */
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	int saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);

	log_set_format(LOG_FORMAT_TEXT);
	log_warn_f(&(struct log_fields){.partition = LOG_NUM(2), .reason = "OVERSIZE"}, "partition=%d: a text line", 2);
	log_set_format(LOG_FORMAT_JSON);
	log_warn_f(&(struct log_fields){.partition = LOG_NUM(2), .reason = "OVERSIZE"}, "partition=%d: a json line", 2);
	log_debug("below the level: not written");
	log_set_format(LOG_FORMAT_TEXT);
	char *got = read_back(f);

	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(f);

	char *nl = strchr(got, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	/* Text: exactly the message, nothing appended; JSON: the fields too. */
	ck_assert_msg(strstr(got, " warn: partition=2: a text line") != NULL && strstr(got, "OVERSIZE") == NULL, "%s",
		      got);
	char *second = nl + 1, *nl2 = strchr(second, '\n');
	ck_assert_ptr_nonnull(nl2);
	*nl2 = '\0';
	ck_assert_str_eq(nl2 + 1, "");
	struct json_object *o = parse_line(second);
	ck_assert_str_eq(str_of(o, "message"), "partition=2: a json line");
	ck_assert_str_eq(str_of(o, "reason"), "OVERSIZE");
	ck_assert_str_eq(str_of(o, "level"), "warn");
	json_object_put(o);
}
END_TEST

START_TEST(format_names)
{
	enum log_format f;
	ck_assert(log_format_parse("json", &f) && f == LOG_FORMAT_JSON);
	ck_assert(log_format_parse("text", &f) && f == LOG_FORMAT_TEXT);
	ck_assert(!log_format_parse("JSON", &f));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	tcase_add_test(tc, journal_stream_needs_both_numbers_to_match);
	tcase_add_test(tc, utf8_clean_replaces_only_bad_bytes);
	tcase_add_test(tc, json_line_has_time_level_message_and_set_fields);
	tcase_add_test(tc, json_line_is_utf8_whatever_the_message_holds);
	tcase_add_test(tc, journal_fields_are_upper_case_and_only_those_set);
	tcase_add_test(tc, stderr_switches_between_text_and_json);
	tcase_add_test(tc, format_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
