#!/usr/bin/env bash
# Replay into empty tables builds the secondary indexes after its last batch
# (schema/0012): they are there at the end, whatever happened in between. A
# replay killed half-way leaves a record of what it dropped: run again, it
# builds them and gives the results of an uninterrupted run; `slad migrate`
# builds them too, and slad warns while they are missing.
. "$(dirname "$0")/lib.sh"
pg_start
INDEXES="escalations_unpublished_idx event_log_ticket_idx milestones_open_idx milestones_partner_due_idx ticket_state_partition_idx tickets_partner_idx violations_partner_idx"
present() { q "SELECT string_agg(indexname, ' ' ORDER BY indexname COLLATE \"C\") FROM pg_indexes WHERE schemaname = 'sla'
		AND indexname IN ('${INDEXES// /\',\'}')"; }
recorded() { q "SELECT coalesce(string_agg(name, ' ' ORDER BY name COLLATE \"C\"), '') FROM sla.deferred_indexes"; }

# Three days of 400 tickets, 1000 events a transaction: a dozen batches.
for d in 0 1 2; do
	"$BIN/slactl" gen --seed $((d + 1)) --tickets 400 --late-pct 5 \
		--day "$(date -u -d "2025-01-06 + $((3 * d)) days" +%F)" 2>/dev/null
done >"$WORK/stream.jsonl"
N=$(grep -c . "$WORK/stream.jsonl")
[ "$N" -gt 10000 ] || fail "the stream has $N events, not a dozen batches"

CLEAN=$(newdb clean)
"$BIN/slactl" replay --batch 1000 --db "$CLEAN" "$WORK/stream.jsonl" >/dev/null 2>>"$WORK/replay.log" || fail "replay failed"
DB=$CLEAN assert_eq "indexes after a replay into empty tables" "$(DB=$CLEAN present)" "$INDEXES"
DB=$CLEAN assert_eq "nothing left deferred" "$(DB=$CLEAN recorded)" ""
assert_eq "rows indexed" "$(DB=$CLEAN q "SET enable_seqscan = off; SELECT count(*) FROM sla.milestones WHERE partner_id >= ''")" \
	"$(DB=$CLEAN q "SELECT count(*) FROM sla.milestones WHERE partner_id IS NOT NULL")"
dump_results "$CLEAN" >"$WORK/clean.txt"

# Killed once its first batch is committed: the indexes are missing, and recorded.
KILLED=$(newdb killed)
"$BIN/slactl" replay --batch 1000 --db "$KILLED" "$WORK/stream.jsonl" >/dev/null 2>>"$WORK/replay.log" &
RPID=$!
PIDS+=($RPID)
DB=$KILLED poll_sql "SELECT count(*) > 0 FROM sla.ticket_events" t 120
kill -KILL "$RPID"
wait "$RPID" 2>/dev/null && fail "replay finished before it was killed"
[ "$(DB=$KILLED q "SELECT count(*) FROM sla.ticket_events")" -lt "$N" ] || fail "every event was committed before the kill"
DB=$KILLED assert_eq "recorded after the kill" "$(DB=$KILLED recorded)" "$INDEXES"
DB=$KILLED assert_eq "dropped after the kill" "$(DB=$KILLED present)" ""

# slad says so at start.
kafka_start 2
slad_start warned SLAD_POSTGRES_CONNINFO="$KILLED" SLAD_HTTP_LISTEN=127.0.0.1:0
deadline=$((SECONDS + 30))
until grep -q "consuming .* as group" "$WORK/warned.log"; do # its stop signals are handled from here on
	[ $SECONDS -lt $deadline ] || fail "slad did not start: $(tail -5 "$WORK/warned.log")"
	sleep 0.1
done
grep -q "7 index(es) of the results tables were dropped by a \`slactl replay\` that did not finish" "$WORK/warned.log" ||
	fail "slad did not warn of the missing indexes"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
ok "slad warns of the missing indexes"

# Run again: the indexes first, then the usual upserts, and the results of a clean run.
"$BIN/slactl" replay --batch 1000 --db "$KILLED" "$WORK/stream.jsonl" >/dev/null 2>>"$WORK/replay.log" || fail "second replay failed"
DB=$KILLED assert_eq "indexes after the second run" "$(DB=$KILLED present)" "$INDEXES"
DB=$KILLED assert_eq "nothing left deferred after the second run" "$(DB=$KILLED recorded)" ""
dump_results "$KILLED" >"$WORK/killed.txt"
diff -u "$WORK/clean.txt" "$WORK/killed.txt" >"$WORK/diff.log" || { head -20 "$WORK/diff.log" >&2; fail "the interrupted replay run again differs"; }
ok "an interrupted replay run again gives the results of a clean run ($(wc -l <"$WORK/clean.txt") rows)"

# slad migrate builds what is recorded (here: dropped by hand as a killed replay would).
DB=$KILLED q "SELECT sla.defer_indexes()" >/dev/null
out=$(SLAD_POSTGRES_CONNINFO="$KILLED" "$BIN/slad" migrate) || fail "slad migrate failed"
[[ "$out" == *"7 index(es) a replay had deferred built"* ]] || fail "slad migrate said: $out"
DB=$KILLED assert_eq "indexes after slad migrate" "$(DB=$KILLED present)" "$INDEXES"
DB=$KILLED assert_eq "nothing left deferred after slad migrate" "$(DB=$KILLED recorded)" ""

# A role that may not drop them replays with them in place.
WRITER=$(newdb writer)
DB=$WRITER q "CREATE ROLE replayer LOGIN IN ROLE sla_writer" >/dev/null
"$BIN/slactl" replay --batch 1000 --db "$WRITER user=replayer" "$WORK/stream.jsonl" >/dev/null 2>>"$WORK/replay.log" ||
	fail "replay as sla_writer failed"
DB=$WRITER assert_eq "indexes kept by a role without DDL" "$(DB=$WRITER present)" "$INDEXES"
dump_results "$WRITER" >"$WORK/writer.txt"
cmp -s "$WORK/clean.txt" "$WORK/writer.txt" || fail "replay as sla_writer differs"
ok "replay as sla_writer: same results"
echo "1 passed, 0 failed"
