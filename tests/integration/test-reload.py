#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""glassboxd's reload (SIGHUP, what `systemctl reload glassbox` sends) and its
sd_notify protocol with systemd, against a real glassboxd and real sessions
(direct spawner), inside a network namespace with only loopback.

The test stands in for systemd's side of sd_notify: an AF_UNIX datagram
socket given as NOTIFY_SOCKET, WATCHDOG_USEC=2 s and WATCHDOG_PID set to
glassboxd's own pid. It checks READY=1 once HTTP listens, STATUS= lines that
follow the sessions and viewers, WATCHDOG=1 about every second, RELOADING=1
then READY=1 around each reload, STOPPING=1 on SIGTERM, and that only
glassboxd itself speaks on the socket (not its sessions).

Reloads: a broken glassbox.conf and a broken drop-in are refused with a
line naming the file and line, the configuration in force stays (logins,
the running session); a valid change applies (an auth plugin disabled, a
user added to auth-local's file, server.allowed_origins, a new session.width
for the next session) while the running session and its viewer carry on,
and a key that needs a restart (server.listen) keeps its value with a
warning."""

import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import gbdaemon
from gbtest import check, finish

gbdaemon.enter_network_namespace()

EVE_PASSWORD = "correct horse battery staple"
EXAMPLE_DROPIN = ("[plugin]\nkind = auth\nname = example\nenabled = %s\n\n[settings]\n"
                  "user = eve\npassword = " + EVE_PASSWORD + "\n")
SESSION_START = re.compile(r"session ([0-9a-f]{16}): starting for user '(\w+)' \(pid (\d+)")


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ", 1)[1][0] != "Z"


class NotifySocket:
    """systemd's end of sd_notify: every datagram, when and from which pid."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, pid, text)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        ucred = struct.calcsize("3i")
        while self.running:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:ucred])[0]
            with self.lock:
                self.messages.append((time.monotonic(), pid, data.decode(errors="replace")))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, predicate, timeout=10.0, since=0):
        """The first message from index since on that satisfies predicate."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, message in enumerate(self.snapshot()[since:], since):
                if predicate(message[2]):
                    return i, message
            time.sleep(0.05)
        return None, None

    def count(self):
        with self.lock:
            return len(self.messages)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


class NotifiedDaemon(gbdaemon.Daemon):
    """glassboxd started the way systemd starts it: NOTIFY_SOCKET, and
    WATCHDOG_PID equal to its own pid (sh execs it, keeping the pid)."""

    def start_notified(self, notify_path, timeout=15.0):
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) \
            else 0
        self.log = open(self.log_path, "a")
        # auth-example is built but not in the plugins' test path: add it.
        plugins = gbdaemon.PLUGIN_PATH + ":" + os.path.join(gbdaemon.BUILD, "plugins",
                                                            "auth-example")
        env = dict(os.environ, GLASSBOX_PLUGIN_PATH=plugins, NOTIFY_SOCKET=notify_path,
                   WATCHDOG_USEC="2000000")
        self.proc = subprocess.Popen(
            ["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" "$@"',
             gbdaemon.DAEMON, "-c", self.config, "--log-level", "debug"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        match = self.wait_log(gbdaemon.LISTEN_LINE, timeout)
        if not match:
            return False
        self.scheme = match.group(1)
        address, port = match.group(2).rsplit(":", 1)
        self.port = int(port)
        self.host = address.strip("[]")
        return True


def reload(d, notify, timeout=10.0):
    """SIGHUP; wait for RELOADING=1 and the READY=1 after it. Returns both indexes."""
    since = notify.count()
    d.proc.send_signal(signal.SIGHUP)
    i, _ = notify.wait_for(lambda text: "RELOADING=1" in text, timeout, since)
    j, _ = notify.wait_for(lambda text: "READY=1" in text, timeout, i + 1 if i is not None
                           else since)
    return i, j


d = NotifiedDaemon(session_extra="idle_timeout_s = 60;")
notify = NotifySocket(os.path.join(d.root, "notify.sock"))
example = os.path.join(d.dropins, "55-auth-example.ini")
with open(example, "w") as f:
    f.write(EXAMPLE_DROPIN % "true")
with open(d.config) as f:
    original_config = f.read()
try:
    # ---- start: READY, STATUS, WATCHDOG ----
    check(d.start_notified(notify.path), "glassboxd starts with NOTIFY_SOCKET and a watchdog")
    daemon_pid = d.proc.pid
    _, ready = notify.wait_for(lambda text: "READY=1" in text)
    check(ready is not None and "STATUS=0 sessions, 0 viewers" in ready[2],
          "READY=1 with STATUS=0 sessions, 0 viewers (%r)" % (ready and ready[2]))
    check(ready is not None and d.log_text().find("listening on") >= 0,
          "READY=1 comes once HTTP listens")
    check(d.wait_log(r"systemd watchdog: a keep-alive every 1000 ms") is not None,
          "the watchdog period is half of WATCHDOG_USEC")

    status, demo, _, _ = d.login()
    check(status == 200 and demo, "demo logs in (auth-local)")
    ws = d.websocket(cookie=demo)
    first = ws.recv_json(timeout=15) if ws.status == 101 else None
    check(first is not None and first.get("type") == "session", "demo's session starts")
    match = d.wait_log(SESSION_START)
    demo_pid = int(match.group(3)) if match else 0
    check(d.wait_log(r"is ready \(pid", 15) is not None, "the session is ready")
    _, viewed = notify.wait_for(lambda text: text == "STATUS=1 session, 1 viewer")
    check(viewed is not None, "STATUS follows: 1 session, 1 viewer")
    status, eve, _, _ = d.login(user="eve", password=EVE_PASSWORD)
    check(status == 200 and eve, "eve logs in (auth-example)")
    _, two = notify.wait_for(lambda text: text.startswith("STATUS=2 sessions"))
    check(two is not None, "STATUS follows: eve's session makes 2 sessions (%r)"
          % (two and two[2]))
    refused = d.websocket(cookie=demo, origin="https://new.example")
    check(refused.status == 403, "an Origin not yet allowed: 403 (got %s)" % refused.status)

    # ---- a broken glassbox.conf is refused ----
    broken = original_config.replace("width = 320;", 'width = "wide";')
    width_line = [n for n, text in enumerate(broken.split("\n"), 1) if '"wide"' in text]
    check(broken != original_config and len(width_line) == 1, "a broken session.width")
    with open(d.config, "w") as f:
        f.write(broken)
    i, j = reload(d, notify)
    check(i is not None and j is not None and j > i, "SIGHUP: RELOADING=1, then READY=1")
    line = d.wait_log(r"reload refused: (.*)")
    expected = ("%s:%d: key 'session.width': expected an integer, got a string; "
                "the configuration in force is unchanged" % (d.config, width_line[0]))
    check(line is not None and line.group(1) == expected,
          "the refusal names file, line and key (%r)" % (line and line.group(1)))
    status, demo2, _, _ = d.login()
    status2, _, _, _ = d.login(user="eve", password=EVE_PASSWORD)
    check(status == 200 and status2 == 200, "after the refusal, both plugins still log in")
    check(process_alive(demo_pid), "demo's session is still running")

    # ---- a broken drop-in is refused ----
    with open(d.config, "w") as f:
        f.write(original_config)
    bad_dropin = os.path.join(d.dropins, "70-broken.ini")
    with open(bad_dropin, "w") as f:
        f.write("[plugin]\nkind = auth\nname = other\nbogus = 1\n")
    offset = len(d.log_text())
    reload(d, notify)
    line = d.wait_log(r"reload refused: %s:4: key 'plugin\.bogus': unknown key"
                      % re.escape(bad_dropin))
    check(line is not None, "a broken drop-in is refused, naming file and line")
    os.unlink(bad_dropin)
    # A plugin that does not load (no such .so) is refused too.
    missing = os.path.join(d.dropins, "71-missing.ini")
    with open(missing, "w") as f:
        f.write("[plugin]\nkind = auth\nname = nosuchplugin\n")
    reload(d, notify)
    line = d.wait_log(r"reload refused: %s: plugin auth-nosuchplugin could not be loaded"
                      % re.escape(missing))
    check(line is not None, "a plugin that cannot be loaded is refused, naming its drop-in")
    os.unlink(missing)
    status, _, _, _ = d.login(user="eve", password=EVE_PASSWORD)
    check(status == 200, "eve still logs in after the refused drop-ins")

    # ---- a valid change applies; the session carries on ----
    with open(d.users) as f:
        demo_hash = f.read().split(":", 1)[1].strip()
    with open(d.users, "a") as f:
        f.write("alice:%s\n" % demo_hash)
    with open(example, "w") as f:
        f.write(EXAMPLE_DROPIN % "false")
    changed = (original_config
               .replace('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:1"')
               .replace("server = { ", 'server = { allowed_origins = [ "https://new.example" ]; ')
               .replace("width = 320;", "width = 400;"))
    with open(d.config, "w") as f:
        f.write(changed)
    offset = len(d.log_text())
    i, j = reload(d, notify)
    check(i is not None and j is not None, "the valid reload: RELOADING=1, then READY=1")
    check(d.wait_log(r"reloaded .*: auth plugins local; 2 running sessions kept") is not None,
          "the reload is logged with the plugins now enabled")
    log = d.log_text()[offset:]
    check("server.listen changed" in log and "the running value stays" in log,
          "server.listen needs a restart: a warning, and the old value stays")
    status, _, _, _ = d.login(user="eve", password=EVE_PASSWORD)
    check(status == 401, "auth-example disabled: eve is refused (got %d)" % status)
    status, _, _, _ = d.login()
    check(status == 200, "demo still logs in")
    accepted = d.websocket(cookie=demo, origin="https://new.example")
    hello = accepted.recv_json(timeout=10) if accepted.status == 101 else None
    check(accepted.status == 101 and hello is not None and hello.get("joined") is True,
          "server.allowed_origins applies: the new Origin joins demo's session (%s)"
          % accepted.status)
    accepted.close()
    check(process_alive(demo_pid), "demo's session kept running through the reload")
    ws.send_json({"type": "hello", "codecs": ["VP8"], "width": 320, "height": 240})
    message = ws.recv_json(timeout=15, skip=("ice", "info"))
    check(message is not None and message.get("type") == "offer",
          "demo's first viewer still works: its hello gets an offer (%r)"
          % (message and message.get("type")))
    status, alice, _, _ = d.login(user="alice")
    check(status == 200, "alice, added to the users file, logs in after the reload")
    check(d.wait_log(r"output 400x240", 15) is not None,
          "alice's new session reads the new session.width (400x240)")
    check(not re.search(r"stopping session [0-9a-f]+ of user 'demo'", d.log_text()),
          "demo's session was never stopped")

    # ---- the watchdog, and who spoke ----
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and \
            sum(1 for m in notify.snapshot() if m[2] == "WATCHDOG=1") < 4:
        time.sleep(0.1)
    pings = [m[0] for m in notify.snapshot() if m[2] == "WATCHDOG=1"]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    check(len(pings) >= 3, "WATCHDOG=1 sent repeatedly (%d)" % len(pings))
    check(gaps and all(0.6 <= g <= 1.6 for g in gaps[1:]),
          "WATCHDOG=1 about every second (%s)" % ", ".join("%.2f" % g for g in gaps[:8]))
    speakers = {m[1] for m in notify.snapshot()}
    check(speakers == {daemon_pid},
          "only glassboxd speaks on NOTIFY_SOCKET, not its sessions (%r)" % speakers)

    # ---- stop ----
    since = notify.count()
    d.proc.send_signal(signal.SIGTERM)
    _, stopping = notify.wait_for(lambda text: "STOPPING=1" in text, 10, since)
    check(stopping is not None, "SIGTERM: STOPPING=1")
    check(d.wait_exit(timeout=20) == 0, "glassboxd exits 0")
    check(not process_alive(demo_pid), "the direct spawner's session ended with it")
finally:
    notify.close()
    d.close()

finish()
