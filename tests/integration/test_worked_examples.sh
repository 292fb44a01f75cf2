#!/usr/bin/env bash
# Worked examples 1, 2 and 4 of rules.md through Kafka and the daemon:
# the exact milestone and violation rows, and a duplicate that changes nothing.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 3
"$BIN/slad" migrate >/dev/null
DATA="$SRC/tests/integration/data/worked_examples.jsonl"
N=$(grep -c . "$DATA")
# Published before slad starts: a backlog, consumed on event time (rules.md 1,
# "Processing clock"); historical events arriving live would be judged late.
"$BIN/slactl" publish "$DATA" 2>>"$WORK/publish.log"
slad_start slad SLAD_LOG_LEVEL=debug
poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 30

# Example 1: dispatched Fri 17:50, due 18:20, assigned 18:25.
assert_eq "example 1 DISPATCH" \
	"$(q "SELECT status, due_at, stopped_at FROM sla.milestones WHERE ticket_id='EX1' AND milestone='DISPATCH'")" \
	"BREACHED|2025-03-14 18:20:00+08|2025-03-14 18:25:00+08"
assert_eq "example 1 DISPATCH_LATE" \
	"$(q "SELECT status, observed_at, milestone, occurrence, engineer_id, partner_id FROM sla.violations WHERE ticket_id='EX1' AND rule_code='DISPATCH_LATE'")" \
	"CONFIRMED|2025-03-14 18:25:00+08|DISPATCH|1|E7|P1"
assert_eq "example 1 history" \
	"$(q "SELECT string_agg(h.status, ',' ORDER BY h.changed_at, h.status DESC) FROM sla.violation_history h JOIN sla.violations v USING (violation_id) WHERE v.ticket_id='EX1'")" \
	"PROVISIONAL,CONFIRMED"

# Example 2: dispatched 19:10, due Sat 09:00, assigned Sat 08:55.
assert_eq "example 2 DISPATCH" \
	"$(q "SELECT status, due_at FROM sla.milestones WHERE ticket_id='EX2' AND milestone='DISPATCH'")" \
	"MET|2025-03-15 09:00:00+08"
q "SELECT v.rule_code, v.status, v.detected_at, h.status, h.changed_at FROM sla.violations v JOIN sla.violation_history h USING (violation_id) WHERE ticket_id='EX2'" >&2
assert_eq "example 2 no violation" "$(q "SELECT count(*) FROM sla.violations WHERE ticket_id='EX2'")" "0"

# Example 4: reservation moves 14:00 to 16:00 without evidence; ARRIVE 15:55.
assert_eq "example 4 RESERVATION_NO_EVIDENCE" \
	"$(q "SELECT status, observed_at FROM sla.violations WHERE ticket_id='EX4' AND rule_code='RESERVATION_NO_EVIDENCE'")" \
	"CONFIRMED|2025-03-14 11:00:00+08"
q "SELECT * FROM sla.dead_letters" >&2; q "SELECT ticket_id, partition FROM sla.ticket_state" >&2
assert_eq "example 4 ARRIVAL" \
	"$(q "SELECT status, due_at, stopped_at FROM sla.milestones WHERE ticket_id='EX4' AND milestone='ARRIVAL'")" \
	"MET|2025-03-14 16:00:00+08|2025-03-14 15:55:00+08"
assert_eq "example 4 CLOSURE (LEAVE Fri 17:30, 5 working days)" \
	"$(q "SELECT status, due_at FROM sla.milestones WHERE ticket_id='EX4' AND milestone='CLOSURE'")" \
	"MET|2025-03-22 00:00:00+08"
assert_eq "example 4 LEAVE without location" \
	"$(q "SELECT count(*) FROM sla.violations WHERE ticket_id='EX4' AND rule_code='CLOCK_NO_LOCATION'")" "1"
assert_eq "example 4 ticket" "$(q "SELECT state, engineer_id, partner_id FROM sla.tickets WHERE ticket_id='EX4'")" \
	"CLOSED|E9|P2"
assert_eq "policy version recorded" \
	"$(q "SELECT count(*) FROM sla.milestones WHERE policy_version IS NULL OR policy_version = ''")" "0"

# Escalations reach the notifier's topic: every sla.escalations row is
# published (the outbox), keyed by ticket.
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"
poll_sql "SELECT count(*) FROM sla.escalations WHERE published_at IS NULL" 0 30
assert_eq "escalations written" "$(q "SELECT count(*) FROM sla.escalations")" 4
deadline=$((SECONDS + 30))
while :; do
	keys=$("$KCAT" -C -b "$BROKERS" -t fsm.escalations -e -q -f '%k\n' 2>/dev/null | sort | tr '\n' ' ')
	[ "$keys" = "EX1 EX1 EX2 EX4 " ] && break
	[ $SECONDS -lt $deadline ] || fail "fsm.escalations keys: got [$keys]"
	sleep 0.2
done
log "ok: escalations published to fsm.escalations: $keys"

# The dispatcher's view: why EX1 has DISPATCH_LATE.
"$BIN/slactl" ticket EX1 >"$WORK/ticket.txt" || fail "slactl ticket failed"
grep -q "ENGINEER_ASSIGNED.*x1-3.*E7 (implementer)" "$WORK/ticket.txt" || fail "timeline lacks the assignment"
grep -q "DISPATCH .*BREACHED  03-14 17:50 2025-03-14 18:20 2025-03-14 18:25" "$WORK/ticket.txt" ||
	fail "timeline lacks the breached milestone"
grep -q "history: PROVISIONAL 03-14 18:20 (clock), CONFIRMED 03-14 18:25 by x1-3" "$WORK/ticket.txt" ||
	fail "timeline lacks the violation history"
"$BIN/slactl" ticket NOPE 2>/dev/null && fail "slactl ticket accepted an unknown ticket"
log "slactl ticket shows the timeline"

# The same events again: duplicates by event_id change nothing.
before=$(dump_results)
"$BIN/slactl" publish "$DATA" 2>>"$WORK/publish.log"
poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$((2 * N))" 30
assert_eq "republished stream changes nothing" "$(dump_results)" "$before"
assert_eq "no dead letters" "$(q "SELECT count(*) FROM sla.dead_letters")" "0"

kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero after SIGTERM"
log "slad stopped cleanly"
echo "1 passed, 0 failed"
