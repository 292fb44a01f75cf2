#!/usr/bin/env bash
# Monthly partitions of the append-only tables (schema/0010, issue 12) and
# the event archive as one row per ticket and month (schema/0013):
# 1. a database of the previous schema (0001-0009) with rows in it is
#    converted in place by `slad migrate`: every row kept, each in its month,
#    the events still read one by one through the view sla.ticket_events;
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
assert_eq "sla.event_log is partitioned, sla.ticket_events a view" \
	"$(DB=$OLD q "SELECT string_agg(relkind::text, ' ' ORDER BY relname) FROM pg_class
	WHERE oid IN ('sla.event_log'::regclass, 'sla.ticket_events'::regclass)")" "p v"
assert_eq "events after the conversion (same rows)" \
	"$(DB=$OLD q "SELECT md5(string_agg(t::text, ',' ORDER BY ticket_id, event_id)) FROM sla.ticket_events t")" "$before"
# Seven tickets with events in both months: a row per ticket and month.
assert_eq "events by month" \
	"$(DB=$OLD q "SELECT tableoid::regclass, count(*), sum(cardinality(event_ids)) FROM sla.event_log
	GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" "sla.event_log_2025_02|7|30 sla.event_log_2025_03|7|20 "
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
assert_eq "events in March's partition" "$(DB=$DEMO q "SELECT sum(cardinality(event_ids)) FROM sla.event_log_2025_03")" "$N"
assert_eq "rows in the default partitions" "$(DB=$DEMO q "SELECT (SELECT count(*) FROM sla.event_log_default)
	+ (SELECT count(*) FROM sla.violation_history_default) + (SELECT count(*) FROM sla.dead_letters_default)")" 0
hist=$(DB=$DEMO q "SELECT count(*) FROM sla.violation_history")
[ "$hist" -gt 0 ] || fail "replay wrote no violation history"
assert_eq "status changes outside their month's partition" "$(DB=$DEMO q "SELECT count(*) FROM sla.violation_history
	WHERE tableoid::regclass::text <> 'sla.violation_history_' || to_char(changed_at AT TIME ZONE 'UTC', 'YYYY_MM')")" 0
assert_eq "partitions sla_writer owns" "$(DB=$DEMO q "SELECT count(*) FROM pg_class WHERE relowner = 'replayer'::regrole")" 0
ok "replay: $N events and $hist status changes in their months' partitions, none in a default one"

# 3. A row in a default partition moves into its month when that is created.
DB=$DEMO q "INSERT INTO sla.event_log (ticket_id, first_at, event_ids, types, occurred_at, applied_at, topics,
	partitions, kafka_offsets, payloads) VALUES
	('OLD1', '2024-07-10 08:00Z', '{E1}', '{ARRIVE}', '{2024-07-10 08:00Z}', '{NULL}', '{NULL}', '{0}', '{1}', '{NULL}'),
	('OLD1', '2024-07-31 23:59:59Z', '{E2}', '{LEAVE}', '{2024-07-31 23:59:59Z}', '{NULL}', '{NULL}', '{0}', '{2}', '{NULL}')"
assert_eq "rows in the default partition" "$(DB=$DEMO q "SELECT count(*) FROM sla.event_log_default")" 2
assert_eq "partitions created" "$(DB=$DEMO q "SELECT sla.ensure_months('2024-07-10 00:00Z', '2024-07-10 00:00Z')")" 3
assert_eq "rows moved" "$(DB=$DEMO q "SELECT (SELECT count(*) FROM sla.event_log_default) || ' '
	|| (SELECT count(*) FROM sla.event_log_2024_07)")" "0 2"
# A new month of the archive compresses its arrays in the row.
assert_eq "the new month's storage" "$(DB=$DEMO q "SELECT reloptions[1] || ' ' || attstorage::text || ' ' || attcompression::text
	FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
	WHERE c.oid = 'sla.event_log_2024_07'::regclass AND a.attname = 'payloads'")" "toast_tuple_target=128 m l"
assert_eq "a second call creates nothing" "$(DB=$DEMO q "SELECT sla.ensure_months('2024-07-01 00:00Z', '2024-07-31 23:59Z')")" 0
assert_eq "the view finds the moved events" "$(DB=$DEMO q "SELECT string_agg(event_id || ':' || type, ','
	ORDER BY occurred_at) FROM sla.ticket_events WHERE ticket_id = 'OLD1'")" "E1:ARRIVE,E2:LEAVE"
ok "a default partition's rows move into their month"

# 4. Retention: the months before 2025-03 go, March stays whole.
if psql "${DEMO/user=postgres/user=replayer}" -qAt -c "SELECT sla.drop_months_before('2025-03-01 00:00Z')" >/dev/null 2>&1; then
	fail "sla_writer may drop months"
fi
# 'ticket_events' still names the events' months.
assert_eq "dropped by the old name" "$(DB=$DEMO q "SELECT string_agg(d, ' ' ORDER BY d)
	FROM sla.drop_months_before('2025-03-01 00:00Z', ARRAY['ticket_events']) d")" "event_log_2024_07"
dropped=$(DB=$DEMO q "SELECT string_agg(d, ' ' ORDER BY d) FROM sla.drop_months_before('2025-03-01 00:00Z') d")
assert_eq "dropped" "$dropped" "dead_letters_2024_07 violation_history_2024_07"
assert_eq "March's events after retention" "$(DB=$DEMO q "SELECT count(*) FROM sla.ticket_events")" "$N"
assert_eq "nothing dropped twice" "$(DB=$DEMO q "SELECT count(*) FROM sla.drop_months_before('2025-03-01 00:00Z')")" 0
ok "retention drops whole months ($dropped), for the schema owner only"
