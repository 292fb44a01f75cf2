#!/usr/bin/env bash
# State checkpoints (docs/architecture.md): between checkpoints results
# commit but ticket states and work-order/clock-in offsets do not move; a
# SIGKILL then re-applies every event since the last checkpoint, and the
# results are those of an uninterrupted run, with no duplicate (a re-applied
# bad message is not dead-lettered twice). SIGTERM checkpoints on the way out.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
REF=$(newdb ref)
CK=$(newdb ck)
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"
"$BIN/slactl" gen --seed 11 --tickets 60 --out "$WORK/stream.jsonl" 2>/dev/null
TICKETS=$(grep -o '"ticket_id":"[^"]*"' "$WORK/stream.jsonl" | sort -u | wc -l)
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"
printf 'not protobuf \377' >"$WORK/garbage.bin"
"$KCAT" -P -b "$BROKERS" -t fsm.workorders -k "$(head -c 40 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
	"$WORK/garbage.bin" 2>>"$WORK/kcat.log"
N=$(($(grep -c . "$WORK/stream.jsonl") + 1))
log "$N messages, $TICKETS tickets"

run_reference ref "$REF" "$N"

# No interval checkpoint and batches that never fill up: nothing but results
# is written until SIGTERM.
slad_start ck SLAD_KAFKA_GROUP=ck SLAD_POSTGRES_CONNINFO="$CK" SLAD_HTTP_LISTEN=127.0.0.1:0 \
	SLAD_BATCH_CHECKPOINT_MS=600000
DB=$CK poll_sql "SELECT count(*) FROM sla.ticket_events" "$((N - 1))" 60
DB=$CK poll_sql "SELECT count(*) FROM sla.dead_letters" 1 30
assert_eq "states before a checkpoint" "$(DB=$CK q "SELECT count(*) FROM sla.ticket_state")" 0
assert_eq "offsets before a checkpoint" "$(DB=$CK q "$committed_sql")" 0
[ "$(DB=$CK q "SELECT count(*) FROM sla.milestones")" -gt 0 ] || fail "no results committed between checkpoints"

kill -KILL "$SLAD_PID"
wait "$SLAD_PID" 2>/dev/null || true
log "killed with every result committed and no checkpoint"

# The restart re-applies all N messages; a checkpoint only at the end.
slad_start ck1 SLAD_KAFKA_GROUP=ck SLAD_POSTGRES_CONNINFO="$CK" SLAD_HTTP_LISTEN=127.0.0.1:0 \
	SLAD_BATCH_CHECKPOINT_MS=600000
http_addr ck1
deadline=$((SECONDS + 60))
until [ "$(http_get /metrics | awk '$1 ~ /^slad_events_total/ { s += $2 } END { print s + 0 }')" -ge "$N" ]; do
	[ $SECONDS -lt $deadline ] || fail "the restart did not re-apply $N messages"
	sleep 0.1
done
DB=$CK poll_sql "$settled_sql" 0 60
assert_eq "states still not written" "$(DB=$CK q "SELECT count(*) FROM sla.ticket_state")" 0
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"

assert_eq "offsets after SIGTERM" "$(DB=$CK q "$committed_sql")" "$N"
assert_eq "states after SIGTERM" "$(DB=$CK q "SELECT count(*) FROM sla.ticket_state")" "$TICKETS"
assert_eq "duplicates after re-applying" "$(DB=$CK q "$duplicates_sql")" 0
assert_eq "dead letters" "$(DB=$CK q "SELECT count(*) FROM sla.dead_letters")" 1
assert_eq "ticket events" "$(DB=$CK q "SELECT count(*) FROM sla.ticket_events")" "$((N - 1))"
dump_results "$REF" >"$WORK/ref.txt"
dump_results "$CK" >"$WORK/ck.txt"
[ -s "$WORK/ref.txt" ] || fail "the reference run wrote nothing"
diff -u "$WORK/ref.txt" "$WORK/ck.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "rows differ from the uninterrupted run"; }
log "$(wc -l <"$WORK/ref.txt") result rows identical"

# A restart from that checkpoint re-applies nothing and restores every ticket.
slad_start ck2 SLAD_KAFKA_GROUP=ck SLAD_POSTGRES_CONNINFO="$CK" SLAD_HTTP_LISTEN=127.0.0.1:0
poll_log_count ck2 'tickets restored' 2 60
http_addr ck2
assert_eq "events applied after the restart" "$(http_get /metrics | awk '$1 ~ /^slad_events_total/ { s += $2 } END { print s + 0 }')" 0
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "1 passed, 0 failed"
