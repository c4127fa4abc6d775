#!/usr/bin/env python3
"""Ours against ngircd: the README's Performance table, reproduced.

Every workload is run against each target in turn, a fresh server for each
run, the order rotating from run to run so a drift in the machine's load
hits every target alike; the table gives medians. Targets:

- `ours`: our server, driven over our own protocol (`--protocol chat`);
- `ours-irc`: the same server, driven over its IRC door (`--protocol irc`);
- `ngircd`: Debian's ngircd, with the README's configuration (`--protocol irc`);
- `ours-ws`: our server's browser door (`--protocol ws`), when chat-bench has it.

Usage, from the repository root after `cargo build --release`:

    python3 tests/bench/compare.py --runs 5
    python3 tests/bench/compare.py --runs 3 --only flood-50x200 --targets ours,ngircd

Prints every run, then one Markdown table of medians. CPU is the server's
utime + stime over the run (from /proc, as chat-bench reports it); per
delivery, that divided by the deliveries. RSS per client is for the idle
workload: (RSS with every client logged in - RSS before) / clients.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import common_args, run_one, fmt_ms, while_quiet  # noqa: E402

WORKLOADS = {
    "flood-50x200": ["--clients", "50", "--messages", "200"],
    "flood-200x50": ["--clients", "200", "--messages", "50"],
    "flood-50x2000": ["--clients", "50", "--messages", "2000"],
    "paced-50x20": ["--clients", "50", "--messages", "200", "--rate", "20"],
    "paced-200x5": ["--clients", "200", "--messages", "50", "--rate", "5"],
    "rooms-1000x2": ["--clients", "1000", "--rooms", "100", "--messages", "20",
                     "--rate", "2", "--logins", "10"],
    "idle-1000": ["--clients", "1000", "--messages", "0", "--hold", "8", "--logins", "10"],
}

PROTOCOL = {"ours": "chat", "ours-irc": "irc", "ngircd": "irc", "ours-ws": "ws"}


class Args:
    """What crosscheck.run_one needs to know about one target."""

    def __init__(self, target, opts):
        self.server = "ngircd" if target == "ngircd" else "ours"
        self.protocol = PROTOCOL[target]
        self.server_bin = opts.server_bin
        self.bench_bin = opts.bench_bin


def one(target, opts, workload):
    args = Args(target, opts)
    return run_one("chat-bench", args, workload, protocol=args.protocol)


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def rss_per_client(r):
    base, full = r.get("server_rss_baseline_kib"), r.get("server_rss_connected_kib")
    if base is None or full is None or not r.get("connected"):
        return None
    return (full - base) / r["connected"]


def cpu_per_delivery_us(r):
    if not r.get("deliveries"):
        return None
    return 1e6 * r["server_cpu_s"] / r["deliveries"]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_args(p)
    p.add_argument("--targets", default="ours,ours-irc,ngircd")
    p.add_argument("--only", default=None, help="comma-separated workload names")
    opts = p.parse_args(argv)
    targets = opts.targets.split(",")
    names = opts.only.split(",") if opts.only else list(WORKLOADS)
    results = {(n, t): [] for n in names for t in targets}
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {opts.runs} runs each", flush=True)
    for name in names:
        for i in range(opts.runs):
            order = targets[i % len(targets):] + targets[:i % len(targets)]
            for target in order:
                r = while_quiet(lambda: one(target, opts, WORKLOADS[name]), opts.max_others,
                                f"{name} {target} run {i + 1}")
                results[(name, target)].append(r)
                if not r.get("ok"):
                    print(f"{name} {target} run {i + 1}: FAILED: {r.get('error')}", flush=True)
                    continue
                print(f"{name} {target} run {i + 1}: {r.get('deliveries_per_s') or 0:,.0f}/s "
                      f"p50 {fmt_ms(r.get('latency_p50_ns'))} p99 {fmt_ms(r.get('latency_p99_ns'))} ms "
                      f"cpu {r['server_cpu_s']:.2f}s login {r['login_s']:.2f}s "
                      f"rss/client {rss_per_client(r) or 0:.1f} KiB "
                      f"load1 {r['load1']:.2f} others {r['others_pct']:.0f}%", flush=True)
            time.sleep(0.5)
    print()
    print("| workload | target | deliveries/s | p50 ms | p99 ms | server CPU s | CPU us/delivery "
          "| logins s | RSS KiB/client | runs ok |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for target in targets:
            runs = [r for r in results[(name, target)] if r.get("ok")]
            if not runs:
                print(f"| {name} | {target} | failed | | | | | | | 0 of {opts.runs} |")
                continue
            for r in runs:
                r["cpu_us"] = cpu_per_delivery_us(r)
                r["rss_client"] = rss_per_client(r)
            def cell(key, fmt):
                v = median(runs, key)
                return "-" if v is None else fmt.format(v)
            print(f"| {name} | {target} | {cell('deliveries_per_s', '{:,.0f}')} "
                  f"| {fmt_ms(median(runs, 'latency_p50_ns'))} "
                  f"| {fmt_ms(median(runs, 'latency_p99_ns'))} "
                  f"| {cell('server_cpu_s', '{:.2f}')} | {cell('cpu_us', '{:.2f}')} "
                  f"| {cell('login_s', '{:.2f}')} | {cell('rss_client', '{:.1f}')} "
                  f"| {len(runs)} of {opts.runs} |")
    ok = all(r.get("ok") for rs in results.values() for r in rs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
