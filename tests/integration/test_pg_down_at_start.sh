#!/usr/bin/env bash
# PostgreSQL down when slad starts (booted before the database, a failover):
# slad keeps running and retries with back-off, saying so in its log and in
# STATUS=, without READY=1; once PostgreSQL answers it starts normally
# (READY=1 after the partitions are restored) and consumes what was waiting.
# A stop signal while it waits ends it cleanly.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
notify_listen
"$BIN/slactl" gen --seed 37 --tickets 60 --out "$WORK/day.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/day.jsonl")
"$BIN/slactl" publish "$WORK/day.jsonl" 2>>"$WORK/publish.log"

pg_stop
slad_start a SLAD_HTTP_LISTEN=127.0.0.1:0
poll_log_count a "warn: postgres: .*retrying in [0-9]+ ms" 3 30
kill -0 "$SLAD_PID" || fail "slad exited while PostgreSQL was down"
grep -q '^STATUS=waiting for PostgreSQL$' "$WORK/notify.txt" || fail "no STATUS=waiting for PostgreSQL: $(cat "$WORK/notify.txt")"
grep -q '^READY=1$' "$WORK/notify.txt" && fail "READY=1 before PostgreSQL answered"
ok "keeps retrying with PostgreSQL down, not ready"
pg_restart
poll_log a "info: ready: " 60
grep -q '^READY=1$' "$WORK/notify.txt" || fail "no READY=1 after PostgreSQL came back"
poll_sql "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets" "$N" 60
assert_eq "duplicates" "$(q "$duplicates_sql")" 0
ok "PostgreSQL back: ready, the waiting events consumed"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"

pg_stop
slad_start b SLAD_HTTP_LISTEN=127.0.0.1:0
poll_log b "warn: postgres: .*retrying" 30
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad stopped while waiting did not exit 0"
grep -q "stopped while waiting for PostgreSQL" "$WORK/b.log" || fail "no clean stop line: $(tail -3 "$WORK/b.log")"
ok "SIGTERM while waiting: exit 0"
pg_restart
echo "$passed passed, 0 failed"
