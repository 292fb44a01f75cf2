#!/usr/bin/env bash
# `slactl replay` drives the same core as the daemon: the same events give the
# same milestones, violations and history whether consumed from Kafka or
# replayed offline from the JSON Lines file.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 4
LIVE=$(newdb live)
REPLAY=$(newdb replay)
"$BIN/slactl" gen --seed 11 --tickets 600 --out "$WORK/stream.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/stream.jsonl")
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"

slad_start live SLAD_POSTGRES_CONNINFO="$LIVE"
DB=$LIVE poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 120
DB=$LIVE poll_sql "$settled_sql" 0 60
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"

# With one commit thread (batch.writers 1) the results are the same: by
# default two threads commit a share of the partitions each, side by side.
ONE=$(newdb one)
slad_start one SLAD_POSTGRES_CONNINFO="$ONE" SLAD_KAFKA_GROUP=one SLAD_BATCH_WRITERS=1
DB=$ONE poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 120
DB=$ONE poll_sql "$settled_sql" 0 60
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad (one writer) exited non-zero"

# Once caught up, the daemon's clock is the wall clock: replay up to now too.
"$BIN/slactl" replay --db "$REPLAY" --until now "$WORK/stream.jsonl" 2>>"$WORK/replay.log" || fail "replay failed"
dump_results "$LIVE" >"$WORK/live.txt"
dump_results "$REPLAY" >"$WORK/replay.txt"
[ "$(grep -c '^V' "$WORK/live.txt")" -gt 0 ] || fail "the stream raised no violation"
diff -u "$WORK/live.txt" "$WORK/replay.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "replay differs from the daemon"; }
assert_eq "tickets" "$(DB=$REPLAY q "SELECT count(*) FROM sla.tickets")" "$(DB=$LIVE q "SELECT count(*) FROM sla.tickets")"
dump_results "$ONE" >"$WORK/one.txt"
diff -u "$WORK/live.txt" "$WORK/one.txt" >"$WORK/diff1.log" || { head -40 "$WORK/diff1.log" >&2; fail "one writer differs from two"; }

# Replaying again changes nothing.
"$BIN/slactl" replay --db "$REPLAY" --until now "$WORK/stream.jsonl" 2>>"$WORK/replay.log" || fail "second replay failed"
dump_results "$REPLAY" >"$WORK/replay2.txt"
cmp -s "$WORK/replay.txt" "$WORK/replay2.txt" || fail "a second replay changed the results"
log "$(wc -l <"$WORK/live.txt") result rows identical"
echo "1 passed, 0 failed"
