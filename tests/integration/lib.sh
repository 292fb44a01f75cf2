# lib.sh - shared fixtures for the integration tests: a throwaway PostgreSQL
# cluster, `slactl mock-kafka`, slad, and polling with a deadline.
# Sourced by every test_*.sh; BIN (the build's bin dir) and SRC are set by ctest.
set -euo pipefail

: "${BIN:?BIN must point at the directory holding slad and slactl}"
: "${SRC:?SRC must point at the source tree}"
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
WORK=$(mktemp -d /tmp/slad-it.XXXXXX)
chmod 755 "$WORK"
PIDS=()
# Tests run in parallel: each slad's HTTP endpoint takes a free port (see http_addr).
export SLAD_HTTP_LISTEN=${SLAD_HTTP_LISTEN:-127.0.0.1:0}

log() { printf '# %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

cleanup() {
	local rc=$?
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ -f "$WORK/pg/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
	fi
	if [ $rc -ne 0 ]; then
		for f in "$WORK"/*.log "$WORK"/pg/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)" >&2
			tail -n "${TAIL_LINES:-40}" "$f" >&2
		done
	fi
	if [ -n "${KEEP_WORK:-}" ]; then # debugging: keep the logs and the stopped cluster
		echo "kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT

# Runs a command as the postgres user when we are root (initdb refuses root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_start: a private cluster on a Unix socket in $WORK/pg, no TCP.
pg_start() {
	mkdir -p "$WORK/pg"
	[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
	as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres --no-sync >"$WORK/initdb.log" 2>&1 ||
		fail "initdb failed"
	as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -w -l "$WORK/pg/postgres.log" \
		-o "-k $WORK/pg -c listen_addresses= -c fsync=off -c port=5432" start >/dev/null ||
		fail "postgres did not start"
	export PGHOST="$WORK/pg" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres PGTZ=Asia/Shanghai
	export SLAD_POSTGRES_CONNINFO="host=$WORK/pg port=5432 user=postgres dbname=postgres"
}

pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null; }
pg_restart() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -w -l "$WORK/pg/postgres.log" \
	-o "-k $WORK/pg -c listen_addresses= -c fsync=off -c port=5432" start >/dev/null; }

# newdb NAME: an empty database with the schema applied; prints its conninfo.
newdb() {
	psql -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >/dev/null
	local ci="host=$WORK/pg port=5432 user=postgres dbname=$1"
	SLAD_POSTGRES_CONNINFO="$ci" "$BIN/slad" migrate >/dev/null || fail "slad migrate on $1"
	echo "$ci"
}

# kafka_start [PARTITIONS [MOCK-KAFKA OPTIONS]]: the mock cluster; sets BROKERS and KAFKA_PID.
kafka_start() {
	local fifo="$WORK/kafka.out"
	"$BIN/slactl" mock-kafka --partitions "${1:-4}" "${@:2}" >"$fifo" 2>"$WORK/kafka.log" &
	PIDS+=($!)
	KAFKA_PID=$!
	poll_file_line "$fifo" 10 || fail "mock-kafka printed no bootstrap servers"
	BROKERS=$(head -n 1 "$fifo")
	export BROKERS SLAD_KAFKA_BROKERS="$BROKERS"
}

poll_file_line() {
	local f=$1 deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		[ -s "$f" ] && [ "$(wc -l <"$f")" -ge 1 ] && return 0
		sleep 0.05
	done
	return 1
}

# slad_start NAME [ENV=VALUE...]: starts slad in the background, logs to $WORK/NAME.log; sets SLAD_PID.
slad_start() {
	local name=$1
	shift
	if [ ! -f "$WORK/slad.conf" ]; then
		# A SIGKILLed member stays in the group until its session times out:
		# keep that short so restarts rejoin quickly.
		cat >"$WORK/slad.conf" <<-CONF
			kafka:
			  session.timeout.ms: 6000
			  heartbeat.interval.ms: 500
		CONF
	fi
	env "$@" "$BIN/slad" -c "$WORK/slad.conf" >>"$WORK/$name.log" 2>&1 &
	SLAD_PID=$!
	PIDS+=($SLAD_PID)
}

# q SQL: one value from the default database (or $DB if set).
q() { psql ${DB:+"$DB"} -qAt -v ON_ERROR_STOP=1 -c "$1"; }

# poll_sql SQL EXPECTED TIMEOUT: waits until the query returns EXPECTED.
poll_sql() {
	local sql=$1 want=$2 deadline=$((SECONDS + $3)) got=""
	while [ $SECONDS -lt $deadline ]; do
		got=$(q "$sql" 2>/dev/null || true)
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for [$sql] = [$want], last [$got]"
}

# Every offset committed, over all groups of the database (compare with the number published).
committed_sql="SELECT coalesce(sum(greatest(next_offset, 0)), 0) FROM sla.consumer_offsets"

# run_reference NAME DB N [ENV=VALUE...]: a slad (consumer group NAME) consumes
# the N events already published into database DB, settles, and stops.
run_reference() {
	local name=$1 db=$2 n=$3
	shift 3
	slad_start "$name" SLAD_KAFKA_GROUP="$name" SLAD_POSTGRES_CONNINFO="$db" SLAD_HTTP_LISTEN=127.0.0.1:0 "$@"
	DB=$db poll_sql "$committed_sql" "$n" 120
	DB=$db poll_sql "$settled_sql" 0 60
	kill -TERM "$SLAD_PID"
	wait "$SLAD_PID" || fail "slad $name exited non-zero"
}

# The number of messages produced to the three topics equals the offsets slad committed.
committed_total() { q "SELECT coalesce(sum(next_offset),0) FROM sla.consumer_offsets WHERE consumer_group='${1:-slad}'"; }

# Result rows without processing-time columns: what must be identical across runs.
dump_results() {
	psql ${1:+"$1"} -qAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'M', ticket_id, milestone, occurrence, started_at, due_at, stopped_at, status FROM sla.milestones
 ORDER BY 2, 3, 4;
SELECT 'V', ticket_id, rule_code, coalesce(milestone, ''), occurrence, status, due_at, observed_at,
       coalesce(engineer_id, ''), partner_id FROM sla.violations ORDER BY 2, 3, 5;
SELECT 'H', v.ticket_id, v.rule_code, v.occurrence, h.status, coalesce(h.cause_event_id, '')
  FROM sla.violation_history h JOIN sla.violations v USING (violation_id) ORDER BY 2, 3, 4, 5;
SQL
}

# ok WHAT: one check of a multi-check test passed ($passed counts them).
passed=0
ok() { log "ok: $*"; passed=$((passed + 1)); }

# assert_eq WHAT GOT WANT
assert_eq() { [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"; log "ok: $1 = $3"; }

# settled [DB]: true once every deadline before now has fired and been confirmed
# (the daemon's clock is the wall clock once it has caught up), and the group's
# watermark has passed every engineer clock-in (rules across tickets evaluated).
settled_sql="SELECT (SELECT count(*) FROM sla.milestones m WHERE m.status = 'PENDING' AND m.due_at < now() - interval '16 minutes')
 + (SELECT count(*) FROM sla.violations WHERE status = 'PROVISIONAL' AND coalesce(due_at, observed_at) < now() - interval '16 minutes')
 + (SELECT count(*) FROM sla.engineer_clocks WHERE NOT evaluated)"

# duplicates [DB]: rows that would be duplicates of a natural key (must be 0).
duplicates_sql="SELECT (SELECT count(*) - count(DISTINCT (ticket_id, milestone, occurrence)) FROM sla.milestones)
 + (SELECT count(*) - count(DISTINCT (ticket_id, rule_code, occurrence)) FROM sla.violations)
 + (SELECT count(*) - count(DISTINCT (violation_id, status, changed_at)) FROM sla.violation_history)
 + (SELECT count(*) - count(DISTINCT (topic, partition, kafka_offset)) FROM sla.dead_letters)"

# http_addr NAME [TIMEOUT]: the address slad NAME's HTTP endpoint bound (its log says); sets HTTP.
http_addr() {
	local f="$WORK/$1.log" deadline=$((SECONDS + ${2:-20}))
	HTTP=""
	while [ $SECONDS -lt $deadline ]; do
		HTTP=$(sed -n 's/.*http: listening on \([^ ]*\) .*/\1/p' "$f" 2>/dev/null | tail -n 1 || true)
		[ -n "$HTTP" ] && return 0
		sleep 0.05
	done
	fail "slad $1 did not say where its HTTP endpoint listens"
}

# http_get PATH: the body (any status); http_code PATH: the status code.
http_get() { curl -s --max-time 10 "http://$HTTP$1"; }
http_code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://$HTTP$1"; }

# poll_http PATH CODE TIMEOUT: waits until PATH answers CODE.
poll_http() {
	local deadline=$((SECONDS + $3)) got=""
	while [ $SECONDS -lt $deadline ]; do
		got=$(http_code "$1" || true)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $1 to answer $2, last $got: $(http_get "$1" || true)"
}

# metric NAME_WITH_LABELS: one sample's value from /metrics (0 when absent).
metric() { http_get /metrics | awk -v k="$1" '$1 == k { v = $2 } END { print v == "" ? 0 : v }'; }

# notify_listen: a datagram socket standing in for systemd's; what slad sends
# (one assignment block per line) collects in $WORK/notify.txt. Sets NOTIFY_SOCKET.
notify_listen() {
	: >"$WORK/notify.txt"
	socat -u UNIX-RECV:"$WORK/notify.sock" OPEN:"$WORK/notify.txt",append 2>>"$WORK/socat.log" &
	PIDS+=($!)
	local deadline=$((SECONDS + 5))
	while [ ! -S "$WORK/notify.sock" ]; do
		[ $SECONDS -lt $deadline ] || fail "socat did not create the notify socket"
		sleep 0.05
	done
	export NOTIFY_SOCKET="$WORK/notify.sock"
}

# poll_log NAME REGEX TIMEOUT: waits until slad NAME's log has a line matching REGEX.
poll_log() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		grep -Eq -- "$2" "$WORK/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "timed out waiting for /$2/ in $1.log"
}

# poll_log_count NAME REGEX N TIMEOUT: waits until slad NAME's log has at least N lines matching REGEX.
poll_log_count() {
	local deadline=$((SECONDS + $4)) got=0
	while [ $SECONDS -lt $deadline ]; do
		got=$(grep -Ec -- "$2" "$WORK/$1.log" 2>/dev/null || true)
		[ "$got" -ge "$3" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $3 lines /$2/ in $1.log (got $got)"
}
