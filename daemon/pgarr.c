/* pgarr.c - PostgreSQL array literals for unnest() batch statements, and the
 * one-line error text of the store modules. */
#include "slad/pgarr.h"
#include "slad/arrays.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (err[i] == '\n')
			err[i] = ' ';
}

/* Room for extra more bytes and the NUL; false once out of memory. */
static bool buf_reserve(struct pgarr *a, size_t extra)
{
	if (a->oom)
		return false;
	if (!array_grow_from((void **)&a->p, &a->cap, a->len + extra + 1, 1, 256))
		a->oom = true;
	return !a->oom;
}

static void buf_put(struct pgarr *a, const char *s, size_t n)
{
	if (!buf_reserve(a, n))
		return;
	memcpy(a->p + a->len, s, n);
	a->len += n;
	a->p[a->len] = '\0';
}

static void buf_putc(struct pgarr *a, char c)
{
	buf_put(a, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
			return 0; /* overlong, beyond U+10FFFF */
		return 4;
	}
	return 0;
}

static void arr_sep(struct pgarr *a)
{
	buf_putc(a, a->n++ ? ',' : '{');
}

void arr_null(struct pgarr *a)
{
	arr_sep(a);
	buf_put(a, "NULL", 4);
}

void arr_text(struct pgarr *a, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		arr_null(a);
		return;
	}
	arr_sep(a);
	buf_putc(a, '"');
	while (*p != '\0') {
		/* A run of plain ASCII goes in at once (ids, codes: nearly every string). */
		const unsigned char *run = p;
		while (*p != '\0' && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			buf_put(a, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};
			buf_put(a, esc, 2);
			p++;
			continue;
		}
		size_t n = utf8_len(p);
		if (n == 0) {
			buf_putc(a, '?');
			p++;
			continue;
		}
		buf_put(a, (const char *)p, n);
		p += n;
	}
	buf_putc(a, '"');
}

/* v in decimal, without printf (a column of a batch is thousands of these). */
static size_t int_digits(char *out, int64_t v)
{
	char tmp[24];
	size_t n = 0, len = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = tmp[--n];
	return len;
}

void arr_int(struct pgarr *a, int64_t v)
{
	char tmp[24];
	size_t n = int_digits(tmp, v);

	arr_sep(a);
	buf_put(a, tmp, n);
}

void arr_time(struct pgarr *a, sla_time t)
{
	if (t == SLA_TIME_NONE)
		arr_null(a);
	else
		arr_int(a, t);
}

void arr_fixed(struct pgarr *a, double v, int places)
{
	/* Printed straight into the buffer: %f of a large value is long. */
	int n = snprintf(NULL, 0, "%.*f", places, v);

	arr_sep(a);
	if (n < 0 || !buf_reserve(a, (size_t)n))
		return;
	snprintf(a->p + a->len, (size_t)n + 1, "%.*f", places, v);
	a->len += (size_t)n;
}

void arr_bytea(struct pgarr *a, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	if (p == NULL && len > 0) {
		arr_null(a);
		return;
	}
	arr_sep(a);
	if (!buf_reserve(a, 2 * len + 6))
		return;
	buf_put(a, "\"\\\\x", 4); /* "\\x: the array parser leaves \x for bytea */
	for (size_t i = 0; i < len; i++) {
		a->p[a->len++] = hex[p[i] >> 4];
		a->p[a->len++] = hex[p[i] & 15];
	}
	a->p[a->len] = '\0';
	buf_putc(a, '"');
}

/* Binary array format (array_recv): ndim, has-null flag, element type, then
 * per dimension its size and lower bound; per element a length (-1: NULL)
 * and the bytes. All integers big-endian. */
#define BYTEA_OID 17u
#define BIN_HEADER 20

static void put_be32(char *at, uint32_t v)
{
	at[0] = (char)(v >> 24);
	at[1] = (char)(v >> 16);
	at[2] = (char)(v >> 8);
	at[3] = (char)v;
}

void arr_bytea_bin(struct pgarr *a, const uint8_t *p, size_t len)
{
	char head[4];

	if (!a->bin) {
		a->bin = true;
		if (!buf_reserve(a, BIN_HEADER))
			return;
		memset(a->p, 0, BIN_HEADER);
		a->len = BIN_HEADER; /* filled by arr_finish */
	}
	a->n++;
	if (p == NULL || len > INT32_MAX) {
		a->hasnull = true;
		put_be32(head, UINT32_MAX); /* -1 */
		buf_put(a, head, 4);
		return;
	}
	put_be32(head, (uint32_t)len);
	buf_put(a, head, 4);
	buf_put(a, (const char *)p, len);
}

static const char *bin_finish(struct pgarr *a)
{
	if (!buf_reserve(a, a->len ? 0 : BIN_HEADER))
		return NULL;
	if (a->len < BIN_HEADER)
		a->len = BIN_HEADER;
	put_be32(a->p, a->n ? 1u : 0u);
	put_be32(a->p + 4, a->hasnull ? 1u : 0u);
	put_be32(a->p + 8, BYTEA_OID);
	put_be32(a->p + 12, (uint32_t)a->n);
	put_be32(a->p + 16, 1u);
	if (a->n == 0)
		a->len = 12; /* no dimensions */
	return a->oom ? NULL : a->p;
}

const char *arr_finish(struct pgarr *a)
{
	if (a->bin)
		return bin_finish(a);
	if (a->done)
		return a->oom ? NULL : a->p;
	a->done = true;
	if (a->n == 0)
		buf_putc(a, '{');
	buf_putc(a, '}');
	return a->oom ? NULL : a->p;
}

/* ---- binary COPY (PostgreSQL's "Binary Format" of COPY) ---- */

static void put_be16(char *at, uint16_t v)
{
	at[0] = (char)(v >> 8);
	at[1] = (char)v;
}

static void put_be64(char *at, uint64_t v)
{
	put_be32(at, (uint32_t)(v >> 32));
	put_be32(at + 4, (uint32_t)v);
}

/* Signature, flags (no OIDs), header extension length. */
static const char copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

void copy_row(struct pgarr *a, int nfields)
{
	char n[2];

	if (!a->bin) {
		a->bin = true;
		buf_put(a, copy_header, sizeof copy_header);
	}
	a->n++;
	put_be16(n, (uint16_t)nfields);
	buf_put(a, n, 2);
}

static void copy_null(struct pgarr *a)
{
	char head[4];

	a->hasnull = true; /* for copy_array_end */
	put_be32(head, UINT32_MAX); /* -1 */
	buf_put(a, head, 4);
}

void copy_text(struct pgarr *a, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at, n;

	if (s == NULL) {
		copy_null(a);
		return;
	}
	if (!buf_reserve(a, 4))
		return;
	at = a->len; /* the length, once known */
	a->len += 4;
	while (*p != '\0') {
		const unsigned char *run = p;

		while (*p != '\0' && (n = utf8_len(p)) > 0)
			p += n;
		buf_put(a, (const char *)run, (size_t)(p - run));
		if (*p != '\0') { /* an invalid byte */
			buf_putc(a, '?');
			p++;
		}
	}
	if (!a->oom)
		put_be32(a->p + at, (uint32_t)(a->len - at - 4));
}

void copy_jsonb(struct pgarr *a, const char *s)
{
	size_t at;

	if (s == NULL) {
		copy_null(a);
		return;
	}
	at = a->len;
	copy_text(a, s);
	if (a->oom || !buf_reserve(a, 1))
		return;
	/* The version byte goes before the text, and counts in the length. */
	memmove(a->p + at + 5, a->p + at + 4, a->len - at - 4);
	a->p[at + 4] = 1;
	a->len++;
	a->p[a->len] = '\0';
	put_be32(a->p + at, (uint32_t)(a->len - at - 4));
}

void copy_int4(struct pgarr *a, int32_t v)
{
	char f[8];

	put_be32(f, 4);
	put_be32(f + 4, (uint32_t)v);
	buf_put(a, f, 8);
}

void copy_int8(struct pgarr *a, int64_t v)
{
	char f[12];

	put_be32(f, 8);
	put_be64(f + 4, (uint64_t)v);
	buf_put(a, f, 12);
}

/* timestamptz on the wire: microseconds since 2000-01-01 UTC. */
#define PG_EPOCH_MS INT64_C(946684800000)

void copy_time(struct pgarr *a, sla_time t)
{
	if (t == SLA_TIME_NONE)
		copy_null(a);
	else
		copy_int8(a, (t - PG_EPOCH_MS) * 1000);
}

void copy_bytes(struct pgarr *a, const uint8_t *p, size_t len)
{
	char head[4];

	if (p == NULL || len > INT32_MAX) {
		copy_null(a);
		return;
	}
	put_be32(head, (uint32_t)len);
	buf_put(a, head, 4);
	if (len > 0)
		buf_put(a, (const char *)p, len);
}

size_t copy_array_begin(struct pgarr *a)
{
	size_t at = a->len;

	if (buf_reserve(a, BIN_HEADER + 4))
		a->len += BIN_HEADER + 4; /* the field's length, then the array's header: copy_array_end */
	a->hasnull = false;
	return at;
}

void copy_array_end(struct pgarr *a, size_t at, uint32_t elem_oid, uint32_t n)
{
	if (a->oom)
		return;
	put_be32(a->p + at, (uint32_t)(a->len - at - 4));
	put_be32(a->p + at + 4, 1u); /* one dimension */
	put_be32(a->p + at + 8, a->hasnull ? 1u : 0u);
	put_be32(a->p + at + 12, elem_oid);
	put_be32(a->p + at + 16, n);
	put_be32(a->p + at + 20, 1u); /* from 1 */
}

const char *copy_finish(struct pgarr *a)
{
	char trailer[2];

	if (a->done)
		return a->oom ? NULL : a->p;
	a->done = true;
	put_be16(trailer, UINT16_MAX); /* -1 */
	if (!a->bin) {
		a->bin = true;
		buf_put(a, copy_header, sizeof copy_header);
	}
	buf_put(a, trailer, 2);
	return a->oom ? NULL : a->p;
}

void arrs_free(struct pgarr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].p);
		memset(&a[i], 0, sizeof a[i]);
	}
}
