#!/usr/bin/env bash
# PostgreSQL restarted mid-stream: slad pauses, retries with back-off, reloads
# the committed state and resumes; the final rows equal an uninterrupted run,
# with nothing lost or doubled.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 4
REF=$(newdb ref)
RUN=$(newdb run)
"$BIN/slactl" gen --seed 23 --tickets 800 --out "$WORK/stream.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/stream.jsonl")
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"

run_reference ref "$REF" "$N"

slad_start run SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN" SLAD_BATCH_MAX_EVENTS=5
deadline=$((SECONDS + 120))
while [ "$(DB=$RUN q "$committed_sql")" -lt $((N / 3)) ]; do
	[ $SECONDS -lt $deadline ] || fail "no progress"
	sleep 0.02
done
pg_stop
log "PostgreSQL stopped mid-stream"
sleep 2 # an outage of a couple of seconds, on purpose (not a wait for a result)
pg_restart
log "PostgreSQL back"
kill -0 "$SLAD_PID" || fail "slad died during the outage"
DB=$RUN poll_sql "$committed_sql" "$N" 120
DB=$RUN poll_sql "$settled_sql" 0 60
grep -q "pausing consumption" "$WORK/run.log" || fail "slad did not notice the outage"
grep -q "database reachable again" "$WORK/run.log" || fail "slad did not resume"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
assert_eq "duplicates" "$(DB=$RUN q "$duplicates_sql")" 0
dump_results "$REF" >"$WORK/ref.txt"
dump_results "$RUN" >"$WORK/run.txt"
diff -u "$WORK/ref.txt" "$WORK/run.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "rows differ from the uninterrupted run"; }
assert_eq "dead letters" "$(DB=$RUN q "SELECT count(*) FROM sla.dead_letters")" "$(DB=$REF q "SELECT count(*) FROM sla.dead_letters")"
log "$(wc -l <"$WORK/ref.txt") result rows identical"
echo "1 passed, 0 failed"
