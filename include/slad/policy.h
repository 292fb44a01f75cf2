/* policy.h - SLA policies: which milestone applies to which ticket, with which deadline. Pure. */
#ifndef SLAD_POLICY_H
#define SLAD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "slad/timeutil.h"

enum sla_ticket_type {
	TT_NONE = 0,
	TT_MAINTENANCE,
	TT_INSPECTION,
	TT_RECTIFICATION,
	TT_ONE_OFF,
	TT_RESIDENT,
	TT_CHANGE,
	TT_INCIDENT,
	TT_COUNT
};

enum sla_class { SC_ANY = 0, SC_HOURLY = 1, SC_NON_HOURLY = 2 };

enum sla_milestone_kind {
	MS_DISPATCH = 0,
	MS_RESPONSE,
	MS_SPARE_CONFIRM,
	MS_RESERVATION,
	MS_ARRIVAL,
	MS_DIAGNOSIS,
	MS_SOLUTION,
	MS_CLOSURE,
	MS_SPARE_RETURN,
	MS_WEEKLY_REPORT,
	MS_MONTHLY_REPORT,
	MS_CHANGE_REVIEW,
	MS_GUARANTOR_COMPLETE,
	MS_RETROSPECTIVE,
	MS_COUNT
};

enum sla_deadline_kind {
	DL_NONE = 0,
	DL_WITHIN,
	DL_OFFICE_HOURS,
	DL_RESPONSE_DAY,
	DL_WORKING_DAYS,
	DL_NATURAL_DAYS,
	DL_AT,
	DL_BUSINESS_MINUTES
};

/* The ticket field an AT deadline reads. */
enum sla_at_field {
	AF_NONE = 0,
	AF_REQUIRED_ARRIVAL, /* required_arrival_at */
	AF_EFFECTIVE_ARRIVAL, /* the latest reservation's appointment_at, else required_arrival_at */
	AF_SERVICE_START,    /* service_start_at */
	AF_PLANNED_START,    /* planned_start_at */
};

struct sla_deadline {
	enum sla_deadline_kind kind;
	int amount;               /* minutes or days; unused by AT and RESPONSE_DAY */
	enum sla_at_field field;  /* AT: which field */
	int offset_days;          /* AT: added to the field (negative: before it) */
	int lead_days;            /* AT: when field - first dispatch > lead_days, due = field - lead_days */
};

/* One row of rules.md section 3: milestone x ticket type x class x severity. */
struct sla_policy_rule {
	enum sla_milestone_kind milestone;
	uint32_t ticket_types; /* bit mask of 1u << enum sla_ticket_type */
	enum sla_class sla_class;
	int severity;          /* 0 = any, 1..4 = I..IV */
	int risk_min, risk_max; /* CHANGE risk_score range; 0, 0 = any */
	struct sla_deadline deadline;
};

/* The thresholds of rules.md sections 1, 4 and 6. */
struct sla_thresholds {
	int reject_late_min_hourly;       /* REJECT_LATE for HOURLY and INCIDENT */
	int reject_late_min_other;        /* REJECT_LATE for the others */
	int change_plan_valid_days;       /* CHANGE_PLAN_EXPIRED */
	int change_verify_min;            /* CHANGE_VERIFY_TOO_SHORT */
	int warning_pct;                  /* escalation WARNING at this % of the allowance */
	int attendance_improvement_month; /* ATTENDANCE_IMPROVEMENT_REQUIRED: more than this in a month */
	int attendance_replacement_3m;    /* ATTENDANCE_REPLACEMENT_ELIGIBLE: more than this in 3 months */
};

struct sla_policy {
	struct sla_policy_rule *rules;
	int nrules;
	struct sla_thresholds th;
	sla_time lateness_allowed;    /* PROVISIONAL -> CONFIRMED (configuration lateness.allowed) */
	sla_time archive_after;       /* closed, nothing open: archived after this (configuration archive.after) */
	double clock_max_distance_km; /* CLOCK_TOO_FAR */
	char version[17];             /* content hash, hex */
};

/* Recomputes pol->version from its content (after changing a copy). */
void policy_finalize(struct sla_policy *pol);
/* The defaults of rules.md, compiled in. Static storage; never freed. */
const struct sla_policy *policy_defaults(void);
/* The deadline of a milestone for a ticket, or NULL when it does not apply. */
const struct sla_deadline *policy_deadline(const struct sla_policy *pol, enum sla_milestone_kind ms,
					   enum sla_ticket_type tt, enum sla_class sc, int severity, int risk_score);

const char *milestone_name(enum sla_milestone_kind ms);
const char *ticket_type_name(enum sla_ticket_type tt);
const char *sla_class_name(enum sla_class sc);

#endif
