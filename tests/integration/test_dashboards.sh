#!/usr/bin/env bash
# The dashboards read what they claim: on a populated database (a replayed
# `slactl gen` day plus scored partner assessments), EVERY SQL query of every
# Grafana panel and variable runs as a login role holding only sla_reader and
# returns rows; sla_reader cannot write. Also: the partner scores, their
# history and the qualification events are the ones docs/scoring.md gives,
# they are the same when the scoring state is reloaded from PostgreSQL
# half-way, and `slactl report` prints them.
. "$(dirname "$0")/lib.sh"
FIXTURE=${FIXTURE:-$BIN/tests/integration/slad_partners_fixture}
DASH=$SRC/deploy/grafana/dashboards/slad.json
ASSESS=$SRC/tests/integration/data/assessments.jsonl
pg_start

DB=$(newdb dash)
"$BIN/slactl" gen --seed 5 --tickets 400 --out "$WORK/stream.jsonl" 2>/dev/null
"$BIN/slactl" replay --db "$DB" --until now "$WORK/stream.jsonl" 2>>"$WORK/replay.log" || fail "replay failed"
"$FIXTURE" --db "$DB" --until now "$ASSESS" 2>>"$WORK/fixture.log" || fail "scoring the assessments failed"
export DB

# ---- the scores and events of tests/integration/data/assessments.jsonl ----
scores() { q "SELECT string_agg(partner_id || ' ' || quarter || ' ' || total || ' ' || verdict, '; '
                ORDER BY partner_id, quarter) FROM sla.partner_scores"; }
assert_eq "partner scores" "$(scores)" \
	"P01 2024Q4 94.00 PASS; P01 2025Q1 92.00 PASS; P02 2024Q4 90.00 DOWNGRADE; P02 2025Q1 85.00 DOWNGRADE; P03 2025Q1 63.00 DOWNGRADE; P04 2025Q1 100.00 PASS"
assert_eq "P01 items" "$(q "SELECT concat_ws(' ', major_projects, satisfaction, rep_office, ecr, training_online,
	training_offline, key_events) FROM sla.partner_scores WHERE partner_id = 'P01' AND quarter = '2025Q1'")" \
	"27.50 20.00 9.50 15.00 10.00 8.00 2.00"
assert_eq "P03 history (closed, then a late key event)" \
	"$(q "SELECT string_agg(total || ' ' || verdict, '; ' ORDER BY computed_at) FROM sla.partner_score_history
	      WHERE partner_id = 'P03'")" "83.00 PASS; 63.00 DOWNGRADE"
assert_eq "P02 2025Q1 zero items" "$(q "SELECT zero_items FROM sla.v_partner_scores
	WHERE partner_id = 'P02' AND quarter = '2025Q1'")" "ecr"
events() { q "SELECT string_agg(partner_id || ' ' || code || ' ' || subject_id || ' '
                || to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') || ' ' || status, '; '
                ORDER BY partner_id, at, code) FROM sla.v_partner_events"; }
assert_eq "partner events" "$(events)" \
	"P04 CERT_EXPIRY_REMINDER C-101 2025-03-02 10:00 ACTIVE; P04 CERT_EXPIRY_REMINDER C-100 2025-03-31 00:00 ACTIVE; P04 CERT_EXPIRED_DOWNGRADE C-100 2025-07-31 00:00 ACTIVE; P05 KEY_PERSON_UNDECLARED E031 2025-03-12 10:00 ACTIVE; P05 KEY_PERSON_BUFFER_EXPIRED E030 2025-05-10 10:00 ACTIVE"
assert_eq "assessment dead letters" "$(q "SELECT string_agg(reason, ',' ORDER BY kafka_offset) FROM sla.dead_letters
	WHERE topic = 'fsm.assessments'")" "BAD_VALUE,MISSING_FIELD"
assert_eq "partner states" "$(q "SELECT count(*) FROM sla.partner_state")" "6"

# ---- the same after a restart half-way (state reloaded from sla.partner_state) ----
dump_partners() {
	psql "$1" -qAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'S', partner_id, quarter, major_projects, satisfaction, rep_office, ecr, training_online, training_offline,
       key_events, total, verdict, computed_at FROM sla.partner_scores ORDER BY 2, 3;
SELECT 'H', partner_id, quarter, total, verdict, computed_at FROM sla.partner_score_history ORDER BY 2, 3, 6;
SELECT 'E', partner_id, code, subject_id, at, retracted_at IS NULL FROM sla.partner_events ORDER BY 2, 3, 4, 5;
SQL
}
DB2=$(newdb restarted)
for n in 9 17 28; do
	psql "$DB2" -qAt -c "TRUNCATE sla.partner_scores, sla.partner_score_history, sla.partner_events,
		sla.partner_state, sla.dead_letters" >/dev/null
	"$FIXTURE" --db "$DB2" --until now --restart-after $n "$ASSESS" 2>>"$WORK/fixture.log" ||
		fail "scoring with a restart after $n events failed"
	dump_partners "$DB" >"$WORK/once.txt"
	dump_partners "$DB2" >"$WORK/restarted.txt"
	diff -u "$WORK/once.txt" "$WORK/restarted.txt" >"$WORK/restart-diff.log" ||
		fail "a restart after $n events changed the partner rows (see restart-diff.log)"
done
log "ok: restarts after 9, 17 and 28 events give the same partner rows"

# ---- every panel's SQL, as a dashboard login that holds only sla_reader ----
q "DO \$\$ BEGIN CREATE ROLE grafana_it LOGIN IN ROLE sla_reader; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
READER="$DB user=grafana_it"
psql "$READER" -qAt -c "SELECT 1" >/dev/null || fail "grafana_it cannot log in"
PARTNERS=$(psql "$READER" -qAt -v ON_ERROR_STOP=1 -c \
	"SELECT string_agg(quote_literal(partner_id), ',' ORDER BY partner_id) FROM sla.v_partner_glance")
[ -n "$PARTNERS" ] || fail "no partners for the \$partner variable"

# Titles and queries of every panel target and every query variable, NUL-separated.
psql -qAt -0 -v ON_ERROR_STOP=1 -v dash="$(cat "$DASH")" >"$WORK/queries.bin" <<'SQL' || fail "cannot read $DASH"
SELECT coalesce(p ->> 'title', '?') || E'\x1f' || (t ->> 'rawSql')
FROM jsonb_path_query(:'dash'::jsonb, 'strict $.panels[*]') AS p,
     jsonb_path_query(p, 'strict $.targets[*]') AS t
UNION ALL
SELECT 'variable ' || (v ->> 'name') || E'\x1f' || coalesce(v -> 'query' ->> 'rawSql', v ->> 'query')
FROM jsonb_path_query(:'dash'::jsonb, 'strict $.templating.list[*]') AS v
WHERE v ->> 'type' = 'query';
SQL
ran=0
while IFS= read -r -d '' rec; do
	title=${rec%%$'\x1f'*}
	sql=${rec#*$'\x1f'}
	[ -n "$sql" ] || fail "panel \"$title\": no rawSql"
	# Grafana's macros and variables, as the widest time range and every partner.
	sql=$(printf '%s' "$sql" | sed -E \
		-e "s/\\\$__timeFilter\(([^)]+)\)/\1 BETWEEN '2000-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z'/g" \
		-e "s/\\\$\{partner(:[a-z]+)?\}|\\\$partner/$PARTNERS/g")
	case $sql in *'$'*) fail "panel \"$title\": unexpanded macro or variable in: $sql" ;; esac
	rows=$(psql "$READER" -qAt -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM ($sql) AS panel" 2>"$WORK/panel.err") ||
		fail "panel \"$title\" failed as sla_reader: $(cat "$WORK/panel.err")"
	[ "$rows" -gt 0 ] || fail "panel \"$title\" returned no rows"
	log "ok: panel \"$title\": $rows rows"
	ran=$((ran + 1))
done <"$WORK/queries.bin"
[ "$ran" -ge 12 ] || fail "only $ran dashboard queries found"

# ---- sla_reader reads every view, and cannot write or create ----
for v in $(q "SELECT table_name FROM information_schema.views WHERE table_schema = 'sla' ORDER BY 1"); do
	psql "$READER" -qAt -v ON_ERROR_STOP=1 -c "SELECT * FROM sla.$v LIMIT 1" >/dev/null 2>&1 ||
		fail "sla_reader cannot read sla.$v"
done
denied() {
	if psql "$READER" -qAt -v ON_ERROR_STOP=1 -c "$1" >/dev/null 2>"$WORK/denied.err"; then
		fail "sla_reader may: $1"
	fi
	grep -Eq "permission denied|must be owner" "$WORK/denied.err" || fail "$1: $(cat "$WORK/denied.err")"
}
for t in $(q "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sla'
	AND table_type = 'BASE TABLE' ORDER BY 1"); do
	denied "INSERT INTO sla.$t DEFAULT VALUES"
	denied "UPDATE sla.$t SET $(q "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sla'
		AND table_name = '$t' ORDER BY ordinal_position LIMIT 1") = NULL"
	denied "DELETE FROM sla.$t"
	denied "TRUNCATE sla.$t"
done
denied "CREATE TABLE sla.intruder (x int)"
denied "CREATE VIEW sla.v_intruder AS SELECT 1"
denied "DROP VIEW sla.v_partner_scores"
log "ok: sla_reader cannot INSERT, UPDATE, DELETE, TRUNCATE, CREATE or DROP"

# ---- slactl report prints the same figures in 80 columns ----
"$BIN/slactl" report --db "$READER" --quarter 2025Q1 >"$WORK/report.txt" 2>"$WORK/report.err" ||
	fail "slactl report failed: $(cat "$WORK/report.err")"
grep -q "P01 .*92.00 .*PASS" "$WORK/report.txt" || fail "report lacks P01's 2025Q1 score"
grep -q "P03 .*63.00 .*DOWNGRADE" "$WORK/report.txt" || fail "report lacks P03's 2025Q1 score"
"$BIN/slactl" report --db "$READER" --month 2025-03 >"$WORK/report-month.txt" 2>>"$WORK/report.err" ||
	fail "slactl report --month failed"
grep -q "DISPATCH" "$WORK/report-month.txt" || fail "the monthly report lacks milestone DISPATCH"
"$BIN/slactl" report --db "$READER" --partner P04 --quarter 2025Q1 >"$WORK/report-p04.txt" 2>>"$WORK/report.err" ||
	fail "slactl report --partner failed"
grep -q "CERT_EXPIRY_REMINDER" "$WORK/report-p04.txt" || fail "report --partner P04 lacks its qualification events"
if grep -q "P01" "$WORK/report-p04.txt"; then fail "report --partner P04 shows another partner"; fi
wide=$(awk 'length > 80' "$WORK/report.txt" "$WORK/report-month.txt" "$WORK/report-p04.txt" | head -n 1)
[ -z "$wide" ] || fail "report line longer than 80 columns: $wide"
if "$BIN/slactl" report --db "$READER" --month 2025-13 2>/dev/null; then fail "report accepted --month 2025-13"; fi
log "ok: slactl report"
[ -z "${KEEP_REPORT:-}" ] || cp "$WORK"/report*.txt "$KEEP_REPORT"/
echo "1 passed, 0 failed"
