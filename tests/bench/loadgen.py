#!/usr/bin/env python3
"""A second, independent load generator, to cross-check chat-bench.

One process, one thread, one epoll loop: it never uses more than one core,
so on a small machine the server it measures keeps the rest. Every client
socket has TCP_NODELAY and re-arms TCP_QUICKACK after every read (turn that
off with --no-quickack). It shares no code with chat-bench (src/bench/): it
is written from the protocols' descriptions, so a bug in one instrument
shows up as a disagreement between the two.

Workload, as chat-bench's: N clients log in one after the other and are
spread round robin over K rooms; then every client sends M messages of S
bytes whose body starts with its send time in nanoseconds, each message
its own send(), paced (client i's message j is due (j + i/N)/R seconds
after the start) or unpaced: a flood, every message written back to back
before anything is read, as chat-bench's sender threads do (--flood rounds:
one message per client per turn of the loop instead, reading in between).
Every message goes to every other member of its room; any loss fails the
run. deliveries/s = deliveries / (last arrival - first send); everything
one read brought arrived when that read returned.

Latency: in paced runs every delivery's; in floods none (counted only),
because parsing every line in Python would make this generator, not the
server, the bottleneck. Reads are counted with bytes.count() over whole
chunks, so a delivery costs tens of nanoseconds. Python pays a few
microseconds per read, though: where the server sends one segment per
delivery at a high rate, this generator saturates its core first (its
cpu figure then nears the run's length, and its latencies are its own).

Usage: loadgen.py --protocol irc|chat --port P [--clients N] [--messages M]
       [--size S] [--rate R] [--rooms K] [--server-pid PID] [--no-quickack]
       [--flood burst|rounds] [--json]
"""

import argparse
import json
import os
import re
import select
import socket
import sys
import time

ORIGIN = time.perf_counter_ns()
READ_BYTES = 256 * 1024
LOGIN_TIMEOUT = 10.0
STALL_TIMEOUT = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def now_ns():
    return time.perf_counter_ns() - ORIGIN


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Failure(Exception):
    pass


def body(sent_ns, size):
    text = str(sent_ns)
    if len(text) < size:
        text += " " + "x" * (size - len(text) - 1)
    return text


class Irc:
    """IRC (RFC 2812): NICK/USER until 001, JOIN until 366."""

    name = "irc"
    stamp = re.compile(rb" PRIVMSG \S+ :(\d+) ")

    @staticmethod
    def room(k, rooms):
        return f"#room{k}"

    @staticmethod
    def say(room, text):
        return f"PRIVMSG {room} :{text}\r\n".encode()

    quit = b"QUIT :done\r\n"

    @staticmethod
    def login(conn, nick, room, rooms):
        conn.send(f"NICK {nick}\r\nUSER {nick} 0 * :loadgen\r\n".encode())
        conn.irc_wait(" 001 ")
        conn.send(f"JOIN {room}\r\n".encode())
        conn.irc_wait(" 366 ")

    @staticmethod
    def whole(buf):
        """Length of the prefix of buf made of complete lines."""
        return buf.rfind(b"\n") + 1

    @staticmethod
    def scan(client, region):
        """Counts deliveries in complete lines; answers pings, fails on errors."""
        got = region.count(b" PRIVMSG ")
        if region.count(b"\n") != got:
            for line in region.split(b"\n"):
                words = line.split()
                if not words or b" PRIVMSG " in line:
                    continue
                if words[0] == b"PING":
                    client.out += b"PONG " + b" ".join(words[1:]) + b"\r\n"
                elif words[0] == b"ERROR":
                    raise Failure(f"{client.nick}: {line!r}")
                elif len(words) > 1 and words[1][:1] in b"45" and words[1].isdigit():
                    raise Failure(f"{client.nick}: {line!r}")
        return got, 0


class Chat:
    """Our CHAT/1.0 frames: LOGIN, then JOIN (or CREATE) the room."""

    name = "chat"
    stamp = re.compile(rb"\r\n\r\n(\d+) ")

    @staticmethod
    def room(k, rooms):
        return "lobby" if rooms == 1 else f"room{k}"

    @staticmethod
    def frame(start, headers=(), text=""):
        data = text.encode()
        head = start + "\r\n" + "".join(f"{h}\r\n" for h in headers)
        return (head + f"Content-Length: {len(data)}\r\n\r\n").encode() + data

    @staticmethod
    def say(room, text):
        return Chat.frame("SAY / CHAT/1.0", (), text)

    quit = b"QUIT / CHAT/1.0\r\nContent-Length: 0\r\n\r\n"

    @staticmethod
    def login(conn, nick, room, rooms):
        conn.send(Chat.frame("LOGIN / CHAT/1.0", [f"Nick: {nick}"]))
        conn.chat_wait(nick, "lobby")
        if rooms == 1:
            return
        conn.send(Chat.frame(f"JOIN /rooms/{room} CHAT/1.0"))
        if conn.chat_wait(nick, room, refusal_ok=True) == 404:
            create = f"CREATE /rooms/{room} CHAT/1.0"
            conn.send(Chat.frame(create, ["Visibility: public"]))
            conn.chat_wait(nick, room)

    @staticmethod
    def whole(buf):
        """Length of the prefix of buf made of complete frames.

        Each frame is a head ending in a blank line, with its Content-Length,
        then that many bytes of body. Found from the end: the last head whose
        body has fully arrived. This relies on what the run phase carries:
        our own message bodies (digits and 'x'), empty or short reply bodies,
        none holding a blank line or a Content-Length header.
        """
        p = buf.rfind(b"\r\n\r\n")
        while p >= 0:
            cl = buf.rfind(b"Content-Length: ", 0, p)
            if cl < 0:
                raise Failure(f"frame head without Content-Length: {buf[:200]!r}")
            length = int(buf[cl + 16 : buf.index(b"\r\n", cl)])
            end = p + 4 + length
            if end <= len(buf):
                return end
            p = buf.rfind(b"\r\n\r\n", 0, p)
        return 0

    @staticmethod
    def scan(client, region):
        """Counts deliveries and OK replies; answers pings, fails on errors."""
        got = region.count(b"MESSAGE /rooms/")
        ok = region.count(b"CHAT/1.0 200 ")
        if region.count(b"\r\n\r\n") != got + ok:
            if b"CHAT/1.0 4" in region or b"CHAT/1.0 5" in region or b"BYE /" in region:
                raise Failure(f"{client.nick}: {region[:300]!r}")
            client.out += Chat.frame("PONG / CHAT/1.0") * region.count(b"PING / CHAT/1.0")
        return got, ok


class Conn:
    """One client: its socket, bytes read but not scanned, bytes to send."""

    def __init__(self, addr, nick, room):
        self.nick, self.room = nick, room
        self.sock = socket.create_connection(addr, timeout=LOGIN_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fd = self.sock.fileno()
        self.inbuf = b""
        self.out = bytearray()
        self.got = 0

    def send(self, data):
        self.sock.sendall(data)

    def read_more(self):
        data = self.sock.recv(READ_BYTES)
        if not data:
            raise Failure(f"{self.nick}: server closed the connection")
        self.inbuf += data

    def irc_wait(self, code):
        """Reads lines until one carrying the numeric `code`."""
        while True:
            while b"\n" in self.inbuf:
                line, self.inbuf = self.inbuf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").rstrip("\r")
                if text.startswith("PING"):
                    self.send(("PONG" + text[4:] + "\r\n").encode())
                if code in text:
                    return
                words = text.split()
                if len(words) > 1 and words[1][:1] in "45" and words[1].isdigit():
                    raise Failure(f"{self.nick}: {text}")
            self.read_more()

    def chat_frame(self):
        """The next whole frame: (start line, headers, body)."""
        while b"\r\n\r\n" not in self.inbuf:
            self.read_more()
        head, rest = self.inbuf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers["Content-Length"])
        while len(rest) < length:
            self.read_more()
            head, rest = self.inbuf.split(b"\r\n\r\n", 1)
        self.inbuf = rest[length:]
        return lines[0], headers, rest[:length]

    def chat_wait(self, nick, room, refusal_ok=False):
        """Reads frames until the reply and our own JOIN event for `room`."""
        replied = joined = False
        while not (replied and joined):
            start, headers, text = self.chat_frame()
            if start.startswith("CHAT/1.0 "):
                code = int(start.split()[1])
                if code >= 300 and refusal_ok:
                    return code
                if code >= 300:
                    raise Failure(f"{nick}: {start}: {text!r}")
                replied = True
            elif start == f"JOIN /rooms/{room} CHAT/1.0" and headers.get("Nick") == nick:
                joined = True
            elif start.startswith("PING "):
                self.send(Chat.frame("PONG / CHAT/1.0"))
        return 200


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--protocol", choices=["irc", "chat"], default="chat")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--rate", type=float, default=None)
    p.add_argument("--rooms", type=int, default=1)
    p.add_argument("--server-pid", type=int, default=None)
    p.add_argument("--no-quickack", action="store_true")
    p.add_argument("--flood", choices=["burst", "rounds"], default="burst")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.size < 20 or args.clients < 1 or not 1 <= args.rooms <= args.clients:
        p.error("need --size >= 20, --clients >= 1, 1 <= --rooms <= --clients")
    return args


def run(args):
    proto = Irc if args.protocol == "irc" else Chat
    quickack = not args.no_quickack
    addr = (args.host, args.port)
    start_cpu = cpu_seconds("self"), args.server_pid and cpu_seconds(args.server_pid)

    clients = []
    login_start = time.perf_counter()
    for i in range(args.clients):
        nick = f"g{i:04d}"
        conn = Conn(addr, nick, proto.room(i % args.rooms, args.rooms))
        proto.login(conn, nick, conn.room, args.rooms)
        clients.append(conn)
    login_s = time.perf_counter() - login_start

    members = [0] * args.rooms
    for i in range(args.clients):
        members[i % args.rooms] += 1
    expected = sum(args.messages * (members[i % args.rooms] - 1) for i in range(args.clients))
    replies_expected = args.clients * args.messages if proto is Chat else 0

    # Whatever arrived during the logins (other clients' JOIN events, a
    # welcome) is not part of the run: drop whole frames or lines of it.
    ep = select.epoll()
    by_fd = {}
    for c in clients:
        c.sock.setblocking(False)
        try:
            while True:
                c.read_more()
        except BlockingIOError:
            pass
        c.inbuf = c.inbuf[proto.whole(c.inbuf):]
        by_fd[c.fd] = c
        ep.register(c.fd, select.EPOLLIN)

    arrivals = []
    stamp = proto.stamp
    delivered = replies = 0
    first_send = last_arrival = None
    writing = set()

    def flush(c):
        """Sends what c owes without waiting; watches for room if some is left."""
        if c.out:
            try:
                del c.out[:c.sock.send(c.out)]
            except BlockingIOError:
                pass
        if c.out and c.fd not in writing:
            writing.add(c.fd)
            ep.modify(c.fd, select.EPOLLIN | select.EPOLLOUT)
        elif not c.out and c.fd in writing:
            writing.discard(c.fd)
            ep.modify(c.fd, select.EPOLLIN)

    def say(c):
        """Sends c's next message, stamped now: one send() per message."""
        nonlocal first_send
        sent_ns = now_ns()
        if first_send is None:
            first_send = sent_ns
        c.out += proto.say(c.room, body(sent_ns, args.size))
        flush(c)
        return sent_ns

    # Message k is client k % N's message number k // N. Paced, it is due
    # k / (N R) s after the start: client i's message j at (j + i/N) / R,
    # which spreads the clients evenly over each period, as chat-bench does.
    # Flood, "burst": every message written back to back, round robin over
    # the clients, before anything is read (what a socket cannot take
    # waits in our buffer); deliveries meanwhile wait in the kernel. This
    # is chat-bench's flood, whose sender threads never wait for readers.
    # Flood, "rounds": one message per client per turn of the loop, with
    # everything that arrived read in between.
    n, total = args.clients, args.clients * args.messages
    k = 0
    t0 = now_ns()

    def due(k):
        return t0 + int(k * 1e9 / (n * args.rate))

    max_lag = 0
    if args.rate is None and args.flood == "burst":
        for k in range(total):
            say(clients[k % n])
        k = total
    deadline = time.perf_counter() + args.timeout
    last_progress = time.perf_counter()
    while delivered < expected or replies < replies_expected:
        wait = 0.2
        if k < total and args.rate is None:
            for _ in range(n):
                if k < total:
                    say(clients[k % n])
                    k += 1
            wait = 0
        elif k < total:
            now = now_ns()
            while k < total and due(k) <= now:
                max_lag = max(max_lag, say(clients[k % n]) - due(k))
                k += 1
            if k < total:
                wait = max(0, due(k) - now_ns()) / 1e9
        events = ep.poll(wait)
        for fd, ev in events:
            c = by_fd[fd]
            if ev & select.EPOLLOUT:
                flush(c)
            if not ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                continue
            try:
                data = c.sock.recv(READ_BYTES)
            except BlockingIOError:
                continue
            arrived = now_ns()
            if quickack:
                c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            if not data:
                raise Failure(f"{c.nick}: server closed the connection")
            buf = c.inbuf + data if c.inbuf else data
            end = proto.whole(buf)
            region, c.inbuf = buf[:end], buf[end:]
            got, ok = proto.scan(c, region)
            if c.out:
                flush(c)
            if got:
                c.got += got
                delivered += got
                last_arrival = arrived
                if args.rate is not None:
                    # Latencies are worked out after the run: here only
                    # what costs C speed, not Python per delivery.
                    arrivals.append((arrived, list(map(int, stamp.findall(region)))))
            replies += ok
        now = time.perf_counter()
        if events:
            last_progress = now
        if now > deadline or now - last_progress > STALL_TIMEOUT:
            raise Failure(f"timed out: {delivered} of {expected} deliveries, "
                          f"{replies} of {replies_expected} replies")

    cpu = cpu_seconds("self") - start_cpu[0]
    server_cpu = args.server_pid and cpu_seconds(args.server_pid) - start_cpu[1]
    for c in clients:
        try:
            c.sock.send(proto.quit)
        except OSError:
            pass
        c.sock.close()
    wrong = [c.nick for i, c in enumerate(clients)
             if c.got != args.messages * (members[i % args.rooms] - 1)]
    if wrong:
        raise Failure(f"wrong delivery counts for {', '.join(wrong[:5])}")

    report = {
        "generator": "loadgen.py",
        "protocol": proto.name,
        "clients": args.clients,
        "rooms": args.rooms,
        "messages": args.messages,
        "size": args.size,
        "rate": args.rate,
        "quickack": quickack,
        "flood": None if args.rate else args.flood,
        "login_s": login_s,
        "deliveries": delivered,
        "expected_deliveries": expected,
        "send_phase_s": None,
        "deliveries_per_s": None,
        "max_send_lag_ns": max_lag,
        "bench_cpu_s": cpu,
        "server_cpu_s": server_cpu if args.server_pid else None,
        "ok": True,
    }
    if first_send is not None and last_arrival is not None and last_arrival > first_send:
        phase = (last_arrival - first_send) / 1e9
        report["send_phase_s"] = phase
        report["deliveries_per_s"] = delivered / phase
    latencies = sorted(at - sent for at, stamps in arrivals for sent in stamps)
    if latencies:
        for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99)):
            rank = max(1, -(-len(latencies) * int(q * 100) // 100))
            report[f"latency_{name}_ns"] = latencies[rank - 1]
        report["latency_max_ns"] = latencies[-1]
    return report


def show(report):
    r = report
    print(f"loadgen.py {r['protocol']}: {r['clients']} clients, {r['rooms']} room(s), "
          f"{r['messages']} messages of {r['size']} B, "
          + (f"{r['rate']}/s per client" if r["rate"] else f"unpaced ({r['flood']})")
          + (", quick ACKs" if r["quickack"] else ""))
    print(f"login:           {r['login_s']:.3f} s")
    print(f"deliveries:      {r['deliveries']} of {r['expected_deliveries']} expected")
    if r["deliveries_per_s"]:
        print(f"send phase:      {r['send_phase_s']:.3f} s, {r['deliveries_per_s']:.0f} deliveries/s")
    if "latency_p50_ns" in r:
        ms = [r[f"latency_{k}_ns"] / 1e6 for k in ("p50", "p90", "p99", "max")]
        print("latency:         p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms" % tuple(ms))
    else:
        print("latency:         not measured in a flood (deliveries counted only)")
    if r["rate"]:
        print(f"max send lag:    {r['max_send_lag_ns'] / 1e6:.3f} ms")
    server = f", server {r['server_cpu_s']:.2f} s" if r["server_cpu_s"] is not None else ""
    print(f"cpu (user+sys):  loadgen {r['bench_cpu_s']:.2f} s{server}")
    print("result:          ok")


def main(argv):
    args = parse_args(argv)
    try:
        report = run(args)
    except (Failure, OSError, ValueError, KeyError) as e:
        if args.json:
            print(json.dumps({"generator": "loadgen.py", "ok": False, "error": str(e)}))
        else:
            print(f"result:          FAILED: {e}")
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        show(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
