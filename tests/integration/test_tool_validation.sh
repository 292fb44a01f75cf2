#!/usr/bin/env bash
# slactl publish and slactl replay apply slad's own checks (event_validate):
# publish refuses a file whose lines slad would dead-letter, naming line and
# field, and sends nothing; replay dead-letters those lines with their reason,
# and a rejected far-future event does not move the processing clock.
. "$(dirname "$0")/lib.sh"
pg_start
"$BIN/slad" migrate >/dev/null

GOOD='{"event_id":"g1","type":"TICKET_CREATED","ticket_id":"T1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"MAINTENANCE","sla_class":"HOURLY","partner_id":"P1","site_lat":30.27,"site_lon":120.15}'
cat >"$WORK/bad.jsonl" <<JSONL
$GOOD
{"event_id":"b1","type":"TICKET_CREATED","ticket_id":"R1","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"RESIDENT","partner_id":"P1","service_start_at":"1970-01-01T00:00:00Z","service_end_at":"9999-12-31T00:00:00Z"}
{"event_id":"b2","type":"TICKET_REJECTED","ticket_id":"T1","occurred_at":"2025-03-14T10:05:00+08:00"}
{"event_id":"b3","type":"TICKET_DISPATCHED","ticket_id":"T1","occurred_at":"2199-03-14T10:00:00+08:00"}
{"event_id":"b4","type":"LEAVE_APPROVED","ticket_id":"T1","occurred_at":"2025-03-14T10:05:00+08:00","leave_date":"2040-01-01"}
{"event_id":"b5","type":"TICKET_CREATED","ticket_id":"R2","occurred_at":"2025-03-14T10:00:00+08:00","ticket_type":"RESIDENT","partner_id":"P1","service_start_at":"2025-01-01T00:00:00+08:00","service_end_at":"2029-01-01T00:00:00+08:00"}
JSONL

# publish: validation comes before any connection (the broker here does not exist).
rc=0
"$BIN/slactl" publish -b 127.0.0.1:9 "$WORK/bad.jsonl" 2>"$WORK/publish.err" || rc=$?
cat "$WORK/publish.err" >&2
[ "$rc" -ne 0 ] || fail "publish accepted a file slad would dead-letter"
grep -q "bad.jsonl:2: BAD_VALUE: service_start_at out of range" "$WORK/publish.err" || fail "line 2 not named"
grep -q "bad.jsonl:3: MISSING_FIELD: missing field rejected_by" "$WORK/publish.err" || fail "line 3 not named"
grep -q "bad.jsonl:4: BAD_VALUE: occurred_at" "$WORK/publish.err" || fail "line 4 not named"
grep -q "bad.jsonl:5: BAD_VALUE: leave_date" "$WORK/publish.err" || fail "line 5 not named"
grep -q "bad.jsonl:6: BAD_VALUE: service_start_at..service_end_at longer than" "$WORK/publish.err" ||
	fail "line 6 not named"
grep -q "5 invalid lines in .*nothing published" "$WORK/publish.err" || fail "publish summary"
grep -q "bad.jsonl:1:" "$WORK/publish.err" && fail "the valid line 1 was reported"
log "ok: publish names each bad line and field"

# replay: the same lines become dead letters; the good ticket is applied.
"$BIN/slactl" replay "$WORK/bad.jsonl" 2>"$WORK/replay.err" || { cat "$WORK/replay.err" >&2; fail "replay failed"; }
assert_eq "replay dead letters" \
	"$(q "SELECT string_agg(kafka_offset || ':' || reason, ',' ORDER BY kafka_offset) FROM sla.dead_letters")" \
	"2:BAD_VALUE,3:MISSING_FIELD,4:BAD_VALUE,5:BAD_VALUE,6:BAD_VALUE"
assert_eq "details name the field" \
	"$(q "SELECT count(*) FROM sla.dead_letters WHERE detail ~ '(service_start_at|rejected_by|occurred_at|leave_date)'")" 5
assert_eq "the good ticket" "$(q "SELECT state FROM sla.tickets")" "CREATED"
# The 2199 event was not applied and did not move the clock to 2199: the ticket's
# DISPATCH milestone is not open (no dispatch) and nothing breached in 2199.
assert_eq "no breach from a far-future clock" \
	"$(q "SELECT count(*) FROM sla.milestones WHERE due_at > '2100-01-01' OR status = 'BREACHED'")" 0
echo "1 passed, 0 failed"
