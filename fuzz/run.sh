#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] - builds the libFuzzer harnesses (clang, build-fuzz/),
# replays every regression input once, then fuzzes each harness for SECONDS
# (default 60) on a scratch copy of its corpus. Prints executions and
# coverage per harness; exits non-zero on any finding (crash, timeout, leak,
# out of memory), leaving the inputs in the directory it names.
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_OUT (default a temp dir),
# FUZZ_HARNESSES (default "events jsonl policy config state"), FUZZ_TIMEOUT
# (seconds one input may take, default 10; raise it only on a loaded machine,
# where a starved process can take 10 s of wall time over a 2 ms input).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
BUILD=${FUZZ_BUILD:-build-fuzz}
HARNESSES=${FUZZ_HARNESSES:-events jsonl policy config state}
OUT=${FUZZ_OUT:-$(mktemp -d /tmp/slad-fuzz.XXXXXX)}
TIMEOUT=${FUZZ_TIMEOUT:-10}
mkdir -p "$OUT"

CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSLAD_FUZZ=ON -DSLAD_BUILD_TESTS=OFF >/dev/null
targets=()
for h in $HARNESSES; do targets+=(--target "fuzz_$h"); done
cmake --build "$BUILD" -j "$(nproc)" "${targets[@]}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The sizes each harness's inputs need (a fuzz_events input holds many messages).
max_len() {
	case $1 in
	events) echo 65536 ;;
	jsonl) echo 32768 ;;
	state) echo 16384 ;;
	*) echo 16384 ;;
	esac
}

failed=()
printf '%-8s %12s %8s %8s %s\n' harness execs cov ft result
for h in $HARNESSES; do
	bin=$BUILD/fuzz/fuzz_$h
	log=$OUT/$h.log
	# Every regression input once: each is a crash that was fixed.
	if [ -d "fuzz/regressions/$h" ] && [ -n "$(ls -A "fuzz/regressions/$h")" ]; then
		if ! "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 "fuzz/regressions/$h" >"$OUT/$h.regressions.log" 2>&1; then
			printf '%-8s %12s %8s %8s %s\n' "$h" - - - "REGRESSION (see $OUT/$h.regressions.log)"
			failed+=("$h: regression")
			continue
		fi
	fi
	corpus=$OUT/corpus-$h
	rm -rf "$corpus"
	mkdir -p "$corpus" "$OUT/findings-$h"
	cp -r "fuzz/corpus/$h/." "$corpus/"
	rc=0
	"$bin" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb=2048 -max_len="$(max_len "$h")" \
		-print_final_stats=1 -artifact_prefix="$OUT/findings-$h/" "$corpus" >"$log" 2>&1 || rc=$?
	stats=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 || true)
	execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
	cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$stats")
	ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$stats")
	if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$OUT/findings-$h")" ]; then
		result="FINDING (see $log, inputs in $OUT/findings-$h)"
		failed+=("$h")
	else
		result=clean
	fi
	printf '%-8s %12s %8s %8s %s\n' "$h" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: findings in: ${failed[*]} (logs and inputs in $OUT)" >&2
	exit 1
fi
echo "fuzz: every harness clean for ${SECONDS_EACH}s (logs in $OUT)"
