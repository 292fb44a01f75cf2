#!/usr/bin/env bash
# Monthly partitions of the append-only tables (schema/0010, issue 12):
# 1. a database of the previous schema (0001-0009) with rows in it is
#    converted in place by `slad migrate`: every row kept, each in its month;
# 2. replay writes each row into its month's partition, none into the
#    default partitions, through the sla_writer role (no DDL of its own);
# 3. a row that reached a default partition moves to its month when
#    sla.ensure_months creates it;
# 4. retention: sla.drop_months_before drops whole months, only for the
#    schema owner; the months after stay complete.
. "$(dirname "$0")/lib.sh"
pg_start

# 1. The previous schema, as slad 0.1 left it, with rows of two months.
q "CREATE DATABASE upgrade" >/dev/null
OLD="host=$WORK/pg port=5432 user=postgres dbname=upgrade"
for f in "$SRC"/schema/000[1-9]_*.sql; do
	name=$(basename "$f")
	{
		echo "BEGIN;"
		cat "$f"
		echo "INSERT INTO sla.schema_migrations (name) VALUES ('$name');"
		echo "COMMIT;"
	} | psql "$OLD" -qAt -v ON_ERROR_STOP=1 >/dev/null 2>>"$WORK/old-schema.log" || fail "applying $name"
done
DB=$OLD q "INSERT INTO sla.ticket_events (ticket_id, event_id, type, occurred_at, payload)
	SELECT 'T' || (i % 7), 'E' || i, 'ARRIVE',
	       CASE WHEN i <= 30 THEN timestamptz '2025-02-10 03:00Z' ELSE timestamptz '2025-03-20 23:30Z' END,
	       '\x0102'::bytea FROM generate_series(1, 50) i"
DB=$OLD q "INSERT INTO sla.violation_history (violation_id, status, changed_at)
	SELECT i, 'PROVISIONAL', timestamptz '2025-02-28 23:59:59.998Z' + i * interval '1 ms'
	FROM generate_series(1, 4) i"
DB=$OLD q "INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason, payload, received_at)
	VALUES ('fsm.clockins', 1, 17, 'BAD_VALUE', '\x00'::bytea, '2025-03-01 00:00Z'),
	       ('fsm.clockins', 1, 18, 'DECODE_ERROR', NULL, '2025-02-01 00:00Z')"
before=$(DB=$OLD q "SELECT md5(string_agg(t::text, ',' ORDER BY ticket_id, event_id)) FROM sla.ticket_events t")
SLAD_POSTGRES_CONNINFO="$OLD" "$BIN/slad" migrate >"$WORK/migrate.log" 2>&1 || fail "slad migrate: $(cat "$WORK/migrate.log")"
assert_eq "sla.ticket_events is partitioned" "$(DB=$OLD q "SELECT relkind FROM pg_class WHERE oid = 'sla.ticket_events'::regclass")" p
assert_eq "events after the conversion (same rows)" \
	"$(DB=$OLD q "SELECT md5(string_agg(t::text, ',' ORDER BY ticket_id, event_id)) FROM sla.ticket_events t")" "$before"
assert_eq "events by month" \
	"$(DB=$OLD q "SELECT tableoid::regclass, count(*) FROM sla.ticket_events GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" \
	"sla.ticket_events_2025_02|30 sla.ticket_events_2025_03|20 "
assert_eq "status changes by month (a millisecond before March is February)" \
	"$(DB=$OLD q "SELECT tableoid::regclass, count(*) FROM sla.violation_history GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" \
	"sla.violation_history_2025_02|1 sla.violation_history_2025_03|3 "
assert_eq "dead letters by month" \
	"$(DB=$OLD q "SELECT tableoid::regclass || ':' || kafka_offset FROM sla.dead_letters ORDER BY 1" | tr '\n' ' ')" \
	"sla.dead_letters_2025_02:18 sla.dead_letters_2025_03:17 "
# The sequences carried over: a new dead letter gets the next id.
DB=$OLD q "INSERT INTO sla.dead_letters (topic, partition, kafka_offset, reason) VALUES ('t', 0, 0, 'BAD_VALUE')"
assert_eq "dead letter ids continue" "$(DB=$OLD q "SELECT string_agg(id::text, ',' ORDER BY id) FROM sla.dead_letters")" "1,2,3"
ok "the previous schema converted in place: rows kept, each in its month, ids continue"

# 2. Replay of the demo day (2025-03-14), as sla_writer: rows in March.
q "CREATE ROLE replayer LOGIN IN ROLE sla_writer" >/dev/null
"$BIN/slactl" gen --seed 1 --tickets 300 --day 2025-03-14 --out "$WORK/demo.jsonl" 2>/dev/null
DEMO=$(newdb demo)
N=$(grep -c . "$WORK/demo.jsonl")
"$BIN/slactl" replay --db "${DEMO/user=postgres/user=replayer}" "$WORK/demo.jsonl" >"$WORK/replay.log" 2>&1 ||
	fail "replay as sla_writer: $(tail -n 5 "$WORK/replay.log")"
assert_eq "events in March's partition" "$(DB=$DEMO q "SELECT count(*) FROM sla.ticket_events_2025_03")" "$N"
assert_eq "rows in the default partitions" "$(DB=$DEMO q "SELECT (SELECT count(*) FROM sla.ticket_events_default)
	+ (SELECT count(*) FROM sla.violation_history_default) + (SELECT count(*) FROM sla.dead_letters_default)")" 0
hist=$(DB=$DEMO q "SELECT count(*) FROM sla.violation_history")
[ "$hist" -gt 0 ] || fail "replay wrote no violation history"
assert_eq "status changes outside their month's partition" "$(DB=$DEMO q "SELECT count(*) FROM sla.violation_history
	WHERE tableoid::regclass::text <> 'sla.violation_history_' || to_char(changed_at AT TIME ZONE 'UTC', 'YYYY_MM')")" 0
assert_eq "partitions sla_writer owns" "$(DB=$DEMO q "SELECT count(*) FROM pg_class WHERE relowner = 'replayer'::regrole")" 0
ok "replay: $N events and $hist status changes in their months' partitions, none in a default one"

# 3. A row in a default partition moves into its month when that is created.
DB=$DEMO q "INSERT INTO sla.ticket_events (ticket_id, event_id, type, occurred_at) VALUES
	('OLD1', 'E1', 'ARRIVE', '2024-07-10 08:00Z'), ('OLD1', 'E2', 'LEAVE', '2024-07-31 23:59:59Z')"
assert_eq "rows in the default partition" "$(DB=$DEMO q "SELECT count(*) FROM sla.ticket_events_default")" 2
assert_eq "partitions created" "$(DB=$DEMO q "SELECT sla.ensure_months('2024-07-10 00:00Z', '2024-07-10 00:00Z')")" 3
assert_eq "rows moved" "$(DB=$DEMO q "SELECT (SELECT count(*) FROM sla.ticket_events_default) || ' '
	|| (SELECT count(*) FROM sla.ticket_events_2024_07)")" "0 2"
assert_eq "a second call creates nothing" "$(DB=$DEMO q "SELECT sla.ensure_months('2024-07-01 00:00Z', '2024-07-31 23:59Z')")" 0
assert_eq "the conflict key still finds the row" "$(DB=$DEMO q "INSERT INTO sla.ticket_events (ticket_id, event_id, type,
	occurred_at) VALUES ('OLD1', 'E1', 'ARRIVE', '2024-07-10 08:00Z') ON CONFLICT (ticket_id, event_id, occurred_at)
	DO NOTHING RETURNING 1")" ""
ok "a default partition's rows move into their month"

# 4. Retention: the months before 2025-03 go, March stays whole.
if psql "${DEMO/user=postgres/user=replayer}" -qAt -c "SELECT sla.drop_months_before('2025-03-01 00:00Z')" >/dev/null 2>&1; then
	fail "sla_writer may drop months"
fi
dropped=$(DB=$DEMO q "SELECT string_agg(d, ' ' ORDER BY d) FROM sla.drop_months_before('2025-03-01 00:00Z') d")
assert_eq "dropped" "$dropped" "dead_letters_2024_07 ticket_events_2024_07 violation_history_2024_07"
assert_eq "March's events after retention" "$(DB=$DEMO q "SELECT count(*) FROM sla.ticket_events")" "$N"
assert_eq "nothing dropped twice" "$(DB=$DEMO q "SELECT count(*) FROM sla.drop_months_before('2025-03-01 00:00Z')")" 0
ok "retention drops whole months ($dropped), for the schema owner only"
