#!/usr/bin/env bash
# `slactl whatif` (issue 14) on the quickstart's demo day, with a policy that
# halves the HOURLY arrival window: more ARRIVAL_LATE, and every count is the
# one `slactl replay` writes into a fresh database under each policy. The csv
# output parses and agrees with the text; no scratch database stays behind;
# --from-db (the daemon's archive, as the quickstart fills it) gives the same
# counts as the file.
. "$(dirname "$0")/lib.sh"
pg_start
kafka_start 4

# The demo day exactly as deploy/quickstart.sh makes it.
"$BIN/slactl" gen --seed 1 --tickets 300 --day 2025-03-14 --out "$WORK/demo.jsonl" 2>/dev/null
N=$(grep -c . "$WORK/demo.jsonl")

# The current policy is deploy/policies.yaml (slad's default file). Its HOURLY
# MAINTENANCE tickets must arrive by the effective required arrival, which the
# demo puts 2 to 4 h after creation; the new policy gives them an ARRIVAL row
# of its own, before the generic one, with half the shortest of those windows.
CURRENT=$SRC/deploy/policies.yaml
awk '/^  - \{milestone: ARRIVAL, ticket_types: \[MAINTENANCE, / && !done {
	print "  - {milestone: ARRIVAL, ticket_types: [MAINTENANCE], sla_class: HOURLY, deadline: WITHIN 60}"
	done = 1
} { print }' "$CURRENT" >"$WORK/halved.yaml"
assert_eq "rows added to the policy" "$(diff "$CURRENT" "$WORK/halved.yaml" | grep -c '^>')" 1

scratch_dbs() { q "SELECT count(*) FROM pg_database WHERE datname LIKE 'slad\_whatif\_%'"; }

# The daemon's database, filled as the quickstart does: publish, slad consumes.
LIVE=$(newdb slad)
"$BIN/slactl" publish "$WORK/demo.jsonl" 2>>"$WORK/publish.log"
run_reference live "$LIVE" "$N" SLAD_POLICIES="$CURRENT"

# 1. whatif, FILE and csv.
whatif() { "$BIN/slactl" whatif --db "$LIVE" --current "$CURRENT" --policies "$WORK/halved.yaml" "$@"; }
whatif "$WORK/demo.jsonl" >"$WORK/text.out" 2>>"$WORK/whatif.log" || fail "whatif (text) failed"
whatif --format csv --examples 5 "$WORK/demo.jsonl" >"$WORK/out.csv" 2>>"$WORK/whatif.log" || fail "whatif (csv) failed"
cat "$WORK/text.out" >&2

# Violations columns of a text row: current and new.
text_row() { awk -v k="$1" '$1 == k { print $8, $9; exit }' "$2"; }
read -r CUR NEW <<<"$(text_row ARRIVAL_LATE "$WORK/text.out")"
[ -n "$CUR" ] && [ -n "$NEW" ] || fail "no ARRIVAL_LATE row in the text output"
log "ARRIVAL_LATE: $CUR under the current policy, $NEW under the halved window"
[ "$NEW" -gt "$CUR" ] || fail "halving the HOURLY arrival window did not add ARRIVAL_LATE ($CUR -> $NEW)"
ok "more ARRIVAL_LATE under the new policy"

# 2. Each count is what slactl replay writes into a fresh database under that
# policy: sla.violations rows with rule_code ARRIVAL_LATE that stand at the end
# of the replay, i.e. status PROVISIONAL or CONFIRMED (not RETRACTED).
REF_CUR=$(newdb ref_current)
REF_NEW=$(newdb ref_new)
"$BIN/slactl" replay --db "$REF_CUR" --policies "$CURRENT" "$WORK/demo.jsonl" 2>>"$WORK/replay.log" || fail "replay (current)"
"$BIN/slactl" replay --db "$REF_NEW" --policies "$WORK/halved.yaml" "$WORK/demo.jsonl" 2>>"$WORK/replay.log" ||
	fail "replay (new)"
active="SELECT count(*) FROM sla.violations WHERE rule_code = 'ARRIVAL_LATE' AND status IN ('PROVISIONAL', 'CONFIRMED')"
assert_eq "ARRIVAL_LATE under the current policy = replay's" "$CUR" "$(DB=$REF_CUR q "$active")"
assert_eq "ARRIVAL_LATE under the new policy = replay's" "$NEW" "$(DB=$REF_NEW q "$active")"
# Every other figure too: the csv against the two replays, row by row.
psql -qAt -v ON_ERROR_STOP=1 -c "CREATE TABLE whatif_csv (section text, key text,
	met_current int, met_new int, met_change int, missed_current int, missed_new int, missed_change int,
	violations_current int, violations_new int, violations_change int, tickets_changed int, examples text)" ||
	fail "creating the csv table"
# 3. The csv parses (PostgreSQL's csv reader, integer columns)...
psql -qAt -v ON_ERROR_STOP=1 -c "\\copy whatif_csv FROM '$WORK/out.csv' WITH (FORMAT csv, HEADER)" ||
	fail "the csv output does not parse"
ok "csv parses: $(q "SELECT count(*) FROM whatif_csv") rows"
by_code="SELECT code, sum(met), sum(missed), sum(viol) FROM (
	SELECT milestone || '_LATE' AS code, (status = 'MET')::int AS met, (status = 'BREACHED')::int AS missed, 0 AS viol
	  FROM sla.milestones
	UNION ALL SELECT rule_code, 0, 0, 1 FROM sla.violations WHERE status IN ('PROVISIONAL', 'CONFIRMED')) x
	GROUP BY code ORDER BY code COLLATE \"C\""
DB=$REF_CUR q "$by_code" >"$WORK/ref_cur.txt"
DB=$REF_NEW q "$by_code" >"$WORK/ref_new.txt"
q "SELECT key, met_current, missed_current, violations_current FROM whatif_csv WHERE section = 'rule_code'
	ORDER BY key COLLATE \"C\"" >"$WORK/csv_cur.txt"
q "SELECT key, met_new, missed_new, violations_new FROM whatif_csv WHERE section = 'rule_code'
	ORDER BY key COLLATE \"C\"" >"$WORK/csv_new.txt"
diff -u "$WORK/ref_cur.txt" "$WORK/csv_cur.txt" >&2 || fail "current counts by rule code differ from replay's"
diff -u "$WORK/ref_new.txt" "$WORK/csv_new.txt" >&2 || fail "new counts by rule code differ from replay's"
ok "all $(wc -l <"$WORK/ref_cur.txt") rule codes: met, missed and violations equal replay's under each policy"

# ... and its totals are the text's: every row of every section, all nine numbers.
[ "$(q "SELECT count(*) FROM whatif_csv WHERE met_change <> met_new - met_current
	OR missed_change <> missed_new - missed_current OR violations_change <> violations_new - violations_current")" = 0 ] ||
	fail "a csv change is not new - current"
q "SELECT section, CASE WHEN section = 'total' THEN 'all' WHEN key = '' THEN '(none)' ELSE key END,
	met_current, met_new, missed_current, missed_new, violations_current, violations_new, tickets_changed
	FROM whatif_csv ORDER BY 1, 2" | tr '|' ' ' >"$WORK/csv_rows.txt"
awk '/^by rule code/ { s = "rule_code"; next } /^by ticket type/ { s = "ticket_type"; next }
	/^by partner/ { s = "partner"; next } /^total/ { s = "total"; next }
	s != "" && NF == 10 && $2 ~ /^[0-9]+$/ { key = $1; row[s, key] = $2 " " $3 " " $5 " " $6 " " $8 " " $9;
		order[++n] = s SUBSEP key; changed[s, key] = 0; last = s SUBSEP key }
	s != "" && /^  [0-9]+ tickets? changed/ { changed[last] = $1 }
	END { for (i = 1; i <= n; i++) { split(order[i], p, SUBSEP); print p[1], p[2], row[order[i]], changed[order[i]] } }' \
	"$WORK/text.out" | LC_ALL=C sort >"$WORK/text_rows.txt"
LC_ALL=C sort "$WORK/csv_rows.txt" -o "$WORK/csv_rows.txt"
diff -u "$WORK/text_rows.txt" "$WORK/csv_rows.txt" >&2 || fail "csv and text disagree"
assert_eq "csv total violations (current new)" \
	"$(q "SELECT violations_current || ' ' || violations_new FROM whatif_csv WHERE section = 'total'")" \
	"$(text_row all "$WORK/text.out")"
ok "csv and text agree on $(wc -l <"$WORK/csv_rows.txt") rows"
examples=$(q "SELECT examples FROM whatif_csv WHERE section = 'rule_code' AND key = 'ARRIVAL_LATE'")
[ -n "$examples" ] || fail "no example tickets for ARRIVAL_LATE"
for t in $examples; do # an example is a ticket whose ARRIVAL_LATE changed
	a=$(DB=$REF_CUR q "$active AND ticket_id = '$t'")
	b=$(DB=$REF_NEW q "$active AND ticket_id = '$t'")
	[ "$a" != "$b" ] || fail "example $t: ARRIVAL_LATE $a under both policies"
done
ok "example tickets ($examples) changed ARRIVAL_LATE"

# 4. No scratch database behind: after success, after a bad input line (named),
# and after SIGINT in the middle of a run.
assert_eq "scratch databases after the runs" "$(scratch_dbs)" 0
{ head -n 5 "$WORK/demo.jsonl"; echo '{"event_id": "x"}'; } >"$WORK/bad.jsonl"
if whatif "$WORK/bad.jsonl" >/dev/null 2>"$WORK/bad.err"; then fail "a bad line was accepted"; fi
grep -q "bad.jsonl:6: " "$WORK/bad.err" || fail "the bad line is not named: $(cat "$WORK/bad.err")"
ok "a bad line is named: $(head -n 1 "$WORK/bad.err")"
"$BIN/slactl" gen --seed 2 --tickets 5000 --out "$WORK/big.jsonl" 2>/dev/null
# slactl itself in the background (not the function: $! would be a subshell's).
"$BIN/slactl" whatif --db "$LIVE" --current "$CURRENT" --policies "$WORK/halved.yaml" "$WORK/big.jsonl" \
	>/dev/null 2>"$WORK/int.err" &
WPID=$!
deadline=$((SECONDS + 60))
until [ "$(scratch_dbs)" -ge 1 ]; do
	[ $SECONDS -lt $deadline ] || fail "whatif created no scratch database"
	sleep 0.05
done
kill -INT "$WPID"
if wait "$WPID"; then fail "an interrupted whatif exited 0"; fi
grep -q interrupted "$WORK/int.err" || fail "no word of the interrupt: $(cat "$WORK/int.err")"
assert_eq "scratch databases after SIGINT" "$(scratch_dbs)" 0
# A role without CREATEDB is told what it lacks.
q "CREATE ROLE clerk LOGIN; GRANT sla_reader TO clerk; CREATE ROLE analyst LOGIN CREATEDB; GRANT sla_reader TO analyst" >/dev/null
if "$BIN/slactl" whatif --db "$LIVE user=clerk" --policies "$WORK/halved.yaml" --from-db >/dev/null 2>"$WORK/priv.err"; then
	fail "whatif without CREATEDB succeeded"
fi
grep -q "needs the CREATEDB privilege" "$WORK/priv.err" || fail "no word of CREATEDB: $(cat "$WORK/priv.err")"
ok "without CREATEDB: $(tail -n 1 "$WORK/priv.err")"

# 5. --from-db reads the daemon's archive (sla.ticket_events), here as a role
# that may read the sla tables and create databases, nothing more: the same
# counts as the file.
"$BIN/slactl" whatif --db "$LIVE user=analyst" --current "$CURRENT" --policies "$WORK/halved.yaml" \
	--format csv --examples 5 --from-db >"$WORK/fromdb.csv" 2>>"$WORK/whatif.log" || fail "whatif --from-db failed"
diff -u "$WORK/out.csv" "$WORK/fromdb.csv" >&2 || fail "--from-db differs from FILE"
ok "--from-db gives the same $(($(wc -l <"$WORK/fromdb.csv") - 1)) rows as FILE"
assert_eq "scratch databases at the end" "$(scratch_dbs)" 0

echo "$passed passed, 0 failed"
