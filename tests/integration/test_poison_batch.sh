#!/usr/bin/env bash
# A poison message never stops a partition: one message that passes the core
# but that PostgreSQL rejects (a CHECK constraint: SQLSTATE 23514) in the
# middle of a batch is found by bisecting the batch, dead-lettered (BAD_VALUE,
# with the SQLSTATE) and skipped; every other message commits, the offsets
# reach the end, and slad keeps running. (A database outage still takes the
# retry path: test_pg_restart.sh.)
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
# The core accepts ticket POISON; PostgreSQL refuses its sla.tickets row.
q "ALTER TABLE sla.tickets ADD CONSTRAINT test_poison CHECK (ticket_id <> 'POISON')" >/dev/null
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"

# 5 tickets x 4 events, the poison in the middle (line 11 of 21), all
# published before slad starts: the first batch holds everything it fetched.
ev() { printf '{"event_id":"%s","type":"%s","ticket_id":"%s","occurred_at":"2025-03-14T%s+08:00"%s}\n' "$@"; }
{
	for t in G1 G2 G3 G4 G5; do
		ev "$t-c" TICKET_CREATED "$t" "10:0${t#G}:00" ',"ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15'
	done
	for t in G1 G2 G3 G4 G5; do ev "$t-d" TICKET_DISPATCHED "$t" "10:1${t#G}:00" ''; done
	ev "poison-c" TICKET_CREATED POISON "10:20:00" ',"ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15'
	for t in G1 G2 G3 G4 G5; do ev "$t-a" TICKET_ACKNOWLEDGED "$t" "10:3${t#G}:00" ''; done
	for t in G1 G2 G3 G4 G5; do ev "$t-e" ENGINEER_ASSIGNED "$t" "10:4${t#G}:00" ',"engineer_id":"E1"'; done
} >"$WORK/stream.jsonl"
N=$(grep -c . "$WORK/stream.jsonl")
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"
# Where the poison landed, from the broker.
read -r PP PO < <("$KCAT" -C -b "$BROKERS" -t fsm.workorders -e -q -f '%k %p %o\n' 2>>"$WORK/kcat.log" |
	awk '$1 == "POISON" { print $2, $3 }')
[ -n "$PO" ] || fail "the poison message is not on fsm.workorders"
log "poison at fsm.workorders [$PP] offset $PO; $N messages"

slad_start slad SLAD_BATCH_MAX_EVENTS=1000
http_addr slad
poll_sql "$committed_sql" "$N" 60
poll_sql "SELECT count(*) FROM sla.dead_letters" 1 30

assert_eq "the poison's dead letter" \
	"$(q "SELECT topic, partition, kafka_offset, reason, position('POISON'::bytea IN payload) > 0 FROM sla.dead_letters")" \
	"fsm.workorders|$PP|$PO|BAD_VALUE|t"
detail=$(q "SELECT detail FROM sla.dead_letters")
case "$detail" in
"rejected by PostgreSQL: 23514 "*test_poison*) ok "detail names the SQLSTATE and the constraint: $detail" ;;
*) fail "dead letter detail: [$detail]" ;;
esac
case "$detail" in *host=* | *password* | *"$WORK"*) fail "the detail quotes the connection: [$detail]" ;; esac
assert_eq "every good ticket committed, the poison not" \
	"$(q "SELECT string_agg(ticket_id || ':' || state, ',' ORDER BY ticket_id) FROM sla.tickets")" \
	"G1:ASSIGNED,G2:ASSIGNED,G3:ASSIGNED,G4:ASSIGNED,G5:ASSIGNED"
assert_eq "every good event applied once" \
	"$(q "SELECT count(*), count(DISTINCT event_id) FROM sla.ticket_events")" "$((N - 1))|$((N - 1))"
assert_eq "the poison is not in the core's saved state" \
	"$(q "SELECT count(*) FROM sla.ticket_state WHERE ticket_id = 'POISON'")" 0
assert_eq "no dead letter besides the poison" "$(q "SELECT count(*) FROM sla.dead_letters")" 1
poll_http /healthz 200 30
assert_eq "slad_poison_messages_total" "$(metric slad_poison_messages_total)" 1
assert_eq "slad_dead_letters_total{BAD_VALUE}" "$(metric 'slad_dead_letters_total{reason="BAD_VALUE"}')" 1
assert_eq "one error line for the poison" \
	"$(grep -c "error: .*offset=$PO: PostgreSQL rejects what this message writes (23514" "$WORK/slad.log" || true)" 1
grep -q "back to batches of up to 1000 messages" "$WORK/slad.log" || fail "slad did not go back to full batches"
grep -q "pausing consumption" "$WORK/slad.log" && fail "a data error took the outage path"

# After it, consumption goes on as normal, in full batches.
{
	for t in G1 G2 G3 G4 G5; do ev "$t-x" TICKET_CANCELLED "$t" "11:0${t#G}:00" ''; done
} >"$WORK/more.jsonl"
"$BIN/slactl" publish "$WORK/more.jsonl" 2>>"$WORK/publish.log"
poll_sql "$committed_sql" "$((N + 5))" 60
poll_sql "SELECT count(*) FROM sla.tickets WHERE state = 'CANCELLED'" 5 30
assert_eq "still one dead letter" "$(q "SELECT count(*) FROM sla.dead_letters")" 1
kill -0 "$SLAD_PID" || fail "slad died"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "1 passed, 0 failed"
