#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Connection limits of a real glassboxd, in a network namespace with only
loopback. Clients bind source addresses of 127.0.0.0/8, which glassboxd sees
as different clients.

A glassboxd listening on [::] (so HTTPS; dual stack: IPv4 clients arrive at
the socket as ::ffff:a.b.c.d), started with RLIMIT_NOFILE 1024 (systemd's
default soft limit):
- it takes IPv4 clients at all (libsoup alone makes [::] IPv6-only);
- IPv4 clients are keyed by their own address: 10 wrong passwords from
  127.0.0.1 throttle 127.0.0.1, not 127.0.0.2 (had they stayed ::ffff:...,
  every IPv4 client would share one ::/64 bucket; GLib 2.74 turns them back
  into IPv4 addresses, and gb_auth_address_key does too for one that does
  not);
- 1100 idle TCP connections from 127.0.0.1: glassboxd keeps 6 (the
  connections without a complete request an address may have over HTTPS)
  and closes the rest at once, and a login from 127.0.0.2 still works, at
  once; the 6, which never began their TLS handshake, are closed after the
  10 s request time-out.

A glassboxd on 127.0.0.1 (plain HTTP) with the idle time-out lowered to 3 s
and flood-session.py as its session binary (it sends every viewer 60 KB
lines without pause):
- slowloris: a connection that sends a header byte every 2 s is closed after
  the 10 s request time-out;
- 64 kept-alive connections from one address: a 65th is closed at once,
  another address is served;
- a kept-alive connection is closed after the idle time-out, and ones the
  client closes between requests leave no socket in CLOSE-WAIT (libsoup
  3.2.3 leaks those);
- a WebSocket client that never reads is dropped once 1 MiB waits for it,
  with a log line naming the user and the address, and glassboxd's memory
  stays small."""

import http.client
import json
import os
import re
import resource
import select
import socket
import subprocess
import threading
import time

import gbdaemon
import gbtest
from gbtest import check, finish

HERE = os.path.dirname(os.path.abspath(__file__))


def request(d, method, path, body=None, source="127.0.0.1", timeout=10, cookie=None):
    if d.scheme == "https":
        conn = http.client.HTTPSConnection("127.0.0.1", d.port, timeout=timeout,
                                           source_address=(source, 0),
                                           context=d.ssl_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout,
                                          source_address=(source, 0))
    headers = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    if cookie:
        headers["Cookie"] = "glassbox_session=" + cookie
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    except (OSError, http.client.HTTPException) as error:
        return repr(error), None, b""
    finally:
        conn.close()


def login(d, user, password, source):
    status, headers, _ = request(d, "POST", "/api/login",
                                 {"username": user, "password": password}, source)
    for value in (headers.get_all("Set-Cookie") or []) if headers else []:
        match = re.match(r"glassbox_session=([^;]+)", value)
        if match:
            return status, match.group(1)
    return status, None


def logins_at_once(d, attempts):
    results = [None] * len(attempts)

    def attempt(i, user, password, source):
        results[i] = login(d, user, password, source)[0]

    threads = [threading.Thread(target=attempt, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def connect(port, source, timeout=3.0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def readable(sock, timeout):
    """poll(), not select(): the test's descriptors go past 1024."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(timeout * 1000))


def closed_by_server(sock):
    """True once the server has closed (end-of-file or reset), without waiting."""
    try:
        if not readable(sock, 0):
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_closed(sock, timeout):
    """Seconds until the server closed @sock, reading and dropping what it sends;
    None when it is still open after @timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if readable(sock, 0.2):
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - t0
            except OSError:
                return time.monotonic() - t0
    return None


def close_wait_count(port):
    out = subprocess.run(["ss", "-tanH", "state", "close-wait", "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    return len([line for line in out.splitlines() if line.strip()])


def slowloris(d, result):
    """Send a request head one byte every 2 s; how long until glassboxd closes."""
    sock = connect(d.port, "127.0.0.3")
    t0 = time.monotonic()
    sock.sendall(b"GET /api/whoami HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        while time.monotonic() - t0 < 20:
            if readable(sock, 2.0) and sock.recv(4096) == b"":
                break
            sock.sendall(b"a")
    except OSError:
        pass
    result.append(time.monotonic() - t0)
    sock.close()


def check_dual_stack(d, password):
    # In twos: over HTTPS an address may have only 6 connections before their first request.
    results = []
    for pair in range(5):
        results += logins_at_once(d, [("user%d" % pair, "wrong", "127.0.0.1")] * 2)
    check(results == [401] * 10, "10 wrong passwords from 127.0.0.1 (5 names): 401 (%r)"
          % results)
    status, _ = login(d, "someone", "wrong", "127.0.0.1")
    check(status == 429, "127.0.0.1 is throttled now (got %r)" % status)
    status, _ = login(d, "someone", "wrong", "127.0.0.2")
    check(status == 401, "127.0.0.2 on the same dual-stack listener is not (got %r)" % status)

    # --- 1100 idle connections from one address ---
    socks = []
    t0 = time.monotonic()
    failed = 0
    while len(socks) + failed < 1100 and time.monotonic() - t0 < 60:
        try:
            socks.append(connect(d.port, "127.0.0.1"))
        except OSError:
            failed += 1
    check(len(socks) == 1100, "1100 TCP connections from 127.0.0.1 (%d, %d failed, %.1f s)"
          % (len(socks), failed, time.monotonic() - t0))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        closed = sum(1 for s in socks if closed_by_server(s))
        if closed >= len(socks) - 6:
            break
        time.sleep(0.2)
    check(closed == len(socks) - 6, "glassboxd keeps 6 of them and closes the others at "
          "once (%d closed)" % closed)
    t0 = time.monotonic()
    status, token = login(d, "demo", password, "127.0.0.2")
    took = time.monotonic() - t0
    check(status == 200 and token and took < 3,
          "meanwhile a login from 127.0.0.2 works (got %r in %.1f s)" % (status, took))
    check(d.wait_log(r"client (::ffff:)?127\.0\.0\.1 has 6 connections open", 2) is not None,
          "the refusal is logged, naming the address")
    open_ones = [s for s in socks if not closed_by_server(s)]
    waited = [wait_closed(s, 15) for s in open_ones[:1]]
    check(waited[0] is not None and waited[0] < 15,
          "the 6 idle ones are closed after the request time-out (%r)" % waited)
    time.sleep(0.5)
    check(all(closed_by_server(s) for s in open_ones), "all of them")
    for s in socks:
        s.close()
    status, _, _ = request(d, "GET", "/api/whoami", source="127.0.0.1")
    check(status == 401, "127.0.0.1 may connect again once they are closed (got %r)" % status)


def check_slowloris(d):
    slow = []
    slowloris(d, slow)
    check(slow and 9 <= slow[0] <= 14,
          "a request head sent a byte every 2 s: closed after the 10 s time-out (%r)" % slow)
    check(d.wait_log(r"closing the connection from 127\.0\.0\.3: no complete "
                     r"request within 10 s", 2) is not None, "and logged")


def http_exchange(sock, path="/api/whoami"):
    """One keep-alive request on @sock; the status, or None."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    data = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int((re.search(rb"(?i)content-length: *(\d+)", head) or [0, b"0"])[1])
    while len(rest) < length and time.monotonic() < deadline:
        rest += sock.recv(4096)
    match = re.match(rb"HTTP/1\.1 (\d+)", head)
    return int(match.group(1)) if match else None


def check_per_address_cap(d):
    socks = [connect(d.port, "127.0.0.6", timeout=5) for _ in range(64)]
    statuses = [http_exchange(s) for s in socks]
    check(statuses == [401] * 64, "64 kept-alive connections from 127.0.0.6 (%r)"
          % sorted(set(map(str, statuses))))
    extra = connect(d.port, "127.0.0.6")
    waited = wait_closed(extra, 2)
    check(waited is not None and waited < 1, "a 65th is closed at once (%r)" % waited)
    other = connect(d.port, "127.0.0.7")
    check(http_exchange(other) == 401, "another address is served meanwhile")
    check(d.wait_log(r"client 127\.0\.0\.6 has 64 connections open", 2) is not None,
          "the refusal is logged")
    for s in socks + [extra, other]:
        s.close()


def check_keep_alive(d):
    sock = connect(d.port, "127.0.0.4", timeout=10)
    first = http_exchange(sock)
    time.sleep(1)
    second = http_exchange(sock)
    check(first == 401 and second == 401, "two requests on one kept-alive connection (%r %r)"
          % (first, second))
    waited = wait_closed(sock, 10)
    check(waited is not None and 2 <= waited <= 6,
          "then it is closed after the 3 s idle time-out (%r)" % waited)
    sock.close()

    for _ in range(20):
        sock = connect(d.port, "127.0.0.5")
        http_exchange(sock)
        sock.close()
    deadline = time.monotonic() + 3
    while close_wait_count(d.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    check(close_wait_count(d.port) == 0,
          "20 kept-alive connections the client closed: none left in CLOSE-WAIT (%d)"
          % close_wait_count(d.port))


def check_websocket_that_never_reads(e):
    status, token, _, _ = e.login("demo", e.password())
    check(status == 200 and token, "login (%r)" % status)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small window: what glassboxd cannot send waits in glassboxd.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((e.host, e.port))
    sock.sendall(("GET /api/session HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
                  "Cookie: glassbox_session=%s\r\n\r\n"
                  % (e.host, e.port, e.origin(), token)).encode())
    head = sock.recv(200)
    check(head.startswith(b"HTTP/1.1 101"), "the WebSocket opens (%r)" % head[:40])
    # ... and is never read from here on.
    match = e.wait_log(r"user 'demo' from 127\.0\.0\.1 \(session [0-9a-f]+\) does not "
                       r"read its WebSocket: (\d+) bytes waiting", 30)
    check(match is not None, "glassboxd drops the client that does not read, naming the "
          "user and the address")
    with open("/proc/%d/status" % e.proc.pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
    check(rss < 100 * 1024, "glassboxd's memory stays small (%d KiB)" % rss)
    waited = wait_closed(sock, 10)
    check(waited is not None, "the client's connection is closed (%r)" % waited)
    sock.close()
    status, _, _ = e.request("GET", "/api/whoami", cookie=token)
    check(status == 200, "glassboxd goes on serving (%r)" % status)


def run(d, checks):
    try:
        if check(d.start(), "glassboxd starts (%s)" % d.log_text()[-300:]):
            checks(d)
    finally:
        status = d.stop()
        check(status == 0, "glassboxd exits 0 (%r)" % status)
        if gbtest.failures:
            print("--- glassboxd log (tail) ---")
            print("\n".join(d.log_text(whole=True).splitlines()[-25:]))
        d.close()


def dual_stack_checks(d):
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
    check_dual_stack(d, d.password())


def plain_checks(d):
    check_per_address_cap(d)
    check_slowloris(d)
    check_keep_alive(d)
    check_websocket_that_never_reads(d)


gbdaemon.enter_network_namespace()
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
# glassboxd gets systemd's default soft limit; the test needs more for its clients.
resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
run(gbdaemon.Daemon(listen="[::]:0"), dual_stack_checks)
os.environ["GB_TEST_CONNECTION_IDLE_TIMEOUT_S"] = "3"
run(gbdaemon.Daemon(session_binary=os.path.join(HERE, "flood-session.py")), plain_checks)
finish()
