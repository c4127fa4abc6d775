#!/usr/bin/env python3
"""Two builds of our server on one workload, alternately: did a change help?

Each run starts a fresh server from one binary, then from the other (the
order swapping every run, so a drift in the machine's load hits both
alike), drives it with `chat-bench`, and prints deliveries a second,
latency (p50, p99) and the server's CPU per delivery; then the medians. CPU per delivery is the steadier
figure: throughput on two cores also depends on the bench's share.

Usage, from the repository root, with the build before the change copied
aside (`cp target/release/server /tmp/server-before`, then rebuild):

    python3 tests/bench/ab.py /tmp/server-before target/release/server \
        --runs 6 --protocol irc -- --clients 50 --messages 2000

Everything after `--` is passed to `chat-bench`. With `--cluster`, each
run is one node of a cluster on a fresh `redis-server` (as
`tests/bench/cluster.py` starts them), and the CPU is the node's, with
Redis' beside it:

    python3 tests/bench/ab.py /tmp/server-before target/release/server \
        --runs 6 --cluster -- --clients 50 --messages 200
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import fmt_ms, run_one  # noqa: E402
import cluster  # noqa: E402


class Target:
    """What crosscheck.run_one needs to know about one build."""

    def __init__(self, server_bin, bench_bin, protocol):
        self.server = "ours"
        self.server_bin = server_bin
        self.bench_bin = bench_bin
        self.protocol = protocol


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--runs", type=int, default=6)
    p.add_argument("--protocol", default="chat", choices=["chat", "irc", "ws"])
    p.add_argument("--bench-bin", default="target/release/chat-bench")
    p.add_argument("--cluster", action="store_true",
                   help="one node of a cluster on a fresh redis-server per run")
    # What follows `--` is chat-bench's.
    cut = argv.index("--") if "--" in argv else len(argv)
    opts = p.parse_args(argv[:cut])
    workload = argv[cut + 1:]
    builds = [opts.before, opts.after]
    results = {b: [] for b in builds}
    for i in range(opts.runs):
        for build in builds if i % 2 == 0 else builds[::-1]:
            target = Target(build, opts.bench_bin, opts.protocol)
            if opts.cluster:
                r = cluster.run("1", ["--protocol", opts.protocol] + workload, target)
            else:
                r = run_one("chat-bench", target, workload, protocol=opts.protocol)
            if not r.get("ok", True) or not r.get("deliveries"):
                print(f"{build} run {i + 1}: failed: {r.get('error')}", flush=True)
                continue
            server_cpu = r["nodes_cpu_s"] if opts.cluster else r["server_cpu_s"]
            cpu = 1e6 * server_cpu / r["deliveries"]
            redis = f", Redis {r['redis_cpu_s']:.2f} s" if opts.cluster else ""
            p50, p99 = r.get("latency_p50_ns"), r.get("latency_p99_ns")
            results[build].append((r["deliveries_per_s"], cpu, p50, p99))
            print(f"{build} run {i + 1}: {r['deliveries_per_s']:,.0f}/s, "
                  f"p50 {fmt_ms(p50)} p99 {fmt_ms(p99)} ms, "
                  f"{cpu:.3f} us CPU per delivery{redis}, others {r['others_pct']:.0f}%",
                  flush=True)
    for build in builds:
        runs = results[build]
        if not runs:
            print(f"{build}: no run completed")
            continue
        rate, cpu, p50, p99 = (statistics.median(x[k] for x in runs) for k in range(4))
        print(f"median of {len(runs)}, {build}: {rate:,.0f}/s, p50 {fmt_ms(p50)} "
              f"p99 {fmt_ms(p99)} ms, {cpu:.3f} us CPU per delivery")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
