#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image
# (an Ubuntu base). It puts the grader's packages in a venv of their own,
# where run_autograder looks for them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"

apt-get update -qq
# build-essential: the C compiler for the two checks that build the lesson's C programs.
apt-get install -y -qq --no-install-recommends build-essential python3 python3-venv python3-pip

# The grader and the lessons need Python 3.11 or newer; Ubuntu 22.04's python3 is 3.10.
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null && new_enough "$candidate"; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet {{GRADE_PACKAGES}}

# Fail here, where the instructor sees it, rather than at the first submission.
"$VENV/bin/python" -c 'import pytest, pytest_timeout, xdist'
cc --version >/dev/null
echo "autograder ready: $("$VENV/bin/python" --version) in $VENV, $(cc --version | head -n 1)"
