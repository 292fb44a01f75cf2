/* strpool.h - interned strings: the ids many tickets share (partners,
 * engineers, product lines, calendars, part ids), each stored once and
 * reference-counted. Pure.
 *
 * A string lives while something references it: an unbounded stream of
 * distinct ids costs memory only for the ids tickets still hold. Every
 * string knows its pool, so that releasing one needs no pool at hand; the
 * pool itself lives until its last owner and its last string are gone (a
 * scratch core shares its parent's; orphan tickets may outlive their core).
 * The empty string is not pooled: interning "" returns a static "", and
 * releasing it (or NULL) does nothing. Single-threaded, like the core. */
#ifndef SLAD_CORE_STRPOOL_H
#define SLAD_CORE_STRPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct strpool;

/* A new pool with one owner; NULL when out of memory. */
struct strpool *strpool_new(void);
/* Another owner. */
void strpool_hold(struct strpool *p);
/* An owner goes; the pool is freed with its last string. NULL: nothing. */
void strpool_drop(struct strpool *p);
/* A reference to s in the pool (at most max_len bytes of it, as str_copy
 * would keep); NULL when out of memory. */
const char *strpool_intern(struct strpool *p, const char *s, size_t max_len) __attribute__((warn_unused_result));
/* Another reference to an interned string (or ""); returns s. */
const char *strpool_dup(const char *s);
/* Gives a reference back. NULL or "": nothing. */
void strpool_release(const char *s);
/* Replaces *slot's reference with one to s; false when out of memory, and
 * *slot unchanged (a caller that cannot fail keeps the old id, as the core
 * keeps a clock-in it cannot record as seen). */
bool strpool_set(struct strpool *p, const char **slot, const char *s, size_t max_len);
/* The distinct strings held (for tests). */
size_t strpool_count(const struct strpool *p);

/* The static "" every empty id points to. */
extern const char strpool_empty[1];

#endif
