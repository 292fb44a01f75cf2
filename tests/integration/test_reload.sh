#!/usr/bin/env bash
# SIGHUP: a good reload takes the new configuration, policies and calendars
# at once (RELOADING=1 ... READY=1 to systemd): open milestones keep their
# deadlines, new ones use the new policy. A broken configuration file, policy
# file or calendar is logged and counted, everything old stays, slad goes on.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
notify_listen
pub() { printf '%s\n' "$1" >"$WORK/one.jsonl"; "$BIN/slactl" publish "$WORK/one.jsonl" 2>>"$WORK/publish.log"; }
conf() {
	cat >"$WORK/slad.conf" <<-CONF
		kafka:
		  session.timeout.ms: 6000
		  heartbeat.interval.ms: 500
		log:
		  level: $1
		batch:
		  max_events: 100
		policies: $WORK/policies.yaml
	CONF
}
version() { http_get /metrics | sed -n 's/^slad_policy_info{version="\([0-9a-f]*\)"} 1$/\1/p'; }
due() { q "SELECT to_char(due_at - started_at, 'HH24:MI') || '|' || policy_version FROM sla.milestones WHERE ticket_id = '$1' AND milestone = 'DISPATCH'"; }
# create ID: a HOURLY MAINTENANCE ticket, dispatched at once (its DISPATCH milestone opens).
create() {
	pub '{"event_id":"'$1'c","type":"TICKET_CREATED","ticket_id":"'$1'","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","sla_class":"HOURLY","partner_id":"P1"}'
	pub '{"event_id":"'$1'd","type":"TICKET_DISPATCHED","ticket_id":"'$1'","occurred_at":"2025-03-14T10:01:00+08:00"}'
	poll_sql "SELECT count(*) FROM sla.milestones WHERE ticket_id = '$1' AND milestone = 'DISPATCH'" 1 30
}
hup() {
	local before
	before=$(grep -c 'RELOADING=1' "$WORK/notify.txt" || true)
	kill -HUP "$SLAD_PID"
	local deadline=$((SECONDS + 20))
	until [ "$(grep -c 'RELOADING=1' "$WORK/notify.txt" || true)" -gt "$before" ] &&
		[ "$(sed -n '/RELOADING=1/,$p' "$WORK/notify.txt" | grep -c '^READY=1')" -ge 1 ]; do
		[ $SECONDS -lt $deadline ] || fail "no RELOADING=1 then READY=1 after SIGHUP: $(cat "$WORK/notify.txt")"
		sleep 0.05
	done
}

cp "$SRC/deploy/policies.yaml" "$WORK/policies.yaml"
conf info
slad_start slad WATCHDOG_USEC=2000000
http_addr slad
poll_http /healthz 200 30
# READY=1 once the partitions are assigned and restored (every timer armed).
deadline=$((SECONDS + 30))
until grep -q '^READY=1$' "$WORK/notify.txt"; do
	[ $SECONDS -lt $deadline ] || fail "no READY=1: $(cat "$WORK/notify.txt")"
	sleep 0.05
done
grep -q 'info: ready: 0 open tickets restored, 0 timers armed' "$WORK/slad.log" || fail "no 'ready:' log line"
grep -q '^STATUS=consuming' "$WORK/notify.txt" || fail "no STATUS=consuming: $(cat "$WORK/notify.txt")"
deadline=$((SECONDS + 10))
until grep -q '^WATCHDOG=1$' "$WORK/notify.txt"; do
	[ $SECONDS -lt $deadline ] || fail "no WATCHDOG=1 with WATCHDOG_USEC set"
	sleep 0.1
done
ok "READY=1, STATUS=, WATCHDOG=1"
create R1
assert_eq "calendars before" "$(metric slad_calendars)" 1
V0=$(version)
[ -n "$V0" ] || fail "no slad_policy_info"
assert_eq "R1 DISPATCH under the first policy" "$(due R1)" "00:10|$V0"

# A good reload: log.level (reloadable), a policy change and a new calendar; kafka.group needs a restart.
conf debug
sed -i 's/^\(  - {milestone: DISPATCH, ticket_types: \[MAINTENANCE\], sla_class: HOURLY, deadline: WITHIN\) 10}/\1 20}/' "$WORK/policies.yaml"
! cmp -s "$SRC/deploy/policies.yaml" "$WORK/policies.yaml" || fail "the policy edit did not apply"
sed -i 's/^kafka:$/kafka:\n  group: renamed/' "$WORK/slad.conf"
q "INSERT INTO sla.calendars VALUES ('HZ', 'Asia/Shanghai', '09:00', '17:30')"
hup
poll_log slad 'reloaded: policy [0-9a-f]+, 2 calendars, log.level debug' 10
poll_log slad 'kafka.group changed; it takes effect after a restart' 5
assert_eq "reloads ok" "$(metric 'slad_reloads_total{result="ok"}')" 1
assert_eq "calendars after" "$(metric slad_calendars)" 2
pub '{"event_id":"r2","type":"TICKET_ACKNOWLEDGED","ticket_id":"R1","occurred_at":"2025-03-14T10:01:30+08:00"}'
poll_log slad 'debug: apply topic=fsm.workorders .* event=r2 ' 20
V1=$(version)
[ -n "$V1" ] && [ "$V1" != "$V0" ] || fail "the policy version did not change ($V0 -> $V1)"
create N1
assert_eq "N1 DISPATCH under the new policy" "$(due N1)" "00:20|$V1"
assert_eq "R1 DISPATCH keeps its deadline" "$(due R1)" "00:10|$V0"
ok "good reload: new policy, log level and calendars; open milestones keep their deadlines; group kept until restart"

# A broken file: nothing changes, not even the calendar added meanwhile.
q "INSERT INTO sla.calendars VALUES ('SH', 'Asia/Shanghai', '09:00', '18:00')"
printf 'log:\n  level: [debug\n' >"$WORK/slad.conf"
hup
poll_log slad 'reload failed, the old configuration, policies and calendars stay: .*slad.conf:' 10
assert_eq "reloads failed" "$(metric 'slad_reloads_total{result="failed"}')" 1
assert_eq "calendars unchanged" "$(metric slad_calendars)" 2
poll_http /healthz 200 10
pub '{"event_id":"r3","type":"ENGINEER_ASSIGNED","ticket_id":"R1","occurred_at":"2025-03-14T10:02:00+08:00","engineer_id":"E1"}'
poll_log slad 'debug: apply topic=fsm.workorders .* event=r3 ' 20
ok "broken file: logged, counted, the old configuration stays"

# A broken policy file: the same.
conf debug
sed -i 's/deadline: WITHIN 20}/deadline: WITHIN twenty}/' "$WORK/policies.yaml"
hup
poll_log slad "reload failed, the old configuration, policies and calendars stay: policies: .*policies.yaml:[0-9]+" 10
assert_eq "reloads failed" "$(metric 'slad_reloads_total{result="failed"}')" 2
assert_eq "policy unchanged" "$(version)" "$V1"
sed -i 's/deadline: WITHIN twenty}/deadline: WITHIN 20}/' "$WORK/policies.yaml"
ok "broken policy file: logged, counted, the old policy stays"

# A broken calendar (an unknown time zone): the same.
conf info
q "INSERT INTO sla.calendars VALUES ('XX', 'Mars/Olympus_Mons', '09:00', '18:00')"
hup
poll_log slad 'reload failed, the old configuration, policies and calendars stay: calendars:' 10
assert_eq "reloads failed" "$(metric 'slad_reloads_total{result="failed"}')" 3
assert_eq "calendars unchanged" "$(metric slad_calendars)" 2
pub '{"event_id":"r4","type":"TICKET_CREATED","ticket_id":"R4","occurred_at":"2025-03-14T10:03:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1"}'
poll_log slad 'debug: apply topic=fsm.workorders .* event=r4 ' 20
q "DELETE FROM sla.calendars WHERE calendar_id = 'XX'"
hup
poll_log slad 'reloaded: policy [0-9a-f]+, 3 calendars, log.level info' 10
assert_eq "reloads ok" "$(metric 'slad_reloads_total{result="ok"}')" 2
ok "broken calendar: the old calendars stay; fixed, the reload goes through"

kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
grep -q '^STOPPING=1$' "$WORK/notify.txt" || fail "no STOPPING=1"
ok "STOPPING=1"
echo "$passed passed, 0 failed"
