#!/usr/bin/env bash
# The test command: builds slad with AddressSanitizer and UndefinedBehaviorSanitizer
# and runs every test (unit and integration) against real PostgreSQL and Kafka
# (librdkafka's mock cluster), then the benchmarks in smoke mode.
# Usage: tools/test.sh [ctest arguments, e.g. -L unit: then no benchmarks]
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-packages.sh deploy/packages.txt tests/packages.txt
BUILD=${BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSLAD_SANITIZE=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
# The optimised build (what the quickstart and packages use) must be warning-free too.
cmake -S . -B "${BUILD}-release" -DCMAKE_BUILD_TYPE=Release -DSLAD_BUILD_TESTS=OFF >/dev/null
cmake --build "${BUILD}-release" -j "$(nproc)" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
(cd "$BUILD" && ctest --output-on-failure -j 2 "$@")
# The whole suite also runs the benchmarks in smoke mode (performance.md: small
# sizes, each target still checked), on the release build above, alone.
if [ $# -eq 0 ]; then
	case $BUILD in
	/*) BENCH_DIR="${BUILD}-release" ;;
	*) BENCH_DIR="$PWD/${BUILD}-release" ;;
	esac
	BENCH_DIR=$BENCH_DIR bench/run.sh --smoke
fi
