#!/bin/sh
# Run every test of the build in $1 (unit, fuzz-corpus replay, interop,
# netns) and close with one line "check: N passed, N failed, N skipped".
set -u
build=${1:-build-san}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 || rc=$?
summary=$(/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
unreadable = 0
for line in open(sys.argv[1], errors="replace"):
    # a log truncated under a running meson leaves NUL bytes: say so, do not guess
    line = line.replace("\0", "")
    if not line.strip():
        continue
    try:
        r = json.loads(line)["result"]
    except ValueError:
        unreadable += 1
        continue
    if r in ("OK", "EXPECTEDFAIL"):
        counts["passed"] += 1
    elif r == "SKIP":
        counts["skipped"] += 1
    else:
        counts["failed"] += 1
print("%d passed, %d failed, %d skipped%s" % (counts["passed"], counts["failed"], counts["skipped"],
      ", %d unreadable log lines" % unreadable if unreadable else ""))
PY
) || summary="0 passed, 1 failed"
echo "check: $summary"
exit $rc
