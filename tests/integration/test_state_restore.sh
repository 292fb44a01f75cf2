#!/usr/bin/env bash
# A saved state that does not restore never stops a partition: the row is
# dead-lettered (DECODE_ERROR, topic sla.ticket_state / sla.partner_state,
# kafka_offset -1, its bytes as payload) and emptied, the ticket or partner
# is left out, and every other row of the partition restores. Two kinds of
# damage, one per restart: bytes that are not a state at all, and a state
# cut in half; then a partner's state.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null

# Event times a little before now: the milestones are still open on restart.
at() { date -u -d "@$(($(date +%s) - $1 * 60))" +%Y-%m-%dT%H:%M:%S+00:00; }
ev() { printf '{"event_id":"%s","type":"%s","ticket_id":"%s","occurred_at":"%s"%s}\n' "$@"; }
pub() { "$BIN/slactl" publish "$1" 2>>"$WORK/publish.log"; }
{
	for t in S1 S2 S3 S4; do
		ev "$t-c" TICKET_CREATED "$t" "$(at 30)" ',"ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15'
	done
	for t in S1 S2 S3 S4; do ev "$t-d" TICKET_DISPATCHED "$t" "$(at 20)" ''; done
	printf '{"event_id":"a1","type":"ASSESSMENT","partner_id":"P9","occurred_at":"%s","quarter":"2025Q2","kind":"TRAINING","online_completed":7,"online_required":10}\n' "$(at 20)"
} >"$WORK/stream.jsonl"
N=$(grep -c . "$WORK/stream.jsonl")
pub "$WORK/stream.jsonl"

# run NAME: starts slad NAME and waits until it consumes; stop: SIGTERM.
run() {
	slad_start "$1"
	http_addr "$1"
	poll_http /healthz 200 60
}
stop() {
	kill -TERM "$SLAD_PID"
	wait "$SLAD_PID" || fail "slad exited non-zero"
}
rejected() { metric "slad_state_rows_rejected_total{table=\"sla.$1\"}"; }

run first
poll_sql "$committed_sql" "$N" 60
poll_sql "SELECT count(*) FROM sla.ticket_state" 4 30
poll_sql "SELECT count(*) FROM sla.partner_state" 1 30
assert_eq "nothing rejected" "$(rejected ticket_state)" 0
stop

# ---- 1: bytes that are not a state ----
q "UPDATE sla.ticket_state SET state = '\\x00ff'::bytea WHERE ticket_id = 'S1'" >/dev/null
P1=$(q "SELECT partition FROM sla.ticket_state WHERE ticket_id = 'S1'")
run second
poll_sql "SELECT count(*) FROM sla.dead_letters" 1 30
assert_eq "S1's dead letter" \
	"$(q "SELECT topic, partition, kafka_offset, reason, detail, encode(payload, 'hex') FROM sla.dead_letters")" \
	"sla.ticket_state|$P1|-1|DECODE_ERROR|saved state of ticket S1 does not restore|00ff"
assert_eq "S1's row emptied" "$(q "SELECT length(state) FROM sla.ticket_state WHERE ticket_id = 'S1'")" 0
assert_eq "slad_state_rows_rejected_total" "$(rejected ticket_state)" 1
assert_eq "counted as a dead letter" "$(metric 'slad_dead_letters_total{reason="DECODE_ERROR"}')" 1
assert_eq "the others restored" "$(metric slad_open_tickets)" 3
grep -Eq "error: partition=$P1 ticket=S1: its saved state \(2 bytes\) does not restore" "$WORK/second.log" ||
	fail "no error line naming S1 and its partition"
# The others go on from their restored state: the assignment stops the
# DISPATCH milestone their dispatch started before the restart.
{ for t in S2 S3 S4; do ev "$t-e" ENGINEER_ASSIGNED "$t" "$(at 10)" ',"engineer_id":"E1"'; done; } >"$WORK/assign.jsonl"
pub "$WORK/assign.jsonl"
N=$((N + 3))
poll_sql "$committed_sql" "$N" 60
poll_sql "SELECT string_agg(ticket_id || ':' || state, ',' ORDER BY ticket_id) FROM sla.tickets WHERE ticket_id <> 'S1'" \
	"S2:ASSIGNED,S3:ASSIGNED,S4:ASSIGNED" 30
assert_eq "the milestones of the restored tickets continue" \
	"$(q "SELECT string_agg(ticket_id || ':' || status, ',' ORDER BY ticket_id) FROM sla.milestones WHERE milestone = 'DISPATCH'")" \
	"S1:PENDING,S2:MET,S3:MET,S4:MET"
kill -0 "$SLAD_PID" || fail "slad died"
stop

# ---- 2: a state cut in half, and a partner's state ----
q "UPDATE sla.ticket_state SET state = substring(state FROM 1 FOR length(state) / 2) WHERE ticket_id = 'S3'" >/dev/null
q "UPDATE sla.partner_state SET state = '\\x00ff'::bytea WHERE partner_id = 'P9'" >/dev/null
S3LEN=$(q "SELECT length(state) FROM sla.ticket_state WHERE ticket_id = 'S3'")
run third
poll_sql "SELECT count(*) FROM sla.dead_letters" 3 30
assert_eq "S3's dead letter" \
	"$(q "SELECT reason, kafka_offset, detail, length(payload) FROM sla.dead_letters WHERE detail LIKE '%S3%'")" \
	"DECODE_ERROR|-1|saved state of ticket S3 does not restore|$S3LEN"
assert_eq "P9's dead letter" \
	"$(q "SELECT topic, reason, detail FROM sla.dead_letters WHERE topic = 'sla.partner_state'")" \
	"sla.partner_state|DECODE_ERROR|saved state of partner P9 does not restore"
assert_eq "S1 is not dead-lettered again" "$(q "SELECT count(*) FROM sla.dead_letters WHERE detail LIKE '%S1%'")" 1
assert_eq "slad_state_rows_rejected_total (tickets)" "$(rejected ticket_state)" 1
assert_eq "slad_state_rows_rejected_total (partners)" "$(rejected partner_state)" 1
assert_eq "S2 and S4 restored" "$(metric slad_open_tickets)" 2
poll_http /healthz 200 10
# A new ticket S3 comes back with new events only.
ev S3-c2 TICKET_CREATED S3 "$(at 5)" ',"ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15' >"$WORK/again.jsonl"
pub "$WORK/again.jsonl"
N=$((N + 1))
poll_sql "$committed_sql" "$N" 60
poll_sql "SELECT length(state) > 0 FROM sla.ticket_state WHERE ticket_id = 'S3'" t 30
assert_eq "S3 open again" "$(q "SELECT state FROM sla.tickets WHERE ticket_id = 'S3'")" CREATED
stop

# ---- 3: states read while the group forms (recovery.prefetch) ----
# Nothing moved since the last stop: every partition takes the states read
# ahead of its assignment, and they are the same tickets a normal load gives.
# Each run above prefetched too: a partition with a state that did not
# restore was loaded again the normal way (the dead letters above).
grep -Eq "info: read 3 saved ticket states ahead of the assignment" "$WORK/third.log" ||
	fail "the third run did not read S2, S3 (cut) and S4 ahead"
grep -Eq "info: partition=$P1: [0-9]+ tickets restored, [0-9]+ timers armed; 1 saved states did not restore" "$WORK/second.log" ||
	fail "partition $P1 (S1's bytes did not restore) was not loaded the normal way"
run fourth
poll_log fourth "info: ready: " 60
grep -Eq "info: read 3 saved ticket states ahead of the assignment" "$WORK/fourth.log" ||
	fail "no prefetch line"
assert_eq "both partitions took their prefetched states" \
	"$(grep -Ec 'info: partition=[0-9]+: [0-9]+ tickets restored, [0-9]+ timers armed [(]read while the group formed[)]$' "$WORK/fourth.log")" 2
assert_eq "S2, S3 and S4 restored from the prefetch" "$(metric slad_open_tickets)" 3
stop
slad_start fifth SLAD_RECOVERY_PREFETCH=0
http_addr fifth
poll_log fifth "info: ready: " 60
! grep -Eq "ahead of the assignment|read while the group formed" "$WORK/fifth.log" || fail "prefetched with recovery.prefetch 0"
assert_eq "the same tickets without it" "$(metric slad_open_tickets)" 3
stop
echo "1 passed, 0 failed"
