#!/usr/bin/env bash
# The worked examples of rules.md section 7 (1-5 and 7; example 6 is the
# cross-ticket SAME_DAY_GAP of section 5, which the per-ticket core does not
# implement) as JSON Lines: once through `slactl replay` into a throwaway
# database, once through Kafka and the daemon (published before slad starts,
# so the backlog is consumed on event time). Both must give the milestones,
# violations and escalations (sla.escalations) the examples describe.
#
# The file is in event-time order except for example 5: its ARRIVE (13:55)
# is published after the START at 14:20 on fsm.clockins, i.e. delivered late.
# Replay sorts by occurred_at, so there ARRIVAL is simply MET; the daemon
# sees the deadline pass first (PROVISIONAL, CONFIRMED at 14:15) and then
# RETRACTS the violation - the truth wins either way.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 3
"$BIN/slad" migrate >/dev/null
REPLAY=$(newdb replay)
LIVE=$SLAD_POSTGRES_CONNINFO
DATA="$SRC/tests/integration/data/examples_1_7.jsonl"
N=$(grep -c . "$DATA")

# One value from database $1.
qdb() { psql "$1" -qAt -v ON_ERROR_STOP=1 -c "$2"; }
# The escalations of a ticket: MILESTONE/LEVEL@at, in time order.
escalations() {
	qdb "$1" "SELECT coalesce(string_agg(milestone || '/' || level || '@' || to_char(at, 'YYYY-MM-DD HH24:MI'), ',' ORDER BY at, level), '')
	            FROM sla.escalations WHERE ticket_id = '$2'"
}
milestone() {
	qdb "$1" "SELECT status || '|' || to_char(due_at, 'YYYY-MM-DD HH24:MI') || '|' || coalesce(to_char(stopped_at, 'YYYY-MM-DD HH24:MI'), '-')
	            FROM sla.milestones WHERE ticket_id = '$2' AND milestone = '$3' AND occurrence = 1"
}
violation() {
	qdb "$1" "SELECT status || '|' || coalesce(to_char(observed_at, 'YYYY-MM-DD HH24:MI'), '-') || '|' || coalesce(engineer_id, '')
	            FROM sla.violations WHERE ticket_id = '$2' AND rule_code = '$3' AND occurrence = 1"
}
active_violations() {
	qdb "$1" "SELECT coalesce(string_agg(rule_code || '/' || status, ',' ORDER BY rule_code), '')
	            FROM sla.violations WHERE ticket_id = '$2' AND status <> 'RETRACTED'"
}

# What both paths must show. $1: the database, $2: its name for the messages.
check_examples() {
	local db=$1 w=$2
	# 1. NON_HOURLY dispatched Fri 17:50 -> due 18:20; assigned 18:25.
	assert_eq "$w ex1 DISPATCH" "$(milestone "$db" EX1 DISPATCH)" "BREACHED|2025-03-14 18:20|2025-03-14 18:25"
	assert_eq "$w ex1 DISPATCH_LATE" "$(violation "$db" EX1 DISPATCH_LATE)" "CONFIRMED|2025-03-14 18:25|E7"
	assert_eq "$w ex1 violations" "$(active_violations "$db" EX1)" "DISPATCH_LATE/CONFIRMED"
	assert_eq "$w ex1 escalations" "$(escalations "$db" EX1)" \
		"DISPATCH/WARNING@2025-03-14 18:14,DISPATCH/TIER2@2025-03-14 18:20"
	# 2. dispatched 19:10 -> due Sat 09:00; assigned Sat 08:55.
	assert_eq "$w ex2 DISPATCH" "$(milestone "$db" EX2 DISPATCH)" "MET|2025-03-15 09:00|2025-03-15 08:55"
	assert_eq "$w ex2 violations" "$(qdb "$db" "SELECT count(*) FROM sla.violations WHERE ticket_id='EX2'")" "0"
	assert_eq "$w ex2 escalations" "$(escalations "$db" EX2)" "DISPATCH/WARNING@2025-03-15 06:14"
	# 3. INSPECTION dispatched Fri 14 March 10:00 -> 15 working days, Qingming
	#    (Fri 4 April, shipped calendar CN) skipped: due 2025-04-08 00:00.
	assert_eq "$w ex3 DISPATCH" "$(milestone "$db" EX3 DISPATCH)" "MET|2025-04-08 00:00|2025-04-07 23:59"
	assert_eq "$w ex3 RESPONSE" "$(milestone "$db" EX3 RESPONSE)" "MET|2025-03-15 00:00|2025-03-14 10:30"
	assert_eq "$w ex3 violations" "$(active_violations "$db" EX3)" ""
	assert_eq "$w ex3 escalations" "$(escalations "$db" EX3)" "DISPATCH/WARNING@2025-04-03 02:00"
	assert_eq "$w ex3b DISPATCH" "$(milestone "$db" EX3B DISPATCH)" "BREACHED|2025-04-08 00:00|2025-04-08 00:01"
	assert_eq "$w ex3b DISPATCH_LATE" "$(violation "$db" EX3B DISPATCH_LATE)" "CONFIRMED|2025-04-08 00:01|E4"
	assert_eq "$w ex3b escalations" "$(escalations "$db" EX3B)" \
		"DISPATCH/WARNING@2025-04-03 02:00,DISPATCH/TIER2@2025-04-08 00:00"
	# 4. required arrival 14:00, reservation at 11:00 moves it to 16:00 without
	#    evidence; ARRIVE 15:55.
	assert_eq "$w ex4 RESERVATION_NO_EVIDENCE" "$(violation "$db" EX4 RESERVATION_NO_EVIDENCE)" \
		"CONFIRMED|2025-03-14 11:00|E9"
	assert_eq "$w ex4 ARRIVAL" "$(milestone "$db" EX4 ARRIVAL)" "MET|2025-03-14 16:00|2025-03-14 15:55"
	assert_eq "$w ex4 RESERVATION" "$(milestone "$db" EX4 RESERVATION)" "MET|2025-03-14 14:00|2025-03-14 11:00"
	assert_eq "$w ex4 CLOSURE" "$(milestone "$db" EX4 CLOSURE)" "MET|2025-03-22 00:00|2025-03-17 10:00"
	assert_eq "$w ex4 violations" "$(active_violations "$db" EX4)" "RESERVATION_NO_EVIDENCE/CONFIRMED"
	assert_eq "$w ex4 escalations" "$(escalations "$db" EX4)" "ARRIVAL/WARNING@2025-03-14 14:49"
	# 5. ARRIVE 13:55 (due 14:00): ARRIVAL MET, nothing active in the end.
	assert_eq "$w ex5 ARRIVAL" "$(milestone "$db" EX5 ARRIVAL)" "MET|2025-03-14 14:00|2025-03-14 13:55"
	assert_eq "$w ex5 violations" "$(active_violations "$db" EX5)" ""
	# 7. VERIFY 02:00, COMPLETE 02:20 -> CHANGE_VERIFY_TOO_SHORT; 02:30 is fine.
	assert_eq "$w ex7 CHANGE_VERIFY_TOO_SHORT" "$(violation "$db" EX7 CHANGE_VERIFY_TOO_SHORT)" \
		"CONFIRMED|2025-03-15 02:20|E7"
	assert_eq "$w ex7 violations" "$(active_violations "$db" EX7)" "CHANGE_VERIFY_TOO_SHORT/CONFIRMED"
	assert_eq "$w ex7b violations" "$(active_violations "$db" EX7B)" ""
	assert_eq "$w ex7 escalations" "$(escalations "$db" EX7)$(escalations "$db" EX7B)" ""
	assert_eq "$w no dead letters" "$(qdb "$db" "SELECT count(*) FROM sla.dead_letters")" "0"
	assert_eq "$w open milestones" "$(qdb "$db" "SELECT count(*) FROM sla.milestones WHERE stopped_at IS NULL AND status <> 'CANCELLED'")" "0"
}

# ---- offline: slactl replay ----
"$BIN/slactl" replay --db "$REPLAY" "$DATA" 2>>"$WORK/replay.log" || fail "slactl replay failed"
check_examples "$REPLAY" replay
# replay applies in event-time order: example 5's ARRIVE is on time
assert_eq "replay ex5 ARRIVAL_LATE" "$(qdb "$REPLAY" "SELECT count(*) FROM sla.violations WHERE ticket_id='EX5'")" "0"
assert_eq "replay ex5 escalations" "$(escalations "$REPLAY" EX5)" "ARRIVAL/WARNING@2025-03-14 13:13"

# ---- live: Kafka backlog and the daemon ----
"$BIN/slactl" publish "$DATA" 2>>"$WORK/publish.log"
slad_start slad
poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 60
poll_sql "SELECT status FROM sla.violations WHERE ticket_id='EX7' AND rule_code='CHANGE_VERIFY_TOO_SHORT'" CONFIRMED 30
poll_sql "$settled_sql" 0 30
check_examples "$LIVE" kafka
# example 5 through Kafka: written PROVISIONAL at 14:00, CONFIRMED when the
# partition clock passed 14:15 (the START at 14:20), RETRACTED by the ARRIVE.
assert_eq "kafka ex5 ARRIVAL_LATE" "$(violation "$LIVE" EX5 ARRIVAL_LATE)" "RETRACTED|2025-03-14 13:55|E5"
assert_eq "kafka ex5 history" \
	"$(q "SELECT string_agg(h.status || '@' || to_char(h.changed_at, 'HH24:MI'), ',' ORDER BY h.changed_at, h.id)
	        FROM sla.violation_history h JOIN sla.violations v USING (violation_id)
	       WHERE v.ticket_id='EX5' AND v.rule_code='ARRIVAL_LATE'")" \
	"PROVISIONAL@14:00,CONFIRMED@14:15,RETRACTED@14:20"
assert_eq "kafka ex5 escalations" "$(escalations "$LIVE" EX5)" \
	"ARRIVAL/WARNING@2025-03-14 13:13,ARRIVAL/TIER2@2025-03-14 14:00"

# the same milestones either way
ms_dump="SELECT ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status FROM sla.milestones ORDER BY 1, 2, 3"
assert_eq "milestones replay = kafka" "$(qdb "$LIVE" "$ms_dump" | md5sum)" "$(qdb "$REPLAY" "$ms_dump" | md5sum)"

kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero after SIGTERM"
echo "1 passed, 0 failed"
