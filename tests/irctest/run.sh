#!/bin/bash
# Runs irctest's RFC 1459/2812, modern and IRCv3 server tests against our
# IRC door, with irctest's external_server controller and a fresh server
# (its own temporary data directory) for each test file, so that rooms one
# file creates do not leak into the next (rooms outlive their members here).
#
#   tests/irctest/run.sh IRCTEST_DIR [PYTEST_ARGS...]
#
# IRCTEST_DIR is a checkout of https://github.com/progval/irctest with its
# requirements installed (python3 -m venv, pip install -r requirements.txt);
# set PYTHON to that venv's python. SKIP="who.py ..." leaves files out:
# who.py registers "otherNick" (9 characters; ours allow 8, NICKLEN=8) and
# then waits out the 30 s registration timeout in each of its 20 tests.
# Not part of CI: it needs irctest and its Python packages, which Debian
# does not ship.
set -u
irctest=${1:?usage: run.sh IRCTEST_DIR [PYTEST_ARGS...]}
shift
python=${PYTHON:-python3}
root=$(cd "$(dirname "$0")/../.." && pwd)
server="$root/target/release/server"
[ -x "$server" ] || (cd "$root" && cargo build --release --bin server) || exit 1
marks="(RFC1459 or RFC2812 or modern or IRCv3) and not deprecated and not services"
total_pass=0 total_fail=0 total_skip=0
for file in "$irctest"/irctest/server_tests/*.py "$irctest"/irctest/server_tests/*/*.py; do
    rel=${file#"$irctest"/}
    case " ${SKIP:-} " in *" $(basename "$rel") "*) echo "skipped: $rel"; continue ;; esac
    dir=$(mktemp -d)
    "$server" --port 0 --data-dir "$dir" --no-replay --quiet --no-rate-limit \
        --max-per-ip 1000 >"$dir/console" 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q "listening on" "$dir/console" && break; sleep 0.1; done
    port=$(grep -o "listening on [0-9.:]*" "$dir/console" | sed 's/.*://')
    out=$(cd "$irctest" && IRCTEST_SERVER_HOSTNAME=127.0.0.1 IRCTEST_SERVER_PORT=$port \
        IRCTEST_SERVER_SASL_MECHS=PLAIN "$python" -m pytest -p no:cacheprovider -q -rfE \
        --controller irctest.controllers.external_server -m "$marks" "$rel" "$@" 2>&1)
    kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$dir"
    echo "$out" | grep -E "^(FAILED|ERROR) "
    summary=$(echo "$out" | tail -1)
    p=$(echo "$summary" | grep -o "[0-9]* passed" | cut -d' ' -f1)
    f=$(echo "$summary" | grep -o "[0-9]* failed" | cut -d' ' -f1)
    e=$(echo "$summary" | grep -o "[0-9]* error" | cut -d' ' -f1)
    s=$(echo "$summary" | grep -o "[0-9]* skipped" | cut -d' ' -f1)
    total_pass=$((total_pass + ${p:-0}))
    total_fail=$((total_fail + ${f:-0} + ${e:-0}))
    total_skip=$((total_skip + ${s:-0}))
done
echo "irctest: $total_pass passed, $total_fail failed, $total_skip skipped"
