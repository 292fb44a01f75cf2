/* event_decode.c - unpacking a message into one arena and checking its strings (events.md, Bad input). Pure. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

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
 * Each allocation is preceded by its size, so that a string's length on the
 * wire is known after unpacking (strings_ok). */
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
	bool freed; /* protobuf-c dropped something it had unpacked (a field repeated on the wire) */
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

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	if (size > SIZE_MAX / 2)
		return NULL;
	size_t need = ARENA_HEAD + ((size + (ARENA_HEAD - 1)) & ~(size_t)(ARENA_HEAD - 1));
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

/* The size asked for p, if the arena holds it; 0 for a default value (not from the wire). */
static size_t arena_size(const struct arena *a, const void *p)
{
	for (const struct arena_block *b = a->first; b; b = b->next) {
		const unsigned char *lo = (const unsigned char *)b->data;
		if ((const unsigned char *)p >= lo + ARENA_HEAD && (const unsigned char *)p < lo + b->used) {
			size_t size;
			memcpy(&size, (const unsigned char *)p - ARENA_HEAD, sizeof(size));
			return size;
		}
	}
	return 0;
}

/* The string and message fields of each message an event can hold (to the
 * depth wire_strings_check goes), listed once: strings_ok looks at those only. */
enum { WALK_MSGS = 32, WALK_FIELDS = 32 };

struct walk {
	const ProtobufCMessageDescriptor *d;
	unsigned n;
	/* Each field, or a oneof's first member for the whole oneof (the member set is looked up). */
	const ProtobufCFieldDescriptor *f[WALK_FIELDS];
};

static struct walk walks[WALK_MSGS];
static unsigned nwalks;
static once_flag walks_once = ONCE_FLAG_INIT;

static const struct walk *walk_of(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 0; i < nwalks; i++)
		if (walks[i].d == d)
			return &walks[i];
	return NULL;
}

static bool interesting(const ProtobufCFieldDescriptor *f)
{
	return f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
}

/* Lists d and the messages it holds; one with a repeated field, too many
 * fields, or past WALK_MSGS stays unlisted (its strings: the wire walk's). */
static void walk_add(const ProtobufCMessageDescriptor *d, int depth)
{
	struct walk w = {.d = d};
	if (walk_of(d) || nwalks == WALK_MSGS)
		return;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED && interesting(f))
			return;
		bool oneof = f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF;
		if (oneof && i > 0 && (d->fields[i - 1].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    d->fields[i - 1].quantifier_offset == f->quantifier_offset)
			continue; /* listed with its oneof */
		if (!oneof && !interesting(f))
			continue;
		if (w.n == WALK_FIELDS)
			return;
		w.f[w.n++] = f;
	}
	walks[nwalks++] = w;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && depth < 4)
			walk_add(d->fields[i].descriptor, depth + 1);
}

static void walks_init(void)
{
	walk_add(&slad__v1__event__descriptor, 0);
}

/*
 * The strings of an unpacked message checked where protobuf-c put them, which
 * is cheaper than walking the wire again: each string of n bytes on the wire
 * was copied to an allocation of n + 1 bytes. Only when protobuf-c dropped
 * nothing (a->freed) is every string on the wire one of these. True: all are
 * UTF-8 without NUL, as wire_strings_check would find them (to the same depth).
 * False: wire_strings_check decides, and names the first bad one in wire order.
 */
static bool strings_ok(const struct arena *a, const ProtobufCMessage *msg, int depth)
{
	const struct walk *w = walk_of(msg->descriptor);
	if (!w)
		return false;
	for (unsigned i = 0; i < w->n; i++) {
		const ProtobufCFieldDescriptor *f = w->f[i];
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t c = *(const uint32_t *)(const void *)((const char *)msg + f->quantifier_offset);
			if (c == 0)
				continue;
			if (c != f->id && !(f = protobuf_c_message_descriptor_get_field(w->d, c)))
				return false;
			if (!interesting(f))
				continue;
		}
		const void *v = *(const void *const *)(const void *)((const char *)msg + f->offset);
		if (!v)
			continue;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth < 4 && !strings_ok(a, v, depth + 1))
				return false;
			continue;
		}
		size_t size = arena_size(a, v);
		if (size == 0)
			continue; /* a default, not from the wire */
		const uint8_t *s = v;
		if (!ascii_text(s, size - 1) && (memchr(s, '\0', size - 1) || !utf8_valid(s, size - 1)))
			return false;
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
	call_once(&walks_once, walks_init);
	if (!a.freed && strings_ok(&a, &(*ev)->base, 0))
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
