#!/bin/bash
# Scale on one box (README, Performance): 10,000 clients in 100 rooms at
# 0.1 msg/s each, against our server and then ngircd, and as many idle
# clients as this machine's open-file limit allows against ours.
#
#   sudo tests/bench/scale.sh [IDLE_CLIENTS [RUNS]]   (after cargo build --release)
#
# The 10,000-client workload runs RUNS times against ours (5 by default: its
# tail latency moves by a factor of four from run to run on a saturated
# 2-core machine; quote the median), once against ngircd (it takes minutes).
#
# With PIN=1 the server (ours or ngircd) runs on CPU 0 and the bench on
# CPU 1 (taskset), as if the clients had a machine of their own: on two
# shared cores the bench and the server preempt each other, which is part
# of the tail (README, Scale).
#
# It raises vm.max_map_count to 262144 for the runs (a stock kernel's
# 65530 holds 8,063 of our clients) and puts the old value back when it
# exits, however it exits: a raised limit left behind hides failures that
# every user of a stock kernel meets.
set -u
server_cpu=() bench_cpu=()
if [ "${PIN:-0}" = 1 ]; then server_cpu=(taskset -c 0) bench_cpu=(taskset -c 1); fi
idle=${1:-19500}
runs=${2:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
old=$(sysctl -n vm.max_map_count)
trap 'sysctl -qw vm.max_map_count=$old; echo "vm.max_map_count back to $(sysctl -n vm.max_map_count)"' EXIT
sysctl -qw vm.max_map_count=262144 || exit 1
echo "pinned: ${PIN:-0}; vm.max_map_count $old -> 262144 for these runs; ulimit -n $(ulimit -n) (hard $(ulimit -Hn)); kernel.pid_max $(sysctl -n kernel.pid_max)"
cd "$root"
ours() {
    d=$(mktemp -d)
    "${server_cpu[@]}" ./target/release/server --port 0 --data-dir "$d" --no-replay --quiet --no-rate-limit \
        --max-per-ip 100000 --max-clients 100000 >"$d/console" 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q "listening on" "$d/console" && break; sleep 0.1; done
    port=$(grep -o "listening on .*:[0-9]*" "$d/console" | head -1 | sed 's/.*://')
    echo "== ours: chat-bench $*"
    "${bench_cpu[@]}" ./target/release/chat-bench --port "$port" --server-pid "$pid" "$@"
    kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$d"
}
ngircd_run() {
    d=$(mktemp -d)
    port=16669
    printf '[Global]\n\tName = bench.localhost\n\tListen = 127.0.0.1\n\tPorts = %s\n\tMotdPhrase = "bench"\n[Limits]\n\tMaxConnections = 0\n\tMaxConnectionsIP = 0\n\tMaxJoins = 0\n\tMaxPenaltyTime = 0\n\tPingTimeout = 600\n\tPongTimeout = 600\n[Options]\n\tDNS = no\n\tIdent = no\n\tPAM = no\n' \
        "$port" >"$d/ngircd.conf"
    "${server_cpu[@]}" ngircd -n -f "$d/ngircd.conf" >/dev/null 2>&1 &
    pid=$!
    sleep 1
    echo "== ngircd: chat-bench --protocol irc $*"
    "${bench_cpu[@]}" ./target/release/chat-bench --protocol irc --port "$port" --server-pid "$pid" "$@"
    kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$d"
}
uptime
for _ in $(seq "$runs"); do
    ours --clients 10000 --rooms 100 --messages 3 --rate 0.1 --logins 64
    sleep 5
done
command -v ngircd >/dev/null && ngircd_run --clients 10000 --rooms 100 --messages 3 --rate 0.1 --logins 10
ours --clients "$idle" --rooms 100 --messages 0 --hold 8 --logins 64
