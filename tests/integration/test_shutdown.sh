#!/usr/bin/env bash
# SIGTERM drains: mid-stream it commits the batch, leaves the group and exits
# 0 within shutdown.timeout, and a restart finishes with the rows of an
# uninterrupted run. A drain stuck on PostgreSQL ends at shutdown.timeout;
# a second SIGTERM ends it at once.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 4
REF=$(newdb ref)
RUN=$(newdb run)
offsets() { DB=$1 q "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets"; }

"$BIN/slactl" gen --seed 31 --tickets 700 --out "$WORK/stream.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/stream.jsonl")
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"

slad_start ref SLAD_KAFKA_GROUP=ref SLAD_POSTGRES_CONNINFO="$REF"
DB=$REF poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 120
DB=$REF poll_sql "$settled_sql" 0 60
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "reference slad exited non-zero"

# 1. SIGTERM mid-stream, small batches: exit 0 well within shutdown.timeout.
slad_start run SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN" SLAD_BATCH_MAX_EVENTS=5 SLAD_SHUTDOWN_TIMEOUT=10s
deadline=$((SECONDS + 120))
while [ "$(offsets "$RUN")" -lt $((N / 3)) ]; do
	[ $SECONDS -lt $deadline ] || fail "no progress"
	sleep 0.02
done
start=$(date +%s%N)
kill -TERM "$SLAD_PID"
rc=0
wait "$SLAD_PID" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
at=$(offsets "$RUN")
log "SIGTERM at committed offset $at of $N: exit $rc after $ms ms"
assert_eq "exit status" "$rc" 0
[ "$ms" -lt 10000 ] || fail "the drain took $ms ms, more than shutdown.timeout"
[ "$at" -lt "$N" ] || fail "the stream was consumed before SIGTERM"
grep -q 'info: left the consumer group' "$WORK/run.log" || fail "no 'left the consumer group'"
grep -q 'info: stopped: ' "$WORK/run.log" || fail "no 'stopped:' line"
ok "SIGTERM mid-stream: exit 0 in $ms ms"

slad_start run2 SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN"
DB=$RUN poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 120
DB=$RUN poll_sql "$settled_sql" 0 60
assert_eq "duplicates" "$(DB=$RUN q "$duplicates_sql")" 0
# No event lost or applied twice: the same applied events, dead letters and rows.
events() { DB=$1 q "SELECT ticket_id, event_id, type, occurred_at FROM sla.ticket_events ORDER BY 1, 2"; }
events "$REF" >"$WORK/ref.events"
events "$RUN" >"$WORK/run.events"
[ "$(wc -l <"$WORK/ref.events")" -gt 1000 ] || fail "the reference run recorded too few events"
diff -u "$WORK/ref.events" "$WORK/run.events" >"$WORK/events.diff" || fail "applied events differ (see events.diff)"
assert_eq "dead letters" "$(DB=$RUN q "SELECT count(*) FROM sla.dead_letters")" "$(DB=$REF q "SELECT count(*) FROM sla.dead_letters")"
# Every row, the rules across tickets included (evaluated up to the group's watermark).
per_ticket() { dump_results "$1"; }
per_ticket "$REF" >"$WORK/ref.txt"
per_ticket "$RUN" >"$WORK/run.txt"
[ -s "$WORK/ref.txt" ] || fail "the reference run wrote nothing"
diff -u "$WORK/ref.txt" "$WORK/run.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "rows differ from the uninterrupted run"; }
ok "after the restart: the events and rows of an uninterrupted run"

# 2. A drain stuck on PostgreSQL: a lock holds the batch's commit.
lock_offsets() {
	psql "$RUN" -qAt -c "BEGIN; LOCK TABLE sla.consumer_offsets IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" \
		>/dev/null 2>&1 &
	LOCK_PID=$!
	PIDS+=($LOCK_PID)
	DB=$RUN poll_sql "SELECT count(*) FROM pg_locks WHERE relation = 'sla.consumer_offsets'::regclass AND mode = 'AccessExclusiveLock' AND granted" 1 10
}
unlock_offsets() {
	DB=$RUN q "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = 'sla.consumer_offsets'::regclass AND mode = 'AccessExclusiveLock'" >/dev/null
	wait "$LOCK_PID" 2>/dev/null || true
}
# A commit of slad waits for the lock (each of its commit threads may).
blocked_sql="SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'slad' AND wait_event_type = 'Lock'"
blocked_commit() {
	printf '%s\n' "$1" >"$WORK/one.jsonl"
	"$BIN/slactl" publish "$WORK/one.jsonl" 2>>"$WORK/publish.log"
	DB=$RUN poll_sql "$blocked_sql" t 20
}

lock_offsets
blocked_commit '{"event_id":"s1","type":"TICKET_CREATED","ticket_id":"S1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1"}'
kill -TERM "$SLAD_PID"
sleep 1
kill -0 "$SLAD_PID" 2>/dev/null || fail "slad exited although its drain is blocked"
start=$(date +%s%N)
kill -TERM "$SLAD_PID"
rc=0
wait "$SLAD_PID" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -ne 0 ] || fail "an interrupted drain exited 0"
[ "$ms" -lt 1500 ] || fail "the second SIGTERM took $ms ms"
grep -q 'warn: second stop signal: exiting at once' "$WORK/run2.log" || fail "no line for the second SIGTERM"
ok "second SIGTERM: exit $rc after $ms ms"

# The killed slad's server session still waits for the lock: end it.
DB=$RUN q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'slad'" >/dev/null
DB=$RUN poll_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slad'" 0 10
slad_start run3 SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN" SLAD_SHUTDOWN_TIMEOUT=2s
DB=$RUN poll_sql "$blocked_sql" t 20
start=$(date +%s%N)
kill -TERM "$SLAD_PID"
rc=0
wait "$SLAD_PID" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -ne 0 ] || fail "a drain cut short by shutdown.timeout exited 0"
[ "$ms" -ge 1800 ] && [ "$ms" -lt 4000 ] || fail "shutdown.timeout 2s: exited after $ms ms"
grep -q 'error: shutdown.timeout passed before the drain finished' "$WORK/run3.log" || fail "no shutdown.timeout line"
ok "a stuck drain ends at shutdown.timeout: exit $rc after $ms ms"

# Nothing was lost: the blocked batches commit after the lock goes.
unlock_offsets
slad_start run4 SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN"
DB=$RUN poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$((N + 1))" 60
assert_eq "the blocked event" "$(DB=$RUN q "SELECT count(*) FROM sla.tickets WHERE ticket_id = 'S1'")" 1
assert_eq "duplicates" "$(DB=$RUN q "$duplicates_sql")" 0
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
ok "nothing lost after the interrupted drains"
echo "$passed passed, 0 failed"
