/* strpool.c - interned, reference-counted strings (strpool.h). Pure. */
#include "strpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


const char strpool_empty[1] = "";

struct pooled {
	struct strpool *pool;
	struct pooled *next; /* in its bucket */
	uint64_t hash;
	uint32_t refs;
	char s[];
};

struct strpool {
	struct pooled **buckets; /* nbuckets, a power of two */
	size_t nbuckets, count;
	size_t owners; /* the pool is freed when owners and count are both 0 */
};

static struct pooled *pooled_of(const char *s)
{
	return (struct pooled *)(void *)(s - offsetof(struct pooled, s));
}

struct strpool *strpool_new(void)
{
	struct strpool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->nbuckets = 64;
	p->buckets = calloc(p->nbuckets, sizeof(*p->buckets));
	if (!p->buckets) {
		free(p);
		return NULL;
	}
	p->owners = 1;
	return p;
}

static void pool_free_if_unused(struct strpool *p)
{
	if (p->owners == 0 && p->count == 0) {
		free(p->buckets);
		free(p);
	}
}

void strpool_hold(struct strpool *p)
{
	p->owners++;
}

void strpool_drop(struct strpool *p)
{
	if (!p)
		return;
	p->owners--;
	pool_free_if_unused(p);
}

/* Doubles the buckets past one string a bucket; stays as it is when out of memory. */
static void pool_grow(struct strpool *p)
{
	size_t n = p->nbuckets * 2;
	struct pooled **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < p->nbuckets; i++)
		for (struct pooled *e = p->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(p->buckets);
	p->buckets = b;
	p->nbuckets = n;
}

const char *strpool_intern(struct strpool *p, const char *s, size_t max_len)
{
	size_t len = strnlen(s, max_len);
	if (len == 0)
		return strpool_empty;
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	for (struct pooled *e = p->buckets[h & (p->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && strncmp(e->s, s, len) == 0 && e->s[len] == '\0') {
			e->refs++;
			return e->s;
		}
	struct pooled *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->pool = p;
	e->hash = h;
	e->refs = 1;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	if (p->count >= p->nbuckets)
		pool_grow(p);
	struct pooled **b = &p->buckets[h & (p->nbuckets - 1)];
	e->next = *b;
	*b = e;
	p->count++;
	return e->s;
}

const char *strpool_dup(const char *s)
{
	if (s && s[0])
		pooled_of(s)->refs++;
	return s;
}

void strpool_release(const char *s)
{
	if (!s || !s[0])
		return;
	struct pooled *e = pooled_of(s);
	if (--e->refs > 0)
		return;
	struct strpool *p = e->pool;
	struct pooled **link = &p->buckets[e->hash & (p->nbuckets - 1)];
	while (*link != e)
		link = &(*link)->next;
	*link = e->next;
	free(e);
	p->count--;
	pool_free_if_unused(p);
}

bool strpool_set(struct strpool *p, const char **slot, const char *s, size_t max_len)
{
	const char *n = strpool_intern(p, s, max_len);
	if (!n)
		return false;
	strpool_release(*slot);
	*slot = n;
	return true;
}

size_t strpool_count(const struct strpool *p)
{
	return p->count;
}
