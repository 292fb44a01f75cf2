/* log.c - leveled logging: text or JSON lines on stderr, or journald's native protocol when stderr is the journal. */
#include "slad/log.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = LOG_LVL_INFO;

static const char *const level_name[] = {"debug", "info", "warn", "error"};
static const int level_prio[] = {7, 6, 4, 3}; /* syslog priorities, as sd-daemon.h's <N> prefixes */

/* Read on librdkafka's threads too when its log lines cannot be queued to the
 * loop: atomics, so that a reload switching the format is no data race. */
static int log_format_now = LOG_FORMAT_TEXT;
static int journal_state = -1; /* -1: not looked at yet; 0: stderr is not the journal; 1: it is */

bool log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_name[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	return false;
}

bool log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return false;
	return true;
}

void log_set_format(enum log_format fmt)
{
	__atomic_store_n(&log_format_now, (int)fmt, __ATOMIC_RELAXED);
}

enum log_format log_get_format(void)
{
	return (enum log_format)__atomic_load_n(&log_format_now, __ATOMIC_RELAXED);
}

/* A decimal number without sign or spaces, up to stop; NULL when there is none. */
static const char *decimal(const char *s, char stop, unsigned long long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return NULL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == stop ? end : NULL;
}

bool log_journal_stream_is(const char *env, dev_t dev, ino_t ino)
{
	unsigned long long d, i;
	const char *p = env ? decimal(env, ':', &d) : NULL;
	if (p == NULL || decimal(p + 1, '\0', &i) == NULL)
		return false;
	return (dev_t)d == dev && (ino_t)i == ino;
}

/* sd_journal_send's socket (sd-journal's journal_fd; not configurable). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* systemd.exec(5): JOURNAL_STREAM is inherited by children whose stderr may be
 * something else, so it counts only when it names the file fd 2 is. And
 * sd_journal_send reports success when journald's socket is missing (it
 * "fails silently"), so without the socket stderr is used. */
static bool stderr_is_journal(void)
{
	int s = __atomic_load_n(&journal_state, __ATOMIC_RELAXED);
	if (s < 0) {
		struct stat st, sock;
		s = fstat(STDERR_FILENO, &st) == 0 &&
		    log_journal_stream_is(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino) &&
		    stat(JOURNAL_SOCKET, &sock) == 0 && S_ISSOCK(sock.st_mode);
		__atomic_store_n(&journal_state, s, __ATOMIC_RELAXED);
	}
	return s == 1;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

const char *log_utf8_clean(const char *s, char *buf, size_t buflen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	while (*p && (n = utf8_seq(p)) > 0) /* a NUL inside a sequence fails the continuation test */
		p += n;
	if (*p == '\0')
		return s;
	size_t o = 0;
	for (p = (const unsigned char *)s; *p;) {
		n = utf8_seq(p);
		const unsigned char *src = n ? p : (const unsigned char *)"\xef\xbf\xbd";
		size_t len = n ? n : 3;
		if (o + len + 1 > buflen)
			break;
		memcpy(buf + o, src, len);
		o += len;
		p += n ? n : 1;
	}
	if (buflen > 0)
		buf[o] = '\0';
	return buf;
}

/* The fields' strings come from upstream (ids of rejected messages): cleaned too. */
#define FIELD_MAX 256
static const char *clean_field(const char *s, char *buf)
{
	char cut[FIELD_MAX];
	snprintf(cut, sizeof(cut), "%s", s);
	const char *c = log_utf8_clean(cut, buf, 3 * FIELD_MAX + 1);
	if (c == cut) {
		memcpy(buf, cut, strlen(cut) + 1);
		c = buf;
	}
	return c;
}

static bool json_add_string(struct json_object *o, const char *key, const char *s)
{
	char buf[3 * FIELD_MAX + 1];
	struct json_object *v = json_object_new_string(clean_field(s, buf));
	return v != NULL && json_object_object_add(o, key, v) == 0;
}

static bool json_add_int(struct json_object *o, const char *key, int64_t n)
{
	struct json_object *v = json_object_new_int64(n);
	return v != NULL && json_object_object_add(o, key, v) == 0;
}

char *log_json_line(enum log_level lvl, const struct log_fields *f, const char *msg, int64_t wall_ms)
{
	char when[40], stamp[32];
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when, sizeof(when), "%s.%03dZ", stamp, (int)(wall_ms % 1000));
	char *clean = malloc(3 * strlen(msg) + 1);
	struct json_object *o = json_object_new_object();
	struct json_object *m = clean && o ? json_object_new_string(log_utf8_clean(msg, clean, 3 * strlen(msg) + 1)) : NULL;
	bool ok = m != NULL && json_add_string(o, "time", when) && json_add_string(o, "level", level_name[lvl]);
	if (ok) {
		ok = json_object_object_add(o, "message", m) == 0;
		m = NULL;
	}
	if (ok && f) {
		if (f->topic)
			ok = ok && json_add_string(o, "topic", f->topic);
		if (f->partition.set)
			ok = ok && json_add_int(o, "partition", f->partition.v);
		if (f->offset.set)
			ok = ok && json_add_int(o, "offset", f->offset.v);
		if (f->ticket)
			ok = ok && json_add_string(o, "ticket", f->ticket);
		if (f->reason)
			ok = ok && json_add_string(o, "reason", f->reason);
	}
	const char *s = ok ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	char *line = s ? strdup(s) : NULL; /* never cut: a cut line would not be JSON */
	json_object_put(m);
	json_object_put(o);
	free(clean);
	return line;
}

/* One "NAME=value" field into buf at *used; false when it does not fit. */
static bool journal_field(char *buf, size_t buflen, size_t *used, struct iovec *iov, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static bool journal_field(char *buf, size_t buflen, size_t *used, struct iovec *iov, size_t *n, const char *fmt, ...)
{
	va_list ap;
	if (*used >= buflen || *n >= LOG_JOURNAL_MAX_IOV)
		return false;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *used, buflen - *used, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= buflen - *used)
		return false;
	iov[*n].iov_base = buf + *used;
	iov[*n].iov_len = (size_t)w;
	(*n)++;
	*used += (size_t)w + 1;
	return true;
}

size_t log_journal_iov(enum log_level lvl, const struct log_fields *f, const char *msg, char *buf, size_t buflen,
		       struct iovec *iov)
{
	char clean[3 * 2048 + 1], fbuf[3 * FIELD_MAX + 1];
	size_t used = 0, n = 0;
	char cut[2048];
	snprintf(cut, sizeof(cut), "%s", msg);
	/* The journal keeps today's "level: message" text (journalctl shows it as before); PRIORITY filters. */
	(void)journal_field(buf, buflen, &used, iov, &n, "MESSAGE=%s: %s", level_name[lvl],
			    log_utf8_clean(cut, clean, sizeof(clean)));
	(void)journal_field(buf, buflen, &used, iov, &n, "PRIORITY=%d", level_prio[lvl]);
	(void)journal_field(buf, buflen, &used, iov, &n, "SYSLOG_IDENTIFIER=slad");
	if (f) {
		if (f->topic)
			(void)journal_field(buf, buflen, &used, iov, &n, "SLAD_TOPIC=%s", clean_field(f->topic, fbuf));
		if (f->partition.set)
			(void)journal_field(buf, buflen, &used, iov, &n, "SLAD_PARTITION=%lld", (long long)f->partition.v);
		if (f->offset.set)
			(void)journal_field(buf, buflen, &used, iov, &n, "SLAD_OFFSET=%lld", (long long)f->offset.v);
		if (f->ticket)
			(void)journal_field(buf, buflen, &used, iov, &n, "SLAD_TICKET=%s", clean_field(f->ticket, fbuf));
		if (f->reason)
			(void)journal_field(buf, buflen, &used, iov, &n, "SLAD_REASON=%s", clean_field(f->reason, fbuf));
	}
	return n;
}

static int64_t wall_ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* stderr in the configured format. Text: as it always was; under systemd
 * (INVOCATION_ID, not a terminal) with the <N> priority prefix journald reads
 * when the native protocol is not available. */
static void write_stderr(enum log_level lvl, const struct log_fields *f, const char *line)
{
	int64_t now = wall_ms_now();
	if (log_get_format() == LOG_FORMAT_JSON) {
		char *out = log_json_line(lvl, f, line, now);
		if (out) {
			fprintf(stderr, "%s\n", out);
			free(out);
			return;
		}
		/* out of memory: the text line below rather than nothing */
	}
	if (isatty(STDERR_FILENO) || getenv("INVOCATION_ID") == NULL) {
		time_t secs = (time_t)(now / 1000);
		struct tm tm;
		char when[32];
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03dZ %s: %s\n", when, (int)(now % 1000), level_name[lvl], line);
	} else {
		fprintf(stderr, "<%d>%s: %s\n", level_prio[lvl], level_name[lvl], line);
	}
}

static void log_line(enum log_level lvl, const struct log_fields *f, const char *fmt, va_list ap)
{
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (stderr_is_journal()) {
		/* The journal stores fields itself: native entries whatever log.format says. */
		char buf[LOG_JOURNAL_BUF];
		struct iovec iov[LOG_JOURNAL_MAX_IOV];
		size_t n = log_journal_iov(lvl, f, line, buf, sizeof(buf), iov);
		if (sd_journal_sendv(iov, (int)n) == 0)
			return;
		/* journald is not there (restarting, or another mount namespace): the stream still is */
	}
	write_stderr(lvl, f, line);
}

void log_fields(enum log_level lvl, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;
	if (lvl < log_min_level)
		return;
	va_start(ap, fmt);
	log_line(lvl, f, fmt, ap);
	va_end(ap);
}
