#!/usr/bin/env python3
"""Cross-check chat-bench against loadgen.py, the independent generator.

Runs the same workload with both generators, alternately (ABBA order, so a
drift in the machine's load hits both alike), each run against a freshly
started server: ngircd (Debian's, with the configuration from the README's
Performance section, on a free loopback port) or ours (the release build).
Prints every run, then the medians and how far chat-bench is from
loadgen.py. Every run also records what else the machine was doing: the
load average at its start, and the share of the machine's CPU that went
to neither the server nor the generator during it; a run during which
other programs used more than --max-others percent is repeated.

Usage, from the repository root after `cargo build --release`:

    python3 tests/bench/crosscheck.py --server ngircd --runs 5 --clients 50 --messages 200
    python3 tests/bench/crosscheck.py --server ours --runs 5 --clients 200 --messages 50 --rate 5
"""

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
START_TIMEOUT = 10.0

NGIRCD_CONF = """[Global]
\tName = bench.localhost
\tListen = 127.0.0.1
\tPorts = {port}
\tMotdPhrase = "bench"
[Limits]
\tMaxConnections = 0
\tMaxConnectionsIP = 0
\tMaxJoins = 0
\tMaxPenaltyTime = 0
\tPingTimeout = 600
\tPongTimeout = 600
[Options]
\tDNS = no
\tIdent = no
\tPAM = no
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {START_TIMEOUT} s")


class Server:
    """A fresh server for one run; stopped (and its files removed) on exit."""

    def __init__(self, kind, server_bin, extra=()):
        self.kind, self.server_bin, self.extra = kind, server_bin, list(extra)

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="crosscheck-")
        if self.kind == "ngircd":
            self.port = free_port()
            conf = os.path.join(self.dir.name, "ngircd.conf")
            with open(conf, "w") as f:
                f.write(NGIRCD_CONF.format(port=self.port))
            self.proc = subprocess.Popen(["ngircd", "-n", "-f", conf],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening(self.port, self.proc)
        else:
            self.proc = subprocess.Popen(
                [self.server_bin, "--port", "0", "--data-dir", self.dir.name, "--no-replay",
                 "--quiet", "--no-rate-limit", "--max-per-ip", "100000"] + self.extra,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.port = None
            for line in self.proc.stdout:
                if "listening on" in line:
                    self.port = int(line.rsplit(":", 1)[1])
                    break
            if self.port is None:
                raise RuntimeError("our server never said where it listens")
            # Keep reading what it prints, so it never waits on a full pipe.
            threading.Thread(target=self.proc.stdout.read, daemon=True).start()
            wait_listening(self.port, self.proc)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.dir.cleanup()


TICKS = os.sysconf("SC_CLK_TCK")


def busy_seconds():
    """CPU time the whole machine has spent busy so far, from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS  # all but idle and iowait


def process_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run_one(gen, args, workload, protocol=None):
    """One run of generator `gen` on a fresh server (driven over `protocol`,
    by default the server's own: IRC for ngircd): its JSON report, plus
    how busy the rest of the machine was meanwhile: `others_pct`, the CPU
    that neither the server nor the generator used, as a share of all cores
    over the run (other programs; the kernel's own work counts too)."""
    protocol = protocol or ("irc" if args.server == "ngircd" else "chat")
    with Server(args.server, args.server_bin) as server:
        common = ["--protocol", protocol, "--port", str(server.port),
                  "--server-pid", str(server.proc.pid), "--json"] + workload
        if gen == "chat-bench":
            cmd = [args.bench_bin] + common
        else:
            cmd = [sys.executable, os.path.join(HERE, "loadgen.py")] + common
        load = os.getloadavg()[0]
        before = (time.monotonic(), busy_seconds(), process_seconds(server.proc.pid),
                  resource.getrusage(resource.RUSAGE_CHILDREN))
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - before[0]
        ours = (process_seconds(server.proc.pid) - before[2]
                + child.ru_utime - before[3].ru_utime + child.ru_stime - before[3].ru_stime)
        others = busy_seconds() - before[1] - ours
    try:
        report = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = {"ok": False, "error": f"no report: {out.stdout!r} {out.stderr!r}"}
    report["load1"] = load
    report["others_pct"] = max(0.0, 100.0 * others / (wall * os.cpu_count()))
    return report


def common_args(p):
    """The options compare.py and cluster.py share."""
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--max-others", type=float, default=15.0,
                   help="repeat a run (up to 3 times) while other programs used more than "
                        "this share of the machine, in percent (default 15)")
    p.add_argument("--server-bin", default=os.path.join(ROOT, "target/release/server"))
    p.add_argument("--bench-bin", default=os.path.join(ROOT, "target/release/chat-bench"))


def rotations(names, runs, items):
    """(workload, run index, item) for every run of every item, the items'
    order rotating from run to run, so a drift in the machine's load hits
    them alike."""
    for name in names:
        for i in range(runs):
            for item in items[i % len(items):] + items[:i % len(items)]:
                yield name, i, item


def while_quiet(run, max_others, label, attempts=4):
    """`run()` again (up to `attempts` times in all, 5 s apart) while other
    programs used more than `max_others` percent of the machine during it;
    the last report either way."""
    for attempt in range(attempts):
        r = run()
        if not (r.get("ok") and r["others_pct"] > max_others) or attempt == attempts - 1:
            return r
        print(f"{label}: repeated, others used {r['others_pct']:.0f}% of the machine", flush=True)
        time.sleep(5)


def fmt_ms(ns):
    return "-" if ns is None else f"{ns / 1e6:.2f}"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", choices=["ngircd", "ours"], required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--server-bin", default=os.path.join(ROOT, "target/release/server"))
    p.add_argument("--bench-bin", default=os.path.join(ROOT, "target/release/chat-bench"))
    p.add_argument("--clients", default="50")
    p.add_argument("--messages", default="200")
    p.add_argument("--size", default="64")
    p.add_argument("--rooms", default="1")
    p.add_argument("--rate", default=None)
    p.add_argument("--max-others", type=float, default=10.0,
                   help="repeat a run (up to 5 times) while other programs used more than "
                        "this share of the machine, in percent (default 10)")
    args = p.parse_args(argv)
    workload = ["--clients", args.clients, "--messages", args.messages, "--size", args.size,
                "--rooms", args.rooms]
    if args.rate:
        workload += ["--rate", args.rate]

    results = {"chat-bench": [], "loadgen.py": []}
    print(f"server {args.server}, workload: {' '.join(workload)}, {args.runs} runs each, ABBA order")
    print(f"{'run':>3} {'generator':<11} {'deliveries/s':>12} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'server cpu':>10} {'gen cpu':>7} {'load1':>5} {'others':>6}")
    for i in range(args.runs):
        order = ["chat-bench", "loadgen.py"] if i % 2 == 0 else ["loadgen.py", "chat-bench"]
        for gen in order:
            for attempt in range(6):
                r = run_one(gen, args, workload)
                if r.get("ok") and r["others_pct"] > args.max_others and attempt < 5:
                    print(f"{i + 1:>3} {gen:<11} (repeated: others used {r['others_pct']:.0f}% "
                          f"of the machine)", flush=True)
                    time.sleep(5)
                    continue
                break
            results[gen].append(r)
            if not r.get("ok"):
                print(f"{i + 1:>3} {gen:<11} FAILED: {r.get('error')}")
                continue
            print(f"{i + 1:>3} {gen:<11} {r['deliveries_per_s']:>12,.0f} "
                  f"{fmt_ms(r.get('latency_p50_ns')):>7} {fmt_ms(r.get('latency_p99_ns')):>7} "
                  f"{r['server_cpu_s']:>9.2f}s {r['bench_cpu_s']:>6.2f}s "
                  f"{r['load1']:>5.2f} {r['others_pct']:>5.1f}%", flush=True)

    print("medians:")
    medians = {}
    for gen, runs in results.items():
        ok = [r for r in runs if r.get("ok")]
        if not ok:
            print(f"  {gen}: no successful run")
            continue
        med = {k: statistics.median(r[k] for r in ok if r.get(k) is not None)
               for k in ("deliveries_per_s", "latency_p50_ns", "latency_p99_ns",
                         "server_cpu_s", "bench_cpu_s")
               if any(r.get(k) is not None for r in ok)}
        medians[gen] = med
        print(f"  {gen:<11} {med['deliveries_per_s']:>12,.0f} deliveries/s, "
              f"p50 {fmt_ms(med.get('latency_p50_ns'))} ms, p99 {fmt_ms(med.get('latency_p99_ns'))} ms, "
              f"server cpu {med['server_cpu_s']:.2f} s, generator cpu {med['bench_cpu_s']:.2f} s "
              f"({len(ok)} of {len(runs)} runs ok)")
    if len(medians) == 2:
        a, b = medians["chat-bench"], medians["loadgen.py"]
        for key, name in (("deliveries_per_s", "deliveries/s"), ("latency_p50_ns", "p50"),
                          ("latency_p99_ns", "p99")):
            if key in a and key in b:
                print(f"  chat-bench / loadgen.py, {name}: {a[key] / b[key]:.3f}")
    return 0 if all(r.get("ok") for runs in results.values() for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
