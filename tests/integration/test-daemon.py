#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""glassboxd against a real glassbox-session, inside a network namespace
with only loopback: the web client's files and headers, path traversal,
login and its cookie, the signalling WebSocket (refusals, limits, relay to
the session and back), sessions joined, ended when idle and on exit,
max_sessions, SIGTERM, HTTPS with a generated and with a configured
certificate, and start-up errors that name their file."""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import tempfile
import threading
import time

import gbdaemon
from gbtest import check, finish

gbdaemon.enter_network_namespace()

SECRET = b"TOP SECRET outside web_dir"
WEB_FILES = {
    "index.html": b"<!doctype html><title>glassbox test</title>",
    "app.js": b"export const app = 1;\n",
    "mod.mjs": b"export const mod = 2;\n",
    "style.css": b"body { margin: 0 }\n",
    "icon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "img.png": b"\x89PNG\r\n\x1a\n",
    "favicon.ico": b"\x00\x00\x01\x00",
    "data.json": b"{}",
    "code.wasm": b"\x00asm\x01\x00\x00\x00",
    "blob.bin": b"\x01\x02",
    ".hidden": b"hidden file",
    "sub/index.html": b"sub index",
    "sub2/file.txt": b"in sub2",
}
MIME = {
    "/": "text/html", "/app.js": "text/javascript", "/mod.mjs": "text/javascript",
    "/style.css": "text/css", "/icon.svg": "image/svg+xml", "/img.png": "image/png",
    "/favicon.ico": "image/x-icon", "/data.json": "application/json",
    "/code.wasm": "application/wasm", "/blob.bin": "application/octet-stream",
}
SESSION_START = re.compile(r"session ([0-9a-f]{16}): starting for user '(\w+)' \(pid (\d+)")
HELLO = {"type": "hello", "codecs": ["H264", "VP8"], "width": 320, "height": 240}


def media_type(headers):
    return (headers.get("Content-Type") or "").split(";")[0].strip()


def cookie_attributes(headers):
    values = [v for v in headers.get_all("Set-Cookie") or [] if v.startswith("glassbox_session=")]
    if len(values) != 1:
        return None, {}
    parts = [p.strip() for p in values[0].split(";")]
    value = parts[0].split("=", 1)[1]
    attributes = {}
    for part in parts[1:]:
        name, _, attribute = part.partition("=")
        attributes[name.lower()] = attribute
    return value, attributes


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def process_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def session_dirs(daemon):
    path = os.path.join(daemon.runtime, "sessions")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def open_viewer(daemon, token):
    """A WebSocket on /api/session and its first message."""
    ws = daemon.websocket(cookie=token)
    first = ws.recv_json(timeout=15) if ws.status == 101 else None
    return ws, first


def check_static(d):
    for path, wanted in MIME.items():
        status, headers, body = d.request("GET", path)
        name = "index.html" if path == "/" else path[1:]
        check(status == 200 and body == WEB_FILES[name] and media_type(headers) == wanted,
              "GET %s: 200 %s (got %d %s)" % (path, wanted, status, media_type(headers)))
    status, headers, body = d.request("GET", "/")
    csp = headers.get("Content-Security-Policy") or ""
    check("frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
          and "default-src 'none'" in csp and "script-src 'self'" in csp,
          "Content-Security-Policy: %s" % csp)
    check(headers.get("X-Content-Type-Options") == "nosniff", "X-Content-Type-Options: nosniff")
    check(headers.get("Referrer-Policy") == "no-referrer", "Referrer-Policy: no-referrer")
    check(headers.get("Cache-Control") == "no-cache" and headers.get("ETag"),
          "static files: Cache-Control no-cache with an ETag")
    status, _, body = d.request("GET", "/", headers={"If-None-Match": headers.get("ETag")})
    check(status == 304 and body == b"", "If-None-Match: 304 (got %d)" % status)

    status, headers, body = d.request("HEAD", "/app.js")
    check(status == 200 and body == b"" and media_type(headers) == "text/javascript",
          "HEAD: 200, type, no body (got %d)" % status)
    status, headers, _ = d.request("POST", "/index.html", body=b"x")
    check(status == 405 and headers.get("Allow") == "GET, HEAD",
          "POST on a file: 405 with Allow (got %d)" % status)
    status, headers, _ = d.request("DELETE", "/")
    check(status == 405, "DELETE: 405 (got %d)" % status)

    status, headers, _ = d.request("GET", "/sub")
    check(status == 301 and headers.get("Location") == "/sub/",
          "folder without slash: 301 to /sub/ (got %d %s)" % (status, headers.get("Location")))
    status, _, body = d.request("GET", "/sub/")
    check(status == 200 and body == WEB_FILES["sub/index.html"], "folder: its index.html")
    status, _, body = d.request("GET", "/sub2/")
    check(status == 404 and b"file.txt" not in body, "no folder listing (got %d)" % status)
    status, _, body = d.request("GET", "/link-in")
    check(status == 200 and body == WEB_FILES["index.html"], "a link inside web_dir is served")

    for line in ["/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
                 "/%2e%2e%2fsecret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt",
                 "/%2E%2E/%2E%2E/secret.txt", "/link-out", "/link-dir/secret.txt",
                 "/.hidden", "/sub/%2e%2e%2f%2e%2e%2fsecret.txt", "//secret.txt",
                 "/%00", "/index.html%00.js", "/sub\\..\\..\\secret.txt",
                 "/" * 40 + "sub/%2e%2e/%2e%2e/secret.txt", "/sub" * 40 + "/index.html"]:
        status, _, body = d.raw_request(line)
        check(status in (400, 404) and SECRET not in body and b"hidden file" not in body,
              "GET %s refused (%d)" % (line, status))


def check_login(d):
    password = d.password()
    check(password is not None and len(password) >= 16, "demo password in the log")
    log = d.log_text()
    check(log.count(password) == 1, "the password is logged exactly once")

    status, _, _ = d.request("GET", "/api/whoami")
    check(status == 401, "whoami without a cookie: 401 (got %d)" % status)

    t0 = time.monotonic()
    status, token, _, body = d.login(password="wrong-" + password)
    took = time.monotonic() - t0
    check(status == 401 and token is None and b"wrong user name or password" in body,
          "wrong password: 401 (got %d %r)" % (status, body))
    check(took >= 0.6, "a failed login is answered after a delay (%.2f s)" % took)
    status2, token, _, body2 = d.login(user="nobody", password=password)
    check(status2 == 401 and body2 == body, "unknown user: the same 401 and message")
    check(d.wait_log(r"failed login for user 'nobody' from 127\.0\.0\.1") is not None
          and "failed login for user 'demo' from 127.0.0.1" in d.log_text(),
          "failed logins are logged with user and address")
    check(("wrong-" + password) not in d.log_text(), "a wrong password is never logged")

    status, _, _ = d.request("POST", "/api/login", body=b"{not json",
                             headers={"Content-Type": "application/json"})
    check(status == 400, "malformed body: 400 (got %d)" % status)
    status, _, _ = d.request("POST", "/api/login", {"username": "demo", "password": 5})
    check(status == 400, "password not a string: 400 (got %d)" % status)
    status, _, _ = d.request("POST", "/api/login", {"username": "demo", "password": password,
                                                    "padding": "x" * 5000})
    check(status == 413, "body over 4 KiB: 413 (got %d)" % status)
    conn = d.connection()
    conn.request("POST", "/api/login", body=iter([b"{" + b" " * 3000, b" " * 3000 + b"}"]),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    status = conn.getresponse().status
    conn.close()
    check(status == 413, "chunked body over 4 KiB: 413 (got %d)" % status)
    status, _, _ = d.request("GET", "/api/login")
    check(status == 405, "GET /api/login: 405 (got %d)" % status)
    status, _, _ = d.request("POST", "/api/login", {"username": "demo", "password": password},
                             headers={"Origin": "http://evil.example"})
    check(status == 403, "login from another origin: 403 (got %d)" % status)

    status, token, headers, body = d.login()
    value, attributes = cookie_attributes(headers)
    check(status == 200 and body == b'{"user":"demo"}', "login: 200 {\"user\":\"demo\"}")
    check(token is not None and re.fullmatch(r"[A-Za-z0-9_-]{43}", token) is not None,
          "cookie: 43 characters of base64url")
    check(attributes.get("path") == "/" and "httponly" in attributes
          and attributes.get("samesite") == "Strict" and "secure" not in attributes
          and attributes.get("max-age") == "3600",
          "cookie attributes on HTTP: %r" % attributes)
    status, _, body = d.request("GET", "/api/whoami", cookie=token)
    check(status == 200 and json.loads(body) == {"user": "demo", "roles": ["user"]},
          "whoami with the cookie: demo, role user (%r)" % body)
    status, _, _ = d.request("GET", "/api/whoami", cookie="A" * 43)
    check(status == 401, "whoami with an unknown cookie: 401")
    check(d.wait_log(r"user 'demo' logged in from 127\.0\.0\.1") is not None,
          "login logged with user and address")
    return token


def check_websocket_refusals(d, token):
    # The login started the user's session ahead of the page; wait for it,
    # then check that refused requests start no other.
    check(d.wait_log(r"session \S+ of user 'demo' is ready") is not None,
          "the login started demo's session")
    started = session_dirs(d)
    check(len(started) == 1, "one session folder after login (%r)" % (started,))
    ws = d.websocket()
    check(ws.status == 401, "WebSocket without a cookie: 401 (got %s)" % ws.status)
    ws = d.websocket(cookie="B" * 43)
    check(ws.status == 401, "WebSocket with an unknown cookie: 401 (got %s)" % ws.status)
    ws = d.websocket(cookie=token, origin="http://evil.example")
    check(ws.status == 403, "WebSocket from another origin: 403 (got %s)" % ws.status)
    ws = d.websocket(cookie=token, origin=None)
    check(ws.status == 403, "WebSocket without an Origin: 403 (got %s)" % ws.status)
    status, _, _ = d.request("GET", "/api/session", cookie=token,
                             headers={"Origin": d.origin()})
    check(status == 400, "GET /api/session without Upgrade: 400 (got %d)" % status)
    check(session_dirs(d) == started, "no session started by refused requests")


def check_misbehaviour(d, token):
    """Each misbehaving socket is closed with the protocol's code; the others stay."""
    cases = [
        ("a message over 64 KiB", 1009, lambda ws: ws.send_text('{"type":"x","p":"%s"}'
                                                              % ("y" * 70000))),
        ("fragments adding up to over 64 KiB", 1009,
         lambda ws: [ws.send_frame(0x1, b"a" * 40000, fin=False),
                     ws.send_frame(0x0, b"b" * 40000, fin=False),
                     ws.send_frame(0x0, b"c" * 40000, fin=True)]),
        ("150 messages in a second", 1008,
         lambda ws: [ws.send_json({"type": "flood", "n": i}) for i in range(150)]),
        # The close frame may be stuck behind pongs the client never read.
        ("1200 pings in a second", (1008, 1006),
         lambda ws: [ws.send_frame(0x9, b"p") for _ in range(1200)]),
        ("text that is not JSON", 1008, lambda ws: ws.send_text("hello")),
        ("a JSON array", 1008, lambda ws: ws.send_text('[{"type":"hello"}]')),
        ("an object without a type", 1008, lambda ws: ws.send_text('{"codecs":[]}')),
        ("a type that is not a string", 1008, lambda ws: ws.send_text('{"type":1}')),
        ("deep nesting", 1008,
         lambda ws: ws.send_text('{"type":"x","a":' + "[" * 30000 + "]" * 30000 + "}")),
        ("a binary message", 1008, lambda ws: ws.send_frame(0x2, b'{"type":"hello"}')),
    ]
    for name, code, misbehave in cases:
        ws, first = open_viewer(d, token)
        if not check(first is not None and first.get("type") == "session",
                     "viewer for '%s' joined (%r)" % (name, first)):
            continue
        try:
            misbehave(ws)
        except OSError:
            pass
        got = ws.wait_close(timeout=10)
        check(got in (code if isinstance(code, tuple) else (code,)),
              "%s: closed with %s (got %s)" % (name, code, got))
        ws.close()
    status, _, _ = d.request("GET", "/api/whoami", cookie=token)
    check(status == 200 and d.proc.poll() is None, "glassboxd still serves after all that")


def check_sessions(d, token):
    ws1, first = open_viewer(d, token)
    check(ws1.status == 101, "WebSocket with cookie and own origin: 101 (got %s)" % ws1.status)
    check(first is not None and first.get("type") == "session"
          and re.fullmatch(r"[0-9a-f]{16}", first.get("id", "")) is not None
          and first.get("user") == "demo" and first.get("joined") is False,
          "first message: a new session (%r)" % first)
    session_id = first["id"] if first else None
    started = d.wait_log(SESSION_START)
    check(started is not None and started.group(1) == session_id
          and started.group(2) == "demo", "session start logged with user and id")
    pid = int(started.group(3)) if started else 0
    check(d.wait_log(r"session %s of user 'demo' is ready" % session_id, 15) is not None,
          "the session said READY")
    check(session_dirs(d) == [session_id], "the session has its runtime folder")
    folder = os.path.join(d.runtime, "sessions", session_id or "none")
    check(os.path.isdir(folder) and stat.S_IMODE(os.stat(folder).st_mode) == 0o700,
          "its folder is 0700")

    ws1.send_json(HELLO)
    offer = ws1.recv_json(timeout=30, skip=("ice", "info"))
    check(offer is not None and offer.get("type") == "offer"
          and offer.get("sdp", "").startswith("v=0"),
          "hello relayed, an offer came back from the session (%r)"
          % (offer if offer is None else offer.get("type")))

    ws2, second = open_viewer(d, token)
    check(second is not None and second.get("id") == session_id and second.get("joined") is True,
          "a second tab joins the same session (%r)" % second)
    check(d.wait_log(r"user 'demo' joined session %s from 127\.0\.0\.1" % session_id)
          is not None, "join logged with user and session id")
    status, token2, _, _ = d.login()
    ws3, third = open_viewer(d, token2)
    check(status == 200 and third is not None and third.get("id") == session_id
          and third.get("joined") is True, "the same user logging in again joins it too")
    ws4, fourth = open_viewer(d, token)
    ws5, fifth = open_viewer(d, token)
    check(fourth is not None and fourth.get("joined") is True, "fourth viewer joins")
    code = ws5.wait_close()
    check(fifth is not None and fifth.get("type") == "error" and code == 1008,
          "a fifth viewer (session.max_viewers = 4) gets an error and 1008 (%r, %s)"
          % (fifth, code))
    ws4.close()
    ws5.close()

    check_misbehaviour(d, token)

    # Logout ends the login and the sockets opened with it, not the session.
    status, headers, _ = d.request("POST", "/api/logout", cookie=token2)
    value, attributes = cookie_attributes(headers)
    check(status == 204 and value == "" and attributes.get("max-age") == "0",
          "logout: 204 and the cookie cleared (got %d %r)" % (status, attributes))
    status, _, _ = d.request("GET", "/api/whoami", cookie=token2)
    check(status == 401, "whoami after logout: 401 (got %d)" % status)
    check(ws3.wait_close(timeout=5) == 1000, "the logged-out login's WebSocket is closed")
    ws = d.websocket(cookie=token2)
    check(ws.status == 401, "WebSocket with the logged-out cookie: 401 (got %s)" % ws.status)
    check(not process_gone(pid), "the session survives a logout")

    # No viewer for session.idle_timeout_s (2 s): the session ends, its folder goes.
    ws1.close()
    t0 = time.monotonic()
    ws2.close()
    check(d.wait_log(r"session %s of user 'demo' has no viewer" % session_id) is not None,
          "idle timer started when the last viewer left")
    stopped = d.wait_log(r"stopping session %s of user 'demo': no viewer" % session_id, 10)
    took = time.monotonic() - t0
    check(stopped is not None and 1.5 <= took < 8,
          "the idle session is stopped after about 2 s (%.1f s)" % took)
    check(wait_for(lambda: process_gone(pid), 10), "the session process is gone")
    check(wait_for(lambda: session_dirs(d) == [], 5), "its runtime folder is removed")

    # Back again: a new session; its end is reported to the viewer.
    ws, first = open_viewer(d, token)
    check(first is not None and first.get("joined") is False and first.get("id") != session_id,
          "coming back after the end starts a new session")
    new_id = first.get("id") if first else ""
    match = None
    for m in SESSION_START.finditer(d.log_text()):
        if m.group(1) == new_id:
            match = m
    check(match is not None and d.wait_log(r"session %s of user 'demo' is ready" % new_id, 15)
          is not None, "the new session is ready")
    if match:
        os.kill(int(match.group(3)), signal.SIGKILL)
    ended = ws.recv_json(timeout=10, skip=("offer", "ice", "info"))
    check(ended is not None and ended.get("type") == "ended"
          and "signal 9" in ended.get("reason", ""),
          "a session that dies: the viewer hears 'ended' (%r)" % ended)
    check(ws.wait_close(timeout=5) == 1000, "then the WebSocket closes with 1000")
    check(wait_for(lambda: session_dirs(d) == [], 5), "the dead session's folder is removed")
    check(d.wait_log(r"session %s of user 'demo' was killed by signal 9" % new_id) is not None,
          "the end is logged with user and session id")


def check_login_rate_limit(d):
    """Five failures a minute per user name and address, counted while in flight (ten at
    once get five checks); then 429, even for the right password."""
    results = []

    def fail():
        results.append(d.login(password="nope")[0])

    threads = [threading.Thread(target=fail) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    status, _, headers, _ = d.login()
    retry = headers.get("Retry-After") or ""
    check(results.count(401) == 5 and results.count(429) == 5 and status == 429
          and retry.isdigit() and 1 <= int(retry) <= 60,
          "10 wrong passwords at once: 5 x 401 and 5 x 429, then 429 with Retry-After 1..60 "
          "(got %r then %d, %r)"
          % (results, status, retry))


# Phase A: HTTP on loopback; files, logins, sessions.
tmp = None
d = gbdaemon.Daemon(server_extra="login_lifetime_s = 3600;",
                    session_extra="idle_timeout_s = 2; stop_grace_ms = 2000; max_viewers = 4;",
                    web_files=WEB_FILES)
try:
    with open(os.path.join(d.root, "secret.txt"), "wb") as f:
        f.write(SECRET)
    os.symlink(os.path.join(d.root, "secret.txt"), os.path.join(d.web, "link-out"))
    os.symlink(d.root, os.path.join(d.web, "link-dir"))
    os.symlink("index.html", os.path.join(d.web, "link-in"))
    check(d.start(), "glassboxd listens on 127.0.0.1 (%s)" % d.log_text()[-300:])
    check(d.scheme == "http", "loopback without a certificate: plain HTTP")
    users = os.stat(d.users)
    check(stat.S_IMODE(users.st_mode) == 0o600, "users file is 0600")
    with open(d.users) as f:
        stored = f.read()
    check(re.fullmatch(r"demo:\$y\$[^\n:]+\n", stored) is not None
          and d.password() not in stored, "the users file holds only the demo hash")

    check_static(d)
    token = check_login(d)
    check_websocket_refusals(d, token)
    check_sessions(d, token)
    check_login_rate_limit(d)
    check(d.stop() == 0, "SIGTERM: exit 0")
    # glassboxd's own reports carry its pid: "==PID==ERROR", "(glassboxd:PID)".
    pid = str(d.proc.pid)
    bad = [line for line in d.log_text().splitlines()
           if pid in line and ("ERROR" in line or "CRITICAL" in line or "WARNING **" in line)
           or "runtime error" in line]
    check(bad == [], "no GLib criticals or sanitizer reports from glassboxd %r" % bad[:5])
    tmp = d.tmp
finally:
    d.owns_tmp = False
    d.close()

# Phase B: a restart keeps the users; max_sessions; SIGTERM with a live session.
with open(os.path.join(tmp.name, "state", "users")) as f:
    demo_hash = f.read().split(":", 1)[1].strip()
with open(os.path.join(tmp.name, "state", "users"), "a") as f:
    f.write("# a second user, with the demo password\nalice:%s\n" % demo_hash)
d = gbdaemon.Daemon(server_extra='max_sessions = 1; allowed_origins = [ "https://Proxy.Example" ];',
                    session_extra="idle_timeout_s = 30; stop_grace_ms = 2000;", tmp=tmp)
try:
    check(d.start(), "glassboxd starts again on the same state")
    check("created user" not in d.log_text() and "2 users from" in d.log_text(),
          "the restart reads the users; no new demo password")
    status, demo, _, _ = d.login()
    status2, alice, _, _ = d.login(user="alice")
    check(status == 200 and status2 == 200, "demo and alice log in")
    ws, first = open_viewer(d, demo)
    check(first is not None and first.get("type") == "session", "demo's session starts")
    refused = d.websocket(cookie=alice)
    check(refused.status == 503 and b"maximum of 1 session" in refused.body,
          "alice with max_sessions = 1: 503 (%s %r)" % (refused.status, refused.body))
    check(d.wait_log(r"user 'alice' from 127\.0\.0\.1: no room for a session") is not None,
          "the refusal is logged")
    ws2, again = open_viewer(d, demo)
    check(again is not None and again.get("joined") is True, "demo still joins his session")
    ws2.close()
    ws2 = d.websocket(cookie=demo, origin="https://proxy.example")
    again = ws2.recv_json(timeout=10) if ws2.status == 101 else None
    check(again is not None and again.get("joined") is True,
          "an Origin listed in server.allowed_origins is accepted (%s)" % ws2.status)
    ws2.close()
    match = d.wait_log(SESSION_START)
    pid = int(match.group(3)) if match else 0
    check(d.wait_log(r"is ready", 15) is not None, "session ready")
    d.proc.send_signal(signal.SIGTERM)
    ended = ws.recv_json(timeout=10, skip=("offer", "ice", "info"))
    check(ended is not None and ended.get("type") == "ended"
          and ended.get("reason") == "glassboxd is stopping",
          "SIGTERM: the viewer hears 'ended' (%r)" % ended)
    check(ws.wait_close(timeout=5) == 1000, "and its WebSocket closes with 1000")
    check(d.wait_exit(timeout=15) == 0, "glassboxd exits 0 after stopping its sessions")
    check(process_gone(pid) and session_dirs(d) == [], "no session process nor folder left")
finally:
    d.close()
    tmp.cleanup()

# Phase C: any address: HTTPS with a generated self-signed certificate, kept.
d = gbdaemon.Daemon(listen="0.0.0.0:0", web_files=WEB_FILES)
try:
    check(d.start(), "glassboxd listens on 0.0.0.0")
    check(d.scheme == "https", "a non-loopback address gets HTTPS")
    key = os.path.join(d.state, "tls-key.pem")
    check(os.path.exists(d.certificate_path()) and os.path.exists(key)
          and stat.S_IMODE(os.stat(d.certificate_path()).st_mode) == 0o600
          and stat.S_IMODE(os.stat(key).st_mode) == 0o600,
          "certificate and key generated in state_dir, 0600")
    check("generated a self-signed certificate" in d.log_text(), "generation logged")
    status, headers, body = d.request("GET", "/")
    check(status == 200 and body == WEB_FILES["index.html"]
          and headers.get("X-Content-Type-Options") == "nosniff",
          "HTTPS GET / verified against the generated certificate (127.0.0.1 in its names)")
    try:
        plain = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        plain.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = plain.recv(100)
        plain.close()
    except OSError:
        answer = b""
    check(not answer.startswith(b"HTTP/1.1 200"), "no plain HTTP on the HTTPS port")
    status, token, headers, _ = d.login()
    _, attributes = cookie_attributes(headers)
    check(status == 200 and "secure" in attributes, "the cookie is Secure on HTTPS")
    ws, first = open_viewer(d, token)
    check(first is not None and first.get("type") == "session", "WebSocket over TLS works")
    ws.close()
    with open(d.certificate_path(), "rb") as f:
        pem = f.read()
    check(d.stop() == 0, "stopped")
    check(d.start(), "started again")
    with open(d.certificate_path(), "rb") as f:
        check(f.read() == pem and "generated" not in d.log_text(),
              "the second start reuses the certificate")
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as raw:
        with d.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            served = tls.getpeercert(binary_form=True)
    check(served == ssl.PEM_cert_to_DER_cert(pem.decode()), "and serves it")
    check(d.stop() == 0, "stopped again")
    generated = (d.certificate_path(), key)

    # Phase D: a configured certificate turns HTTPS on even on loopback.
    d2 = gbdaemon.Daemon(server_extra='tls_certificate = "%s"; tls_key = "%s";' % generated,
                         web_files=WEB_FILES)
    try:
        shutil.copy(d.certificate_path(), d2.certificate_path())
        check(d2.start() and d2.scheme == "https", "configured certificate on 127.0.0.1: HTTPS")
        status, _, _ = d2.request("GET", "/")
        check(status == 200, "served with the configured certificate")
        check(not os.path.exists(os.path.join(d2.state, "tls-key.pem")),
              "nothing generated when a certificate is configured")
        check(d2.stop() == 0, "stopped")
    finally:
        d2.close()
finally:
    d.close()


# IPv6 loopback: plain HTTP too.
if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):
    d = gbdaemon.Daemon(listen="[::1]:0", web_files=WEB_FILES)
    try:
        check(d.start() and d.scheme == "http" and d.host == "::1",
              "[::1]:0: plain HTTP on the IPv6 loopback")
        status, _, body = d.request("GET", "/")
        check(status == 200 and body == WEB_FILES["index.html"], "served over IPv6")
        check(d.stop() == 0, "stopped")
    finally:
        d.close()


# Phase E: sessions that fail to start are reported to the viewer, with 1011.
def failed_start(name, reason, timeout=15, **options):
    f = gbdaemon.Daemon(**options)
    try:
        check(f.start(), "%s: glassboxd starts" % name)
        status, token, _, _ = f.login()
        ws = f.websocket(cookie=token)
        said, code = [], None
        deadline = time.monotonic() + timeout
        while ws.status == 101 and code is None and time.monotonic() < deadline:
            frame = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
            if frame is None:
                break
            if frame[0] == 0x1:
                message = json.loads(frame[1])
                said.append(message.get("reason") or message.get("message") or "")
            else:
                code = frame[1] if frame[0] == "close" else 1006
        check(any(reason in text for text in said) and code == 1011,
              "%s: the viewer is told and the socket closed with 1011 (%r, %s)"
              % (name, said, code))
        check(wait_for(lambda: session_dirs(f) == [], 5), "%s: no folder left" % name)
        check(f.stop() == 0, "%s: glassboxd goes on and stops cleanly" % name)
    finally:
        f.close()


failed_start("a session with no application", "could not start (it exited with status 1)",
             command=False)
failed_start("a session binary that does not exist", "cannot start a session",
             session_binary="/nonexistent/glassbox-session")
with tempfile.TemporaryDirectory(prefix="gb-daemon-") as scripts:
    silent = os.path.join(scripts, "silent-session")
    with open(silent, "w") as f:
        f.write("#!/bin/sh\n# never says READY\nexec sleep 60\n")
    os.chmod(silent, 0o755)
    t0 = time.monotonic()
    failed_start("a session that never says READY", "did not start in time", timeout=20,
                 session_binary=silent)
    check(9 <= time.monotonic() - t0 < 25, "READY is awaited about 10 s")


# Phase F: start-up errors name their file and stop glassboxd with status 1.
def refused_start(name, expected, **options):
    e = gbdaemon.Daemon(**options)
    try:
        e.start(wait=False)
        status = e.wait_exit(timeout=15)
        log = e.log_text()
        check(status == 1 and all(text % {"root": e.root} in log for text in expected),
              "%s: exit 1 naming it (got %r: %s)" % (name, status, log.strip()[-300:]))
    finally:
        e.close()


refused_start("a missing certificate", ["/nonexistent/cert.pem"],
              server_extra='tls_certificate = "/nonexistent/cert.pem";'
                           'tls_key = "/nonexistent/key.pem";')
with tempfile.NamedTemporaryFile("w", suffix=".pem") as garbage:
    garbage.write("not a certificate\n")
    garbage.flush()
    refused_start("a certificate that is not one", [garbage.name],
                  server_extra='tls_certificate = "%s"; tls_key = "%s";'
                               % (garbage.name, garbage.name))
busy = socket.socket()
busy.bind(("127.0.0.1", 0))
busy.listen(1)
port = busy.getsockname()[1]
refused_start("a port in use", ["cannot listen on 127.0.0.1:%d" % port, "server.listen"],
              listen="127.0.0.1:%d" % port)
busy.close()
refused_start("an address not on this machine", ["cannot listen on 192.0.2.1:8080"],
              listen="192.0.2.1:8080")
refused_start("a listen value that is no address", ["key 'server.listen'", "localhost-ish"],
              listen="localhost-ish")
refused_start("a broken configuration", ["%(root)s/glassbox.conf:2: key 'server.no_such_key'"],
              server_extra="no_such_key = 1;")

finish()
