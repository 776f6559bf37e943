#!/bin/sh
# Runs each Check test binary given on the command line, lets its own summary
# line ("100%: Checks: N, Failures: 0, Errors: 0") through, and ends with one
# line over all binaries. Exits non-zero if any binary failed.
set -u
passed=0
failed=0
failed_names=""
for t in "$@"; do
	name=$(basename "$t")
	echo "== $name"
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done
echo "test binaries: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
