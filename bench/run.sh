#!/usr/bin/env bash
# bench/run.sh - slad's benchmarks (measurements, not tests).
#
# Usage: bench/run.sh [--smoke] [SECTION...]
#   --smoke   small runs that only prove each benchmark still works (and
#             still meets its target); what CI can afford
#   SECTION   calendar (default: all sections)
# Environment: BENCH_DIR (build directory, default build-bench), CC, ZONEINFO
# (default /usr/share/zoneinfo).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BENCH_DIR=${BENCH_DIR:-$SRC/build-bench}
CC=${CC:-cc}
ZONEINFO=${ZONEINFO:-/usr/share/zoneinfo}
CFLAGS=(-std=c11 -O2 -g -DNDEBUG -D_GNU_SOURCE -Wall -Wextra -Werror -I"$SRC/include")

smoke=0
sections=()
for arg in "$@"; do
	case $arg in
	--smoke) smoke=1 ;;
	-h | --help)
		sed -n '2,10p' "$0"
		exit 0
		;;
	-*)
		echo "bench/run.sh: unknown option $arg" >&2
		exit 2
		;;
	*) sections+=("$arg") ;;
	esac
done
[ ${#sections[@]} -gt 0 ] || sections=(calendar)
mkdir -p "$BENCH_DIR"
failed=0

# ---- calendar: instructions per WORKING_DAYS and per BUSINESS_MINUTES query ----
# callgrind counts only inside the query function (--toggle-collect), so the
# total over N queries / N is the cost of one query, call and return
# included. Target (issue 3): at most 300 instructions each.
calendar_target=300

bench_calendar() {
	local n=200000
	[ "$smoke" = 1 ] && n=2000
	if ! command -v valgrind >/dev/null; then
		echo "calendar: valgrind is not installed (apt-get install valgrind)" >&2
		return 1
	fi
	"$CC" "${CFLAGS[@]}" -o "$BENCH_DIR/calendar_bench" bench/calendar_bench.c \
		daemon/core/calendar.c daemon/core/timeutil.c daemon/tzload.c
	local cal query fn out ir per
	for cal in cn de; do
		for query in working_days business_minutes; do
			fn=calendar_${query}_due
			out=$BENCH_DIR/callgrind.calendar.$cal.$query
			valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$fn" \
				"$BENCH_DIR/calendar_bench" "$query" "$n" "$ZONEINFO" "$SRC/schema" "$cal" \
				>"$BENCH_DIR/calendar.$cal.$query.log" 2>&1 || {
				cat "$BENCH_DIR/calendar.$cal.$query.log" >&2
				return 1
			}
			ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
			per=$(awk -v ir="$ir" -v n="$n" 'BEGIN { printf "%.1f", ir / n }')
			printf 'calendar %-3s %-17s %8s instructions/query (%s queries)\n' "$cal" "${query^^}" "$per" "$n"
			if awk -v p="$per" -v t="$calendar_target" 'BEGIN { exit !(p > t) }'; then
				echo "calendar: ${query^^} on $cal costs more than $calendar_target instructions" >&2
				failed=1
			fi
		done
	done
}

for s in "${sections[@]}"; do
	case $s in
	calendar) bench_calendar || failed=1 ;;
	*)
		echo "bench/run.sh: unknown section $s" >&2
		exit 2
		;;
	esac
done
exit $failed
