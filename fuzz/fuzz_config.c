/* fuzz_config.c - a configuration file (slad.conf) into config_load, from a
 * memfd so that no file is left behind; the environment holds no SLAD_*. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slad/config.h"

extern char **environ;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void clear_slad_environment(void)
{
	for (bool again = true; again;) {
		again = false;
		for (char **e = environ; *e; e++) {
			if (strncmp(*e, "SLAD_", 5) == 0) {
				char name[256];
				size_t n = strcspn(*e, "=");
				if (n >= sizeof(name))
					n = sizeof(name) - 1;
				memcpy(name, *e, n);
				name[n] = '\0';
				unsetenv(name);
				again = true;
				break;
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		clear_slad_environment();
		ready = true;
	}
	int fd = memfd_create("slad.conf", 0);
	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct config cfg;
	char err[4096];
	(void)config_load(&cfg, path, err, sizeof(err));
	config_free(&cfg);
	close(fd);
	return 0;
}
