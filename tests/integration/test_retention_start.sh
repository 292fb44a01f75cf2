#!/usr/bin/env bash
# A new deployment (no offsets in PostgreSQL yet) on a topic whose first
# messages the broker no longer holds (retention): slad asks for offset 0,
# librdkafka's auto.offset.reset (earliest) moves it to the first offset
# kept, the log says so, and everything kept is applied or dead-lettered.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 1
"$BIN/slad" migrate >/dev/null
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"

# The mock keeps about 5 MiB per partition: seven messages of 900 KiB (not
# events) push the first ones out. Then two events after them.
head -c 921600 /dev/zero | tr '\0' 'x' >"$WORK/big.bin"
for i in 1 2 3 4 5 6 7; do
	"$KCAT" -P -b "$BROKERS" -t fsm.workorders -k "F$i" "$WORK/big.bin" \
		2>>"$WORK/kcat.log" || fail "kcat could not publish filler $i"
done
cat >"$WORK/after.jsonl" <<'JSONL'
{"event_id":"k1","type":"TICKET_CREATED","ticket_id":"K1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1"}
{"event_id":"k2","type":"TICKET_DISPATCHED","ticket_id":"K1","occurred_at":"2025-03-14T10:01:00+08:00"}
JSONL
"$BIN/slactl" publish "$WORK/after.jsonl" 2>>"$WORK/publish.log"

# The partition's first offset kept and its end, as a consumer sees them.
"$KCAT" -C -b "$BROKERS" -t fsm.workorders -p 0 -o beginning -e -q -f '%o\n' >"$WORK/offsets" 2>>"$WORK/kcat.log" ||
	fail "kcat could not read the partition"
first=$(head -n 1 "$WORK/offsets")
end=$(($(tail -n 1 "$WORK/offsets") + 1))
[ "$end" = 9 ] || fail "the partition ends at $end, not 9"
[ "$first" -gt 0 ] || fail "the broker still holds offset 0: no retention to start after"
log "the broker holds offsets $first to $((end - 1))"

slad_start run
poll_sql "SELECT coalesce(max(next_offset), -1) FROM sla.consumer_offsets WHERE topic = 'fsm.workorders'" "$end" 60
grep -q 'offset reset (at offset 0' "$WORK/run.log" || fail "no log line for the offset reset"
ok "a new group starts at the first offset kept (offset reset logged)"
assert_eq "events of the ticket after the gap" "$(q "SELECT count(*) FROM sla.ticket_events WHERE ticket_id = 'K1'")" 2
assert_eq "dead letters: the fillers kept, from the first offset kept" \
	"$(q "SELECT count(*) || ' ' || min(kafka_offset) FROM sla.dead_letters WHERE topic = 'fsm.workorders'")" "$((7 - first)) $first"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "$passed passed, 0 failed"
