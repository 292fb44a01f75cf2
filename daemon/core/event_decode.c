/* event_decode.c - unpacking a message into one arena and checking its strings (events.md, Bad input). Pure. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core_internal.h"
#include "slad/core.h"

/* ---- strings on the wire ----
 * protobuf-c ends a string at its first NUL and passes any bytes through, so
 * "EV\0one" and "EV\0two" would both become "EV", and "T\xff1" would reach
 * PostgreSQL as something else. The wire form (already accepted by unpack)
 * is walked once more and every string field checked: UTF-8, no NUL. */

static bool wire_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Bytes 0x01..0x7f only (no NUL, no UTF-8 to check): the common case, a word
 * at a time. A word's byte is 0 iff its bit 7 is set in (w - 0x01..) & ~w. */
static bool ascii_text(const uint8_t *s, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((w | ((w - ones) & ~w)) & highs)
			return false;
	}
	if (i < n && n >= 8) {
		/* The last bytes as one word (some of them seen already). */
		uint64_t w;
		memcpy(&w, s + n - 8, 8);
		return !((w | ((w - ones) & ~w)) & highs);
	}
	for (; i < n; i++)
		if (s[i] == 0 || s[i] >= 0x80)
			return false;
	return true;
}

/* The field numbered id, or NULL. protobuf-c's descriptors list fields by
 * number and messages carry them in that order (protobuf-c packs them so):
 * a cursor that moves forward finds each in a step or two. */
static const ProtobufCFieldDescriptor *field_by_number(const ProtobufCMessageDescriptor *d, uint64_t id,
						       unsigned *cursor)
{
	unsigned i = *cursor;
	if (i >= d->n_fields || d->fields[i].id > id)
		i = 0;
	while (i < d->n_fields && d->fields[i].id < id)
		i++;
	*cursor = i;
	return i < d->n_fields && d->fields[i].id == id ? &d->fields[i] : NULL;
}

static enum sla_verdict wire_strings_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
					   int depth, char *detail, size_t detail_len)
{
	size_t pos = 0;
	unsigned cursor = 0;
	while (pos < len) {
		uint64_t key, n;
		if (!wire_varint(p, len, &pos, &key))
			return SV_APPLIED; /* unpack accepted it: nothing more to see */
		switch (key & 7) {
		case 0:
			if (!wire_varint(p, len, &pos, &n))
				return SV_APPLIED;
			break;
		case 1:
			pos += 8;
			break;
		case 5:
			pos += 4;
			break;
		case 2: {
			if (!wire_varint(p, len, &pos, &n) || n > len - pos)
				return SV_APPLIED;
			const ProtobufCFieldDescriptor *f = field_by_number(desc, key >> 3, &cursor);
			if (f && f->type == PROTOBUF_C_TYPE_STRING && !ascii_text(p + pos, (size_t)n)) {
				if (memchr(p + pos, '\0', (size_t)n))
					BAD("%s contains a NUL byte", f->name);
				if (!utf8_valid(p + pos, (size_t)n))
					BAD("%s is not valid UTF-8", f->name);
			} else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 4) {
				enum sla_verdict v = wire_strings_check(f->descriptor, p + pos, (size_t)n, depth + 1,
									detail, detail_len);
				if (v != SV_APPLIED)
					return v;
			}
			pos += (size_t)n;
			break;
		}
		default:
			return SV_APPLIED;
		}
	}
	return SV_APPLIED;
}

/* ---- decoding into one arena ----
 * protobuf-c allocates the message, each sub-message, string and array of an
 * unpacked event separately: a dozen malloc and free per event. event_decode
 * unpacks into one block (more only if the message is unusually dense) and
 * sla_event_free frees it at once; protobuf-c's own frees are no-ops.
 * Each allocation is preceded by its size: strings_ok goes from one to the next. */
enum { ARENA_FIRST = 640, ARENA_MORE = 1024, ARENA_HEAD = sizeof(max_align_t) };
/* The largest first block kept for the next event (sla_event_recycle): an ordinary event's. */
enum { ARENA_SPARE_MAX = 4096 };

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *first, *cur;
	bool freed; /* protobuf-c dropped something it had unpacked (a field given twice) */
};

static struct arena_block *block_new(size_t cap)
{
	struct arena_block *b = malloc(sizeof(*b) + cap);
	if (b) {
		b->next = NULL;
		b->used = 0;
		b->cap = cap;
	}
	return b;
}

static void blocks_free(struct arena_block *b)
{
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
}

static size_t arena_round(size_t size)
{
	return (size + (ARENA_HEAD - 1)) & ~(size_t)(ARENA_HEAD - 1);
}

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	if (size > SIZE_MAX / 2)
		return NULL;
	size_t need = ARENA_HEAD + arena_round(size);
	if (a->cur->cap - a->cur->used < need) {
		struct arena_block *b = block_new(need > ARENA_MORE ? need : ARENA_MORE);
		if (!b)
			return NULL;
		a->cur->next = b;
		a->cur = b;
	}
	unsigned char *p = (unsigned char *)a->cur->data + a->cur->used;
	memcpy(p, &size, sizeof(size));
	a->cur->used += need;
	return p + ARENA_HEAD;
}

static void arena_free(void *data, void *p)
{
	struct arena *a = data;
	(void)p;
	a->freed = true;
}

/*
 * The strings of an unpacked event checked where protobuf-c put them, which is
 * cheaper than walking the wire again: protobuf-c copies a string of n bytes
 * to an allocation of n + 1 (the NUL it adds), and allocates nothing else but
 * the event and its payload, unless the event has something our messages do
 * not (unknown fields, bytes), which this takes for a string that fails. A
 * string it dropped (a field or oneof given twice: it keeps the last) stays
 * in the arena, checked too; still, when it freed anything the wire decides.
 * True: all are UTF-8 without NUL, as wire_strings_check would find them.
 * False: that walk decides, and names the first bad one in wire order.
 */
static bool strings_ok(const struct arena *a, const Slad__V1__Event *ev)
{
	const void *payload = ev->payload_case != SLAD__V1__EVENT__PAYLOAD__NOT_SET ? ev->ticket_created : NULL;
	if (a->freed)
		return false;
	for (const struct arena_block *b = a->first; b; b = b->next) {
		for (size_t at = 0; at < b->used;) {
			const unsigned char *p = (const unsigned char *)b->data + at;
			const uint8_t *s = p + ARENA_HEAD;
			size_t size;
			memcpy(&size, p, sizeof(size));
			at += ARENA_HEAD + arena_round(size);
			if ((const void *)s == (const void *)ev || (const void *)s == payload)
				continue;
			if (size == 0 || (!ascii_text(s, size - 1) && (memchr(s, '\0', size - 1) || !utf8_valid(s, size - 1))))
				return false;
		}
	}
	return true;
}

/* The arena of an event: the message is the first block's first allocation. */
static struct arena_block *event_block(const Slad__V1__Event *ev)
{
	return (struct arena_block *)(void *)((unsigned char *)ev - ARENA_HEAD - offsetof(struct arena_block, data));
}

enum sla_verdict event_decode_in(const uint8_t *buf, size_t len, void **spare, Slad__V1__Event **ev, char *detail,
				 size_t detail_len)
{
	*ev = NULL;
	/* protobuf-c has no depth or size limit of its own: cap before decoding. */
	if (len > SLA_EVENT_MAX_BYTES) {
		snprintf(detail, detail_len, "message of %zu bytes exceeds %d", len, SLA_EVENT_MAX_BYTES);
		return SV_OVERSIZE;
	}
	size_t cap = ARENA_FIRST + 2 * len;
	struct arena a = {.first = spare ? *spare : NULL};
	if (a.first && a.first->cap >= cap) {
		*spare = NULL;
		a.first->used = 0;
	} else {
		a.first = block_new(cap);
	}
	if (!a.first) {
		snprintf(detail, detail_len, "out of memory decoding %zu bytes", len);
		return SV_DECODE_ERROR;
	}
	a.cur = a.first;
	ProtobufCAllocator allocator = {.alloc = arena_alloc, .free = arena_free, .allocator_data = &a};
	*ev = slad__v1__event__unpack(&allocator, len, buf);
	/* protobuf-c allocates the message itself first: sla_event_free finds the block from it. */
	if (!*ev || event_block(*ev) != a.first) {
		if (spare && !*spare) {
			blocks_free(a.first->next);
			a.first->next = NULL;
			*spare = a.first;
		} else {
			blocks_free(a.first);
		}
		*ev = NULL;
		snprintf(detail, detail_len, "not a slad.v1.Event protobuf message");
		return SV_DECODE_ERROR;
	}
	if (strings_ok(&a, *ev))
		return SV_APPLIED;
	enum sla_verdict v = wire_strings_check(&slad__v1__event__descriptor, buf, len, 0, detail, detail_len);
	if (v != SV_APPLIED) {
		sla_event_recycle(*ev, spare);
		*ev = NULL;
	}
	return v;
}

enum sla_verdict event_decode(const uint8_t *buf, size_t len, Slad__V1__Event **ev, char *detail,
			      size_t detail_len)
{
	return event_decode_in(buf, len, NULL, ev, detail, detail_len);
}

void sla_event_recycle(Slad__V1__Event *ev, void **spare)
{
	if (!ev)
		return;
	struct arena_block *b = event_block(ev);
	if (!spare || *spare || b->cap > ARENA_SPARE_MAX) {
		blocks_free(b);
		return;
	}
	blocks_free(b->next);
	b->next = NULL;
	*spare = b;
}

void sla_event_free(Slad__V1__Event *ev)
{
	if (ev)
		blocks_free(event_block(ev));
}
