/* scenario.h - the interpreter of the tests/unit/cases/NAME.scn scenario files.
 *
 * A scenario is events in their JSON Lines form (events.md), directives and
 * expectations, read top to bottom against one fresh core:
 *
 *   # comment
 *   @holiday 2025-04-04            calendar CN gets a HOLIDAY (before any event)
 *   @workday 2025-02-08            ... or an adjusted WORKDAY
 *   {"event_id":"e1",...}          applied at now = max(clock, occurred_at)
 *   @advance 2025-03-14T18:21:00+08:00   core_advance: the processing clock moves
 *   @clock 2025-03-14T12:00:00+08:00     the clock of the events that follow (core not advanced)
 *   @ticket T2                     the ticket later expectations look at
 *                                  (default: the first event's ticket)
 *   = verdict APPLIED              of the last event (APPLIED, DUPLICATE, HELD
 *                                  or a dead-letter reason such as MISSING_FIELD)
 *   = milestone DISPATCH 1 BREACHED due=<t> [start=<t>] [stopped=<t>|none] [part=<id>]
 *   = no-milestone RESERVATION
 *   = milestones 3
 *   = violation DISPATCH_LATE 1 CONFIRMED [due=<t>] [observed=<t>] [detected=<t>] [engineer=<id>]
 *   = no-violation CLOCK_TOO_FAR [OCC]   no such violation at all
 *   = no-active-violation DISPATCH_LATE [OCC]   none PROVISIONAL or CONFIRMED (RETRACTED allowed)
 *   = violations 2
 *   = history DISPATCH_LATE 1 PROVISIONAL,CONFIRMED   every status change, in order
 *   = escalation DISPATCH 1 WARNING [at=<t>] [due=<t>] [engineer=<id>]   written exactly once
 *   = no-escalation DISPATCH [OCC [LEVEL]]   none written (any occurrence / level when left out)
 *   = escalations 3                escalations written so far for the ticket
 *   = dead UNKNOWN_TICKET 1        dead letters so far with that reason
 *   = dead 0                       dead letters so far, any reason
 *   = state LEFT                   the ticket's state
 *   = tickets 2                    tickets the core holds
 */
#ifndef SLAD_TEST_SCENARIO_H
#define SLAD_TEST_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

/* Runs one file. On failure returns false with "file:line: why" in err. */
bool scenario_run(const char *path, char *err, size_t errlen);

#endif
