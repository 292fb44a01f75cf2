/* bytes.c - the byte format of the core's saved state: writer and reader. Pure. */
#include "bytes.h"

#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "slad/core.h"

void wbuf_put(struct wbuf *w, const void *src, size_t n)
{
	if (w->fail || n == 0)
		return;
	if (!array_grow_from((void **)&w->p, &w->cap, w->len + n, 1, 512)) {
		w->fail = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void wbuf_fixed64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wbuf_put(w, b, 8);
}

void wbuf_i64(struct wbuf *w, int64_t v)
{
	if (!w->varint) {
		wbuf_fixed64(w, (uint64_t)v);
		return;
	}
	/* zigzag, then + 1: INT64_MIN (zigzag UINT64_MAX) wraps to 0 */
	uint64_t u = (((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0)) + 1;
	uint8_t b[10];
	size_t n = 0;
	while (u >= 0x80) {
		b[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	b[n++] = (uint8_t)u;
	wbuf_put(w, b, n);
}

void wbuf_i32(struct wbuf *w, int32_t v)
{
	wbuf_i64(w, v);
}

void wbuf_f64(struct wbuf *w, double d)
{
	uint64_t v;
	memcpy(&v, &d, sizeof(v));
	wbuf_fixed64(w, v);
}

void wbuf_str(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);
	wbuf_i64(w, (int64_t)n);
	wbuf_put(w, s, n);
}

void wbuf_bytes(struct wbuf *w, const uint8_t *b, size_t n)
{
	wbuf_i64(w, (int64_t)n);
	wbuf_put(w, b, n);
}

static uint64_t rbuf_fixed64(struct rbuf *r)
{
	if (r->fail || r->len - r->pos < 8) {
		r->fail = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)r->p[r->pos + i] << (8 * i);
	r->pos += 8;
	return v;
}

int64_t rbuf_i64(struct rbuf *r)
{
	if (!r->varint)
		return (int64_t)rbuf_fixed64(r);
	uint64_t u = 0;
	for (int shift = 0;; shift += 7) {
		/* ten bytes at most, the tenth holding the top bit only */
		if (r->fail || r->pos >= r->len || shift > 63 || (shift == 63 && r->p[r->pos] > 1)) {
			r->fail = true;
			return 0;
		}
		uint8_t b = r->p[r->pos++];
		u |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	u -= 1;
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

int32_t rbuf_i32(struct rbuf *r)
{
	return (int32_t)rbuf_i64(r);
}

bool rbuf_bool(struct rbuf *r)
{
	return rbuf_i64(r) != 0;
}

double rbuf_f64(struct rbuf *r)
{
	uint64_t v = rbuf_fixed64(r);
	double d;
	memcpy(&d, &v, sizeof(d));
	return d;
}

void rbuf_str(struct rbuf *r, char *dst, size_t cap)
{
	int64_t n = rbuf_i64(r);
	if (r->fail || n < 0 || (size_t)n >= cap || r->len - r->pos < (size_t)n) {
		r->fail = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p + r->pos, (size_t)n);
	dst[n] = '\0';
	r->pos += (size_t)n;
}

uint8_t *rbuf_bytes(struct rbuf *r, size_t *len)
{
	int64_t n = rbuf_i64(r);
	if (r->fail || n < 0 || r->len - r->pos < (size_t)n) {
		r->fail = true;
		return NULL;
	}
	uint8_t *b = malloc(n ? (size_t)n : 1);
	if (!b) {
		r->fail = true;
		return NULL;
	}
	memcpy(b, r->p + r->pos, (size_t)n);
	r->pos += (size_t)n;
	*len = (size_t)n;
	return b;
}

int32_t rbuf_count(struct rbuf *r, int32_t max)
{
	int64_t n = rbuf_i64(r);
	if (n < 0 || n > max)
		r->fail = true;
	return r->fail ? 0 : (int32_t)n;
}

bool bytes_instant_ok(int64_t t)
{
	const int64_t slack = 3660 * SLA_DAY;
	return t == SLA_TIME_NONE || (t >= SLA_TIME_MIN - slack && t < SLA_TIME_MAX + slack);
}

static void wbuf_field(struct wbuf *w, const char *p, const struct field *f)
{
	int32_t i32;
	int64_t i64;
	double d;
	switch (f->type) {
	case FIELD_BOOL:
	case FIELD_BOOL64: wbuf_i64(w, *(const bool *)p); return;
	case FIELD_U8:
	case FIELD_E8: wbuf_i64(w, *(const uint8_t *)p); return;
	case FIELD_BIT: wbuf_i64(w, (*(const uint8_t *)p & f->size) != 0); return;
	case FIELD_BITS: wbuf_i64(w, *(const uint8_t *)p & f->size); return;
	case FIELD_INT:
		if (f->size != sizeof(i32)) {
			w->fail = true;
			return;
		}
		memcpy(&i32, p, sizeof(i32));
		wbuf_i64(w, i32);
		return;
	case FIELD_I64:
	case FIELD_INSTANT:
	case FIELD_COUNT:
		memcpy(&i64, p, sizeof(i64));
		wbuf_i64(w, i64);
		return;
	case FIELD_F64:
		memcpy(&d, p, sizeof(d));
		wbuf_f64(w, d);
		return;
	case FIELD_STR: wbuf_str(w, p); return;
	case FIELD_ISTR: {
		const char *s;
		memcpy(&s, p, sizeof(s));
		wbuf_str(w, s ? s : "");
		return;
	}
	default: w->fail = true; return;
	}
}

void wbuf_fields(struct wbuf *w, const void *obj, const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wbuf_field(w, (const char *)obj + f[i].offset, &f[i]);
}

/* A string read as into char[cap], interned into the const char * at p. */
static void rbuf_interned(struct rbuf *r, char *p, size_t cap)
{
	char s[256];
	const char *old, *n;
	if (cap > sizeof(s)) {
		r->fail = true;
		return;
	}
	rbuf_str(r, s, cap);
	if (r->fail)
		return;
	if (!r->ids || !(n = strpool_intern(r->ids, s, cap - 1))) {
		r->fail = true;
		return;
	}
	memcpy(&old, p, sizeof(old));
	strpool_release(old);
	memcpy(p, &n, sizeof(n));
}

static void rbuf_field(struct rbuf *r, char *p, const struct field *f)
{
	int32_t i32;
	int64_t i64;
	double d;
	switch (f->type) {
	case FIELD_BOOL: *(bool *)p = rbuf_i32(r) != 0; return;
	case FIELD_BOOL64: *(bool *)p = rbuf_bool(r); return;
	case FIELD_U8: *(uint8_t *)p = (uint8_t)rbuf_i32(r); return;
	case FIELD_BIT:
		i32 = rbuf_i32(r) != 0 ? (int32_t)f->size : 0;
		*(uint8_t *)p = (uint8_t)((*(uint8_t *)p & ~f->size) | (size_t)i32);
		return;
	case FIELD_BITS:
		i32 = (int32_t)((uint8_t)rbuf_i32(r) & f->size);
		*(uint8_t *)p = (uint8_t)((*(uint8_t *)p & ~f->size) | (size_t)i32);
		return;
	case FIELD_E8:
		i32 = rbuf_i32(r);
		if (i32 < 0 || i32 > UINT8_MAX)
			r->fail = true;
		else
			*(uint8_t *)p = (uint8_t)i32;
		return;
	case FIELD_INT:
		i32 = rbuf_i32(r);
		if (f->size != sizeof(i32))
			r->fail = true;
		else
			memcpy(p, &i32, sizeof(i32));
		return;
	case FIELD_I64:
	case FIELD_INSTANT:
	case FIELD_COUNT:
		i64 = rbuf_i64(r);
		if ((f->type == FIELD_INSTANT && !bytes_instant_ok(i64)) ||
		    (f->type == FIELD_COUNT && (i64 < 0 || i64 > BYTES_COUNT_MAX)))
			r->fail = true;
		memcpy(p, &i64, sizeof(i64));
		return;
	case FIELD_F64:
		d = rbuf_f64(r);
		memcpy(p, &d, sizeof(d));
		return;
	case FIELD_STR: rbuf_str(r, p, f->size); return;
	case FIELD_ISTR: rbuf_interned(r, p, f->size); return;
	default: r->fail = true; return;
	}
}

void rbuf_fields(struct rbuf *r, void *obj, const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rbuf_field(r, (char *)obj + f[i].offset, &f[i]);
}
