#!/usr/bin/env bash
# Outages: /healthz flips to 503 while PostgreSQL is down (and back to 200
# when it returns, with clear log lines), events published meanwhile are
# neither lost nor doubled; and it flips to 503 when Kafka goes away.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null

"$BIN/slactl" gen --seed 21 --tickets 150 --day 2025-03-14 --out "$WORK/a.jsonl" 2>/dev/null
"$BIN/slactl" gen --seed 22 --tickets 150 --day 2025-03-17 --out "$WORK/b.jsonl" 2>/dev/null
NA=$(grep -c . "$WORK/a.jsonl")
NB=$(grep -c . "$WORK/b.jsonl")
"$BIN/slactl" publish "$WORK/a.jsonl" 2>>"$WORK/publish.log"
slad_start slad
http_addr slad
poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$NA" 60
poll_http /healthz 200 30
assert_eq "postgres up" "$(metric slad_postgres_up)" 1

pg_stop
t0=$SECONDS
poll_http /healthz 503 15
log "503 after $((SECONDS - t0)) s: $(http_get /healthz)"
http_get /healthz | jq -e '.postgres == "down" and .consuming == false' >/dev/null || fail "healthz body: $(http_get /healthz)"
assert_eq "postgres down" "$(metric slad_postgres_up)" 0
# Noticed by the idle ping or by a failing commit, whichever comes first.
poll_log slad 'error: (postgres unreachable|commit failed \(database\)): ' 5
poll_log slad 'warn: pausing consumption \(database (unreachable|error)\)' 5
ok "/healthz 503 while PostgreSQL is down, with log lines"
# Published during the outage: consumed once PostgreSQL is back.
"$BIN/slactl" publish "$WORK/b.jsonl" 2>>"$WORK/publish.log"
poll_log slad 'warn: database still unreachable, next try in [0-9]+ ms' 10
kill -0 "$SLAD_PID" || fail "slad died during the outage"

pg_restart
t0=$SECONDS
poll_http /healthz 200 60
log "200 after $((SECONDS - t0)) s"
poll_log slad 'info: database reachable again: resumed from committed offsets' 5
assert_eq "postgres up again" "$(metric slad_postgres_up)" 1
poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$((NA + NB))" 60
assert_eq "tickets" "$(q "SELECT count(*) FROM sla.tickets")" 300
assert_eq "duplicates" "$(q "$duplicates_sql")" 0
assert_eq "dead letters" "$(q "SELECT count(*) FROM sla.dead_letters")" 0
ok "/healthz 200 again; nothing lost or doubled"

# A commit that fails midway (the connection is cut): the same recovery.
n=$(grep -c 'database reachable again' "$WORK/slad.log")
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'slad'" >/dev/null
poll_log_count slad 'database reachable again: resumed from committed offsets' $((n + 1)) 10
poll_http /healthz 200 30
ok "a killed connection is noticed and reopened"

kill -KILL "$KAFKA_PID"
wait "$KAFKA_PID" 2>/dev/null || true
poll_http /healthz 503 30
http_get /healthz | jq -e '.kafka == "down" and .postgres == "up"' >/dev/null || fail "healthz body: $(http_get /healthz)"
poll_log slad 'warn: kafka unreachable' 5
assert_eq "kafka down" "$(metric slad_kafka_up)" 0
ok "/healthz 503 while Kafka is down"

kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "$passed passed, 0 failed"
