/* partners_internal.h - what the partner engine's files share: partners.c (the partners of a partition,
 * assessments, quarters), qualifications.c (certificates and key persons, their timers) and
 * partner_codec.c (a partner's state as bytes). Pure. */
#ifndef SLAD_PARTNERS_INTERNAL_H
#define SLAD_PARTNERS_INTERNAL_H

#include "deadlines.h"
#include "idtable.h"
#include "subjects.h"
#include "slad/scoring.h"

#define COUNT_MAX 1000000000000000LL /* counts beyond this are not counts */

/* The partners of a partition: table and timer heap. */
struct partners {
	int32_t partition;
	struct subjects s; /* struct partner by partner_id; one live timer per partner: the one at its queued_at */
};

static inline bool is_qualification(Slad__V1__AssessmentKind k)
{
	return k == SLAD__V1__ASSESSMENT_KIND__CERT_REGISTERED || k == SLAD__V1__ASSESSMENT_KIND__CERT_REPLACED ||
	       k == SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_DEPARTED || k == SLAD__V1__ASSESSMENT_KIND__KEY_PERSON_REPLACED;
}

/* partners.c */
struct partner *partner_new(const char *partner_id, int32_t partition);
void partner_free(void *partner); /* a struct partner; accepts NULL; void * as for ticket_free */
struct partner *partner_get(const struct partners *ps, const char *partner_id);
bool partner_put(struct partners *ps, struct partner *p) __attribute__((warn_unused_result));
/* A quarter (a project of a quarter), added when new; NULL when out of memory. */
struct partner_quarter *partner_quarter_get(struct partner *p, const char *quarter);
struct score_project *quarter_project_get(struct score_quarter *q, const char *project_id);
bool partner_add_seen(struct partner *p, const char *event_id, sla_time occurred_at)
	__attribute__((warn_unused_result));
/* Queues the partner's next timer in the heap (one live entry per partner). */
void partners_requeue(struct partners *ps, struct partner *p);
void partner_mark_dirty(struct partners_out *out, struct partner *p);
/* A new zeroed row at the end of one of out's lists (rows, *cap, *n); NULL (and out->oom) when out of memory. */
void *partners_out_slot(struct partners_out *out, void **rows, size_t *cap, size_t *n, size_t size);

/* qualifications.c */
/* A certificate by id; with create, added when new (NULL when out of memory). */
struct partner_cert *partner_cert_get(struct partner *p, const char *cert_id, bool create);
/* Applies a CERT_* or KEY_PERSON_* assessment; false when out of memory. */
bool qualifications_apply(struct partner *p, const Slad__V1__Assessment *a, sla_time at, sla_time now,
			  struct partners_out *out);
/* The earliest pending timer, or SLA_TIME_NONE; how many are pending. */
sla_time qualifications_next_due(const struct partner *p);
int qualifications_timer_count(const struct partner *p);
/* Fires every timer of p due at or before now. */
void qualifications_fire(struct partner *p, sla_time now, struct partners_out *out);
/* Forgets the certificates, departures and replacements that lie beyond the horizon and have nothing pending. */
void qualifications_prune(struct partner *p, sla_time horizon);

#endif
