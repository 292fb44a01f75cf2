/* utf8.c - well-formed UTF-8 (RFC 3629), for the text fields of events and
 * saved states. Pure. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "slad/core.h"

/* Well-formed UTF-8 sequences by lead byte (The Unicode Standard, table 3-7):
 * how many continuation bytes follow, and the range of the first of them. */
static const struct utf8_lead {
	uint8_t from, to, more, lo, hi;
} utf8_leads[] = {
	{0xc2, 0xdf, 1, 0x80, 0xbf}, {0xe0, 0xe0, 2, 0xa0, 0xbf}, {0xe1, 0xec, 2, 0x80, 0xbf},
	{0xed, 0xed, 2, 0x80, 0x9f}, {0xee, 0xef, 2, 0x80, 0xbf}, {0xf0, 0xf0, 3, 0x90, 0xbf},
	{0xf1, 0xf3, 3, 0x80, 0xbf}, {0xf4, 0xf4, 3, 0x80, 0x8f},
};

static const struct utf8_lead *utf8_lead(uint8_t c)
{
	for (size_t i = 0; i < sizeof(utf8_leads) / sizeof(utf8_leads[0]); i++)
		if (c >= utf8_leads[i].from && c <= utf8_leads[i].to)
			return &utf8_leads[i];
	return NULL;
}

/* No overlong forms, no surrogates, nothing past U+10FFFF. */
bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* Ids and names are mostly ASCII: eight bytes at a time. */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == n)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		const struct utf8_lead *l = utf8_lead(s[i]);
		if (!l || n - i <= l->more || s[i + 1] < l->lo || s[i + 1] > l->hi)
			return false;
		size_t k = l->more;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}
