/* suites.h - the Check suites of the unit runner, one per core module. */
#ifndef SLAD_TEST_SUITES_H
#define SLAD_TEST_SUITES_H

#include <check.h>

Suite *timeutil_suite(void);   /* timeutil.c: civil dates, RFC 3339 */
Suite *calendar_suite(void);   /* calendar.c: local time, working days, calendar deadline kinds */
Suite *policy_suite(void);     /* policy.c: the defaults of rules.md section 3 */
Suite *event_suite(void);      /* event_check.c: decoding and required fields */
Suite *rules_suite(void);      /* rules.c, milestones.c, violations.c, checks.c, in C */
Suite *core_suite(void);       /* core.c: clock, timers, duplicates, dead letters, held events */
Suite *codec_suite(void);      /* codec.c: ticket state as bytes and back */
Suite *scenarios_suite(void);  /* cases/NAME.scn: rules.md scenarios as data */
Suite *hardening_suite(void); /* bad input at the raw entry point: dead letters, never a crash */
Suite *scoring_suite(void);    /* score.c, partners.c, qualifications.c, partner_codec.c, assessment_check.c */
Suite *deadlines_suite(void);  /* deadlines.c: the one deadline heap, stale entries */
Suite *idtable_suite(void);    /* idtable.c: tickets and partners by id */
Suite *engine_suite(void);     /* engine.c: one engine per partition, tickets and partners */
Suite *strpool_suite(void);    /* strpool.c: interned, reference-counted ids */

#endif
