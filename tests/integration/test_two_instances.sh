#!/usr/bin/env bash
# Two slad instances in one consumer group over 8 partitions: an engineer's
# ONE_OFF tickets sit on different partitions and instances, and the rules of
# one engineer across tickets (rules.md 5) still hold, each violation written
# exactly once — the same rows as a single-process replay of the same events.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 8
LIVE=$(newdb live)
REPLAY=$(newdb replay)

# 24 engineers, each with three ONE_OFF tickets on one day:
#   A: ARRIVE 09:00, START 09:10, LEAVE 12:30
#   C: ARRIVE 10:50, START 11:00 (A started, not left: OVERLAPPING_VISITS on C), LEAVE 11:30
#   B: ARRIVE 13:10 (40 min after A's LEAVE: SAME_DAY_GAP on B), START 13:20, LEAVE 15:00
# and a fourth ticket D: for engineers with an even number ARRIVE 16:00, exactly 60 min
# after B's LEAVE (the boundary: no violation), for odd ones ARRIVE 15:59 (59 min:
# SAME_DAY_GAP on D); then START 16:10, LEAVE 17:00.
f=$WORK/stream.jsonl
: >"$f"
ev() { printf '{"event_id":"%s","type":"%s","ticket_id":"%s","occurred_at":"2025-03-14T%s:00+08:00"%s}\n' "$@" >>"$f"; }
for e in $(seq -w 1 24); do
	for t in A B C D; do
		ev "c-$e$t" TICKET_CREATED "T$e$t" 08:00 ',"ticket_type":"ONE_OFF","partner_id":"P1","site_lat":30.27,"site_lon":120.15'
	done
done
clock() { ev "$1" CLOCK_IN "$2" "$3" ",\"engineer_id\":\"E$4\",\"kind\":\"$5\",\"lat\":30.27,\"lon\":120.15"; }
for e in $(seq -w 1 24); do
	clock "a1-$e" "T${e}A" 09:00 "$e" ARRIVE
	clock "a2-$e" "T${e}A" 09:10 "$e" START
	clock "c1-$e" "T${e}C" 10:50 "$e" ARRIVE
	clock "c2-$e" "T${e}C" 11:00 "$e" START
	clock "c3-$e" "T${e}C" 11:30 "$e" LEAVE
	clock "a3-$e" "T${e}A" 12:30 "$e" LEAVE
	clock "b1-$e" "T${e}B" 13:10 "$e" ARRIVE
	clock "b2-$e" "T${e}B" 13:20 "$e" START
	clock "b3-$e" "T${e}B" 15:00 "$e" LEAVE
	if [ $((10#$e % 2)) = 0 ]; then
		clock "d1-$e" "T${e}D" 16:00 "$e" ARRIVE
	else
		clock "d1-$e" "T${e}D" 15:59 "$e" ARRIVE
	fi
	clock "d2-$e" "T${e}D" 16:10 "$e" START
	clock "d3-$e" "T${e}D" 17:00 "$e" LEAVE
done
sort -t'"' -k16,16 -s "$f" -o "$f" # by occurred_at, as the upstream systems publish
N=$(grep -c . "$f")
"$BIN/slactl" publish "$f" 2>>"$WORK/publish.log"

slad_start one SLAD_POSTGRES_CONNINFO="$LIVE"
PID1=$SLAD_PID
slad_start two SLAD_POSTGRES_CONNINFO="$LIVE"
PID2=$SLAD_PID
DB=$LIVE poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" "$N" 120
DB=$LIVE poll_sql "$settled_sql" 0 60
grep -q "assigned fsm.clockins" "$WORK/one.log" || fail "instance one got no partition"
grep -q "assigned fsm.clockins" "$WORK/two.log" || fail "instance two got no partition"
kill -TERM "$PID1" "$PID2"
wait "$PID1" || fail "instance one exited non-zero"
wait "$PID2" || fail "instance two exited non-zero"

assert_eq "OVERLAPPING_VISITS, once per engineer, on C" \
	"$(DB=$LIVE q "SELECT count(*), count(DISTINCT engineer_id), bool_and(ticket_id LIKE '%C') FROM sla.violations WHERE rule_code='OVERLAPPING_VISITS' AND status='CONFIRMED'")" "24|24|t"
assert_eq "SAME_DAY_GAP on B, once per engineer" \
	"$(DB=$LIVE q "SELECT count(*), count(DISTINCT engineer_id) FROM sla.violations WHERE rule_code='SAME_DAY_GAP' AND status='CONFIRMED' AND ticket_id LIKE '%B'")" "24|24"
assert_eq "SAME_DAY_GAP on D at 59 min, not at 60 min" \
	"$(DB=$LIVE q "SELECT count(*), bool_and(right(engineer_id, 1) IN ('1','3','5','7','9')) FROM sla.violations WHERE rule_code='SAME_DAY_GAP' AND status='CONFIRMED' AND ticket_id LIKE '%D'")" "12|t"
assert_eq "nothing retracted or doubled" "$(DB=$LIVE q "$duplicates_sql"),$(DB=$LIVE q "SELECT count(*) FROM sla.violations WHERE rule_code IN ('OVERLAPPING_VISITS','SAME_DAY_GAP') AND status <> 'CONFIRMED'")" "0,0"

"$BIN/slactl" replay --db "$REPLAY" --until now "$f" 2>>"$WORK/replay.log" || fail "replay failed"
dump_results "$LIVE" >"$WORK/live.txt"
dump_results "$REPLAY" >"$WORK/replay.txt"
diff -u "$WORK/live.txt" "$WORK/replay.txt" >"$WORK/diff.log" || { head -40 "$WORK/diff.log" >&2; fail "two instances differ from one replay"; }
log "$(wc -l <"$WORK/live.txt") result rows identical to the replay"
echo "1 passed, 0 failed"
