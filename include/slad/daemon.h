/* daemon.h - the long-running daemon: Kafka intake, the core per partition, batched commits, timers, signals. */
#ifndef SLAD_DAEMON_H
#define SLAD_DAEMON_H

#include "slad/config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int daemon_run(const struct config *cfg);

#endif
