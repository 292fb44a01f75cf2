/* bytes.h - the little-endian, length-prefixed byte format of the core's saved state (tickets, partners). Pure. */
#ifndef SLAD_CORE_BYTES_H
#define SLAD_CORE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Integers (and string and byte lengths) are 8 bytes each, or, with varint
 * set, a LEB128 varint of zigzag(v) + 1 (wrapping), so that 0, small values
 * and SLA_TIME_NONE (INT64_MIN) take one byte and an instant in ms six.
 * Doubles are always 8 bytes. */

/* A growing output buffer; after an allocation failure every write is a no-op and fail is set. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool fail;
	bool varint;
};

/* A reader; a short or malformed input sets fail and makes every later read return zero. */
struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool fail;
	bool varint;
};

void wbuf_put(struct wbuf *w, const void *src, size_t n);
void wbuf_i64(struct wbuf *w, int64_t v);
void wbuf_i32(struct wbuf *w, int32_t v); /* stored as an int64 */
void wbuf_f64(struct wbuf *w, double d);
void wbuf_str(struct wbuf *w, const char *s);
void wbuf_bytes(struct wbuf *w, const uint8_t *b, size_t n);

int64_t rbuf_i64(struct rbuf *r);
int32_t rbuf_i32(struct rbuf *r);
bool rbuf_bool(struct rbuf *r);
double rbuf_f64(struct rbuf *r);
/* Into dst (cap bytes with the NUL); fails when it does not fit. */
void rbuf_str(struct rbuf *r, char *dst, size_t cap);
/* A malloc'd copy; NULL (and fail) on error. */
uint8_t *rbuf_bytes(struct rbuf *r, size_t *len);
/* A count in [0, max]; anything else fails. */
int32_t rbuf_count(struct rbuf *r, int32_t max);

#endif
