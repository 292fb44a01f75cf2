#!/usr/bin/env bash
# Kafka down mid-stream: every broker of the mock cluster taken down
# (`slactl mock-kafka` on SIGUSR1, rd_kafka_mock_broker_set_down) while slad
# is a third of the way through a backlog. slad keeps running, applies and
# commits what it had fetched, reports unhealthy (/healthz 503,
# slad_kafka_up 0), and once the brokers are back (SIGUSR2) resumes from its
# committed offsets: the final rows equal an uninterrupted run, with nothing
# lost or doubled.
#
# The whole stream is published before either run starts, so both see the
# same interleaving of the work-order and clock-in topics; a small fetch
# size keeps slad from prefetching the whole backlog before the outage.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 4
REF=$(newdb ref)
RUN=$(newdb run)
"$BIN/slactl" gen --seed 29 --tickets 800 --out "$WORK/stream.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/stream.jsonl")
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"
run_reference ref "$REF" "$N"

slad_start run SLAD_KAFKA_GROUP=run SLAD_POSTGRES_CONNINFO="$RUN" SLAD_HTTP_LISTEN=127.0.0.1:0 \
	SLAD_BATCH_MAX_EVENTS=20 SLAD_KAFKA__MAX_PARTITION_FETCH_BYTES=2048 \
	SLAD_KAFKA__QUEUED_MAX_MESSAGES_KBYTES=16
http_addr run
deadline=$((SECONDS + 120))
while [ "$(DB=$RUN q "$committed_sql")" -lt $((N / 3)) ]; do
	[ $SECONDS -lt $deadline ] || fail "no progress"
	sleep 0.02
done
kill -USR1 "$KAFKA_PID"
log "Kafka brokers down at $(DB=$RUN q "$committed_sql") of $N committed"
poll_http /healthz 503 30
http_get /healthz | jq -e '.kafka == "down" and .postgres == "up"' >/dev/null || fail "healthz body: $(http_get /healthz)"
assert_eq "slad_kafka_up while down" "$(metric slad_kafka_up)" 0
at_outage=$(DB=$RUN q "$committed_sql")
[ "$at_outage" -lt "$N" ] || fail "the whole backlog was consumed before the brokers went down"
log "unhealthy with $at_outage of $N committed"
kill -USR2 "$KAFKA_PID"
log "Kafka brokers up again"
kill -0 "$SLAD_PID" || fail "slad died during the outage"
DB=$RUN poll_sql "$committed_sql" "$N" 180
poll_http /healthz 200 30
assert_eq "slad_kafka_up again" "$(metric slad_kafka_up)" 1
DB=$RUN poll_sql "$settled_sql" 0 60
grep -q "warn: kafka unreachable" "$WORK/run.log" || fail "slad did not log the outage"
grep -q "kafka: a broker answers again" "$WORK/run.log" || fail "slad did not log the recovery"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
assert_eq "duplicates" "$(DB=$RUN q "$duplicates_sql")" 0
dump_results "$REF" >"$WORK/ref.txt"
dump_results "$RUN" >"$WORK/run.txt"
diff -u "$WORK/ref.txt" "$WORK/run.txt" >"$WORK/diff.log" || {
	head -40 "$WORK/diff.log" >&2
	fail "rows differ from the uninterrupted run"
}
assert_eq "dead letters" "$(DB=$RUN q "SELECT count(*) FROM sla.dead_letters")" "$(DB=$REF q "SELECT count(*) FROM sla.dead_letters")"
log "$(wc -l <"$WORK/ref.txt") result rows identical"
echo "1 passed, 0 failed"
