/* daemon.h - the long-running daemon: Kafka intake, the core per partition, batched commits, timers,
 * signals (SIGHUP reload, SIGTERM drain), /healthz and /metrics, systemd notifications. */
#ifndef SLAD_DAEMON_H
#define SLAD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "slad/config.h"
#include "slad/policy.h"

/* Runs until SIGTERM/SIGINT; returns the process exit code. cfg stays the
 * caller's; SIGHUP changes its reloadable keys. config_path: the file named
 * with -c, or NULL for the default path (read again on SIGHUP). */
int daemon_run(struct config *cfg, const char *config_path);

/* The policy in force for cfg: the `policies` file when it exists, else the
 * built-in defaults of rules.md; lateness.allowed applied. NULL with err
 * ("FILE:LINE: what") when the file is bad. *from_file (may be NULL) says
 * which. Used at start, on SIGHUP and by `slad check-config`; free it with
 * policy_free. */
struct sla_policy *daemon_policy_load(const struct config *cfg, bool *from_file, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
