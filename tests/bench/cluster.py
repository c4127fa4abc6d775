#!/usr/bin/env python3
"""The cluster's cost: one server alone against 1, 2 and 3 nodes on one Redis.

Each run starts everything fresh: for a cluster, `redis-server` (Debian's,
append-only file on, on a free loopback port, in a temporary directory)
and N of our servers with `--cluster redis://127.0.0.1:PORT --node-id nI`;
for `single`, one server without `--cluster`. Then `chat-bench --ports`
spreads the clients round robin over the nodes. The setups take turns
(the order rotating from run to run), so a drift in the machine's load
hits them alike, and the table gives medians. Server CPU is the sum over
the nodes; Redis CPU is counted apart.

Usage, from the repository root after `cargo build --release`:

    python3 tests/bench/cluster.py --runs 5
    python3 tests/bench/cluster.py --runs 3 --only flood --setups single,3
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import (  # noqa: E402
    Server, busy_seconds, common_args, free_port, process_seconds, rotations, wait_listening,
    while_quiet)

WORKLOADS = {
    "paced": ["--clients", "50", "--messages", "200", "--rate", "20"],
    "flood": ["--clients", "50", "--messages", "200"],
}


class Redis:
    """A fresh redis-server on a free port, its files in a temporary directory."""

    def __enter__(self):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is missing: apt-get install redis-server")
        self.dir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir.name, "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.proc)
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        self.dir.cleanup()


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(setup, workload, opts):
    """One run: `setup` is "single" or a node count. Returns chat-bench's
    report with the servers' and Redis' CPU and the others' share."""
    redis = Redis() if setup != "single" else None
    nodes = []
    try:
        if redis:
            redis.__enter__()
            url = f"redis://127.0.0.1:{redis.port}"
            nodes = [Server("ours", opts.server_bin, ["--cluster", url, "--node-id", f"n{i}"])
                     .__enter__() for i in range(int(setup))]
        else:
            nodes = [Server("ours", opts.server_bin).__enter__()]
        pids = [n.proc.pid for n in nodes] + ([redis.proc.pid] if redis else [])
        cmd = [opts.bench_bin, "--ports", ",".join(str(n.port) for n in nodes), "--json"] + workload
        load = os.getloadavg()[0]
        t0, busy0 = time.monotonic(), busy_seconds()
        cpu0 = [process_seconds(p) for p in pids]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        cpu = [process_seconds(p) - c for p, c in zip(pids, cpu0)]
        try:
            report = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            report = {"ok": False, "error": f"no report: {out.stdout!r} {out.stderr!r}"}
        bench_cpu = report.get("bench_cpu_s") or 0.0
        report["nodes_cpu_s"] = sum(cpu[:len(nodes)])
        report["redis_cpu_s"] = cpu[len(nodes)] if redis else None
        others = busy_seconds() - busy0 - sum(cpu) - bench_cpu
        report["others_pct"] = max(0.0, 100.0 * others / (wall * os.cpu_count()))
        report["load1"] = load
        return report
    finally:
        for n in reversed(nodes):
            n.__exit__()
        if redis:
            redis.__exit__()


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def ms(ns):
    return "-" if ns is None else f"{ns / 1e6:.2f}"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_args(p)
    p.add_argument("--setups", default="single,1,2,3")
    p.add_argument("--only", default=None, help="comma-separated: paced, flood")
    opts = p.parse_args(argv)
    setups = opts.setups.split(",")
    names = opts.only.split(",") if opts.only else list(WORKLOADS)
    results = {(n, s): [] for n in names for s in setups}
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {opts.runs} runs each", flush=True)
    for name, i, setup in rotations(names, opts.runs, setups):
        label = f"{name} {setup} run {i + 1}"
        r = while_quiet(lambda: run(setup, WORKLOADS[name], opts), opts.max_others, label)
        if not r.get("ok"):
            print(f"{label}: FAILED: {r.get('error')}", flush=True)
            continue
        results[(name, setup)].append(r)
        redis = "" if r["redis_cpu_s"] is None else f" redis {r['redis_cpu_s']:.2f}s"
        print(f"{label}: {r['deliveries_per_s']:,.0f}/s p50 {ms(r.get('latency_p50_ns'))} "
              f"p99 {ms(r.get('latency_p99_ns'))} ms nodes {r['nodes_cpu_s']:.2f}s{redis} "
              f"load1 {r['load1']:.2f} others {r['others_pct']:.0f}%", flush=True)
    print()
    print("| workload | setup | deliveries/s | p50 ms | p99 ms | nodes CPU s | Redis CPU s | runs ok |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        for setup in setups:
            runs = results[(name, setup)]
            label = "one server, no cluster" if setup == "single" else f"cluster, {setup} node(s)"
            if not runs:
                print(f"| {name} | {label} | failed | | | | | 0 of {opts.runs} |")
                continue
            rate = median(runs, "deliveries_per_s")
            redis = median(runs, "redis_cpu_s")
            print(f"| {name} | {label} | {rate:,.0f} | {ms(median(runs, 'latency_p50_ns'))} | "
                  f"{ms(median(runs, 'latency_p99_ns'))} | {median(runs, 'nodes_cpu_s'):.2f} | "
                  f"{'-' if redis is None else f'{redis:.2f}'} | {len(runs)} of {opts.runs} |")


if __name__ == "__main__":
    main(sys.argv[1:])
