#!/usr/bin/env bash
# Bad input never stops consumption and is never lost: undecodable, oversize,
# incomplete, out-of-order and unknown-ticket messages land in sla.dead_letters
# with their reason, raw bytes and position, and the next message is processed.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"

pub() { printf '%s\n' "$1" >"$WORK/one.jsonl"; "$BIN/slactl" publish "$WORK/one.jsonl" 2>>"$WORK/publish.log"; }
raw() { "$KCAT" -P -b "$BROKERS" -t "$1" -k "$2" "$3" 2>>"$WORK/kcat.log"; }

pub '{"event_id":"d1","type":"TICKET_CREATED","ticket_id":"T1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15}'
printf 'this is not protobuf \377\376' >"$WORK/garbage.bin"
raw fsm.workorders T1 "$WORK/garbage.bin"
pub '{"event_id":"d2","type":"TICKET_DISPATCHED","ticket_id":"T1","occurred_at":"2025-03-14T10:01:00+08:00"}'
# An Event with type TICKET_DISPATCHED (field 2 = 2) and nothing else: no event_id.
printf '\020\002' >"$WORK/noid.bin"
raw fsm.workorders T1 "$WORK/noid.bin"
head -c 70000 /dev/zero | tr '\0' 'x' >"$WORK/big.bin"
raw fsm.workorders T1 "$WORK/big.bin"
pub '{"event_id":"d3","type":"TICKET_CANCELLED","ticket_id":"T1","occurred_at":"2025-03-14T10:05:00+08:00"}'
pub '{"event_id":"d4","type":"CLOCK_IN","ticket_id":"T1","occurred_at":"2025-03-14T10:30:00+08:00","engineer_id":"E1","kind":"ARRIVE","lat":30.27,"lon":120.15}'
pub '{"event_id":"d5","type":"CLOCK_IN","ticket_id":"NOPE","occurred_at":"2025-03-14T11:00:00+08:00","engineer_id":"E1","kind":"ARRIVE","lat":30.27,"lon":120.15}'
# A clock-in whose work order is published only after slad has applied it (a
# partition's two topics are fetched apart, so this happens live too).
pub '{"event_id":"r1","type":"CLOCK_IN","ticket_id":"T2","occurred_at":"2025-03-14T12:00:00+08:00","engineer_id":"E1","kind":"ARRIVE","lat":30.27,"lon":120.15}'
N=9

# A short grace: a held event waits it out on the wall clock too (the backlog's
# processing clock jumps to the wall clock once it is consumed).
slad_start slad SLAD_LATENESS_ALLOWED=10s

poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 30
# T2's clock-in is held, not dead-lettered at once as older than the grace: its
# work order, published now, releases it.
pub '{"event_id":"r0","type":"TICKET_CREATED","ticket_id":"T2","occurred_at":"2025-03-14T11:00:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15}'
poll_sql "SELECT state FROM sla.tickets WHERE ticket_id = 'T2'" "ON_SITE" 30
assert_eq "the held clock-in was applied" \
	"$(q "SELECT string_agg(event_id, ',' ORDER BY occurred_at) FROM sla.ticket_events WHERE ticket_id = 'T2'")" "r0,r1"
# The unknown ticket's clock-in is dead-lettered once the grace has passed.
poll_sql "SELECT count(*) FROM sla.dead_letters" 5 60

assert_eq "undecodable message" \
	"$(q "SELECT topic, kafka_offset, encode(payload, 'escape') = 'this is not protobuf \\377\\376' FROM sla.dead_letters WHERE reason='DECODE_ERROR'")" \
	"fsm.workorders|1|t"
assert_eq "the message after it was processed" \
	"$(q "SELECT status FROM sla.milestones WHERE ticket_id='T1' AND milestone='DISPATCH'")" "CANCELLED"
assert_eq "missing event_id" "$(q "SELECT reason, detail FROM sla.dead_letters WHERE kafka_offset=3")" \
	"MISSING_FIELD|missing field event_id"
assert_eq "oversize" "$(q "SELECT reason, length(payload) FROM sla.dead_letters WHERE kafka_offset=4")" "OVERSIZE|70000"
assert_eq "clock-in on a cancelled ticket" \
	"$(q "SELECT reason, topic FROM sla.dead_letters WHERE reason='INVALID_TRANSITION'")" "INVALID_TRANSITION|fsm.clockins"
assert_eq "clock-in for a ticket that never came" \
	"$(q "SELECT reason, detail FROM sla.dead_letters WHERE reason='UNKNOWN_TICKET'")" "UNKNOWN_TICKET|ticket NOPE does not exist"
assert_eq "ticket state" "$(q "SELECT state FROM sla.tickets WHERE ticket_id='T1'")" "CANCELLED"

kill -0 "$SLAD_PID" || fail "slad died"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "1 passed, 0 failed"
