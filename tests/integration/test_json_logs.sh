#!/usr/bin/env bash
# log.format json: every line slad writes on stderr (librdkafka's included) is
# one JSON object, valid UTF-8, with time, level and message; a dead letter's
# line carries topic, partition, offset, reason (and ticket) equal to its row
# in sla.dead_letters. SIGHUP switches text -> json -> text. Under systemd's
# journal (JOURNAL_STREAM naming fd 2) messages go to journald natively with
# SLAD_* fields (a datagram socket standing in for journald's, in a private
# mount namespace); without journald they fall back to stderr.
. "$(dirname "$0")/lib.sh"
FIXTURE=${FIXTURE:-$BIN/tests/integration/slad_poison_fixture}
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"
command -v jq >/dev/null || fail "jq is not installed (tests/packages.txt)"
[ -x "$FIXTURE" ] || fail "no $FIXTURE (build the slad_poison_fixture target)"
pg_start
kafka_start 2
"$BIN/slad" migrate >/dev/null
mkdir -p "$WORK/msgs"
"$FIXTURE" "$WORK/msgs" >"$WORK/manifest" 2>"$WORK/fixture.log" || fail "the fixture failed: $(cat "$WORK/fixture.log")"

pub() { printf '%s\n' "$1" >"$WORK/one.jsonl"; "$BIN/slactl" publish "$WORK/one.jsonl" 2>>"$WORK/publish.log"; }
raw() { "$KCAT" -P -b "$BROKERS" -t "$1" -k "$2" "$3" 2>>"$WORK/kcat.log" || fail "kcat -P $3"; }
conf() {
	cat >"$WORK/slad.conf" <<-CONF
		kafka:
		  session.timeout.ms: 6000
		  heartbeat.interval.ms: 500
		log:
		  level: $1
		  format: $2
	CONF
}
# json_check FILE: every line one JSON object with a well-formed time, a level and a message; the file is UTF-8.
json_check() {
	[ -s "$1" ] || fail "$1 is empty"
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "$1 is not valid UTF-8"
	local bad
	bad=$(jq -R -r 'try (fromjson | if type == "object"
		and (.time | type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$"))
		and (.level | IN("debug", "info", "warn", "error")) and (.message | type == "string")
		and ((.partition // 0) | type == "number") and ((.offset // 0) | type == "number")
		then empty else "not slad JSON: \(.)" end) catch "not JSON: \(.)"' "$1" | head -n 3)
	[ -z "$bad" ] || fail "$1: $bad"
}
# Dead letters as rows, and as the log's dead-letter lines: "topic partition offset reason".
rows() { q "SELECT topic || ' ' || partition || ' ' || kafka_offset || ' ' || reason FROM sla.dead_letters ORDER BY 1"; }
dl_lines() {
	jq -r 'select(.message | startswith("dead letter ")) | "\(.topic) \(.partition) \(.offset) \(.reason)"' "$1" | sort -u
}

# ---- 1. json from the start (SLAD_LOG_FORMAT), with dead letters of four kinds
pub '{"event_id":"j1","type":"TICKET_CREATED","ticket_id":"T1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","partner_id":"P1","site_lat":30.27,"site_lon":120.15}'
printf 'this is not protobuf \377\376' >"$WORK/garbage.bin"
raw fsm.workorders T1 "$WORK/garbage.bin"
printf '\020\002' >"$WORK/noid.bin" # TICKET_DISPATCHED without an event_id
raw fsm.workorders T1 "$WORK/noid.bin"
# A ticket id that is not UTF-8 (its byte 0xff is quoted in the log's ticket field).
raw fsm.workorders T1 "$WORK/msgs/ticket_id_utf8.bin"
pub '{"event_id":"j3","type":"TICKET_CANCELLED","ticket_id":"T1","occurred_at":"2025-03-14T10:05:00+08:00"}'
pub '{"event_id":"j4","type":"CLOCK_IN","ticket_id":"T1","occurred_at":"2025-03-14T10:30:00+08:00","engineer_id":"E1","kind":"ARRIVE","lat":30.27,"lon":120.15}'
N=6
conf debug text # the environment wins over the file
slad_start json SLAD_LOG_FORMAT=json SLAD_KAFKA__DEBUG=generic
poll_sql "$committed_sql" "$N" 60
poll_sql "SELECT count(*) FROM sla.dead_letters" 4 30
http_addr json
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
json_check "$WORK/json.log"
ok "every line of $(wc -l <"$WORK/json.log") is one JSON object with time, level and message, in UTF-8"
[ "$(jq -r 'select(.message | startswith("kafka: ")) | .level' "$WORK/json.log" | wc -l)" -gt 0 ] ||
	fail "no librdkafka log line in the JSON log"
ok "librdkafka's log lines are JSON too"
assert_eq "the ready: line" "$(jq -r 'select(.message | startswith("ready: ")) | .level' "$WORK/json.log")" info
assert_eq "dead-letter lines (topic partition offset reason) = sla.dead_letters" "$(dl_lines "$WORK/json.log")" "$(rows)"
assert_eq "the reasons" "$(q "SELECT string_agg(reason, ' ' ORDER BY reason) FROM sla.dead_letters")" \
	"BAD_VALUE DECODE_ERROR INVALID_TRANSITION MISSING_FIELD"
assert_eq "the clock-in refused on a cancelled ticket names it" \
	"$(jq -r 'select(.reason == "INVALID_TRANSITION") | "\(.ticket) \(.topic) \(.level)"' "$WORK/json.log" | sort -u)" \
	"T1 fsm.clockins debug"
P=$(q "SELECT partition FROM sla.dead_letters WHERE reason = 'DECODE_ERROR'")
O=$(q "SELECT kafka_offset FROM sla.dead_letters WHERE reason = 'DECODE_ERROR'")
assert_eq "DECODE_ERROR's numbers are JSON numbers" \
	"$(jq -c 'select(.reason == "DECODE_ERROR") | [.partition, .offset]' "$WORK/json.log" | sort -u)" "[$P,$O]"
jq -r 'select(.message | startswith("assigned ")) | "\(.topic) \(.partition)"' "$WORK/json.log" | grep -q '^fsm.workorders [0-9]' ||
	fail "no 'assigned' line with topic and partition fields"
ok "assignments carry topic and partition"

# ---- 2. SIGHUP switches the format: text -> json -> text (the file alone says it)
conf debug text
slad_start switch
http_addr switch
poll_log switch '^[0-9T:.-]+Z info: ready: ' 30
hup_to() {
	conf debug "$1"
	kill -HUP "$SLAD_PID"
	poll_log switch "$2" 20
}
hup_to json '^\{"time":"[^"]+","level":"info","message":"reloaded: policy [0-9a-f]+, '
# A dead letter after the switch: a JSON line with its fields.
raw fsm.workorders T1 "$WORK/garbage.bin"
poll_sql "SELECT count(*) FROM sla.dead_letters" 5 30
read -r SP SO < <(q "SELECT partition, kafka_offset FROM sla.dead_letters ORDER BY id DESC LIMIT 1" | tr '|' ' ')
poll_log switch '^\{.*"message":"dead letter topic=fsm.workorders partition='"$SP offset=$SO"': DECODE_ERROR"' 10
hup_to text '^[0-9T:.-]+Z info: reloaded: policy '
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad exited non-zero"
# Before the first reload's "reloaded:" line: text; from it to the second: JSON; then text.
awk -v w="$WORK" '/reloaded: policy/ { part++ } { print > (w "/switch." (part + 0)) }' "$WORK/switch.log"
grep -Evq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (debug|info|warn|error): ' "$WORK/switch.0" &&
	fail "a line before the reload is not text: $(grep -Ev '^[0-9T:.-]+Z ' "$WORK/switch.0" | head -n 1)"
json_check "$WORK/switch.1"
grep -Evq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (debug|info|warn|error): ' "$WORK/switch.2" &&
	fail "a line after the second reload is not text: $(grep -Ev '^[0-9T:.-]+Z ' "$WORK/switch.2" | head -n 1)"
assert_eq "the dead letter after the switch, as fields" \
	"$(dl_lines "$WORK/switch.1")" "fsm.workorders $SP $SO DECODE_ERROR"
ok "text until the reload, JSON after it ($(wc -l <"$WORK/switch.1") lines), text after the next"

# ---- 3. journald: native entries with SLAD_* fields when JOURNAL_STREAM names fd 2
# sd_journal_send writes to /run/systemd/journal/socket: a private mount
# namespace puts a socat socket there (root only; the detection and the
# fields are also unit-tested in tests/unit/test_log.c).
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	log "SKIPPED: the journald part needs root and unshare -m (tests/unit/test_log.c covers detection and fields)"
	echo "$passed passed, 0 failed (journald part skipped)"
	exit 0
fi
mkdir -p "$WORK/journal"
: >"$WORK/journal.txt"
socat -u UNIX-RECV:"$WORK/journal/socket" OPEN:"$WORK/journal.txt",append 2>>"$WORK/socat.log" &
PIDS+=($!)
deadline=$((SECONDS + 5))
until [ -S "$WORK/journal/socket" ]; do
	[ $SECONDS -lt $deadline ] || fail "socat did not create the journal socket"
	sleep 0.05
done
# journal_slad NAME BIND [ENV=VALUE...]: slad with stderr on $WORK/NAME.log and
# JOURNAL_STREAM naming that file; BIND=1 puts our socket where journald's would be.
journal_slad() {
	local name=$1 bind=$2
	shift 2
	: >"$WORK/$name.log"
	local stream
	stream=$(stat -c '%d:%i' "$WORK/$name.log")
	# shellcheck disable=SC2016
	env JOURNAL_STREAM="$stream" JWORK="$WORK" BIND="$bind" "$@" unshare -m bash -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 97
		if [ "$BIND" = 1 ]; then mount --bind "$JWORK/journal" /run/systemd/journal || exit 98; fi
		exec "$0" -c "$JWORK/slad.conf"' "$BIN/slad" >>"$WORK/$name.log" 2>&1 &
	SLAD_PID=$!
	PIDS+=($SLAD_PID)
}
conf debug json # native fields whatever log.format says
journal_slad journal 1
deadline=$((SECONDS + 30))
until grep -q '^MESSAGE=info: ready: ' "$WORK/journal.txt"; do
	[ $SECONDS -lt $deadline ] || fail "no ready: entry in the journal: $(tail -n 5 "$WORK/journal.txt")"
	sleep 0.1
done
raw fsm.workorders T1 "$WORK/garbage.bin"
poll_sql "SELECT count(*) FROM sla.dead_letters" 6 30
read -r JP JO < <(q "SELECT partition, kafka_offset FROM sla.dead_letters ORDER BY id DESC LIMIT 1" | tr '|' ' ')
deadline=$((SECONDS + 10))
until grep -q "^SLAD_OFFSET=$JO$" "$WORK/journal.txt"; do
	[ $SECONDS -lt $deadline ] || fail "no SLAD_OFFSET=$JO entry in the journal"
	sleep 0.1
done
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad in the namespace exited non-zero: $(tail -n 5 "$WORK/journal.log")"
# The entry of that dead letter: its fields, between one MESSAGE= and the next.
entry=$(awk -v o="SLAD_OFFSET=$JO" '/^MESSAGE=/ { if (hit) exit; e = "" } { e = e $0 "\n" } $0 == o { hit = 1 } END { printf "%s", e }' \
	"$WORK/journal.txt")
for f in "MESSAGE=debug: dead letter topic=fsm.workorders partition=$JP offset=$JO: DECODE_ERROR" PRIORITY=7 \
	SYSLOG_IDENTIFIER=slad SLAD_TOPIC=fsm.workorders "SLAD_PARTITION=$JP" SLAD_REASON=DECODE_ERROR; do
	grep -qxF "$f" <<<"$entry" || fail "the journal entry lacks $f: $entry"
done
grep -q '^PRIORITY=6$' "$WORK/journal.txt" || fail "no info entry"
[ ! -s "$WORK/journal.log" ] || fail "slad wrote to stderr although journald took the entries: $(head -n 3 "$WORK/journal.log")"
ok "under the journal: native entries with SLAD_TOPIC/PARTITION/OFFSET/REASON, nothing on stderr"
# No journald at all (the socket missing): the lines stay on stderr, as JSON.
journal_slad nojournal 0
poll_log nojournal '"message":"ready: ' 30
kill -TERM "$SLAD_PID"
wait "$SLAD_PID" || fail "slad in the namespace exited non-zero: $(tail -n 5 "$WORK/nojournal.log")"
json_check "$WORK/nojournal.log"
ok "without journald: JSON on stderr"
echo "$passed passed, 0 failed"
