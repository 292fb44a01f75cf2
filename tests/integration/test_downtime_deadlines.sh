#!/usr/bin/env bash
# Deadlines that pass while slad is down fire on restart, exactly once
# (rules.md 1, issue 5 "Recovery"). Live, on the wall clock: three tickets
# whose ARRIVAL is due (required_arrival_at) a few seconds from now and two
# due in an hour. slad arms them and is killed (SIGKILL) before they are due;
# while it is down the deadline and the allowed lateness (5 s here) pass.
# Restarted, it restores the open tickets and their timers from PostgreSQL
# (not by re-reading Kafka), says READY=1 with every timer armed, and writes
# each ARRIVAL_LATE once: PROVISIONAL dated at the due instant, CONFIRMED at
# due + lateness, one TIER2 escalation. A third start writes nothing more.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
notify_listen
export SLAD_LATENESS_ALLOWED=5s SLAD_HTTP_LISTEN=127.0.0.1:0
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S+00:00; }
readies() { grep -c '^READY=1$' "$WORK/notify.txt" || true; }
# wait_ready N: until READY=1 has been sent N times in all.
wait_ready() {
	local deadline=$((SECONDS + 40))
	until [ "$(readies)" -ge "$1" ]; do
		[ $SECONDS -lt $deadline ] || fail "no READY=1 (#$1): $(cat "$WORK/notify.txt")"
		sleep 0.05
	done
}

slad_start a
wait_ready 1
now=$(date +%s)
soon=$((now + 20)) # room for a loaded CI machine (ASan, two tests at once)
later=$((now + 3600))
for i in 1 2 3 4 5; do
	due=$soon
	[ "$i" -le 3 ] || due=$later
	cat <<-EV
		{"event_id":"D$i-1","type":"TICKET_CREATED","ticket_id":"D$i","occurred_at":"$(iso $((now - 60)))","ticket_type":"MAINTENANCE","sla_class":"NON_HOURLY","partner_id":"P1","calendar_id":"CN","site_lat":30.2741,"site_lon":120.1551,"required_arrival_at":"$(iso "$due")"}
		{"event_id":"D$i-2","type":"TICKET_DISPATCHED","ticket_id":"D$i","occurred_at":"$(iso $((now - 50)))"}
		{"event_id":"D$i-3","type":"ENGINEER_ASSIGNED","ticket_id":"D$i","occurred_at":"$(iso $((now - 40)))","engineer_id":"E$i"}
	EV
done >"$WORK/events.jsonl"

"$BIN/slactl" publish "$WORK/events.jsonl" 2>>"$WORK/publish.log"
poll_sql "SELECT count(*) FROM sla.milestones WHERE milestone = 'ARRIVAL' AND status = 'PENDING'" 5 30
# Results commit with every batch, ticket states with the next checkpoint
# (batch.checkpoint_ms): the restart is to restore them, so wait for it.
poll_sql "SELECT count(*) FROM sla.ticket_state WHERE ticket_id LIKE 'D_'" 5 30
assert_eq "ARRIVAL_LATE before the deadline" "$(q "SELECT count(*) FROM sla.violations WHERE rule_code = 'ARRIVAL_LATE'")" 0
kill -KILL "$SLAD_PID"
wait "$SLAD_PID" 2>/dev/null || true
[ "$(date +%s)" -lt "$soon" ] || fail "slad was not killed before the deadline (the machine is too slow for this test)"
log "slad killed $((soon - $(date +%s))) s before the deadline"
ok "deadlines armed, slad killed before they are due"

# Time passes: the deadline and its lateness, with slad down.
poll_sql "SELECT now() > to_timestamp($soon) + interval '6 seconds'" t 45
assert_eq "ARRIVAL_LATE while down" "$(q "SELECT count(*) FROM sla.violations WHERE rule_code = 'ARRIVAL_LATE'")" 0
ok "nothing written while slad is down"

slad_start b
wait_ready 2
poll_log b "info: ready: 5 open tickets restored, [0-9]+ timers armed" 5
poll_sql "SELECT count(*) FROM sla.violations WHERE rule_code = 'ARRIVAL_LATE' AND status = 'CONFIRMED'" 3 30
assert_eq "violations at the deadline" \
	"$(q "SELECT string_agg(ticket_id || ':' || status || ':' || (due_at = to_timestamp($soon))::text, ',' ORDER BY ticket_id) FROM sla.violations WHERE rule_code = 'ARRIVAL_LATE'")" \
	"D1:CONFIRMED:true,D2:CONFIRMED:true,D3:CONFIRMED:true"
assert_eq "history: PROVISIONAL at due, CONFIRMED at due + 5 s, once each" \
	"$(q "SELECT string_agg(v.ticket_id || ':' || h.status || '@' || extract(epoch FROM h.changed_at - to_timestamp($soon))::int, ',' ORDER BY v.ticket_id, h.changed_at)
	        FROM sla.violation_history h JOIN sla.violations v USING (violation_id) WHERE v.rule_code = 'ARRIVAL_LATE'")" \
	"D1:PROVISIONAL@0,D1:CONFIRMED@5,D2:PROVISIONAL@0,D2:CONFIRMED@5,D3:PROVISIONAL@0,D3:CONFIRMED@5"
assert_eq "TIER2 escalations at due" \
	"$(q "SELECT count(*) FROM sla.escalations WHERE milestone = 'ARRIVAL' AND level = 'TIER2' AND at = to_timestamp($soon)")" 3
assert_eq "ARRIVAL breached" "$(q "SELECT count(*) FROM sla.milestones WHERE milestone = 'ARRIVAL' AND status = 'BREACHED'")" 3
assert_eq "the hour-away deadlines still pending" \
	"$(q "SELECT count(*) FROM sla.milestones WHERE milestone = 'ARRIVAL' AND status = 'PENDING' AND due_at = to_timestamp($later)")" 2
log "other violations: $(q "SELECT string_agg(DISTINCT rule_code || '/' || status, ',') FROM sla.violations WHERE rule_code <> 'ARRIVAL_LATE'")"
ok "a restart fires every deadline that passed while slad was down"

kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad b exited non-zero"
rows="SELECT (SELECT count(*) FROM sla.violations) || '/' || (SELECT count(*) FROM sla.violation_history) || '/' || (SELECT count(*) FROM sla.escalations)"
before=$(q "$rows")
slad_start c
wait_ready 3
poll_log c "info: ready: 5 open tickets restored" 5
# c has run on the wall clock and committed once its partition clocks moved past its start.
started=$(date +%s)
poll_sql "SELECT count(*) FROM sla.partition_clocks WHERE clock_at > to_timestamp($started)" 4 30
assert_eq "violations/history/escalations after another restart" "$(q "$rows")" "$before"
assert_eq "duplicates" "$(q "$duplicates_sql")" 0
ok "nothing fires twice"
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad c exited non-zero"
echo "$passed passed, 0 failed"
