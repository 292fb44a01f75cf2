/* pgarr.h - PostgreSQL array literals ("{...}") built one element at a time,
 * so that one statement over unnest($1::text[], $2::bigint[], ...) writes
 * every row of a kind, whatever the batch size (store.c, store_partners.c);
 * and the one-line error text those modules report.
 *
 * A struct pgarr is one column. It starts zeroed (memset or = {0}) and owns
 * its buffer until arrs_free. Appending never fails on the spot: running out
 * of memory sticks, and arr_finish then returns NULL. Elements go in the
 * text array format, quoted where needed; text is passed as a parameter
 * (never spliced into SQL), so only the array syntax is escaped here. */
#ifndef SLAD_PGARR_H
#define SLAD_PGARR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/timeutil.h"

struct pgarr {
	char *p; /* the literal so far, NUL-terminated; NULL while empty */
	size_t len, cap;
	size_t n; /* elements appended: 0 means no rows */
	bool oom;
	bool bin;     /* a bytea column in PostgreSQL's binary array format (arr_bytea_bin) */
	bool hasnull; /* binary: some element is NULL */
	bool done;    /* arr_finish or copy_finish closed it */
};

/* A NULL element. */
void arr_null(struct pgarr *a);
/* A quoted text element; NULL s is a NULL element. Invalid UTF-8 becomes
 * '?': a byte PostgreSQL would reject must not turn the whole batch into one
 * that can never commit. */
void arr_text(struct pgarr *a, const char *s);
/* An integer element, in decimal. */
void arr_int(struct pgarr *a, int64_t v);
/* sla_time as milliseconds since the epoch; NULL for SLA_TIME_NONE. */
void arr_time(struct pgarr *a, sla_time t);
/* A number with `places` digits after the point ("%.*f"); the caller rounds
 * first if the rounding must be other than printf's. */
void arr_fixed(struct pgarr *a, double v, int places);
/* A bytea element in hex ("\\x0a1b"); NULL p with len > 0 is a NULL element. */
void arr_bytea(struct pgarr *a, const uint8_t *p, size_t len);

/* A bytea element of a column sent in binary (the whole column: every element
 * through this call; NULL p is a NULL element). Large payloads (ticket
 * states, events) then cost PostgreSQL no hex and no array-literal parsing:
 * pass a->len as the parameter's length and format 1 (pipe_send_arrays). */
void arr_bytea_bin(struct pgarr *a, const uint8_t *p, size_t len);

/* PostgreSQL's binary COPY format in the same buffer (docs/storage.md, "The
 * exactly-once commit"): a row is copy_row(a, nfields) followed by exactly
 * nfields copy_* fields; copy_finish adds the trailer. Text is cleaned to
 * valid UTF-8 as arr_text does; NULL s is a NULL field. a->n counts rows. */
void copy_row(struct pgarr *a, int nfields);
void copy_text(struct pgarr *a, const char *s);
void copy_int4(struct pgarr *a, int32_t v);
void copy_int8(struct pgarr *a, int64_t v);
/* timestamptz; NULL for SLA_TIME_NONE. */
void copy_time(struct pgarr *a, sla_time t);
/* jsonb (its binary form: version 1, then the text); NULL s is a NULL field. */
void copy_jsonb(struct pgarr *a, const char *s);
/* bytea; NULL p is a NULL field. */
void copy_bytes(struct pgarr *a, const uint8_t *p, size_t len);
/* An array field: at = copy_array_begin(a), then its n elements by the
 * copy_* calls above (an element is written as a field is), then
 * copy_array_end(a, at, the elements' type oid, n). n > 0. */
size_t copy_array_begin(struct pgarr *a);
void copy_array_end(struct pgarr *a, size_t at, uint32_t elem_oid, uint32_t n);
/* The whole COPY data (a->len bytes), or NULL when out of memory. Closes a:
 * a second call returns the same. */
const char *copy_finish(struct pgarr *a);

/* Closes the literal and returns it, or NULL when out of memory. A second
 * call returns the same (a retried transaction sends it again); the text
 * stays valid, owned by a, until arrs_free. */
const char *arr_finish(struct pgarr *a);
/* Frees the n columns at a and leaves them zeroed (reusable). */
void arrs_free(struct pgarr *a, size_t n);

/* printf into err (when err != NULL and errlen > 0), as one line: libpq
 * messages end in a newline and may span several; ours are one line. */
void pg_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
