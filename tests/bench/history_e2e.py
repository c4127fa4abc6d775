#!/usr/bin/env python3
"""History end to end: the real server on a large log, over real TCP.

Starts the release server on DIR (a log made by `chat-bench history --dir
DIR --messages 10000000`, whose rooms are room00..room99), times start-up
to listening, then as one client over our protocol: N `HISTORY ... Limit:
50` pages from the newest message of a random room and N from before a
random seq in the middle of the log (p50/p99), and a `SEARCH` for a word
in one message and for one in every 1,000th. Prints the server's RSS.

    cargo build --release
    ./target/release/chat-bench history --dir /tmp/hist --messages 10000000 --phase build
    python3 tests/bench/history_e2e.py /tmp/hist --requests 1000
"""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(60)
        self.file = self.sock.makefile("rb")

    def send(self, verb, target, headers=None, body=b""):
        head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"{verb} {target} CHAT/1.0\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                          .encode() + body)

    def frame(self):
        start = b""
        while not start.strip():
            start = self.file.readline()
            if not start:
                raise RuntimeError("the server closed the connection")
        headers = {}
        while True:
            line = self.file.readline().decode().rstrip("\r\n")
            if not line:
                break
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", "0")))
        return start.decode().rstrip("\r\n"), headers, body

    def reply(self):
        """The reply to the last request, counting the events before it."""
        events = 0
        while True:
            start, headers, body = self.frame()
            if start.startswith("CHAT/1.0"):
                return start, headers, body, events
            events += 1


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--rare", default="xylophonist", help="a word in one message")
    p.add_argument("--common", default="quokka", help="a word in every 1,000th message")
    p.add_argument("--server-bin", default=os.path.join(ROOT, "target/release/server"))
    args = p.parse_args(argv)

    started = time.perf_counter()
    server = subprocess.Popen([args.server_bin, "--port", "0", "--data-dir", args.dir,
                               "--no-replay", "--quiet", "--no-rate-limit"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = None
        for line in server.stdout:
            if "listening on" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        if port is None:
            raise RuntimeError("the server never said where it listens")
        listening = time.perf_counter() - started
        threading.Thread(target=server.stdout.read, daemon=True).start()
        print(f"start-up to listening: {listening:.2f} s, RSS {rss_kib(server.pid) / 1024:.0f} MiB")

        c = Client(port)
        c.send("LOGIN", "/", {"Nick": "bench"})
        print("login:", c.reply()[0])
        # The generated log names its rooms; rooms.txt may not know them yet.
        for i in range(100):
            c.send("CREATE", f"/rooms/room{i:02}", {"Visibility": "public"})
            c.reply()

        def pages(headers_of):
            lat = []
            for _ in range(args.requests):
                room = f"room{random.randrange(100):02}"
                t = time.perf_counter()
                c.send("HISTORY", f"/rooms/{room}", headers_of())
                start, headers, body, events = c.reply()
                lat.append(time.perf_counter() - t)
                if not start.startswith("CHAT/1.0 200"):
                    raise RuntimeError(f"HISTORY {room}: {start} {body!r}")
                if events > 50:
                    raise RuntimeError(f"a page of {events} messages")
            lat.sort()
            return statistics.median(lat) * 1e3, lat[int(len(lat) * 0.99)] * 1e3

        print("page of 50, newest: p50 %.3f ms, p99 %.3f ms" % pages(lambda: {"Limit": "50"}))
        print("page of 50, before the middle: p50 %.3f ms, p99 %.3f ms"
              % pages(lambda: {"Limit": "50", "Before": str(random.randrange(4_000_000, 6_000_000))}))
        for word, label in ((args.rare, "rare"), (args.common, "common")):
            # Until the first hit, following `More: yes` as a client does
            # (one request scans for at most a second).
            t, requests, before = time.perf_counter(), 0, {}
            while True:
                c.send("SEARCH", "/", before, word.encode())
                start, headers, body, events = c.reply()
                requests += 1
                first = body.decode(errors="replace").splitlines()[:1]
                if "message(s) with" in first[0] or headers.get("more") != "yes":
                    break
                before = {"Before": headers["before"]}
            print(f"search, {label} word {word!r}: {time.perf_counter() - t:.3f} s in "
                  f"{requests} request(s); {start}; {first}")
        print(f"server RSS after: {rss_kib(server.pid) / 1024:.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
