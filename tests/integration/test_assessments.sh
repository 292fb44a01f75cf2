#!/usr/bin/env bash
# The assessment consumer: partner scores, their history and qualification
# events written by the daemon from fsm.assessments equal what slactl replay
# writes from the same events; bad assessments are dead-lettered.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
LIVE=$(newdb live)
REPLAY=$(newdb replay)
# In event-time order, as the assessment system publishes (the daemon's clock
# is per partition; the replay's is global).
DATA=$WORK/assessments.jsonl
grep . "$SRC/tests/integration/data/assessments.jsonl" |
	sed -E 's/^(.*"occurred_at":"([^"]*)".*)$/\2\t\1/; t; s/^/0\t/' | sort -s -t"$(printf '\t')" -k1,1 | cut -f2- >"$DATA"
N=$(grep -c . "$DATA")
# Some of these assessments are bad on purpose: published as they are, dead-lettered by slad.
"$BIN/slactl" publish --no-checks "$DATA" 2>>"$WORK/publish.log"
slad_start slad SLAD_POSTGRES_CONNINFO="$LIVE"
DB=$LIVE poll_sql "SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets" "$N" 60
# Once caught up the daemon runs on the wall clock: timers up to now have fired.
"$BIN/slactl" replay --db "$REPLAY" --until now "$DATA" 2>>"$WORK/replay.log" || fail "replay failed"
want=$(DB=$REPLAY q "SELECT count(*) FROM sla.partner_scores")
[ "$want" -gt 0 ] || fail "the replay scored nothing"
DB=$LIVE poll_sql "SELECT count(*) FROM sla.partner_scores" "$want" 30
scores="SELECT partner_id, quarter, major_projects, satisfaction, rep_office, ecr, training_online,
 training_offline, key_events, total, verdict FROM sla.partner_scores ORDER BY 1, 2"
assert_eq "partner scores, daemon = replay" "$(DB=$LIVE q "$scores")" "$(DB=$REPLAY q "$scores")"
events="SELECT partner_id, code, subject_id, at FROM sla.partner_events ORDER BY 1, 2, 3, 4"
DB=$LIVE poll_sql "SELECT count(*) FROM sla.partner_events" "$(DB=$REPLAY q "SELECT count(*) FROM sla.partner_events")" 30
assert_eq "qualification events, daemon = replay" "$(DB=$LIVE q "$events")" "$(DB=$REPLAY q "$events")"
assert_eq "dead letters" "$(DB=$LIVE q "SELECT string_agg(reason, ',' ORDER BY reason) FROM sla.dead_letters")" \
	"$(DB=$REPLAY q "SELECT string_agg(reason, ',' ORDER BY reason) FROM sla.dead_letters")"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "1 passed, 0 failed"
