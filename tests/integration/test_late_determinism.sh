#!/usr/bin/env bash
# Late data: a seeded stream of more than 20 000 events in which about 5 % of
# the clock-ins are delivered late and out of order (mobile sync), consumed
# live by slad, gives the same final milestones and violations as
# `slactl replay` of the same events.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 8
LIVE=$(newdb live)
REPLAY=$(newdb replay)
"$BIN/slactl" gen --seed 5 --tickets 2000 --late-pct 5 --out "$WORK/stream.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/stream.jsonl")
[ "$N" -gt 20000 ] || fail "only $N events"
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"
slad_start live SLAD_POSTGRES_CONNINFO="$LIVE"
DB=$LIVE poll_sql "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets" "$N" 300
DB=$LIVE poll_sql "$settled_sql" 0 120
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
"$BIN/slactl" replay --db "$REPLAY" --until now "$WORK/stream.jsonl" 2>>"$WORK/replay.log" || fail "replay failed"
final() {
	psql "$1" -qAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'M', ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status FROM sla.milestones ORDER BY 2, 3, 4;
SELECT 'V', ticket_id, rule_code, coalesce(milestone, ''), occurrence, status, due_at, observed_at
  FROM sla.violations WHERE status <> 'RETRACTED' ORDER BY 2, 3, 5;
SQL
}
final "$LIVE" >"$WORK/live.txt"
final "$REPLAY" >"$WORK/replay.txt"
diff -u "$WORK/live.txt" "$WORK/replay.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "live differs from replay"; }
log "$N events, $(wc -l <"$WORK/live.txt") final rows identical"
echo "1 passed, 0 failed"
