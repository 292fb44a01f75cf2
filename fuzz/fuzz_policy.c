/* fuzz_policy.c - a policy file (policies.yaml) into policy_parse. */
#include <stdint.h>
#include <stdlib.h>

#include "slad/policy.h"
#include "slad/policy_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	struct sla_policy *pol = policy_parse((const char *)data, size, "fuzz.yaml", err, sizeof(err));
	if (pol)
		policy_free(pol);
	return 0;
}
