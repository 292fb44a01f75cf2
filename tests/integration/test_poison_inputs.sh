#!/usr/bin/env bash
# Poison inputs (events.md "Bad input"): raw protobuf messages that decode but
# are wrong in exactly one field (a missing or foreign payload, occurred_at at
# INT64_MIN/MAX, a 1970..9999 resident period, NUL or non-UTF-8 bytes in ids,
# enums out of range, NaN coordinates) each land in sla.dead_letters with the
# right reason, a detail naming the field and their raw bytes; none of them
# changes a ticket; the good message published right after each one is
# applied; slad stays up and its HTTP endpoint answers while it works.
# Every row is checked and reported by name; the test fails at the end with
# the list of rows that did not hold.
. "$(dirname "$0")/lib.sh"
FIXTURE=${FIXTURE:-$BIN/tests/integration/slad_poison_fixture}
KCAT=$(command -v kcat || command -v kafkacat) || fail "kcat is not installed"
[ -x "$FIXTURE" ] || fail "no $FIXTURE (build the slad_poison_fixture target)"

pg_start
# One partition per topic: the offsets follow the order of publishing.
kafka_start 1
"$BIN/slad" migrate >/dev/null

mkdir -p "$WORK/msgs"
"$FIXTURE" "$WORK/msgs" >"$WORK/manifest" 2>"$WORK/fixture.log" || fail "the fixture failed: $(cat "$WORK/fixture.log")"

declare -A NEXT=([fsm.workorders]=0 [fsm.clockins]=0)
topic_of() { case "$1" in *'"type":"CLOCK_IN"'*) echo fsm.clockins ;; *) echo fsm.workorders ;; esac; }
pub() {
	printf '%s\n' "$1" >"$WORK/one.jsonl"
	"$BIN/slactl" publish "$WORK/one.jsonl" >>"$WORK/publish.log" 2>&1 || fail "slactl publish: $1"
	local t
	t=$(topic_of "$1")
	NEXT[$t]=$((NEXT[$t] + 1))
}
raw() {
	"$KCAT" -P -b "$BROKERS" -t "$1" -k "$2" "$3" 2>>"$WORK/kcat.log" || fail "kcat -P $3"
	NEXT[$1]=$((NEXT[$1] + 1))
}
SITE='"partner_id":"P1","site_lat":30.27,"site_lon":120.15'

# The tickets the bad messages name.
pub '{"event_id":"s-tm-c","type":"TICKET_CREATED","ticket_id":"TM","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE",'"$SITE"'}'
pub '{"event_id":"s-tm-d","type":"TICKET_DISPATCHED","ticket_id":"TM","occurred_at":"2025-03-14T10:01:00+08:00"}'
pub '{"event_id":"s-tm-a","type":"TICKET_ACKNOWLEDGED","ticket_id":"TM","occurred_at":"2025-03-14T10:02:00+08:00"}'
pub '{"event_id":"s-tm-e","type":"ENGINEER_ASSIGNED","ticket_id":"TM","occurred_at":"2025-03-14T10:03:00+08:00","engineer_id":"E1"}'
pub '{"event_id":"s-ti-c","type":"TICKET_CREATED","ticket_id":"TI","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"INCIDENT","severity":"II",'"$SITE"'}'
pub '{"event_id":"s-tr-c","type":"TICKET_CREATED","ticket_id":"TR","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"RESIDENT",'"$SITE"',"service_start_at":"2025-03-01T00:00:00+08:00","service_end_at":"2025-05-31T00:00:00+08:00"}'

# Each bad message, then a good one in the same partition: a new ticket on
# fsm.workorders, a clock-in on fsm.clockins. ROWS: NAME TOPIC OFFSET REASON FIELD.
ROWS=()
BAD_POSITIONS=""
i=0
while read -r name topic key reason field; do
	[ -f "$WORK/msgs/$name.bin" ] || fail "the fixture wrote no $name.bin"
	off=${NEXT[$topic]}
	raw "$topic" "$key" "$WORK/msgs/$name.bin"
	i=$((i + 1))
	at=$(printf '2025-03-14T11:%02d:00+08:00' "$i")
	case "$topic" in
	fsm.workorders) pub '{"event_id":"good-'"$name"'","type":"TICKET_CREATED","ticket_id":"G-'"$name"'","occurred_at":"'"$at"'","ticket_type":"MAINTENANCE",'"$SITE"'}' ;;
	fsm.clockins) pub '{"event_id":"good-'"$name"'","type":"CLOCK_IN","ticket_id":"TM","occurred_at":"'"$at"'","engineer_id":"E1","kind":"ARRIVE","lat":30.27,"lon":120.15}' ;;
	*) fail "manifest: unknown topic $topic" ;;
	esac
	ROWS+=("$name $topic $off $reason $field")
	BAD_POSITIONS+="('$topic', $off),"
done <"$WORK/manifest"
NBAD=${#ROWS[@]}
[ "$NBAD" -ge 23 ] || fail "the fixture listed $NBAD messages, want 23"
TOTAL=$((${NEXT[fsm.workorders]} + ${NEXT[fsm.clockins]}))
log "$NBAD bad messages, $TOTAL messages in all (${NEXT[fsm.workorders]} work orders, ${NEXT[fsm.clockins]} clock-ins)"

FAILED=()
bad() { printf 'not ok: %s\n' "$*" >&2; FAILED+=("$*"); }
qq() { q "$1" 2>>"$WORK/psql.log" || true; }
# check WHAT GOT WANT [HINT]: one check that reports and goes on.
check() {
	if [ "$2" = "$3" ]; then
		ok "$1: $2"
	else
		bad "$1: got [$2], want [$3]${4:+ ($4)}"
	fi
}

slad_start slad
http_addr slad

# wait_sql SQL WANT TIMEOUT: like poll_sql, but returns 1 instead of failing,
# gives up early if slad exits, and probes /healthz on every round: the loop
# that consumes is the loop that answers HTTP, so a core that stalls on a
# message shows up as a /healthz that does not answer.
HEALTH_MISSES=0
wait_sql() {
	local deadline=$((SECONDS + $3)) got="" code
	while [ $SECONDS -lt $deadline ]; do
		got=$(qq "$1")
		[ "$got" = "$2" ] && return 0
		kill -0 "$SLAD_PID" 2>/dev/null || { log "slad exited while waiting for [$1] = [$2], last [$got]"; return 1; }
		code=$(http_code /healthz || true)
		case "$code" in 200 | 503) ;; *) HEALTH_MISSES=$((HEALTH_MISSES + 1)) ;; esac
		sleep 0.2
	done
	log "timed out waiting for [$1] = [$2], last [$got]"
	return 1
}

wait_sql "$committed_sql" "$TOTAL" 60 || bad "offsets: not every message was consumed and committed (want $TOTAL, got $(qq "$committed_sql"))"
wait_sql "SELECT count(*) FROM sla.dead_letters" "$NBAD" 30 || bad "dead letters: want $NBAD, got $(qq "SELECT count(*) FROM sla.dead_letters")"

# Per row: reason, detail, raw bytes (matched by offset), no effect, the next message applied.
for row in "${ROWS[@]}"; do
	read -r name topic off reason field <<<"$row"
	where="topic = '$topic' AND partition = 0 AND kafka_offset = $off"
	got=$(qq "SELECT reason || '|' || coalesce(detail, '') FROM sla.dead_letters WHERE $where")
	hex=$(od -An -v -tx1 "$WORK/msgs/$name.bin" | tr -d ' \n')
	problems=()
	case "$got" in
	"") problems+=("no dead letter at $topic offset $off") ;;
	"$reason|"*"$field"*) ;;
	*) problems+=("dead letter is [$got], want $reason with a detail naming $field") ;;
	esac
	if [ -n "$got" ] && [ "$(qq "SELECT encode(payload, 'hex') FROM sla.dead_letters WHERE $where")" != "$hex" ]; then
		problems+=("the dead letter's payload is not the message's bytes")
	fi
	applied=$(qq "SELECT count(*) FROM sla.ticket_events WHERE $where")
	[ "$applied" = 0 ] || problems+=("it was applied as an event of $(qq "SELECT string_agg(ticket_id, ',') FROM sla.ticket_events WHERE $where")")
	next=$(qq "SELECT count(*) FROM sla.ticket_events WHERE topic = '$topic' AND kafka_offset = $((off + 1)) AND event_id = 'good-$name'")
	[ "$next" = 1 ] || problems+=("the good message after it (offset $((off + 1))) was not applied")
	if [ ${#problems[@]} -eq 0 ]; then
		ok "$name: $got"
	else
		bad "$name: $(printf '%s; ' "${problems[@]}" | sed 's/; $//')"
	fi
done

# Nothing a bad message said reached the tickets.
check "tickets besides the good ones" \
	"$(qq "SELECT string_agg(ticket_id, ',' ORDER BY ticket_id) FROM sla.tickets WHERE ticket_id NOT LIKE 'G-%'")" \
	"TI,TM,TR" "a bad TICKET_CREATED was applied?"
# TM: assigned to E1, then on site by the good clock-in; TI and TR as created.
check "the setup tickets" \
	"$(qq "SELECT string_agg(ticket_id || ':' || state || ':' || coalesce(engineer_id, ''), ',' ORDER BY ticket_id)
	       FROM sla.tickets WHERE ticket_id IN ('TI', 'TM', 'TR')")" \
	"TI:CREATED:,TM:ON_SITE:E1,TR:CREATED:" "a bad message changed one?"
check "milestones of the 1970..9999 resident ticket" \
	"$(qq "SELECT count(*) FROM sla.milestones WHERE ticket_id = 'TR-FOREVER'")" 0
check "good tickets created after the bad messages" \
	"$(qq "SELECT count(*) FROM sla.tickets WHERE ticket_id LIKE 'G-%'")" "$(grep -c ' fsm.workorders ' "$WORK/manifest")"
check "dead letters besides the bad messages" \
	"$(qq "SELECT coalesce(string_agg(topic || '@' || kafka_offset || ' ' || reason || ' ' || coalesce(detail, ''), '; '), '')
	       FROM sla.dead_letters WHERE (topic, kafka_offset) NOT IN (VALUES $BAD_POSITIONS ('', -1))")" ""

# Alive, answering, and it stops cleanly.
if kill -0 "$SLAD_PID" 2>/dev/null; then
	ok "slad is running"
	check "/healthz probes not answered while slad worked" "$HEALTH_MISSES" 0 "stalled on a message?"
	check "/healthz" "$(http_code /healthz || true)" 200 "$(http_get /healthz || true)"
	kill -TERM "$SLAD_PID"
	rc=0
	wait "$SLAD_PID" || rc=$?
	check "slad's exit status on SIGTERM" "$rc" 0
else
	rc=0
	wait "$SLAD_PID" 2>/dev/null || rc=$?
	bad "slad died (exit status $rc)"
fi

if [ ${#FAILED[@]} -ne 0 ]; then
	printf 'FAILED %d of the checks:\n' "${#FAILED[@]}" >&2
	printf '  %s\n' "${FAILED[@]}" >&2
	echo "$passed passed, ${#FAILED[@]} failed"
	exit 1
fi
echo "$passed passed, 0 failed"
