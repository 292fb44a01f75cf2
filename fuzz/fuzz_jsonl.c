/* fuzz_jsonl.c - JSON Lines into the parser slactl publish and replay share
 * (tools/jsonl.c), line by line; what parses is checked as publish checks it
 * (event_validate on the packed bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slad/core.h"
#include "slad/jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
		char *line = malloc(n + 1);
		if (!line)
			abort();
		memcpy(line, data + pos, n);
		line[n] = '\0';
		pos += n + 1;

		struct jsonl_event ev;
		char err[512];
		if (strlen(line) == n && jsonl_parse_event(line, &ev, err, sizeof(err))) {
			char detail[256];
			(void)event_validate(ev.payload, ev.len, SLA_TIME_NONE, detail, sizeof(detail));
			jsonl_event_clear(&ev);
		}
		free(line);
	}
	return 0;
}
