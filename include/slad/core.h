/* core.h - the pure SLA core: ticket state machines, milestones, violations.
 *
 * The core takes (state, event, now) and records what changed; it does no
 * I/O and never reads the clock. The daemon, `slactl replay` and the tests
 * drive the same functions. One `struct sla_core` serves one Kafka partition
 * (or one replay): its processing clock is the `now` passed in. */
#ifndef SLAD_CORE_H
#define SLAD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slad/calendar.h"
#include "slad/policy.h"
#include "slad/timeutil.h"
#include "slad/topics.h"
#include "slad/v1/events.pb-c.h"

#define SLA_ID_MAX 64
#define SLA_EVENT_MAX_BYTES (64 * 1024) /* larger messages: OVERSIZE */

/* Input bounds (docs/input-bounds.md): what event_check accepts, so that no
 * event makes the core do work proportional to a time range, and no
 * arithmetic on instants can overflow. */
#define SLA_TIME_MIN ((sla_time)946684800000)  /* 2000-01-01T00:00:00Z */
#define SLA_TIME_MAX ((sla_time)7258118400000) /* 2200-01-01T00:00:00Z, excluded */
#define SLA_SPAN_MAX (1830 * SLA_DAY)          /* any instant field: within 5 years of occurred_at */
#define SLA_SERVICE_PERIOD_MAX (1100 * SLA_DAY) /* RESIDENT service_start_at..service_end_at: 3 years */
#define SLA_LEVEL_MAX 100                      /* skill levels */
#define SLA_PERSON_DAYS_MAX 100000
#define SLA_RISK_SCORE_MAX 1000
#define SLA_TEXT_MAX 1024 /* free text: reasons, evidence references */

/* Outcome of one event. The dead-letter reasons are events.md's codes. */
enum sla_verdict {
	SV_APPLIED = 0,
	SV_DUPLICATE,
	SV_HELD, /* unknown ticket: kept until it is created or the grace passes */
	SV_DECODE_ERROR,
	SV_MISSING_FIELD,
	SV_BAD_VALUE,
	SV_UNKNOWN_TICKET,
	SV_INVALID_TRANSITION,
	SV_TOO_LATE,
	SV_OVERSIZE,
};
/* "DECODE_ERROR", ... or NULL for SV_APPLIED / SV_DUPLICATE / SV_HELD. */
const char *verdict_reason(enum sla_verdict v);
static inline bool verdict_is_dead_letter(enum sla_verdict v) { return v >= SV_DECODE_ERROR; }

enum sla_rule_code {
	RC_MILESTONE_LATE = 0, /* <MILESTONE>_LATE, named by the milestone */
	RC_REJECT_LATE,
	RC_RESERVATION_CHANGED_TOO_LATE,
	RC_RESERVATION_NO_EVIDENCE,
	RC_RESERVATION_BEYOND_SLA,
	RC_START_WITHOUT_AUTH,
	RC_START_OUTSIDE_AUTH,
	RC_LEAVE_OUTSIDE_AUTH,
	RC_AUTH_NOT_END_CUSTOMER,
	RC_CLOCK_NO_LOCATION,
	RC_CLOCK_TOO_FAR,
	RC_CLOCK_SEQUENCE,
	RC_CROSS_DAY_VISIT,
	RC_SIGNATURE_BEFORE_DISPATCH,
	RC_SKILL_MISMATCH,
	RC_PERSON_DAYS_MISMATCH,
	RC_START_BEFORE_PO,
	RC_CHANGE_PLAN_EXPIRED,
	RC_GUARANTOR_LATE,
	RC_CHANGE_VERIFY_TOO_SHORT,
	RC_ATTENDANCE_LATE,
	RC_ATTENDANCE_EARLY_LEAVE,
	RC_ATTENDANCE_MISSING,
	RC_LEAVE_NOT_PRIOR,
	RC_ATTENDANCE_IMPROVEMENT_REQUIRED,
	RC_ATTENDANCE_REPLACEMENT_ELIGIBLE,
	RC_COUNT
};

/* The code's name, e.g. "CLOCK_TOO_FAR"; "" for RC_MILESTONE_LATE. */
const char *rule_code_name(enum sla_rule_code rc);

enum sla_ms_status { MSS_PENDING = 0, MSS_MET, MSS_BREACHED, MSS_CANCELLED };
enum sla_v_status { VS_PROVISIONAL = 0, VS_CONFIRMED, VS_RETRACTED };

enum sla_ticket_state {
	TS_CREATED = 0,
	TS_DISPATCHED,
	TS_ACKNOWLEDGED,
	TS_ASSIGNED,
	TS_RESERVED,
	TS_ON_SITE,
	TS_WORKING,
	TS_PAUSED,
	TS_LEFT,
	TS_CLOSE_REQUESTED,
	TS_CLOSED,
	TS_CANCELLED,
};

const char *ms_status_name(enum sla_ms_status s);
const char *v_status_name(enum sla_v_status s);
const char *ticket_state_name(enum sla_ticket_state s);

enum sla_esc_level { ESC_WARNING = 0, ESC_TIER2, ESC_TIER3 };
const char *esc_level_name(enum sla_esc_level l);

/* 32 bytes: a million open tickets hold three or four each (B3). Its key
 * (spare part id, report period), which few have, is its ticket's:
 * ms_part_id(). */
struct sla_milestone {
	sla_time started_at, due_at, stopped_at; /* stopped_at: SLA_TIME_NONE while open */
	int occurrence;
	uint8_t kind;   /* enum sla_milestone_kind */
	uint8_t status; /* enum sla_ms_status */
	uint8_t flags;  /* MS_ESCALATED(level) for each escalation already written, MS_FIRED */
	bool dirty;
};
#define MS_ESCALATED(level) (1u << (level)) /* enum sla_esc_level */
#define MS_ESCALATIONS 0x07u
#define MS_FIRED 0x80u /* the deadline passed while open */
/* Its sla.milestones row may exist: it was in a batch already, or restored
 * from a saved state, or its ticket re-derived. Not saved; the daemon
 * copies a milestone without it in a batch of new events only (store_batch.c). */
#define MS_WRITTEN 0x40u

/* One clock-in of the ticket, kept in event-time order for the checks that
 * look at visits (sequence, cross-day visits, person-days, verify). */
struct sla_clock {
	sla_time at;
	int kind; /* Slad__V1__ClockKind */
	bool guarantor;
	const char *engineer_id; /* interned */
};

/* A day of resident attendance, kept per working day of the service period that saw events. */
struct sla_attendance {
	int64_t day; /* local date, days since the epoch */
	sla_time first_in, last_out;
	bool leave_approved, leave_prior;
};

struct sla_violation {
	enum sla_rule_code code;
	enum sla_milestone_kind milestone; /* for RC_MILESTONE_LATE */
	int occurrence;
	enum sla_v_status status;
	sla_time due_at, observed_at, detected_at, confirm_at;
	char engineer_id[SLA_ID_MAX + 1];
	char details[192]; /* a JSON object */
	bool dirty;
};

struct sla_auth {
	sla_time granted_at, window_start, window_end;
};

/* An escalation of an open milestone, for sla.escalations and fsm.escalations. */
struct sla_escalation {
	char ticket_id[SLA_ID_MAX + 1];
	char partner_id[SLA_ID_MAX + 1];
	char engineer_id[SLA_ID_MAX + 1];
	enum sla_milestone_kind milestone;
	int occurrence;
	enum sla_esc_level level;
	int32_t partition; /* the ticket's: the outbox sends a partition's rows from the instance that holds it */
	sla_time at, due_at;
};

/* An applied event, for a ticket's timeline (sla.ticket_events). */
struct sla_applied {
	char ticket_id[SLA_ID_MAX + 1];
	char event_id[SLA_ID_MAX + 1];
	int type; /* Slad__V1__EventType */
	sla_time occurred_at, applied_at;
	char topic[64];
	int32_t partition;
	int64_t offset;
	uint8_t *payload; /* the protobuf message, in the out's `bytes` */
	size_t len;
};

/* A ONE_OFF implementer clock-in, for the rules of one engineer across
 * tickets (rules.md 5), which the store evaluates over every instance's. */
struct sla_engclock {
	char engineer_id[SLA_ID_MAX + 1];
	char ticket_id[SLA_ID_MAX + 1];
	char event_id[SLA_ID_MAX + 1];
	char partner_id[SLA_ID_MAX + 1];
	const char *kind; /* "ARRIVE", "START", "LEAVE" */
	sla_time at;
	int64_t local_day; /* in the ticket's calendar, days since the epoch */
};

/* A violation's status change, for sla.violation_history. */
struct sla_history {
	char ticket_id[SLA_ID_MAX + 1];
	char rule_code[48];
	int occurrence;
	enum sla_v_status status;
	sla_time changed_at;
	char cause_event_id[SLA_ID_MAX + 1]; /* empty: the processing clock */
};

/* An event kept for a ticket that does not exist yet. */
struct sla_held {
	char topic[64];
	int32_t partition;
	int64_t offset;
	sla_time occurred_at;
	sla_time expires_at; /* processing time when held + allowed lateness */
	uint8_t *payload; /* the protobuf message, owned */
	size_t len;
};

/* What only some tickets hold: the TICKET_CREATED fields of other ticket
 * types, the later stages (reservation, visits, closure), the clock-ins,
 * attendance days, authorisations, held events and the event log. A ticket
 * gets it (struct sla_ticket.more) when it first needs one of them: a
 * million open tickets that were created, dispatched and assigned carry one
 * pointer instead of these ~200 bytes (B3). Read it with ticket_more(). */
struct sla_ticket_more {
	/* TICKET_CREATED fields the rules of other ticket types read */
	sla_time service_start_at, service_end_at, po_start_at, planned_start_at;
	int required_skill_level, person_days, risk_score; /* -1: not given */
	int shift_start_min, shift_end_min;
	sla_time first_arrive_at;
	sla_time reservation_at;      /* occurred_at of the latest RESERVATION_SET */
	sla_time reservation_appoint; /* its appointment_at */
	sla_time visit_arrive_at;     /* ARRIVE of the visit in progress */
	sla_time plan_approved_at;    /* CHANGE_PLAN_APPROVED */
	sla_time close_requested_at;  /* the first CLOSE_REQUESTED */
	int64_t att_next_day;         /* the next resident day whose end is armed; INT64_MIN: none */
	struct sla_clock *clocks;     /* sorted by at */
	int nclocks, capclocks;
	struct sla_attendance *att;   /* sorted by day */
	int natt, capatt;
	struct sla_auth *auths;
	int nauths, capauths;
	struct sla_held *held;
	int nheld, capheld;
	/* The key of milestone i (the stop event's: spare part id, report
	 * period; interned, "" for none) for i < nkeys: milestones are only
	 * ever appended. */
	const char **ms_keys;
	int nkeys;
	/* The events applied, packed ([u32 length][protobuf]...), in applied
	 * order: re-derived in event-time order when a work-order event arrives
	 * after later events of the ticket (core.c, resequence). Only without a
	 * history source (core_set_history). */
	uint8_t *log;
	size_t loglen, logcap;
	int nlog;
};

/* Every field of a ticket without its struct sla_ticket_more. */
extern const struct sla_ticket_more sla_ticket_more_none;

/* Allocated by the core with its id (ticket_id, last): never copied by
 * value outside it. */
struct sla_ticket {
	/* Fields in order of size, flags last, the enums in a byte each: a
	 * million open tickets (B3): 206 bytes and an id of up to 9 bytes in a
	 * 224-byte malloc chunk (ticket_new allocates up to the id's end). */
	sla_time archive_at; /* when the archive timer is armed for; SLA_TIME_NONE: none */
	/* Ids many tickets share are interned: each points into the core's string
	 * pool (daemon/core/strpool.h), "" when empty, never NULL; only the core
	 * writes them. */
	const char *partner_id;
	const char *engineer_id; /* current implementer */
	const char *calendar_id;
	const char *product_line;
	double site_lat, site_lon;
	sla_time created_at, closed_at, updated_at;
	sla_time required_arrival_at;
	sla_time first_dispatched_at, first_assigned_at;
	sla_time last_assigned_at; /* the running ENGINEER_ASSIGNED (implementer) */
	sla_time last_at;          /* the largest occurred_at applied */
	const struct calendar *cal;
	struct sla_ticket_more *more; /* NULL: every field as in sla_ticket_more_none */
	struct sla_milestone *ms;
	struct sla_violation *vs;
	/* The event ids applied, for duplicates: nseen ids end to end, each its
	 * length and its bytes (ticket_seen_next), not a 65-byte slot each. */
	char *seen;
	uint32_t seenlen, capseen;
	int nms, capms;
	int nvs, capvs;
	int nseen;
	int32_t partition;

	uint8_t type;      /* enum sla_ticket_type */
	uint8_t sla_class; /* enum sla_class */
	uint8_t severity;  /* 0..4 */
	uint8_t state;     /* enum sla_ticket_state */
	bool created;  /* false: a placeholder holding early events */
	bool archived; /* closed, nothing open, archive.after passed: only its id and seen events remain */
	bool site_classified, has_site;
	bool visit_paused;
	bool has_guarantor;
	bool log_complete; /* every applied event is in the log (false: too many, or restored from an older state) */
	bool dirty;      /* the tickets row or the state changed */
	bool in_dirty;   /* already listed in sla_out.dirty */
	bool state_pending; /* listed in sla_out.pending: its state changed since it was last written */
	char ticket_id[]; /* at most SLA_ID_MAX bytes, stored exactly (B3) */
};

/* A ticket's less common fields (struct sla_ticket_more): never NULL. */
static inline const struct sla_ticket_more *ticket_more(const struct sla_ticket *t)
{
	return t->more ? t->more : &sla_ticket_more_none;
}

/* The key of t->ms[i] (spare part id, report period), "" when it has none. */
static inline const char *ms_part_id(const struct sla_ticket *t, int i)
{
	const struct sla_ticket_more *x = ticket_more(t);
	return i < x->nkeys ? x->ms_keys[i] : "";
}

/* A ticket's applied event ids in order: *pos starts at 0; NULL after the last. */
const char *ticket_seen_next(const struct sla_ticket *t, size_t *pos);

/* What a batch changed. The store writes the dirty tickets' rows (the
 * ticket, its dirty milestones and violations, its state), the history and
 * the dead letters, then calls core_out_clear(). */
struct sla_dead {
	char topic[64];
	int32_t partition;
	int64_t offset;
	enum sla_verdict reason;
	char detail[256];
	uint8_t *payload; /* owned */
	size_t len;
};

struct sla_out {
	struct sla_ticket **dirty;
	size_t ndirty, capdirty;
	struct sla_escalation *esc;
	size_t nesc, capesc;
	struct sla_applied *applied;
	size_t napplied, capapplied;
	struct sla_engclock *eng;
	size_t neng, capeng;
	struct sla_history *hist;
	size_t nhist, caphist;
	struct sla_dead *dead;
	size_t ndead, capdead;
	/* Rows a re-derived ticket no longer has (owned): their milestones
	 * CANCELLED, their violations RETRACTED; written before the tickets. */
	struct sla_ticket **orphans;
	size_t norphans, caporphans;
	/* Checkpoints. With defer_state, a batch writes the dirty tickets'
	 * rows but not their states: core_out_clear lists them in `pending`
	 * (kept across batches), and core_out_take_states moves every pending
	 * ticket, and the batch's dirty ones, to `states`, written with that
	 * batch (docs/architecture.md, "State checkpoints"). */
	bool defer_state;
	/* Set by the caller before a commit: no applied event of the batch can
	 * have its sla.ticket_events row yet (none is applied again after a
	 * restore), so they go by COPY (store_batch.c). */
	bool applied_new;
	struct sla_ticket **states;
	size_t nstates, capstates;
	struct sla_ticket **pending;
	size_t npending, cappending;
	/* The applied events' payloads, one block after another (newest first),
	 * emptied by core_out_clear: no malloc and free per event. */
	struct sla_bytes *bytes;
};

void core_out_init(struct sla_out *out);
/* Resets dirty flags and empties the lists (after a commit). */
void core_out_clear(struct sla_out *out);
void core_out_free(struct sla_out *out);
/* Lists in out->states every ticket whose state is to be written with this
 * batch: the pending ones and the batch's dirty ones. False: out of memory
 * (nothing listed). */
bool core_out_take_states(struct sla_out *out) __attribute__((warn_unused_result));
/* Drops every reference `out` holds to the tickets of `partition` (before
 * their core is freed): their pending states are lost, as is the batch. */
void core_out_forget_partition(struct sla_out *out, int32_t partition);
/* Adds a dead letter (copies payload and detail). */
bool core_out_dead(struct sla_out *out, const char *topic, int32_t partition, int64_t offset,
		   enum sla_verdict reason, const char *detail, const uint8_t *payload, size_t len);

/* Where an event came from; payload is its protobuf encoding. */
struct sla_origin {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const uint8_t *payload;
	size_t len;
	/* The wall clock when slad applies it live (clock.source auto), else 0: a held
	 * event's grace counts from it as well as from the processing clock, so that its
	 * work order, fetched apart from it, still finds it (docs/architecture.md, Ordering). */
	sla_time wall_at;
};

struct sla_core;

/* Where a ticket's applied events come from when a late work-order event
 * makes the core re-derive it (docs/architecture.md, "Late work orders"):
 * every event the ticket applied, packed as [u32 little-endian length]
 * [protobuf]..., in applied order (more is fine: the core takes those the
 * ticket has seen, once each). *log is the caller's, freed by the core.
 * False: not available (the event is then applied as it comes). */
typedef bool (*sla_history_fn)(void *arg, const char *ticket_id, uint8_t **log, size_t *len);

/* Borrows pol and cals: they must outlive the core (or be swapped with
 * core_set_config). */
struct sla_core *core_new(const struct sla_policy *pol, const struct calendar_set *cals);
void core_free(struct sla_core *core);
void core_set_config(struct sla_core *core, const struct sla_policy *pol, const struct calendar_set *cals);
/* With a history source the core keeps no event log, in memory or in the
 * saved state: the archive (sla.ticket_events) has the events. Without one
 * (the default) every ticket keeps its log in memory and in its state. */
void core_set_history(struct sla_core *core, sla_history_fn fn, void *arg);

/* Decodes and checks one message. On success *ev is set (free it with
 * sla_event_free, never with slad__v1__event__free_unpacked: it lives in one
 * arena). detail explains a failure. */
enum sla_verdict event_decode(const uint8_t *buf, size_t len, Slad__V1__Event **ev, char *detail,
			      size_t detail_len);
/* Frees an event of event_decode (NULL: nothing). */
void sla_event_free(Slad__V1__Event *ev);
/* Checks the fields an event type requires (events.md). */
enum sla_verdict event_check(const Slad__V1__Event *ev, char *detail, size_t detail_len);
/* Everything the daemon checks before it applies a message, for the tools
 * (slactl publish, replay): event_decode, event_check, assessment_check for
 * assessments, and occurred_at not after future_limit (the wall clock plus a
 * day; SLA_TIME_NONE: no limit). */
enum sla_verdict event_validate(const uint8_t *buf, size_t len, sla_time future_limit, char *detail,
				size_t detail_len);
/* What the daemon decides of a message from topic before the core applies it:
 * event_decode; the topic carries the event's type (clock-ins on the clock-ins
 * topic, assessments on the assessments topic, every other type on the
 * work-orders topic); occurred_at not after future_limit (the wall clock plus
 * a day; SLA_TIME_NONE: no limit); and an assessment's fields (work orders and
 * clock-ins are checked by core_apply). *ev is the decoded event whenever it
 * decoded, whatever the verdict (free it with sla_event_free), else NULL. */
enum sla_verdict event_classify(enum sla_topic topic, const uint8_t *buf, size_t len, sla_time future_limit,
				Slad__V1__Event **ev, char *detail, size_t detail_len);
/* An instant in [SLA_TIME_MIN, SLA_TIME_MAX). */
bool sla_instant_ok(sla_time t);
/* Well-formed UTF-8 (RFC 3629). */
bool utf8_valid(const uint8_t *s, size_t n);

/* Applies one decoded, checked event at processing time `now`: first lets
 * the clock pass every deadline up to `now`, then applies the event. A
 * dead-letter verdict has been recorded in `out` already. */
enum sla_verdict core_apply(struct sla_core *core, const Slad__V1__Event *ev, const struct sla_origin *origin,
			    sla_time now, struct sla_out *out);
/* Decodes, checks and applies; records dead letters in `out`. */
enum sla_verdict core_apply_raw(struct sla_core *core, const struct sla_origin *origin, sla_time now,
				struct sla_out *out);
/* Moves the processing clock to `now`: fires deadlines, confirms. */
void core_advance(struct sla_core *core, sla_time now, struct sla_out *out);
/* The earliest pending timer, or SLA_TIME_NONE. */
sla_time core_next_due(const struct sla_core *core);

size_t core_ticket_count(const struct sla_core *core);
size_t core_timer_count(const struct sla_core *core);
const struct sla_ticket *core_find(const struct sla_core *core, const char *ticket_id);

/* Ticket state as bytes (sla.ticket_state.state), and back. */
bool ticket_encode(const struct sla_ticket *t, uint8_t **buf, size_t *len) __attribute__((warn_unused_result));
/* ticket_encode in an earlier codec version (5: fixed 8-byte integers; 6:
 * varints, whole seen ids), or the current one (7): what tests of older
 * saved states need. */
bool ticket_encode_version(const struct sla_ticket *t, int version, uint8_t **buf, size_t *len)
	__attribute__((warn_unused_result));
bool core_restore(struct sla_core *core, const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/* "DISPATCH_LATE", "CLOCK_TOO_FAR", ... into buf. */
const char *violation_code(const struct sla_violation *v, char *buf, size_t len);

#endif
