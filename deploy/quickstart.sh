#!/usr/bin/env bash
# One command, the main job: build slad, start a private PostgreSQL under ./var,
# an embedded Kafka (librdkafka's mock cluster), slad itself, publish a working
# day of a regional service centre, and print the compliance report.
#
#   deploy/quickstart.sh          run (again: it starts over with a fresh demo)
#   deploy/quickstart.sh stop     stop slad, Kafka and PostgreSQL
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=$ROOT/var
BUILD=$ROOT/build
PGPORT=${SLAD_DEMO_PGPORT:-54329}
started=$(date +%s)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_pidfile() {
	local f=$1
	[ -f "$f" ] || return 0
	local pid
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$f"
}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

stop_all() {
	stop_pidfile "$VAR/slad.pid"
	stop_pidfile "$VAR/kafka.pid"
	if [ -f "$VAR/pg/data/postmaster.pid" ]; then
		as_pg "$(pgbin)/pg_ctl" -D "$VAR/pg/data" -m fast -w stop >/dev/null || true
	fi
}

if [ "${1:-}" = stop ]; then
	stop_all
	say "stopped (data kept in $VAR; remove it to start from nothing)"
	exit 0
fi

# 1. Packages (Debian 12), only those missing.
"$ROOT/deploy/install-packages.sh" "$ROOT/deploy/packages.txt"

# 2. Build.
say "building into $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSLAD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
SLAD=$BUILD/slad
SLACTL=$BUILD/slactl

# Start over: a previous run's daemon and Kafka go; PostgreSQL's cluster stays.
stop_pidfile "$VAR/slad.pid"
stop_pidfile "$VAR/kafka.pid"
mkdir -p "$VAR"
chmod 755 "$VAR"

# 3. A private PostgreSQL cluster: ./var/pg, Unix socket only, its own port number.
PGBIN=$(pgbin)
[ -n "$PGBIN" ] || die "no PostgreSQL server binaries found"
if [ ! -f "$VAR/pg/data/PG_VERSION" ]; then
	say "creating a PostgreSQL cluster in $VAR/pg"
	mkdir -p "$VAR/pg"
	[ "$(id -u)" = 0 ] && chown postgres "$VAR/pg"
	as_pg "$PGBIN/initdb" -D "$VAR/pg/data" -A trust -U postgres >"$VAR/initdb.log" 2>&1 ||
		die "initdb failed (see $VAR/initdb.log)"
fi
if ! as_pg "$PGBIN/pg_ctl" -D "$VAR/pg/data" status >/dev/null 2>&1; then
	say "starting PostgreSQL (socket $VAR/pg, port $PGPORT)"
	as_pg "$PGBIN/pg_ctl" -D "$VAR/pg/data" -w -l "$VAR/pg/postgres.log" \
		-o "-k $VAR/pg -c listen_addresses= -p $PGPORT" start >/dev/null || die "PostgreSQL did not start"
fi
export PGHOST=$VAR/pg PGPORT PGUSER=postgres
psql -qAt -d postgres -c "DROP DATABASE IF EXISTS slad WITH (FORCE)" >/dev/null
psql -qAt -d postgres -c "CREATE DATABASE slad" >/dev/null
export PGDATABASE=slad
export SLAD_POSTGRES_CONNINFO="host=$VAR/pg port=$PGPORT user=postgres dbname=slad"
"$SLAD" migrate

# 4. Embedded Kafka: librdkafka's mock cluster on loopback.
say "starting the embedded Kafka (slactl mock-kafka)"
: >"$VAR/kafka.out"
setsid "$SLACTL" mock-kafka --partitions 4 >"$VAR/kafka.out" 2>"$VAR/kafka.log" </dev/null &
echo $! >"$VAR/kafka.pid"
for _ in $(seq 1 100); do [ -s "$VAR/kafka.out" ] && break; sleep 0.1; done
BROKERS=$(head -n 1 "$VAR/kafka.out")
[ -n "$BROKERS" ] || die "mock-kafka did not start (see $VAR/kafka.log)"
export SLAD_KAFKA_BROKERS=$BROKERS

# 5. The demo: one working day, published as the upstream systems would have.
say "publishing the demo day (slactl gen | slactl publish)"
"$SLACTL" gen --seed 1 --tickets 300 --day 2025-03-14 --out "$VAR/demo.jsonl" 2>/dev/null
EVENTS=$(grep -c . "$VAR/demo.jsonl")
"$SLACTL" publish "$VAR/demo.jsonl"

# 6. slad catches up with the day's backlog (event time), then runs live.
say "starting slad"
setsid "$SLAD" >"$VAR/slad.log" 2>&1 </dev/null &
echo $! >"$VAR/slad.pid"
deadline=$((SECONDS + 120))
until [ "$(psql -qAt -c "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets" 2>/dev/null || echo 0)" = "$EVENTS" ]; do
	kill -0 "$(cat "$VAR/slad.pid")" 2>/dev/null || die "slad stopped (see $VAR/slad.log)"
	[ $SECONDS -lt $deadline ] || die "slad did not consume the demo in time (see $VAR/slad.log)"
	sleep 0.2
done
# Everything due before now has fired and, after the allowed lateness, been confirmed.
# and the rules across an engineer's tickets have been evaluated up to the group's watermark.
until [ "$(psql -qAt -c "SELECT (SELECT count(*) FROM sla.violations WHERE status = 'PROVISIONAL')
                              + (SELECT count(*) FROM sla.engineer_clocks WHERE NOT evaluated)")" = 0 ]; do
	[ $SECONDS -lt $deadline ] || break
	sleep 0.2
done

# 7. The report.
say "compliance report: $EVENTS events, $(psql -qAt -c 'SELECT count(*) FROM sla.tickets') tickets, $(( $(date +%s) - started )) s"
psql -q -P footer=off <<'SQL'
\echo 'Milestones'
SELECT milestone,
       count(*) FILTER (WHERE status = 'MET') AS met,
       count(*) FILTER (WHERE status = 'BREACHED') AS breached,
       count(*) FILTER (WHERE status = 'PENDING') AS pending,
       count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
       round(100.0 * count(*) FILTER (WHERE status = 'MET')
             / nullif(count(*) FILTER (WHERE status IN ('MET', 'BREACHED')), 0), 1) AS met_pct
  FROM sla.milestones GROUP BY milestone ORDER BY milestone;
\echo 'Violations by code'
SELECT rule_code, count(*) FILTER (WHERE status = 'CONFIRMED') AS confirmed,
       count(*) FILTER (WHERE status = 'PROVISIONAL') AS provisional,
       count(*) FILTER (WHERE status = 'RETRACTED') AS retracted
  FROM sla.violations GROUP BY rule_code ORDER BY confirmed DESC, rule_code;
\echo 'Violations by partner'
SELECT partner_id, count(*) FILTER (WHERE status = 'CONFIRMED') AS confirmed
  FROM sla.violations GROUP BY partner_id ORDER BY partner_id;
\echo 'Dead letters'
SELECT reason, count(*) FROM sla.dead_letters GROUP BY reason ORDER BY reason;
SQL

cat <<EOF
slad is running on the demo (pid $(cat "$VAR/slad.pid"), log $VAR/slad.log).
Look further:
  PGHOST=$VAR/pg PGPORT=$PGPORT psql -U postgres slad        # the sla.* tables and views
  SLAD_KAFKA_BROKERS=$BROKERS $SLACTL publish FILE.jsonl     # send more events
  $SLACTL report --db "$SLAD_POSTGRES_CONNINFO"              # the same figures by type and partner
  $SLACTL ticket --db "$SLAD_POSTGRES_CONNINFO" HZ20250314-00001  # one ticket's timeline
  $SLACTL replay --db "$SLAD_POSTGRES_CONNINFO" FILE.jsonl   # evaluate offline
Stop everything:
  deploy/quickstart.sh stop
EOF
