#!/usr/bin/env bash
# Rebalance mid-stream: a second instance joins the consumer group at a third
# of the stream and leaves at two thirds; the partitions move twice, and the
# final rows equal an uninterrupted single-instance run, none doubled.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 8
REF=$(newdb ref)
RUN=$(newdb run)
"$BIN/slactl" gen --seed 29 --tickets 900 --out "$WORK/stream.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/stream.jsonl")
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"
committed() { DB=$1 q "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets"; }
wait_for() {
	local deadline=$((SECONDS + 120))
	while [ "$(committed "$RUN")" -lt "$1" ]; do
		[ $SECONDS -lt $deadline ] || fail "no progress towards $1"
		sleep 0.02
	done
}

slad_start ref SLAD_KAFKA_GROUP=ref SLAD_POSTGRES_CONNINFO="$REF"
DB=$REF poll_sql "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets" "$N" 120
DB=$REF poll_sql "$settled_sql" 0 60
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "reference slad exited non-zero"

slad_start one SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN" SLAD_BATCH_MAX_EVENTS=5
ONE=$SLAD_PID
wait_for $((N / 3))
slad_start two SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN" SLAD_BATCH_MAX_EVENTS=5
TWO=$SLAD_PID
log "second instance joined at $(committed "$RUN") of $N"
wait_for $((2 * N / 3))
poll_file() { local deadline=$((SECONDS + 60)); until grep -q "$2" "$1"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done; }
poll_file "$WORK/two.log" "assigned fsm.clockins" || fail "the second instance never got a partition"
# It read every saved state while joining (recovery.prefetch), but the first
# instance kept consuming and checkpointed at the revoke: the partitions it
# handed over moved, so they load again (the rows below prove their state).
grep -Eq "info: read [0-9]+ saved ticket states ahead of the assignment" "$WORK/two.log" ||
	fail "the second instance did not read ahead"
[ "$(grep -Ec 'info: partition=[0-9]+: [0-9]+ tickets restored, [0-9]+ timers armed$' "$WORK/two.log")" -gt 0 ] ||
	fail "no moved partition was loaded again"
kill -TERM "$TWO"
wait "$TWO" || fail "the second instance exited non-zero"
log "second instance left at $(committed "$RUN") of $N"
DB=$RUN poll_sql "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets" "$N" 120
DB=$RUN poll_sql "$settled_sql" 0 60
kill -TERM "$ONE"
wait "$ONE" || fail "the first instance exited non-zero"
[ "$(grep -c "revoked fsm.clockins" "$WORK/one.log")" -gt 0 ] || fail "no rebalance took partitions from the first instance"
assert_eq "duplicates" "$(DB=$RUN q "$duplicates_sql")" 0
dump_results "$REF" >"$WORK/ref.txt"
dump_results "$RUN" >"$WORK/run.txt"
diff -u "$WORK/ref.txt" "$WORK/run.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "rows differ from the uninterrupted run"; }
log "$(wc -l <"$WORK/ref.txt") result rows identical"
echo "1 passed, 0 failed"
