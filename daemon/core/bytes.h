/* bytes.h - the little-endian, length-prefixed byte format of the core's saved state (tickets, partners),
 * and the field tables that describe a struct's scalar fields in it. Pure. */
#ifndef SLAD_CORE_BYTES_H
#define SLAD_CORE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strpool.h"

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
	struct strpool *ids; /* where FIELD_ISTR strings are interned */
	bool shared_ids; /* codec version 7: a seen id after the prefix it shares with the ticket id */
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

/* A struct's scalar fields as a table, written and read in its order: a saved
 * format lists its fields once instead of writing and reading each by hand. */
enum field_type {
	FIELD_BOOL,    /* bool: an integer; read as an int32, true when not 0 */
	FIELD_BOOL64,  /* bool: an integer; read as an int64, true when not 0 */
	FIELD_INT,     /* int, int32_t or an enum (4 bytes): an integer read as an int32 */
	FIELD_U8,      /* uint8_t: an integer read as an int32, truncated */
	FIELD_I64,     /* int64_t or sla_time */
	FIELD_F64,     /* double */
	FIELD_STR,     /* char[size] */
	FIELD_ISTR,    /* const char *, interned in rbuf.ids: saved as FIELD_STR, read as into char[size] */
	FIELD_E8,      /* uint8_t holding an enum: an integer read as an int32, outside [0, 255] fails */
	FIELD_INSTANT, /* sla_time: SLA_TIME_NONE or a saved instant (bytes_instant_ok), else the read fails */
	FIELD_COUNT,   /* int64_t in [0, BYTES_COUNT_MAX], else the read fails */
	FIELD_BIT,     /* the bit `size` (a mask) of a uint8_t: saved and read as a FIELD_BOOL */
	FIELD_BITS,    /* the bits `size` (a mask) of a uint8_t: saved as their value, read as a FIELD_U8 masked */
};
struct field {
	enum field_type type;
	size_t offset, size;
};
#define FIELD(type, st, member) {(type), offsetof(st, member), sizeof(((st *)0)->member)}
/* An interned string field: saved and read as a char[cap] would be. */
#define FIELD_INTERNED(st, member, cap) {FIELD_ISTR, offsetof(st, member), (cap)}
/* Bits of a uint8_t flags member, saved as a field of their own. */
#define FIELD_FLAGS(type, st, member, mask) {(type), offsetof(st, member), (mask)}
#define FIELDS_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BYTES_COUNT_MAX 1000000000000000LL /* counts beyond this are not counts */

void wbuf_fields(struct wbuf *w, const void *obj, const struct field *f, size_t n);
void rbuf_fields(struct rbuf *r, void *obj, const struct field *f, size_t n);
/* A saved instant: none, or within the bounds events can produce (with room
 * for deadlines computed from them). Anything else is a corrupt row: it would
 * make calendar and deadline arithmetic overflow. */
bool bytes_instant_ok(int64_t t);

#endif
