/* slactl.h - the subcommands of slactl, each a main() of its own. */
#ifndef SLACTL_H
#define SLACTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "slad/jsonl.h"

struct calendar_set;
struct sla_policy;
struct store;

/* Each takes the subcommand's argv (argv[0] is the subcommand's name) and
 * returns the process exit status: 0 success, 1 failure, 2 bad arguments. */
int cmd_publish(int argc, char **argv);
int cmd_mock_kafka(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_ticket(int argc, char **argv);
int cmd_whatif(int argc, char **argv);

/* "slactl " and the version, for every subcommand's --version. */
void slactl_print_version(void);

/* One option of a subcommand: struct option's fields, but where its value
 * goes instead of a flag. */
struct slactl_option {
	const char *name;   /* --name */
	int has_arg;        /* no_argument or required_argument */
	const char **value; /* where the value goes (the last one wins); NULL: slactl_getopt returns key */
	int key;            /* a letter in slactl_getopt's optstring is also -key */
};
#define SLACTL_MAX_OPTIONS 16

/* getopt_long over a subcommand's options (at most SLACTL_MAX_OPTIONS, ended
 * by a NULL name) plus those every subcommand has: -h/--help prints
 * usage(stdout) and -V/--version the version (*status 0); an option without
 * its value or an unknown one is reported as "slactl PROG: ..." (*status 2).
 * optstring holds the short options of the subcommand's own. Stores the
 * values of the options that have a place for them and returns the key of
 * the next other option, or -1: at the end of the options (*status
 * untouched) or when the caller should return *status.
 * Set optind = 1 before the first call. */
int slactl_getopt(int argc, char **argv, const char *optstring, const struct slactl_option *opts, const char *prog,
		  void (*usage)(FILE *), int *status);
/* All of argv's options, for a subcommand whose options all store their
 * values: -1 to go on with the operands from argv[optind], else the exit
 * status (as slactl_getopt's). */
int slactl_parse_options(int argc, char **argv, const struct slactl_option *opts, const char *prog,
			 void (*usage)(FILE *));
/* After the options: false, said as "slactl PROG: unexpected argument", when
 * operands follow (for a subcommand that takes none). */
bool slactl_no_operands(int argc, char **argv, const char *prog);
/* After the options: the one operand, or NULL, said as "slactl PROG: expected
 * EXPECTED", when there are none or more. */
const char *slactl_one_operand(int argc, char **argv, const char *prog, const char *expected);
/* *out: s as an integer from 1 to max; false, said as "slactl PROG: OPT
 * expects an integer from 1 to MAX, got 'S'", when it is not one. */
bool slactl_parse_count(const char *prog, const char *opt, const char *s, long max, long *out);

/* The replay of slactl replay, shared with slactl whatif (tools/replay.c).
 * prog names the subcommand in messages ("slactl PROG: ..."). */
struct replay_event {
	struct jsonl_event ev;
	long line; /* ties in occurred_at keep this order (the input line) */
};

struct replay_stats {
	size_t applied, duplicates, dead_letters, tickets;
};

/* --until: an RFC 3339 time or "now". */
bool replay_parse_until(const char *arg, sla_time *until) __attribute__((warn_unused_result));
/* Reads every JSON Lines line of in; fails naming the first bad one
 * (NAME:LINE: message). *out is the caller's (replay_free_events), also on failure. */
bool replay_read_events(FILE *in, const char *prog, const char *name, struct replay_event **out, size_t *n)
	__attribute__((warn_unused_result));
/* Event-time order, ties by line. */
void replay_sort_events(struct replay_event *evs, size_t n);
void replay_free_events(struct replay_event *evs, size_t n); /* accepts NULL */
/* Applies sorted events with a core of pol and cals (borrowed) and commits the
 * results to st, 100,000 events a transaction (slactl replay --batch), as group "" (no watermark);
 * at the end the clock moves to until (SLA_TIME_NONE: the last occurred_at).
 * Stops with false when *stop becomes non-zero (stop may be NULL). */
bool replay_apply(struct store *st, const struct sla_policy *pol, const struct calendar_set *cals,
		  const struct replay_event *evs, size_t n, sla_time until, const volatile sig_atomic_t *stop,
		  const char *prog, struct replay_stats *stats) __attribute__((warn_unused_result));

#endif
