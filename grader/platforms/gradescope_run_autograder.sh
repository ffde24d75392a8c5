#!/usr/bin/env bash
# Gradescope runs this once per submission. The student sees only
# results.json, so every way out of here leaves one behind.
set -u

ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
export AUTOGRADER_ROOT="$ROOT"
# The bound on grading, in seconds: below Gradescope's default limit of 10
# minutes, so the student reads our message rather than a bare "timed out".
case "${AUTOGRADER_SECONDS:-}" in
    '' | *[!0-9]*) AUTOGRADER_SECONDS=480 ;;
esac
export AUTOGRADER_SECONDS
# Every time limit of the grader is multiplied by this: raise it if
# Gradescope's machines turn out slow (the solutions must score full marks).
export GRADER_TIME_SCALE="${GRADER_TIME_SCALE:-1}"

mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# The Python side bounds the grading itself; this outer bound is for the
# case where the Python side cannot.
cd "$ROOT/source" && timeout --kill-after=10 "$((AUTOGRADER_SECONDS + 60))" \
    "$PYTHON" -m grader.platforms.gradescope_grade

if [ ! -s "$RESULTS" ]; then
    echo "run_autograder: no results from $PYTHON -m grader.platforms.gradescope_grade"
    cat >"$RESULTS" <<'JSON'
{"score": 0, "output": "The autograder could not start, so your submission was not graded. This is not a problem with your code: please tell your instructor.", "tests": []}
JSON
fi
exit 0
