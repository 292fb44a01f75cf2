#!/usr/bin/env bash
# Static analysis must stay quiet on our code: cppcheck and clang-tidy (.clang-tidy).
# Usage: tests/lint.sh SOURCE_DIR BUILD_DIR (the build dir holds compile_commands.json).
set -euo pipefail
src=$1 build=$2
cd "$src"
files=$(ls daemon/*.c daemon/core/*.c tools/*.c)
# fuzz/ builds only with SLAD_FUZZ (clang): cppcheck reads it here; clang-tidy
# needs its compile commands, so it runs on it where build-fuzz/ exists.
fuzzfiles=$(ls fuzz/*.c 2>/dev/null || true)
out=$(cppcheck --quiet --enable=warning,performance,portability --std=c11 -Iinclude -I"$build/gen" \
	--suppress=missingIncludeSystem --inline-suppr $files $fuzzfiles 2>&1) || true
if [ -n "$out" ]; then
	echo "$out"
	echo "cppcheck: findings above"
	exit 1
fi
# shellcheck disable=SC2086
out=$(clang-tidy -p "$build" --quiet $files 2>/dev/null | grep -E "(warning|error):" || true)
if [ -n "$fuzzfiles" ] && [ -f build-fuzz/compile_commands.json ]; then
	# shellcheck disable=SC2086
	out+=$(clang-tidy -p build-fuzz --quiet $fuzzfiles 2>/dev/null | grep -E "(warning|error):" || true)
fi
if [ -n "$out" ]; then
	echo "$out"
	echo "clang-tidy: findings above"
	exit 1
fi
echo "cppcheck and clang-tidy: quiet on $(echo $files | wc -w) files"
