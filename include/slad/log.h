/* log.h - leveled, printf-checked logging with fields: text or JSON lines on stderr, or native journald entries. */
#ifndef SLAD_LOG_H
#define SLAD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* text: one line per message as always; json: one JSON object per line. Either
 * way, when stderr is the journal (JOURNAL_STREAM), messages go to journald
 * natively with their fields (docs/operations.md, "Logs"). */
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

extern enum log_level log_min_level;

/* A number field: zero-initialised means "not set", so a designated
 * initializer that leaves it out cannot log partition 0 or offset 0 by mistake. */
struct log_num {
	bool set;
	int64_t v;
};
#define LOG_NUM(x) ((struct log_num){true, (int64_t)(x)})

/* What a message is about, besides its text. NULL strings and unset numbers
 * are left out. The text format never prints them (the messages say them
 * already); json and the journal carry them as fields. Borrowed for the call. */
struct log_fields {
	const char *topic;
	struct log_num partition;
	struct log_num offset;
	const char *ticket;
	const char *reason; /* a dead-letter reason code: BAD_VALUE, DECODE_ERROR, ... */
};

bool log_level_parse(const char *s, enum log_level *out) __attribute__((warn_unused_result));
bool log_format_parse(const char *s, enum log_format *out) __attribute__((warn_unused_result));
/* Switches the output format; safe to call at any time (SIGHUP reload). */
void log_set_format(enum log_format fmt);
enum log_format log_get_format(void);

/* A log line with fields; f may be NULL. */
void log_fields(enum log_level lvl, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A log line without fields. */
#define log_msg(lvl, ...) log_fields((lvl), NULL, __VA_ARGS__)

#define log_debug(...) do { if (log_min_level <= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

/* The same with fields: log_warn_f(&(struct log_fields){.partition = LOG_NUM(p)}, "fmt", ...).
 * (No named parameter for the fields: the commas of a compound literal's braces would split it.) */
#define log_debug_f(...) do { if (log_min_level <= LOG_LVL_DEBUG) log_fields(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#define log_info_f(...) log_fields(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn_f(...) log_fields(LOG_LVL_WARN, __VA_ARGS__)
#define log_error_f(...) log_fields(LOG_LVL_ERROR, __VA_ARGS__)

/* ---- the pure parts, exported for tests/unit/test_log.c ---- */

/* Whether $JOURNAL_STREAM ("DEV:INODE", systemd.exec(5)) names the file
 * (dev, ino) that fd 2 is: only then is stderr the journal. */
bool log_journal_stream_is(const char *env, dev_t dev, ino_t ino);

/* s as valid UTF-8: s itself when it is, else a copy in buf (size >= 3 * strlen(s) + 1)
 * with each invalid byte replaced by U+FFFD. */
const char *log_utf8_clean(const char *s, char *buf, size_t buflen);

/* One JSON object, without a newline: {"time":"…","level":"…","message":"…",
 * fields…}, valid UTF-8. wall_ms: milliseconds since the epoch. The caller
 * frees it; NULL: out of memory. */
char *log_json_line(enum log_level lvl, const struct log_fields *f, const char *msg, int64_t wall_ms)
	__attribute__((warn_unused_result));

/* The journal entry: MESSAGE=, PRIORITY=, SYSLOG_IDENTIFIER=slad and
 * SLAD_TOPIC/PARTITION/OFFSET/TICKET/REASON= as set, as iov[0..n) pointing
 * into buf (which must outlive them). Returns n (at most LOG_JOURNAL_MAX_IOV). */
#define LOG_JOURNAL_MAX_IOV 8
#define LOG_JOURNAL_BUF 12288
size_t log_journal_iov(enum log_level lvl, const struct log_fields *f, const char *msg, char *buf, size_t buflen,
		       struct iovec *iov);

#endif
