#!/usr/bin/env bash
# A password in postgres.conninfo (and a Kafka SASL password) never appears in
# a log line, /healthz, /metrics, systemd STATUS= or check-config's output,
# not even on error paths (PostgreSQL down, a malformed conninfo, debug logs),
# in either log.format (text, then json: SLAD_LOG_FORMAT=json).
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
notify_listen
PW=Sup3rS3cretPw
KPW=KafkaS3cretPw
# trust authentication: PostgreSQL never asks, libpq still holds the password.
export SLAD_POSTGRES_CONNINFO="host=$WORK/pg port=5432 user=postgres dbname=postgres password=$PW"
cat >"$WORK/slad.conf" <<CONF
kafka:
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
  sasl.username: slad
  sasl.password: $KPW
  debug: conf,generic
log:
  level: debug
CONF
OUT=$WORK/outputs
mkdir -p "$OUT"

"$BIN/slad" -c "$WORK/slad.conf" check-config >"$OUT/check.out" 2>&1 || fail "check-config: $(cat "$OUT/check.out")"
grep -q 'password=\*\*\*' "$OUT/check.out" || fail "the conninfo is not shown masked: $(cat "$OUT/check.out")"
grep -q '^kafka.sasl.password *= \*\*\*' "$OUT/check.out" || fail "sasl.password is not shown masked"
SLAD_POSTGRES_CONNINFO="postgresql://postgres:$PW@localhost:1/postgres?connect_timeout=2" \
	"$BIN/slad" -c "$WORK/slad.conf" check-config >"$OUT/check-uri.out" 2>&1 && fail "check-config passed with PostgreSQL unreachable"
SLAD_POSTGRES_CONNINFO="host=$WORK/pg password=$PW 'unterminated" \
	"$BIN/slad" -c "$WORK/slad.conf" check-config >"$OUT/check-bad.out" 2>&1 && fail "check-config passed a malformed conninfo"
grep -q 'postgres.conninfo: not a valid libpq connection string' "$OUT/check-bad.out" || fail "$(cat "$OUT/check-bad.out")"
SLAD_POSTGRES_CONNINFO="host=$WORK/nowhere password=$PW" "$BIN/slad" migrate >"$OUT/migrate.out" 2>&1 &&
	fail "migrate passed without PostgreSQL"

# The daemon, in each log format.
for fmt in text json; do
	name=slad-$fmt
	slad_start "$name" SLAD_LOG_FORMAT=$fmt
	http_addr "$name"
	poll_http /healthz 200 30
	printf '%s\n' '{"event_id":"p1","type":"TICKET_CREATED","ticket_id":"P1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1"}' >"$WORK/one.jsonl"
	"$BIN/slactl" publish "$WORK/one.jsonl" 2>>"$WORK/publish.log"
	poll_sql "SELECT count(*) FROM sla.tickets" 1 30
	http_get /healthz >"$OUT/healthz.$fmt.1"
	http_get /metrics >"$OUT/metrics.$fmt.1"
	pg_stop
	poll_http /healthz 503 15
	poll_log "$name" 'database still unreachable' 10
	http_get /healthz >"$OUT/healthz.$fmt.2"
	http_get /metrics >"$OUT/metrics.$fmt.2"
	kill -HUP "$SLAD_PID" # fails: calendars cannot be read
	poll_log "$name" 'reload failed' 10
	pg_restart
	poll_http /healthz 200 60
	kill -TERM "$SLAD_PID"
	wait "$SLAD_PID" || fail "slad exited non-zero"
	cp "$WORK"/*.log "$WORK/notify.txt" "$OUT/"
	grep -q 'kafka: ' "$WORK/$name.log" || fail "no librdkafka debug lines to check ($fmt)"
	if [ "$fmt" = json ]; then
		bad=$(jq -R -r 'try (fromjson | if type == "object" and (.message | type == "string") then empty else . end) catch .' \
			"$WORK/$name.log" | head -n 3)
		[ -z "$bad" ] || fail "not a JSON log line: $bad"
	fi
done
if grep -rl -e "$PW" -e "$KPW" "$OUT"; then
	grep -rh -e "$PW" -e "$KPW" "$OUT" | head -n 5 >&2
	fail "a secret leaked (files above)"
fi
log "ok: no secret in $(cat "$OUT"/* | wc -l) lines of logs, endpoints, notifications and command output"
echo "1 passed, 0 failed"
