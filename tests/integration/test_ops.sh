#!/usr/bin/env bash
# Operations: configuration from a file and the environment (check-config
# reports every problem with file, line and key), /healthz, and /metrics in
# the Prometheus text format (promtool) with counters equal to the rows written.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool is not installed (Debian package prometheus)"
pg_start
kafka_start 3
"$BIN/slad" migrate >/dev/null

# 1. A file and the environment: the environment wins, librdkafka properties pass through.
cat >"$WORK/slad.conf" <<'CONF'
kafka:
  group: from-file
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
batch:
  max_events: 7
shutdown:
  timeout: 20s
CONF
SLAD_KAFKA_GROUP=from-env SLAD_KAFKA__FETCH_WAIT_MAX_MS=50 SLAD_LATENESS_ALLOWED=20m \
	"$BIN/slad" -c "$WORK/slad.conf" check-config >"$WORK/check.out" 2>"$WORK/check.err" ||
	fail "check-config rejected a good configuration: $(cat "$WORK/check.err")"
has() { grep -Eq -- "$2" "$1" || fail "$1 lacks /$2/: $(cat "$1")"; }
has "$WORK/check.out" '^kafka.group +=+ from-env +# SLAD_KAFKA_GROUP$'
has "$WORK/check.out" '^kafka.fetch.wait.max.ms +=+ 50 +# SLAD_KAFKA__FETCH_WAIT_MAX_MS$'
has "$WORK/check.out" '^kafka.session.timeout.ms += 6000 +# .*slad.conf:3$'
has "$WORK/check.out" '^batch.max_events += 7 +# .*slad.conf:6$'
has "$WORK/check.out" '^lateness.allowed += 20m +# SLAD_LATENESS_ALLOWED$'
has "$WORK/check.out" '^shutdown.timeout += 20s +# .*slad.conf:8$'
has "$WORK/check.out" '^calendar CN: Asia/Shanghai'
has "$WORK/check.out" '^configuration OK$'
ok "check-config: file, SLAD_<SECTION>_<KEY> and SLAD_KAFKA__<PROPERTY>"

# 2. A broken file: every problem at once, each with file:line and key; exit 1.
cat >"$WORK/bad.conf" <<'CONF'
kafka:
  group: ""
  topics:
    workorders: "bad topic"
  no.such.property: 1
  group.id: other
batch:
  max_events: 0
lateness:
  allowed: soon
http:
  listen: nowhere
bogus: 1
CONF
if "$BIN/slad" -c "$WORK/bad.conf" check-config >"$WORK/bad.out" 2>"$WORK/bad.err"; then
	fail "check-config accepted a broken file"
fi
has "$WORK/bad.err" 'bad.conf:2: kafka.group: must not be empty'
has "$WORK/bad.err" 'bad.conf:4: kafka.topics.workorders: a Kafka topic name'
has "$WORK/bad.err" 'bad.conf:5: kafka.no.such.property: not a librdkafka'
has "$WORK/bad.err" 'bad.conf:6: kafka.group.id: use kafka.group'
has "$WORK/bad.err" 'bad.conf:8: batch.max_events: must be from 1 to'
has "$WORK/bad.err" 'bad.conf:10: lateness.allowed: not a duration'
has "$WORK/bad.err" 'bad.conf:12: http.listen: host:port'
has "$WORK/bad.err" 'bad.conf:13: unknown key bogus'
printf 'kafka:\n  brokers: [a, b\n' >"$WORK/syntax.conf"
! "$BIN/slad" -c "$WORK/syntax.conf" check-config >/dev/null 2>"$WORK/syntax.err" || fail "a YAML syntax error passed"
has "$WORK/syntax.err" 'syntax.conf:[0-9]+: '
! SLAD_BATCH_MAX_EVENTS=lots "$BIN/slad" check-config >/dev/null 2>"$WORK/env.err" || fail "a bad environment value passed"
has "$WORK/env.err" 'SLAD_BATCH_MAX_EVENTS: batch.max_events: not an integer'
! "$BIN/slad" -c "$WORK/missing.conf" check-config >/dev/null 2>"$WORK/missing.err" || fail "a missing -c file passed"
has "$WORK/missing.err" 'missing.conf: No such file'
! "$BIN/slad" -c "$WORK/bad.conf" >/dev/null 2>&1 || fail "slad started with a broken file"
ok "check-config: problems reported with file, line and key"

# 3. The sample configuration is valid and sets every key (none is left at its default).
"$BIN/slad" -c "$SRC/deploy/slad.conf" check-config >"$WORK/sample.out" 2>"$WORK/sample.err" ||
	fail "deploy/slad.conf does not pass check-config: $(cat "$WORK/sample.err")"
! grep -E '# default$' "$WORK/sample.out" || fail "deploy/slad.conf does not set every key"
ok "deploy/slad.conf documents every key"

# 4. The daemon with the file and an override; a stream with duplicates and dead letters.
"$BIN/slactl" gen --seed 5 --tickets 250 --out "$WORK/stream.jsonl" 2>/dev/null
head -n 20 "$WORK/stream.jsonl" >>"$WORK/stream.jsonl" # 20 duplicates
# A deadline in 2023, outside CN's loaded years: reported once, counted.
cat >>"$WORK/stream.jsonl" <<'EOF2'
{"event_id":"Y1","type":"TICKET_CREATED","ticket_id":"Y2023","occurred_at":"2023-03-14T10:00:00+08:00","ticket_type":"INSPECTION","partner_id":"P01"}
{"event_id":"Y2","type":"TICKET_DISPATCHED","ticket_id":"Y2023","occurred_at":"2023-03-14T10:05:00+08:00"}
EOF2
"$BIN/slactl" publish "$WORK/stream.jsonl" 2>>"$WORK/publish.log"
printf 'not protobuf' >"$WORK/garbage.bin"
kcat -P -b "$BROKERS" -t fsm.workorders -k G1 "$WORK/garbage.bin" 2>>"$WORK/kcat.log"
kcat -P -b "$BROKERS" -t fsm.clockins -k G2 "$WORK/garbage.bin" 2>>"$WORK/kcat.log"
N=$(($(grep -c . "$WORK/stream.jsonl") + 2))
slad_start slad SLAD_KAFKA_GROUP=ops
poll_log slad 'as group ops ' 20
poll_sql "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets WHERE consumer_group='ops'" "$N" 120
poll_sql "$settled_sql" 0 60
http_addr slad
poll_http /healthz 200 20
http_get /healthz >"$WORK/healthz.json"
jq -e '.status == "ok" and .postgres == "up" and .kafka == "up" and .consuming == true and (.open_tickets | type) == "number" and .lag == 0' \
	"$WORK/healthz.json" >/dev/null || fail "healthz body: $(cat "$WORK/healthz.json")"
ok "/healthz 200: $(cat "$WORK/healthz.json")"

# Counters move at commits: wait until nothing is left to commit, then compare with the rows.
sleep 2
http_get /metrics >"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.log" 2>&1 || fail "promtool: $(cat "$WORK/promtool.log")"
ok "promtool check metrics"
sum() { awk -v re="$1" '$1 ~ re { s += $2 } END { printf "%d\n", s }' "$WORK/metrics.txt"; }
assert_eq "events counted = offsets committed" "$(sum '^slad_events_total[{]')" "$N"
assert_eq "undecodable events" "$(sum '^slad_events_total[{].*type="UNDECODED"')" 2
assert_eq "duplicates" "$(sum '^slad_duplicates_total$')" 20
q "SELECT reason, count(*) FROM sla.dead_letters GROUP BY 1 ORDER BY 1" >"$WORK/dead.db"
awk '/^slad_dead_letters_total[{]/ && $2 > 0 { match($1, /reason="[^"]*"/); print substr($1, RSTART + 8, RLENGTH - 9) "|" $2 }' \
	"$WORK/metrics.txt" | sort >"$WORK/dead.metrics"
diff -u "$WORK/dead.db" "$WORK/dead.metrics" || fail "dead letters by reason differ from sla.dead_letters"
[ -s "$WORK/dead.db" ] || fail "no dead letter was written"
# The engineer rules across tickets (OVERLAPPING_VISITS, SAME_DAY_GAP) are
# written by PostgreSQL itself (0006_engineer_rules.sql), not through the
# core's history: the metric counts the core's status changes.
q "SELECT v.rule_code || '|' || h.status || '|' || count(*) FROM sla.violation_history h JOIN sla.violations v USING (violation_id)
   WHERE v.rule_code NOT IN ('OVERLAPPING_VISITS', 'SAME_DAY_GAP') GROUP BY v.rule_code, h.status ORDER BY 1" >"$WORK/viol.db"
awk '/^slad_violations_total[{]/ { match($1, /code="[^"]*"/); c = substr($1, RSTART + 6, RLENGTH - 7);
	match($1, /status="[^"]*"/); s = substr($1, RSTART + 8, RLENGTH - 9); print c "|" s "|" $2 }' \
	"$WORK/metrics.txt" | LC_ALL=C sort >"$WORK/viol.metrics"
LC_ALL=C sort -o "$WORK/viol.db" "$WORK/viol.db"
[ "$(wc -l <"$WORK/viol.db")" -gt 2 ] || fail "the stream raised too few violations to compare"
diff -u "$WORK/viol.db" "$WORK/viol.metrics" || fail "violations by code and status differ from sla.violation_history"
assert_eq "open tickets = ticket states" "$(sum '^slad_open_tickets$')" "$(q "SELECT count(*) FROM sla.ticket_state")"
assert_eq "consumer lag when caught up" "$(sum '^slad_consumer_lag_messages[{]')" 0
assert_eq "lag reported for every partition" "$(grep -c '^slad_consumer_lag_messages{' "$WORK/metrics.txt")" 9
assert_eq "commit histogram count = commits" "$(sum '^slad_batch_commit_duration_seconds_count$')" \
	"$(sum '^slad_commits_total[{]')"
[ "$(sum '^slad_commits_total[{]result="ok"')" -gt $((N / 7 - 5)) ] || fail "too few commits for batch.max_events 7"
[ "$(grep -c '^slad_processing_clock_lag_seconds{' "$WORK/metrics.txt")" = 3 ] || fail "processing-clock lag per partition"
grep -q '^slad_armed_timers [0-9]' "$WORK/metrics.txt" || fail "armed timers"
assert_eq "unloaded calendar year" "$(sum '^slad_calendar_unloaded_years_total[{]calendar="CN",year="2023"[}]')" 1
grep -q 'warn: calendar CN: year 2023 is not loaded' "$WORK/slad.log" || fail "no log line for the unloaded year"
ok "metrics match the rows written"
assert_eq "404 elsewhere" "$(http_code /nope)" 404

kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
echo "$passed passed, 0 failed"
