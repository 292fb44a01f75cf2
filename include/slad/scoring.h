/* scoring.h - partner assessment (scoring.md), pure: the quarterly score from
 * ASSESSMENT events, the partner qualification timers, and a partner's state
 * as bytes.
 *
 * Like the ticket core, this takes (state, event, now) and records what
 * changed; it does no I/O and never reads the clock. One `struct partners`
 * holds the partners of one Kafka partition of fsm.assessments (or of one
 * replay). The shell drives it with partners_apply / partners_advance /
 * partners_next_due and writes what `struct partners_out` lists in the same
 * transaction as the Kafka offsets (store_partners.h). docs/scoring.md says
 * how every item is computed and what was chosen where the spec is silent. */
#ifndef SLAD_SCORING_H
#define SLAD_SCORING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/core.h"
#include "slad/timeutil.h"

#define SCORE_QUARTER_MAX 7 /* "2025Q2" */
#define SCORE_PASS_TOTAL 70.0
/* State older than this (event time, behind the partner's latest event) is
 * forgotten: seen event ids, closed quarters, finished timers. An event that
 * old is dead-lettered as TOO_LATE. */
#define PARTNER_RETAIN (730 * SLA_DAY)

/* ---- the score of one quarter ---- */

enum score_verdict { SCORE_PASS = 0, SCORE_DOWNGRADE };
const char *score_verdict_name(enum score_verdict v); /* "PASS", "DOWNGRADE" */

/* Points as computed (not rounded: round with score_round2 when storing). */
struct score {
	double major_projects;   /* 0..30 */
	double satisfaction;     /* 0..25 */
	double rep_office;       /* 0..10 */
	double ecr;              /* 0..15 */
	double training_online;  /* 0..10 */
	double training_offline; /* 0..10 */
	double key_events;       /* signed, not capped */
	double total;
	enum score_verdict verdict;
};

/* The callbacks of attempts 1..4 (index 0 unused); result 0 = none. */
#define SCORE_ATTEMPTS 4
struct score_project {
	char project_id[SLA_ID_MAX + 1];
	bool has_score;
	double score;      /* the latest MAJOR_PROJECT_SCORE */
	sla_time score_at; /* its occurred_at */
	Slad__V1__CallbackResult cb_result[SCORE_ATTEMPTS + 1];
	sla_time cb_at[SCORE_ATTEMPTS + 1];
};

/* What one quarter's ASSESSMENT events add up to: the input of score_compute. */
struct score_quarter {
	char quarter[SCORE_QUARTER_MAX + 1];
	struct score_project *projects;
	int nprojects, capprojects;
	double deduction_points; /* sum of REP_OFFICE_DEDUCTION points */
	int ndeductions;
	int64_t consultations; /* sum of SIMPLE_ISSUE_CONSULTATIONS counts */
	bool has_ecr;          /* ECR_COUNTS: the latest snapshot */
	int64_t ecr_simple, ecr_total;
	sla_time ecr_at;
	bool has_online; /* TRAINING: the latest snapshot of each pair */
	int64_t online_completed, online_required;
	sla_time online_at;
	bool has_offline;
	int64_t offline_completed, offline_required;
	sla_time offline_at;
	double key_event_points; /* sum of KEY_EVENT points */
	int nkey_events;
};

/* Every item, the total and the verdict of scoring.md. */
void score_compute(const struct score_quarter *q, struct score *s);
/* Half away from zero at 2 places, as PostgreSQL's round(numeric, 2), and
 * robust to binary representation (2.675 -> 2.68). Only for storing. */
double score_round2(double x);
/* "2025Q2" -> 2025 * 4 + 1; -1 when malformed. */
int score_quarter_index(const char *quarter);

/* ---- qualification timers ---- */

enum partner_event_code {
	PE_CERT_EXPIRY_REMINDER = 0,
	PE_CERT_EXPIRED_DOWNGRADE,
	PE_KEY_PERSON_BUFFER_EXPIRED,
	PE_KEY_PERSON_UNDECLARED,
	PE_COUNT
};
const char *partner_event_code_name(enum partner_event_code c);

/* t plus `months` calendar months in local time (UTC+8, as the views), the
 * day of month clamped to the target month's length, same time of day. */
sla_time partners_add_months(sla_time t, int months);

struct partner_cert {
	char cert_id[SLA_ID_MAX + 1];
	char engineer_id[SLA_ID_MAX + 1];
	sla_time registered_at; /* SLA_TIME_NONE: only a replacement is known */
	sla_time expires_at;
	sla_time replaced_at; /* SLA_TIME_NONE: not replaced */
	bool reminder_fired, expired_fired;
	sla_time reminder_due; /* when the reminder fired (its row's `at`) */
};

struct partner_departure {
	char engineer_id[SLA_ID_MAX + 1];
	sla_time departed_at;
	bool declared;
	sla_time replaced_at; /* SLA_TIME_NONE: not replaced */
	char replaced_by[SLA_ID_MAX + 1]; /* the engineer_id of the KEY_PERSON_REPLACED */
	bool fired;
};

/* A KEY_PERSON_REPLACED that matched no departure yet (it came first). */
struct partner_replacement {
	char engineer_id[SLA_ID_MAX + 1];
	sla_time at;
};

struct partner_quarter {
	struct score_quarter in;
	bool closed; /* QUARTER_CLOSED arrived: later events rewrite the score */
	sla_time closed_at;
};

struct partner_seen {
	char event_id[SLA_ID_MAX + 1];
	uint64_t hash;
	sla_time occurred_at;
};

struct partner {
	char partner_id[SLA_ID_MAX + 1];
	int32_t partition;
	sla_time latest_at; /* the largest occurred_at applied: the retention horizon follows it */
	int dropped_before; /* quarters with index <= this were forgotten; -1: none */
	struct partner_quarter *quarters;
	int nquarters, capquarters;
	struct partner_seen *seen;
	int nseen, capseen;
	struct partner_cert *certs;
	int ncerts, capcerts;
	struct partner_departure *deps;
	int ndeps, capdeps;
	struct partner_replacement *repl;
	int nrepl, caprepl;

	/* Not part of the encoded state. */
	sla_time queued_at; /* the heap entry that counts for it; SLA_TIME_NONE: none */
	bool in_dirty;
};

/* ---- outputs ---- */

/* A score to write: sla.partner_scores (current) and its history. */
struct score_row {
	char partner_id[SLA_ID_MAX + 1];
	char quarter[SCORE_QUARTER_MAX + 1];
	struct score score;
	sla_time computed_at; /* processing time */
};

/* A sla.partner_events row, keyed by (partner_id, code, subject_id, at). A
 * later row with the same key replaces it (retracted_at set or cleared). */
struct partner_event_row {
	char partner_id[SLA_ID_MAX + 1];
	enum partner_event_code code;
	char subject_id[SLA_ID_MAX + 1]; /* certificate or engineer */
	sla_time at;                     /* when the rule triggered (event time) */
	sla_time retracted_at; /* processing time a late event withdrew it; SLA_TIME_NONE: stands */
	char details[256];     /* a JSON object */
};

/* What a batch changed. The store writes the scores, the partner events and
 * the state of every dirty partner, then the caller calls partners_out_clear
 * (after the commit, whatever its outcome, before freeing any partners). */
struct partners_out {
	struct partner **dirty;
	size_t ndirty, capdirty;
	struct score_row *scores;
	size_t nscores, capscores;
	struct partner_event_row *events;
	size_t nevents, capevents;
	bool oom; /* an output was lost for want of memory: treat the batch as failed */
};

void partners_out_init(struct partners_out *out);
void partners_out_clear(struct partners_out *out);
void partners_out_free(struct partners_out *out);
static inline bool partners_out_empty(const struct partners_out *out)
{
	return out->ndirty == 0 && out->nscores == 0 && out->nevents == 0;
}

/* ---- the partners of one partition ---- */

struct partners;

struct partners *partners_new(int32_t partition);
void partners_free(struct partners *ps); /* accepts NULL */

/* Checks the kind-specific fields of an ASSESSMENT (events.md) beyond what
 * event_check does. SV_APPLIED, SV_MISSING_FIELD or SV_BAD_VALUE. */
enum sla_verdict assessment_check(const Slad__V1__Event *ev, char *detail, size_t detail_len);

/* Applies one decoded ASSESSMENT event at processing time `now`: first lets
 * the clock pass every timer due at or before `now`, then checks and applies
 * the event. Returns SV_APPLIED, SV_DUPLICATE (same event_id seen for this
 * partner), or a dead-letter verdict with `detail` (MISSING_FIELD,
 * BAD_VALUE, TOO_LATE: older than PARTNER_RETAIN); the caller writes the
 * dead letter (core_out_dead). */
enum sla_verdict partners_apply(struct partners *ps, const Slad__V1__Event *ev, sla_time now,
				struct partners_out *out, char *detail, size_t detail_len);
/* Moves the processing clock to `now`: fires the timers due at or before it. */
void partners_advance(struct partners *ps, sla_time now, struct partners_out *out);
/* The earliest pending timer, or SLA_TIME_NONE. May be early (a timer that
 * was cancelled since), never late. */
sla_time partners_next_due(const struct partners *ps);

size_t partners_count(const struct partners *ps);
size_t partners_timer_count(const struct partners *ps);
const struct partner *partners_find(const struct partners *ps, const char *partner_id);
/* The quarter of a partner, or NULL. */
const struct partner_quarter *partner_find_quarter(const struct partner *p, const char *quarter);

/* A partner's state as bytes (sla.partner_state.state), and back. Restoring
 * re-arms its timers; a partner already present is left as it is. */
bool partner_encode(const struct partner *p, uint8_t **buf, size_t *len) __attribute__((warn_unused_result));
bool partners_restore(struct partners *ps, const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

#endif
