/* slactl.h - the subcommands of slactl, each a main() of its own. */
#ifndef SLACTL_H
#define SLACTL_H

/* Each takes the subcommand's argv (argv[0] is the subcommand's name) and
 * returns the process exit status: 0 success, 1 failure, 2 bad arguments. */
int cmd_publish(int argc, char **argv);
int cmd_mock_kafka(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_ticket(int argc, char **argv);

/* "slactl " and the version, for every subcommand's --version. */
void slactl_print_version(void);

#endif
