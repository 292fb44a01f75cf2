/* core_internal.h - what the core's own files share: the core object, its timer kinds, ticket helpers. */
#ifndef SLAD_CORE_INTERNAL_H
#define SLAD_CORE_INTERNAL_H

#include <string.h>

#include "deadlines.h"
#include "idtable.h"
#include "subjects.h"
#include "strpool.h"
#include "slad/core.h"

enum timer_kind {
	TK_DEADLINE = 0, /* a milestone's due time (also TIER2) */
	TK_CONFIRM,      /* a provisional violation's confirmation */
	TK_HELD,         /* a held event's grace */
	TK_WARNING,      /* 80 % of a milestone's allowance */
	TK_TIER3,        /* due + allowance */
	TK_ATTENDANCE,   /* 24:00 local of a resident working day: idx = day offset from service start */
	TK_ARCHIVE,      /* archive.after passed since the ticket closed and its last milestone ended */
};

/* A ticket's timer is a struct deadline (deadlines.h): subject.ticket, kind
 * an enum timer_kind. */
struct sla_core {
	const struct sla_policy *pol;
	const struct calendar_set *cals;
	struct calendar fallback_cal; /* CN without holidays, when the set lacks one */
	struct subjects s;            /* struct sla_ticket by ticket_id; stale timers: rules_timer_live */
	struct strpool *ids;          /* the tickets' interned ids; a scratch core shares its parent's */
	bool replaying; /* a scratch core re-deriving one ticket (core.c, resequence): no nesting */
	sla_history_fn history; /* NULL: tickets keep their event log in memory */
	void *history_arg;
	void *spare; /* an event's arena block, for the next (event_decode_in) */
};

/* event_decode.c */
/* event_decode into *spare (an earlier event's block, taken when big enough;
 * spare NULL: none). */
enum sla_verdict event_decode_in(const uint8_t *buf, size_t len, void **spare, Slad__V1__Event **ev, char *detail,
				 size_t detail_len);
/* sla_event_free, its first block kept in *spare when that is empty; free(*spare) frees it. */
void sla_event_recycle(Slad__V1__Event *ev, void **spare);

/* snprintf(dst, n, "%s", src) without printf's cost (hot: every event copies
 * ids): at most n - 1 bytes, always terminated. n > 0. */
static inline void str_copy(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ticket.c */
/* A placeholder ticket (calendar "CN", interned in ids); NULL when out of memory. */
struct sla_ticket *ticket_new(struct strpool *ids, const char *ticket_id);
/* A struct sla_ticket; accepts NULL. void * as free() takes, so the id table frees with it. */
void ticket_free(void *ticket);
/* t->more, allocated (as sla_ticket_more_none) if the ticket has none yet; NULL: out of memory. */
struct sla_ticket_more *ticket_more_mut(struct sla_ticket *t) __attribute__((warn_unused_result));
/* Sets the key of t->ms[i] (ms_part_id), interned in ids; false: out of memory. */
bool ticket_set_ms_key(struct strpool *ids, struct sla_ticket *t, int i, const char *key)
	__attribute__((warn_unused_result));
/* Frees what a ticket owns, not the ticket itself. */
void ticket_release(struct sla_ticket *t);
/* The log of applied events (struct sla_ticket.log): at most this much. */
#define TICKET_LOG_MAX_EVENTS 512
#define TICKET_LOG_MAX_BYTES (96 * 1024)
bool ticket_log_event(struct sla_ticket *t, const uint8_t *payload, size_t len) __attribute__((warn_unused_result));
/* The next logged event from *pos (start at 0), or NULL at the end. */
const uint8_t *ticket_log_next(const struct sla_ticket *t, size_t *pos, size_t *len);
/* The same over a packed log ([u32 little-endian length][protobuf]...). */
const uint8_t *log_next(const uint8_t *log, size_t loglen, size_t *pos, size_t *len);
/* Hands out an orphan (rows a re-derived ticket no longer has) to the store. */
bool out_orphan(struct sla_out *out, struct sla_ticket *orphan) __attribute__((warn_unused_result));
/* An archived ticket keeps only its id and the event ids it saw. */
void ticket_compact(struct sla_ticket *t);
bool ticket_seen(const struct sla_ticket *t, const char *event_id);
bool ticket_add_seen(struct sla_ticket *t, const char *event_id) __attribute__((warn_unused_result));
struct sla_milestone *ticket_add_milestone(struct sla_ticket *t, enum sla_milestone_kind kind);
struct sla_violation *ticket_add_violation(struct sla_ticket *t, enum sla_rule_code code);
bool ticket_add_auth(struct sla_ticket *t, const struct sla_auth *a) __attribute__((warn_unused_result));
bool ticket_add_held(struct sla_ticket *t, const struct sla_held *h) __attribute__((warn_unused_result));
bool ticket_add_clock(struct sla_ticket *t, const struct sla_clock *c) __attribute__((warn_unused_result));
struct sla_attendance *ticket_attendance(struct sla_ticket *t, int64_t day);
bool out_applied(struct sla_out *out, const Slad__V1__Event *ev, const struct sla_origin *origin, sla_time now);
/* Room for len more bytes in out->bytes (out_bytes_take then cannot fail). */
bool out_bytes_reserve(struct sla_out *out, size_t len) __attribute__((warn_unused_result));
/* len bytes of out->bytes, reserved first. */
uint8_t *out_bytes_take(struct sla_out *out, size_t len);
bool out_engclock(struct sla_out *out, const struct sla_ticket *t, const char *engineer_id, const char *event_id,
		  const char *kind, sla_time at);
bool out_escalation(struct sla_out *out, const struct sla_ticket *t, const struct sla_milestone *m,
		    enum sla_esc_level level, sla_time at);
void ticket_mark_dirty(struct sla_out *out, struct sla_ticket *t);
bool out_history(struct sla_out *out, const struct sla_ticket *t, const struct sla_violation *v, sla_time at,
		 const char *cause_event_id);

/* core.c */
/* Fails only when out of memory: the timer is then re-armed on restore. */
bool core_timer_push(struct sla_core *core, sla_time at, struct sla_ticket *t, enum timer_kind kind, int idx);
struct sla_ticket *core_ticket_get(struct sla_core *core, const char *ticket_id);
bool core_ticket_put(struct sla_core *core, struct sla_ticket *t) __attribute__((warn_unused_result));
const struct calendar *core_calendar(struct sla_core *core, const char *id);

/* rules.c */
enum sla_verdict rules_apply(struct sla_core *core, struct sla_ticket *t, const Slad__V1__Event *ev, sla_time now,
			     struct sla_out *out, char *detail, size_t detail_len);
void rules_fire(struct sla_core *core, const struct deadline *e, sla_time now, struct sla_out *out);
/* Whether a timer entry would still do something when it fires (false: stale,
 * its milestone met or moved; dropped when the heap is compacted). */
bool rules_timer_live(const struct sla_core *core, const struct deadline *e);
/* Re-arms the timers of a restored ticket. */
bool rules_rearm(struct sla_core *core, struct sla_ticket *t) __attribute__((warn_unused_result));

#endif
