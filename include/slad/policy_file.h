/* policy_file.h - SLA policies from a YAML file (deploy/policies.yaml), validated. */
#ifndef SLAD_POLICY_FILE_H
#define SLAD_POLICY_FILE_H

#include <stddef.h>

#include "slad/policy.h"

/* Parses and validates a policy document; NULL and "FILE:LINE: message" in
 * err when it is wrong. The result owns its rules; free it with policy_free.
 * lateness_allowed is the built-in default: the caller sets the configured
 * one and calls policy_finalize(). */
struct sla_policy *policy_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);
struct sla_policy *policy_load_file(const char *path, char *err, size_t errlen);
/* A heap copy of the compiled-in defaults. */
struct sla_policy *policy_copy_defaults(void);
void policy_free(struct sla_policy *pol);

#endif
