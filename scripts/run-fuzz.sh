#!/bin/sh
# Runs each fuzzer for the given number of seconds on a scratch corpus
# (seeded from tests/fuzz/seeds/<name> when present). Crash inputs are kept in
# build/fuzz/artifacts/ for reproduction: ./build/fuzz/fuzz_x <file>.
set -u
secs=$1
shift
mkdir -p build/fuzz/artifacts
passed=0
failed=0
for f in "$@"; do
	name=$(basename "$f")
	corpus=$(mktemp -d /tmp/pvback-fuzz-XXXXXX)
	seeds="tests/fuzz/seeds/${name#fuzz_}"
	[ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
	echo "== $name (${secs}s)"
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/artifacts/"$name"- "$corpus" 2>"$corpus.log"; then
		passed=$((passed + 1))
		grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$corpus.log" | tr '\n' ' '
		echo
	else
		failed=$((failed + 1))
		tail -n 40 "$corpus.log"
	fi
	rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
