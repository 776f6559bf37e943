#!/bin/sh
# Runs each Check test binary given on the command line, lets its own summary
# line ("100%: Checks: N, Failures: 0, Errors: 0") through, and ends with one
# line over all binaries. Exits non-zero if any binary failed.
#
# A CI log is often read from its tail: after the summary, each failed
# binary's Check failure lines and the end of its output are printed again,
# so the reason is next to the verdict.
set -u
passed=0
failed=0
failed_names=""
logdir=$(mktemp -d "${TMPDIR:-/tmp}/pvback-tests.XXXXXX") || exit 1
trap 'rm -rf "$logdir"' EXIT
trap 'exit 130' INT TERM
for t in "$@"; do
	name=$(basename "$t")
	echo "== $name"
	# The binary's status, not tee's: through a file, as POSIX sh has no
	# pipefail.
	{ "$t" 2>&1; echo $? >"$logdir/$name.rc"; } | tee "$logdir/$name.log"
	rc=$(cat "$logdir/$name.rc" 2>/dev/null || echo 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		rm -f "$logdir/$name.log"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done
for name in $failed_names; do
	echo "---- $name failed (exit $(cat "$logdir/$name.rc" 2>/dev/null)); its failures:"
	grep -E ':[EF]:' "$logdir/$name.log" || echo "(no Check failure line: crashed or timed out)"
	echo "---- last 60 lines of $name:"
	tail -n 60 "$logdir/$name.log"
done
echo "test binaries: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
