#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The booted-system test (meson test --suite appliance).

Builds the appliance's root filesystem (appliance-image/build-rootfs --test:
Debian 12 from Debian packages, Glassbox installed from this build), boots it
under qemu (KVM when it works, TCG otherwise; tests/appliance/vm.py) with the
guest's port 443 forwarded to 127.0.0.1, and checks, in the booted system:

  - glassbox.service is active;
  - a login over HTTPS (the certificate the guest made, pinned) as the demo
    user of auth-local, whose password the test reads from the guest's
    journal, where glassboxd logs it once (the real first-boot path: no
    test-only users file);
  - the login started a session unit (glassbox-session@*.service) through
    the systemd spawner, active, naming the user;
  - no root sessions (issue 8): the installed glassbox.conf chooses the
    systemd spawner, and no process of the session unit runs as uid 0;
  - `systemctl reload glassbox` with a broken glassbox.conf is refused with a
    journal line naming the file, glassboxd stays up with the old config;
  - `systemctl restart glassbox` keeps the session unit (same InvocationID
    and MainPID), and the new glassboxd knows it (old cookie, same session);
  - the watchdog: a SIGSTOPped glassboxd is restarted by systemd;
  - a crashed session unit (SIGSEGV) is reported to its viewer, is no longer
    active, and the next viewer gets a new session;
  - a socket swap: user A's uid (the unit's dynamic user, through setpriv)
    replaces A's signal and control sockets with links to user B's; A's
    next WebSocket, /metrics and `glassboxctl session screenshot A` never
    reach B's session (B's session logs no new viewer) and the journal
    has the refusal (the session-socket-refused audit entry);
  - glassboxctl status works (when glassboxctl is installed);
  - `systemd-analyze security glassbox.service` (printed, not judged).
  - storage (issue 10): with storage-rclone enabled (a local remote, a
    reload), two users' sessions each get an active sidecar unit
    glassbox-storage@INSTANCE:work.service whose fuse.rclone mount is
    ~/Cloud/work in the session unit; a file written there as the session's
    uid is on the remote (same SHA-256) once the session is stopped, the
    sidecar unit is gone and no mount is left; user B's uid reaches nothing
    of A's (mount, cache, credentials, rclone's /proc entries and remote
    control, home), `glassboxctl session list` shows the mounts, and after
    `systemctl restart glassbox` the sessions have their mounts again.

Every check prints PASS or FAIL with its details; timings are printed at
the end. The build runs outside any network namespace (mmdebstrap needs the
Debian mirror); qemu and everything that talks to the guest run in a network
namespace that has only loopback. Exit 77 (skip) only when a tool is missing
or the test is not run as root."""

import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("GB_SOURCE_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("GB_BUILD_ROOT") or os.path.join(SOURCE, "build")
OUT = os.environ.get("GB_APPLIANCE_OUT") or os.path.join(BUILD, "appliance")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

from vm import VM, VMError  # noqa: E402

PASSWORD_LINE = re.compile(r"created user 'demo' with password '([^']*)'")

failures = 0
timings = []


def report(ok, name, details=""):
    global failures
    if not ok:
        failures += 1
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name, (" -- " + details) if details else ""),
          flush=True)
    return ok


def info(text):
    print("info: " + text, flush=True)


def timed(name, start):
    seconds = time.monotonic() - start
    timings.append((name, seconds))
    info("%s took %.1f s" % (name, seconds))


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(77)


# Phase 1, outside any namespace: the image.

def build_image():
    start = time.monotonic()
    cmd = [os.path.join(SOURCE, "appliance-image", "build-rootfs"), "--test",
           "--out", OUT, "--build-dir", BUILD]
    if os.environ.get("GB_APPLIANCE_CACHE"):
        cmd += ["--cache-dir", os.environ["GB_APPLIANCE_CACHE"]]
    if os.environ.get("GB_APPLIANCE_MIRROR"):
        cmd += ["--mirror", os.environ["GB_APPLIANCE_MIRROR"]]
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=1200)
    except subprocess.TimeoutExpired:
        report(False, "build-rootfs", "did not finish within 1200 s")
        sys.exit(1)
    if not report(result.returncode == 0, "build-rootfs",
                  "exit status %d" % result.returncode):
        sys.exit(1)
    return time.monotonic() - start


def enter_network_namespace(build_seconds):
    env = dict(os.environ, GB_IN_NETNS="1", GB_APPLIANCE_BUILD_S="%.1f" % build_seconds)
    sys.stdout.flush()
    os.execvpe("unshare", ["unshare", "-n", "--", sys.executable] + sys.argv, env)


# Phase 2, inside the namespace: the booted system.

class Guest:
    """The booted appliance: commands through the agent, HTTPS through the
    forwarded port."""

    def __init__(self, vm):
        self.vm = vm
        self.port = vm.host_port(443)
        self.context = None

    def sh(self, command, timeout=60):
        rc, out = self.vm.run(command, timeout)
        return rc, out.strip()

    def out(self, command, timeout=60):
        return self.sh(command, timeout)[1]

    def now(self):
        """The guest's clock, for journalctl --since."""
        return self.out("date +%s.%N")

    def journal(self, since, unit="glassbox", lines=200):
        return self.out("journalctl --no-pager -o short-monotonic -u %s --since @%s | tail -n %d"
                        % (shlex.quote(unit), since, lines))

    def show(self, unit, prop):
        return self.out("systemctl show -p %s --value %s" % (prop, shlex.quote(unit)))

    def wait(self, predicate, timeout, interval=1.0):
        """Poll predicate() until it is true or timeout seconds pass; its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(interval)

    def wait_active(self, unit="glassbox", timeout=120):
        return self.wait(lambda: self.out("systemctl is-active %s" % unit) == "active", timeout)

    # HTTPS

    def pin_certificate(self):
        """Trust the self-signed certificate glassboxd made in the guest."""
        pem = self.vm.copy_out("/var/lib/glassbox/tls-certificate.pem")
        path = os.path.join(self.vm.workdir, "guest-certificate.pem")
        with open(path, "wb") as f:
            f.write(pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(path)
        self.context = context

    def request(self, method, path, body=None, cookie=None, timeout=30):
        headers = {}
        if cookie:
            headers["Cookie"] = "glassbox_session=" + cookie
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.context)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def login(self, password, user="demo"):
        status, headers, body = self.request("POST", "/api/login",
                                             {"username": user, "password": password})
        token = None
        for value in headers.get_all("Set-Cookie") or []:
            match = re.match(r"glassbox_session=([^;]*)", value)
            if match and match.group(1):
                token = match.group(1)
        return status, token, body

    def whoami(self, cookie):
        try:
            status, _, body = self.request("GET", "/api/whoami", cookie=cookie)
            return status, body.decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            return None, str(e)

    def session_hello(self, cookie, timeout=60):
        """Open the signalling WebSocket; the first message (the session's
        id and user) or an error string."""
        from gbdaemon import WebSocket
        ws = WebSocket()
        headers = {"Cookie": "glassbox_session=" + cookie,
                   "Origin": "https://127.0.0.1:%d" % self.port}
        try:
            ws.connect("127.0.0.1", self.port, "/api/session", headers, self.context, 30)
            if ws.status != 101:
                return None, "WebSocket answered %s %r" % (ws.status, ws.body[:200])
            message = ws.recv_json(timeout=timeout)
            return message, "" if message else "no message (close code %s)" % ws.close_code
        except (OSError, ValueError, ConnectionError) as e:
            return None, "WebSocket: %s" % e
        finally:
            ws.close()

    def session_units(self):
        """Active glassbox-session@ units."""
        out = self.out("systemctl list-units --no-legend --plain --state=active "
                       "'glassbox-session@*'")
        return [line.split()[0] for line in out.splitlines() if line.strip()]


BROKEN_CONFIG = """# broken on purpose by tests/appliance/test-appliance.py
server = {
	listen = "0.0.0.0:443";
	spawner = "systemd";
	no_such_key_here = 1;
};
"""


def check_active(g):
    rc, out = g.sh("systemctl is-active glassbox")
    report(out == "active", "systemctl is-active glassbox", out)


def check_login(g):
    """Log in as demo; the cookie, or None."""
    line = g.wait(lambda: g.out("journalctl --no-pager -o cat -u glassbox | "
                                "grep -o \"created user 'demo' with password '[^']*'\" | "
                                "tail -n 1"), 30)
    match = PASSWORD_LINE.search(line or "")
    if not report(match is not None, "demo password in the guest journal",
                  "journalctl -u glassbox: %r" % (line or "")[:60]):
        return None, None
    password = match.group(1)
    try:
        g.pin_certificate()
        report(True, "TLS certificate of the guest copied out and pinned")
    except VMError as e:
        report(False, "TLS certificate of the guest", str(e))
        return None, password
    start = time.monotonic()
    try:
        status, token, body = g.login(password)
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        report(False, "HTTPS login on 127.0.0.1:%d" % g.port, repr(e))
        return None, password
    timed("HTTPS login", start)
    report(status == 200 and token is not None, "HTTPS login as demo",
           "status %s, body %r" % (status, body[:200]))
    status, body = g.whoami(token)
    report(status == 200 and '"demo"' in body, "GET /api/whoami with the cookie",
           "status %s, body %r" % (status, body[:200]))
    status, _, _ = g.login(password + "x")
    report(status == 401, "a wrong password is refused", "status %s" % status)
    status, headers, body = g.request("GET", "/")
    report(status == 200 and (headers.get("Content-Type") or "").startswith("text/html"),
           "GET / serves the web client",
           "status %s, %s, %d bytes" % (status, headers.get("Content-Type"), len(body)))
    return token, password


def check_session_unit(g, token):
    """The login started a session unit; (unit name, session id) or (None, None)."""
    start = time.monotonic()
    units = g.wait(g.session_units, 120)
    timed("login to active session unit", start)
    if not report(len(units) == 1, "one active glassbox-session@ unit after the login",
                  " ".join(units) or g.out("systemctl list-units --all --no-legend "
                                           "'glassbox-session@*'")):
        return None, None
    unit = units[0]
    status = g.out("systemctl status --no-pager --lines=20 %s" % shlex.quote(unit))
    print(status, flush=True)
    user = g.show(unit, "User")
    dynamic = g.show(unit, "DynamicUser")
    instance = unit[len("glassbox-session@"):-len(".service")]
    # The instance is the user: a system account's name, or gb-HASH of the
    # identity (a dynamic user). Either the unit's status shows "demo", or
    # glassboxd's journal ties user demo to this instance.
    linked = g.out("journalctl --no-pager -o cat -u glassbox | grep -F %s | grep -c -F demo"
                   % shlex.quote(instance))
    report("demo" in status or (linked not in ("", "0") and instance in status),
           "systemctl status %s names the user" % unit,
           "User=%s DynamicUser=%s; glassboxd journal lines naming both %s and demo: %s"
           % (user, dynamic, instance, linked))
    hello, error = g.session_hello(token)
    ok = hello is not None and hello.get("type") == "session" and hello.get("user") == "demo"
    report(ok, "signalling WebSocket joins the session", json.dumps(hello) if hello else error)
    session_id = hello.get("id") if hello else None
    if session_id:
        info("session id %s, unit %s (instance %s the id)" %
             (session_id, unit, "names" if session_id in unit else "does not name"))
    return unit, session_id


def check_no_root_sessions(g, unit):
    """Issue 8: a web user never gets a root session on an installed system."""
    spawners = g.out("sed -n 's/^[[:space:]]*spawner[[:space:]]*=[[:space:]]*"
                     "\"\\([a-z]*\\)\".*/\\1/p' /etc/glassbox/glassbox.conf")
    report(spawners.split() == ["systemd"],
           "the installed glassbox.conf chooses the systemd spawner", "spawner = %r" % spawners)
    if not unit:
        report(False, "the session's processes are not root's", "no session unit")
        return
    # Every process in the unit's cgroup (and below): pid, real/effective/
    # saved/fs uid, name.
    listing = g.out("cg=$(systemctl show -P ControlGroup %s) && "
                    "for p in $(find /sys/fs/cgroup\"$cg\" -name cgroup.procs -exec cat {} +); do "
                    "echo \"$p $(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$p/status) "
                    "$(cat /proc/$p/comm)\"; done" % shlex.quote(unit))
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    root = [row for row in rows if len(row) < 6 or "0" in row[1:5]]
    names = [row[5] for row in rows if len(row) >= 6]
    report(bool(rows) and not root and any(n.startswith("glassbox-sessio") for n in names),
           "the session's processes are not root's (%d in %s)" % (len(rows), unit),
           listing.strip() or "no process listed")


def check_reload(g, token, password):
    rc, before = g.sh("cat /etc/glassbox/glassbox.conf")
    pid = g.show("glassbox", "MainPID")
    try:
        g.vm.copy_in(BROKEN_CONFIG, "/etc/glassbox/glassbox.conf", 0o644)
    except VMError as e:
        report(False, "write a broken glassbox.conf", str(e))
        return
    since = g.now()
    start = time.monotonic()
    rc, out = g.sh("systemctl reload glassbox", 120)
    timed("systemctl reload (broken config)", start)
    info("systemctl reload glassbox with the broken config: exit %d %s" % (rc, out))
    time.sleep(2)
    journal = g.wait(lambda: (lambda j: j if re.search(r"glassbox\.conf:\d+", j) else "")(
        g.journal(since)), 30)
    journal_all = journal or g.journal(since)
    print(journal_all, flush=True)
    report(bool(journal), "the refused reload is logged, naming the file and line",
           "journal since the reload has %s" % ("it" if journal else "no 'glassbox.conf:LINE'"))
    active = g.out("systemctl is-active glassbox")
    report(active == "active", "still active after the refused reload", active)
    report(g.show("glassbox", "MainPID") == pid, "same glassboxd after the refused reload",
           "MainPID %s -> %s" % (pid, g.show("glassbox", "MainPID")))
    status, body = g.whoami(token)
    report(status == 200, "old config in force: the login still works", "whoami %s" % status)
    status, _, _ = g.login(password)
    report(status == 200, "old config in force: a new login works", "status %s" % status)
    # Restore and reload again: accepted.
    g.vm.copy_in(before + "\n", "/etc/glassbox/glassbox.conf", 0o644)
    since = g.now()
    rc, out = g.sh("systemctl reload glassbox", 120)
    time.sleep(2)
    active = g.out("systemctl is-active glassbox")
    report(rc == 0 and active == "active", "reload with the good config restored",
           "exit %d %s, %s" % (rc, out, active))
    print(g.journal(since, lines=20), flush=True)


def check_restart(g, token, unit, session_id):
    if not unit:
        report(False, "restart keeps the session", "no session unit to follow")
        return
    before = {p: g.show(unit, p) for p in ("InvocationID", "MainPID", "ActiveState")}
    daemon_pid = g.show("glassbox", "MainPID")
    start = time.monotonic()
    rc, out = g.sh("systemctl restart glassbox", 180)
    active = g.wait_active(timeout=120)
    timed("systemctl restart glassbox to active", start)
    report(rc == 0 and active, "systemctl restart glassbox", "exit %d %s" % (rc, out))
    new_pid = g.show("glassbox", "MainPID")
    report(new_pid != daemon_pid, "a new glassboxd", "MainPID %s -> %s" % (daemon_pid, new_pid))
    after = {p: g.show(unit, p) for p in ("InvocationID", "MainPID", "ActiveState")}
    report(after == before and after["ActiveState"] == "active",
           "the session unit stays (same InvocationID and MainPID, active)",
           "before %s, after %s" % (before, after))
    # Give the new glassboxd a moment to listen.
    status, body = g.wait(lambda: (lambda r: r if r[0] == 200 else None)(g.whoami(token)), 30) \
        or g.whoami(token)
    report(status == 200, "GET /api/whoami with the old cookie after the restart",
           "status %s %s" % (status, body[:200]))
    hello, error = g.session_hello(token)
    same = hello is not None and hello.get("id") == session_id
    report(same, "the new glassboxd joins the same session with the old cookie",
           json.dumps(hello) if hello else error)
    units = g.session_units()
    report(units == [unit], "still exactly that session unit", " ".join(units))


def check_watchdog(g, unit):
    usec = g.show("glassbox", "WatchdogUSec")
    info("WatchdogUSec=%s" % usec)
    match = re.match(r"^(?:(\d+)min ?)?(?:(\d+(?:\.\d+)?)s)?$", usec or "")
    if usec in ("", "0", "infinity") or not match or not any(match.groups()):
        report(False, "glassbox.service has a watchdog (WatchdogSec=)", "WatchdogUSec=%r" % usec)
        return
    watchdog_s = int(match.group(1) or 0) * 60 + float(match.group(2) or 0)
    pid = g.show("glassbox", "MainPID")
    if pid in ("", "0"):
        # `kill -STOP 0` would stop the test agent's own process group.
        report(False, "kill -STOP glassboxd", "glassbox.service has no MainPID (%r): %s"
               % (pid, g.out("systemctl is-active glassbox")))
        return
    restarts = g.show("glassbox", "NRestarts")
    session = {p: g.show(unit, p) for p in ("InvocationID", "MainPID")} if unit else None
    since = g.now()
    start = time.monotonic()
    rc, out = g.sh("kill -STOP %s" % pid)
    report(rc == 0, "kill -STOP glassboxd (%s)" % pid, out)
    new_pid = g.wait(lambda: (lambda p: p if p not in ("", "0", pid) else None)(
        g.show("glassbox", "MainPID")), watchdog_s + 90, interval=2)
    active = g.wait_active(timeout=60) if new_pid else False
    timed("SIGSTOP to restarted glassboxd (WatchdogSec=%gs)" % watchdog_s, start)
    report(bool(new_pid) and active, "the watchdog restarted the hung glassboxd",
           "MainPID %s -> %s, NRestarts %s -> %s" % (pid, new_pid, restarts,
                                                     g.show("glassbox", "NRestarts")))
    journal = g.journal(since, lines=40)
    print(journal, flush=True)
    report(re.search(r"[Ww]atchdog timeout", journal) is not None,
           "the journal shows the watchdog timeout")
    if session:
        after = {p: g.show(unit, p) for p in ("InvocationID", "MainPID")}
        report(after == session and g.out("systemctl is-active %s" % unit) == "active",
               "the session unit survives the watchdog restart",
               "before %s, after %s" % (session, after))


def check_session_crash(g, token, unit):
    """A crashed session unit is reported to its viewers and cleaned up; the
    next viewer gets a new session."""
    if not unit or not token:
        report(False, "a crashed session is reported and cleaned up", "no session to crash")
        return
    from gbdaemon import WebSocket
    ws = WebSocket()
    headers = {"Cookie": "glassbox_session=" + token,
               "Origin": "https://127.0.0.1:%d" % g.port}
    try:
        g.wait(lambda: g.whoami(token)[0] == 200, 30)
        ws.connect("127.0.0.1", g.port, "/api/session", headers, g.context, 30)
        hello = ws.recv_json(timeout=60) if ws.status == 101 else None
        if not report(hello is not None and hello.get("type") == "session",
                      "a viewer on the session before the crash",
                      json.dumps(hello) if hello else "status %s" % ws.status):
            return
        pid = g.show(unit, "MainPID")
        start = time.monotonic()
        rc, out = g.sh("kill -SEGV %s" % pid)
        ended = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message = ws.recv_json(timeout=max(0.0, deadline - time.monotonic()))
            if message is None or message.get("type") == "ended":
                ended = message
                break
        timed("session crash to viewer told", start)
        report(ended is not None, "the viewer is told the session ended",
               json.dumps(ended) if ended else "close code %s" % ws.close_code)
    except (OSError, ValueError, ConnectionError) as e:
        report(False, "a viewer on the session before the crash", "WebSocket: %s" % e)
        return
    finally:
        ws.close()
    state = g.wait(lambda: (lambda a: a if a != "active" else None)(
        g.out("systemctl is-active %s" % shlex.quote(unit))), 30)
    report(state is not None, "the crashed session unit is no longer active",
           "is-active: %s; units: %s" % (state, " ".join(g.session_units()) or "none"))
    start = time.monotonic()
    hello, error = g.session_hello(token, timeout=120)
    timed("new session after the crash", start)
    report(hello is not None and hello.get("type") == "session" and not hello.get("joined"),
           "the next viewer gets a new session", json.dumps(hello) if hello else error)


SOCKET_REFUSED_ID = "8780e433c2194bf89410e3f765748a2e"
HELLO = {"type": "hello", "codecs": ["H264", "VP8"], "width": 320, "height": 240}


def viewer_messages(g, token, timeout):
    """A WebSocket that says hello: (its first message, the types of the
    messages after it until an offer, a close or the time-out, the close code)."""
    from gbdaemon import WebSocket
    ws = WebSocket()
    headers = {"Cookie": "glassbox_session=" + token,
               "Origin": "https://127.0.0.1:%d" % g.port}
    first, types = None, []
    try:
        ws.connect("127.0.0.1", g.port, "/api/session", headers, g.context, 30)
        if ws.status != 101:
            return None, ["status %s" % ws.status], None
        first = ws.recv_json(timeout=60)
        try:
            ws.send_json(HELLO)
        except OSError:
            pass  # refused at once: the close is still there to read
        deadline = time.monotonic() + timeout
        for _ in range(200):
            message = ws.recv_json(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                break
            types.append(message.get("type"))
            if message.get("type") == "offer":
                break
    except (OSError, ValueError, ConnectionError) as e:
        types.append("WebSocket: %s" % e)
    finally:
        code = ws.close_code
        ws.close()
    return first, types, code


def session_unit_of(g, session_id):
    """The unit glassboxd's journal names for a session id, or None."""
    line = g.out("journalctl --no-pager -o cat -u glassbox | grep -F %s | "
                 "grep -o 'glassbox-session@[a-z0-9_-]*\\.service' | tail -n 1"
                 % shlex.quote(session_id))
    return line or None


def check_socket_swap(g, token):
    """User A's uid swaps A's session sockets for links to B's: nothing of
    A's reaches B's session, and the journal has the attempt."""
    if not token:
        report(False, "socket swap", "no login of user A (demo)")
        return
    if g.sh("command -v glassboxctl")[0] != 0:
        report(False, "socket swap", "glassboxctl is not installed in the guest")
        return
    password_b = "swap-b-" + os.urandom(6).hex()
    rc, out = g.sh("printf '%%s\\n' %s | glassboxctl user add gbswap --admin"
                   % shlex.quote(password_b))
    status, token_b, _ = g.login(password_b, user="gbswap") if rc == 0 else (None, None, None)
    if not report(rc == 0 and status == 200 and token_b, "user B (gbswap, admin) added and "
                  "logged in", "user add: exit %d %s; login %s" % (rc, out, status)):
        return
    first_a, types_a, _ = viewer_messages(g, token, 120)
    first_b, types_b, _ = viewer_messages(g, token_b, 120)
    id_a, id_b = (first_a or {}).get("id"), (first_b or {}).get("id")
    report(id_a and id_b and id_a != id_b and "offer" in types_a and "offer" in types_b,
           "before the swap, A's and B's viewers get offers from their own sessions",
           "A %s %r, B %s %r" % (id_a, types_a, id_b, types_b))
    unit_a = session_unit_of(g, id_a) if id_a else None
    unit_b = session_unit_of(g, id_b) if id_b else None
    if not report(unit_a and unit_b and unit_a != unit_b, "A's and B's session units",
                  "%s, %s" % (unit_a, unit_b)):
        return
    run_a = "/run/glassbox-session/" + unit_a[len("glassbox-session@"):-len(".service")]
    run_b = "/run/glassbox-session/" + unit_b[len("glassbox-session@"):-len(".service")]
    owner = g.out("stat -c %%u:%%g %s" % shlex.quote(run_a))
    uid, _, gid = owner.partition(":")
    if not report(uid.isdigit() and gid.isdigit() and uid != "0",
                  "A's runtime folder belongs to A's (dynamic) user", "%s: %s" % (run_a, owner)):
        return
    logged = g.out("journalctl --no-pager -o cat -u %s | grep -c 'signal: viewer [0-9]* "
                   "connected'" % shlex.quote(unit_b))
    report(logged not in ("", "0"), "B's session logs its viewers (so that a new one would "
           "show)", "count %r" % logged)
    since = g.now()
    # As A's uid, exactly what A's application could do.
    swap = ("cd %s && rm -f signal.sock control.sock && ln -s %s/signal.sock signal.sock && "
            "ln -s %s/control.sock control.sock && ls -l signal.sock control.sock"
            % (shlex.quote(run_a), shlex.quote(run_b), shlex.quote(run_b)))
    rc, out = g.sh("setpriv --reuid %s --regid %s --clear-groups sh -c %s"
                   % (uid, gid, shlex.quote(swap)))
    if not report(rc == 0 and out.count("->") == 2,
                  "as A's uid %s, A's sockets are now links to B's" % uid, out):
        return

    first, types, code = viewer_messages(g, token, 60)
    report((first or {}).get("id") == id_a and "offer" not in types and code == 1011,
           "A's next WebSocket is for A's session, gets no offer and is closed with 1011",
           "first %r, then %r, close %s" % (first, types, code))
    try:
        status, _, body = g.request("GET", "/metrics", cookie=token_b)
        text = body.decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        status, text = None, str(e)
    up_a = re.search(r'^glassbox_session_stats_up\{session="%s"\} (\d)' % id_a, text, re.M)
    up_b = re.search(r'^glassbox_session_stats_up\{session="%s"\} (\d)' % id_b, text, re.M)
    report(status == 200 and up_a and up_a.group(1) == "0" and up_b and up_b.group(1) == "1",
           "/metrics: A's session's stats are down (not B's), B's are up",
           "status %s, A %s, B %s" % (status, up_a and up_a.group(0), up_b and up_b.group(0)))
    rc, out = g.sh("glassboxctl session screenshot %s /root/swap-a.png; echo exit=$?; "
                   "test -e /root/swap-a.png && echo written" % shlex.quote(id_a), 60)
    report("exit=0" not in out and "written" not in out,
           "glassboxctl session screenshot A fails and writes nothing", out)
    viewers_b = g.out("journalctl --no-pager -o cat -u %s --since @%s | "
                      "grep -c 'signal: viewer [0-9]* connected'"
                      % (shlex.quote(unit_b), since))
    report(viewers_b == "0", "B's session saw no new viewer", "count %r" % viewers_b)
    journal = g.out("journalctl --no-pager -o cat -u glassbox --since @%s | "
                    "grep -F 'refusing its' | grep -F %s" % (since, shlex.quote(id_a)))
    print(journal, flush=True)
    report("refusing its signal socket" in journal and "refusing its control socket" in journal
           and "it is a symbolic link (to %s/" % run_b in journal,
           "glassboxd's journal names the refused signal and control sockets of A's session")
    audited = g.out("journalctl --no-pager -o cat MESSAGE_ID=%s GLASSBOX_SESSION=%s "
                    "--since @%s | wc -l" % (SOCKET_REFUSED_ID, shlex.quote(id_a), since))
    report(audited.isdigit() and int(audited) >= 3,
           "the attempts are audited (session-socket-refused)", "%s entries" % audited)
    rc, out = g.sh("glassboxctl session screenshot %s /root/swap-b.png && "
                   "test -s /root/swap-b.png" % shlex.quote(id_b), 60)
    report(rc == 0, "B's own screenshot still works", out)
    g.sh("rm -f /root/swap-a.png /root/swap-b.png; glassboxctl session terminate %s"
         % shlex.quote(id_b))


def check_ctl(g):
    rc, out = g.sh("command -v glassboxctl")
    if rc != 0:
        info("glassboxctl is not installed in the guest: check skipped")
        return
    rc, out = g.sh("glassboxctl status", 60)
    print(out, flush=True)
    report(rc == 0, "glassboxctl status", "exit %d" % rc)


STORAGE_REMOTE = "/srv/remote"
STORAGE_REMOTES_FILE = "/etc/glassbox/storage-remotes.conf"
STORAGE_DROPIN = "/etc/glassbox/plugins.d/70-storage-rclone.ini"
STORAGE_ROOT = "/var/lib/glassbox-storage"
# One rclone remote of type local, a folder per user below /srv/remote.
STORAGE_REMOTES = """# written by tests/appliance/test-appliance.py (check_storage)
[gbtest]
type = local
"""
STORAGE_INI = """; written by tests/appliance/test-appliance.py (check_storage)
[plugin]
kind = storage
name = rclone
enabled = true

[settings]
remotes_file = %s
mounts = work=gbtest:%s/%%u
user_remotes = false
write_back_s = 1
""" % (STORAGE_REMOTES_FILE, STORAGE_REMOTE)


def sidecar_unit(instance, mount="work"):
    return "glassbox-storage@%s:%s.service" % (instance, mount)


def instance_of(unit):
    return unit[len("glassbox-session@"):-len(".service")]


def session_list(g):
    """glassboxctl session list --json: the sessions, or []."""
    rc, out = g.sh("glassboxctl --json session list", 60)
    try:
        return json.loads(out) if rc == 0 else []
    except ValueError:
        return []


def as_uid(g, uid, command, pid=None, timeout=60):
    """Run command (sh) as uid:uid without supplementary groups, in the
    mount namespace of pid when given (nsenter -t pid -m), else in the
    host's. (rc, output)."""
    cmd = "setpriv --reuid %s --regid %s --clear-groups -- sh -c %s" % (
        uid, uid, shlex.quote("umask 077; " + command))
    if pid:
        cmd = "nsenter -t %s -m -- %s" % (pid, cmd)
    return g.sh(cmd, timeout)


def refused(g, uid, pid, op, path, errnos, what):
    """As uid (in pid's mount namespace, or the host's), `op path` must fail
    with one of errnos (their strerror texts, e.g. "Permission denied");
    reported."""
    # ls of a folder: with a trailing slash, so that a link whose target is
    # out of sight fails (ls lists a dangling link itself, exit 0).
    arg = '"$1/"' if op == "ls" else '"$1"'
    probe = 'e=$(%s -- %s 2>&1 >/dev/null </dev/null); rc=$?; echo "$e"; echo "rc=$rc"' % (op, arg)
    rc, out = as_uid(g, uid, "p=%s; set -- \"$p\"; %s" % (shlex.quote(path), probe), pid)
    last = out.splitlines()[-1] if out else ""
    text = " ".join(out.splitlines()[:-1])
    ok = last.startswith("rc=") and last != "rc=0" and any(text.endswith(": " + e)
                                                              for e in errnos)
    where = "in B's session namespace" if pid else "in the host namespace"
    report(ok, "as B's uid %s %s: %s %s -> %s" % (uid, where, op, what, " or ".join(errnos)),
           "%s: %s (%s)" % (path, text or "no error", last or "exit %d" % rc))
    return ok


def proc_uids(g, pid):
    """Real, effective, saved and fs uid of pid, as strings."""
    return g.out("awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/%s/status" % pid).split()


def storage_write(g, name, u, file_name):
    """As the session's uid, in its namespace: 1 MiB of random bytes to
    ~/Cloud/work/FILE; its SHA-256 is kept in u["files"]; reported."""
    path = shlex.quote(u["home"] + "/Cloud/work/" + file_name)
    rc, out = as_uid(g, u["uid"], "head -c 1048576 /dev/urandom >%s && sha256sum <%s"
                     % (path, path), u["pid"])
    digest = out.split()[0] if rc == 0 and out else None
    u.setdefault("files", {})[file_name] = digest
    return report(digest is not None and len(digest) == 64,
                  "storage: as %s's uid, 1 MiB written to ~/Cloud/work/%s" % (name, file_name),
                  "exit %d %s" % (rc, out[-300:]))


def session_mount(g, u):
    """findmnt of ~/Cloud/work in the session unit's namespace: (ok, text)."""
    rc, out = g.sh("nsenter -t %s -m -- findmnt -n -o FSTYPE,SOURCE,TARGET,OPTIONS -T %s"
                   % (u["pid"], shlex.quote(u["home"] + "/Cloud/work")))
    return rc == 0 and out.split()[:1] == ["fuse.rclone"], "findmnt: %s (exit %d)" % (out, rc)


def check_storage(g, password):
    """Issue 10 under the systemd spawner: storage-rclone sidecar units.
    Two users (demo and gbstore) log in after storage-rclone is enabled with
    a local remote; each gets a glassbox-storage@INSTANCE:work.service, its
    ~/Cloud/work is a fuse.rclone mount in the session unit's namespace, a
    file written there as the session's uid is on the remote after the
    session stopped, and user B's uid reaches nothing of A's."""
    if not password:
        report(False, "storage", "no demo password")
        return
    for tool in ("rclone", "fusermount3", "glassboxctl"):
        rc, out = g.sh("command -v %s" % tool)
        if not report(rc == 0, "storage: %s is installed in the guest" % tool, out):
            return
    nss = g.out("grep -E '^(passwd|group):' /etc/nsswitch.conf")
    report(len(re.findall(r"^(?:passwd|group):[^#\n]*\bsystemd\b", nss, re.M)) == 2,
           "storage: nsswitch.conf resolves dynamic users (systemd on passwd and group)", nss)

    # Start from no session: the ones before the reload have no mounts.
    # Wait until no session unit is still starting or stopping either: a
    # unit of the same user stopping late would meet the new one.
    for s in session_list(g):
        g.sh("glassboxctl session terminate %s" % shlex.quote(s["id"]), 60)
    busy = lambda: g.out("systemctl list-units --no-legend --plain "  # noqa: E731
                         "--state=active,activating,deactivating,reloading 'glassbox-session@*'")
    g.wait(lambda: not busy(), 120, interval=2)
    left = busy()
    report(left == "", "storage: no session unit left before the storage sessions", left)

    # The remote: root's folder, where each user's uid makes its own folder
    # (rclone, umask 077, makes it 0700 at the first upload) and cannot
    # list, rename or remove another's (1733: -wx for others, sticky).
    # The remotes file holds the secrets: 0600 root (the plugin checks).
    # The drop-in holds none and stays 0644 like the others: every
    # glassbox-session reads the drop-ins as its user (one it cannot read
    # fails the session: "cannot open: Permission denied").
    setup = ("install -d -m 1733 -o root -g root %s && umask 077 && "
             "printf '%%s' %s >%s && printf '%%s' %s >%s && chmod 0600 %s && chmod 0644 %s && "
             "chown root:root %s %s && stat -c '%%a %%U %%n' %s %s %s"
             % (STORAGE_REMOTE, shlex.quote(STORAGE_REMOTES), STORAGE_REMOTES_FILE,
                shlex.quote(STORAGE_INI), STORAGE_DROPIN, STORAGE_REMOTES_FILE, STORAGE_DROPIN,
                STORAGE_REMOTES_FILE, STORAGE_DROPIN, STORAGE_REMOTE, STORAGE_REMOTES_FILE,
                STORAGE_DROPIN))
    rc, out = g.sh(setup)
    if not report(rc == 0, "storage: remote %s, remotes file and drop-in written" % STORAGE_REMOTE,
                  out):
        return
    since = g.now()
    start = time.monotonic()
    rc, out = g.sh("systemctl reload glassbox", 120)
    timed("storage: systemctl reload", start)
    journal = g.wait(lambda: (lambda j: j if re.search(r"storage: \d+ plugin", j) else "")(
        g.journal(since, lines=40)), 30) or g.journal(since, lines=40)
    print(journal, flush=True)
    report(rc == 0 and re.search(r"storage: \d+ plugin", journal) is not None
           and g.out("systemctl is-active glassbox") == "active",
           "storage: the reload loads storage-rclone", "reload exit %d %s" % (rc, out))

    # User B: a second auth-local user (not an administrator).
    password_b = "store-b-" + os.urandom(6).hex()
    rc, out = g.sh("glassboxctl user remove gbstore >/dev/null 2>&1; "
                   "printf '%%s\\n' %s | glassboxctl user add gbstore" % shlex.quote(password_b))
    if not report(rc == 0, "storage: user B (gbstore) added", out):
        return

    # A link at demo's ~/Cloud (demo has a home from the checks before):
    # systemd would follow it with BindPaths=, so glassboxd moves it aside
    # before the session unit starts; the bind lands on a real ~/Cloud.
    demo_home = "/var/lib/private/glassbox-homes/gb-" + \
        hashlib.sha256(b"local:demo").hexdigest()[:16]
    rc, out = g.sh("cd %s && { [ -L Cloud ] || rmdir Cloud 2>/dev/null || true; } && "
                   "ln -s /tmp Cloud && ls -ld Cloud" % shlex.quote(demo_home))
    report(rc == 0, "storage: a link ~/Cloud -> /tmp planted in demo's home", out)
    since_link = g.now()

    users = {}
    for name, pw in (("demo", password), ("gbstore", password_b)):
        start = time.monotonic()
        status, token, body = g.login(pw, user=name)
        hello, error = g.session_hello(token, timeout=180) if token else (None, "no cookie")
        timed("storage: login %s to session" % name, start)
        session_id = (hello or {}).get("id")
        # The session unit starts once the mounts are ready (or failed), so
        # glassboxd names it a few seconds after the hello.
        unit = g.wait(lambda: session_unit_of(g, session_id), 120, interval=2) \
            if session_id else None
        if not report(status == 200 and unit is not None,
                      "storage: %s logged in and has a session unit" % name,
                      "login %s, hello %s, unit %s" % (status, json.dumps(hello) if hello else error,
                                                        unit)):
            return
        instance = instance_of(unit)
        # The unit starts once the mounts are ready (or failed); then it is
        # active once the session is ready.
        active = g.wait(lambda: g.show(unit, "ActiveState") == "active", 180, interval=2)
        timed("storage: login %s to active session unit" % name, start)
        pid = g.show(unit, "MainPID")
        if not report(active and pid not in ("", "0"),
                      "storage: %s's session unit %s is active" % (name, unit),
                      "%s/%s, MainPID %s, Result %s" % (
                          g.show(unit, "ActiveState"), g.show(unit, "SubState"), pid,
                          g.show(unit, "Result"))):
            print(g.out("journalctl --no-pager -o short-monotonic -u %s | tail -n 20"
                        % shlex.quote(unit)), flush=True)
            return
        uid = (proc_uids(g, pid) or [""])[0]
        users[name] = {"token": token, "id": session_id, "unit": unit, "instance": instance,
                       "pid": pid, "uid": uid, "sidecar": sidecar_unit(instance),
                       "home": "/var/lib/glassbox-homes/" + instance}
        info("storage: %s: session %s, %s, MainPID %s, uid %s" % (name, session_id, unit, pid, uid))
    aside = g.out("cd %s && ls -ld Cloud Cloud.not-a-folder-* 2>&1" % shlex.quote(demo_home))
    moved = g.out("journalctl --no-pager -o cat -u glassbox --since @%s | grep -F "
                  "'was not a folder'" % since_link)
    report(re.search(r"^l\S+ .* Cloud\.not-a-folder-\d+ -> /tmp$", aside, re.M) is not None
           and re.search(r"^d\S+ .* Cloud$", aside, re.M) is not None and bool(moved),
           "storage: the link at demo's ~/Cloud was moved aside before the session unit "
           "started (not followed), ~/Cloud is a folder", "%r; journal %r" % (aside, moved[-200:]))

    a, b = users["demo"], users["gbstore"]
    report(a["uid"].isdigit() and b["uid"].isdigit() and a["uid"] != b["uid"]
           and "0" not in (a["uid"], b["uid"]),
           "storage: A and B run as two different non-root uids",
           "A %s, B %s" % (a["uid"], b["uid"]))

    # a. Each sidecar: active, the session's uid, the mount in the session.
    for name, u in users.items():
        state = g.wait(lambda: (lambda s: s if s == "active" else None)(
            g.out("systemctl is-active %s" % shlex.quote(u["sidecar"]))), 60) \
            or g.out("systemctl is-active %s" % shlex.quote(u["sidecar"]))
        u["rclone"] = g.show(u["sidecar"], "MainPID")
        comm = g.out("cat /proc/%s/comm" % u["rclone"]) if u["rclone"] not in ("", "0") else ""
        uids = proc_uids(g, u["rclone"]) if comm else []
        report(state == "active" and comm == "rclone" and uids == [u["uid"]] * 4,
               "storage: %s's sidecar %s is active, rclone as the session's uid" % (name, u["sidecar"]),
               "%s, MainPID %s (%s), uids %s, session uid %s"
               % (state, u["rclone"], comm, " ".join(uids), u["uid"]))
        print(g.out("systemctl status --no-pager --lines=8 %s" % shlex.quote(u["sidecar"])),
              flush=True)
        host = g.out("grep -F ' %s/%s/Cloud/work ' /proc/1/mountinfo"
                     % (STORAGE_ROOT, u["instance"]))
        report("fuse.rclone" in host, "storage: %s's mount is in PID 1's namespace at %s/%s/"
               "Cloud/work" % (name, STORAGE_ROOT, u["instance"]), host or "not in /proc/1/mountinfo")
        ok, text = session_mount(g, u)
        report(ok, "storage: in %s's session unit, ~/Cloud/work is a fuse.rclone mount" % name,
               text)
        # A file written as the session's uid, in the session's namespace.
        u["file"] = "from-%s.bin" % name
        storage_write(g, name, u, u["file"])

    # c. glassboxctl session list: the MOUNTS column.
    listing = g.wait(lambda: (lambda t: t if all(
        re.search(r"^%s\s.*\bwork ready\b" % re.escape(u["id"]), t, re.M)
        for u in users.values()) else None)(g.out("glassboxctl session list")), 30) \
        or g.out("glassboxctl session list")
    print(listing, flush=True)
    header = listing.splitlines()[0] if listing else ""
    report("MOUNTS" in header.split() and all(
        re.search(r"^%s\s.*\bwork ready\b" % re.escape(u["id"]), listing, re.M)
        for u in users.values()),
        "storage: glassboxctl session list shows 'work ready' in the MOUNTS column of both sessions")

    # The sidecar's exposure, printed, not judged: its ExecStart=+ runs
    # outside the unit's sandbox; the helper's drop to the uid protects.
    rc, out = g.sh("systemd-analyze security --no-pager %s" % shlex.quote(a["sidecar"]), 120)
    overall = [line.strip() for line in out.splitlines() if "Overall exposure level" in line]
    info("systemd-analyze security %s: %s" % (a["sidecar"], overall[0] if overall
                                                else "no overall figure (exit %d)" % rc))

    # b. Isolation: B's uid, in B's session namespace and in the host's.
    cred = "/run/credentials/%s" % a["sidecar"]
    print(g.out("ls -la %s/%s %s /run/glassbox/storage; ls -l /proc/%s/fd; "
                "tr '\\0' ' ' </proc/%s/cmdline"
                % (STORAGE_ROOT, a["instance"], shlex.quote(cred), a["rclone"], a["rclone"])),
          flush=True)
    EACCES, ENOENT = "Permission denied", "No such file or directory"
    targets = [
        ("ls", "%s/%s/Cloud/work" % (STORAGE_ROOT, a["instance"]), "A's mount"),
        ("ls", "%s/%s" % (STORAGE_ROOT, a["instance"]), "A's storage folder"),
        ("ls", "%s/%s/.cache/glassbox-storage" % (STORAGE_ROOT, a["instance"]), "A's rclone cache"),
        ("ls", cred, "A's sidecar credentials"),
        ("ls", "/run/glassbox/storage", "the storage secrets of glassboxd"),
        ("cat", "/proc/%s/environ" % a["rclone"], "A's rclone's environ"),
        ("cat", "/proc/%s/fd/3" % a["rclone"], "A's rclone's fd 3"),
        ("ls", a["home"], "A's home"),
        ("ls", "/var/lib/private/glassbox-homes/%s" % a["instance"], "A's home (private)"),
        ("ls", "/proc/%s/root%s" % (a["pid"], a["home"]), "A's home through A's session's /proc root"),
    ]
    # The controls: B's uid reaches B's own mount from both namespaces (so
    # that a refusal below is about A's files, not a probe that cannot work).
    for pid, where, path in ((b["pid"], "in B's session namespace", b["home"] + "/Cloud/work"),
                             (None, "in the host namespace", "%s/%s/Cloud/work"
                              % (STORAGE_ROOT, b["instance"]))):
        rc, out = as_uid(g, b["uid"], "ls -- %s/" % shlex.quote(path), pid)
        report(rc == 0 and b["file"] in out.split(),
               "as B's uid %s %s: B's own mount lists %s" % (b["uid"], where, b["file"]),
               "%s: exit %d %s" % (path, rc, out[:200]))
    # In B's session namespace /proc hides other users' processes
    # (ProtectProc=invisible) and /var/lib/private holds B's home only.
    # systemd shows a unit only its own /run/credentials entry.
    in_session = {"A's sidecar credentials": (ENOENT,),
                  "A's rclone's environ": (ENOENT,), "A's rclone's fd 3": (ENOENT,),
                  "A's home": (ENOENT,), "A's home (private)": (ENOENT,),
                  "A's home through A's session's /proc root": (ENOENT,)}
    for op, path, what in targets:
        refused(g, b["uid"], b["pid"], op, path, in_session.get(what, (EACCES,)), what)
    for op, path, what in targets:
        refused(g, b["uid"], None, op, path, (EACCES,), what)
    rc, out = g.sh("ls %s/%s/Cloud/work 2>&1; echo rc=$?" % (STORAGE_ROOT, a["instance"]))
    report(out.endswith("rc=2") and EACCES in out,
           "storage: even root is refused A's mount (FUSE without allow_other)", out)
    # Nothing secret in A's rclone's argv (readable by every user) or environ.
    rc, argv = as_uid(g, b["uid"], "tr '\\0' '\\n' </proc/%s/cmdline" % a["rclone"])
    secrets = [line.strip() for line in g.out(
        "cat %s/* /run/glassbox/storage/* 2>/dev/null" % shlex.quote(cred)).splitlines()
        if len(line.strip()) >= 12 and not line.strip().startswith(("[", "#", "type"))]
    environ = g.out("tr '\\0' '\\n' </proc/%s/environ" % a["rclone"])
    leaked = [x for x in secrets if x in argv or x in environ]
    flags = [arg for arg in argv.splitlines()
             if re.match(r"--(rc-pass|rc-user|password|pass|key|token|client-secret)\b", arg)]
    rclone_env = [line.split("=", 1)[0] for line in environ.splitlines()
                  if line.startswith("RCLONE_") and re.search(r"PASS|KEY|TOKEN|SECRET", line)]
    report(rc == 0 and "mount" in argv.split() and not leaked and not flags and not rclone_env,
           "storage: no secret in A's rclone's argv (readable by B) or environ",
           "argv %r; %d secret line(s) checked; leaked %r, flags %r, env %r"
           % (" ".join(argv.split()), len(secrets), leaked[:2], flags, rclone_env))

    # A's rclone's remote control listens on 127.0.0.1, which B reaches:
    # without the password it answers 401.
    port = re.search(r"--rc-addr=127\.0\.0\.1:(\d+)", argv)
    if report(port is not None, "storage: A's rclone's remote control is on 127.0.0.1",
              "argv %r" % " ".join(argv.split())[:300]):
        rc, out = as_uid(g, b["uid"], "exec bash -c %s" % shlex.quote(
            "exec 3<>/dev/tcp/127.0.0.1/%s && printf 'POST /vfs/stats HTTP/1.0\\r\\n"
            "Content-Length: 0\\r\\n\\r\\n' >&3 && head -n 1 <&3" % port.group(1)))
        report(re.match(r"HTTP/1\.[01] 401\b", out) is not None,
               "storage: as B's uid, A's rclone's remote control answers 401", out[:200])

    # glassboxd restarted while the storage sessions run: the sessions go on
    # and get their mounts again (the new glassboxd adopts them).
    before = {n: g.show(u["sidecar"], "InvocationID") for n, u in users.items()}
    start = time.monotonic()
    rc, out = g.sh("systemctl restart glassbox", 180)
    active = g.wait_active(timeout=120)
    report(rc == 0 and active, "storage: systemctl restart glassbox with both storage sessions",
           "exit %d %s" % (rc, out))
    deadline = time.monotonic() + 90
    for name, u in users.items():
        back = g.wait(lambda: g.show(u["sidecar"], "ActiveState") == "active"
                      and session_mount(g, u)[0], max(5, deadline - time.monotonic()),
                      interval=2)
        timed("storage: restart to %s's mount back" % name, start)
        ok, text = session_mount(g, u)
        same = g.show(u["unit"], "MainPID") == u["pid"] and \
            g.show(u["unit"], "ActiveState") == "active"
        report(bool(back) and same, "storage: after the restart, %s's session goes on and "
               "~/Cloud/work is a fuse.rclone mount again" % name,
               "session MainPID %s (was %s); sidecar %s, InvocationID %s (was %s); %s"
               % (g.show(u["unit"], "MainPID"), u["pid"], g.show(u["sidecar"], "ActiveState"),
                  g.show(u["sidecar"], "InvocationID"), before[name], text))
        if not ok:
            continue  # what the session would write now stays on the box's disk
        rc, out = as_uid(g, u["uid"], "ls -- %s/" % shlex.quote(u["home"] + "/Cloud/work"),
                         u["pid"])
        report(rc == 0 and u["file"] in out.split(), "storage: after the restart, %s's "
               "session lists its file written before" % name, "exit %d %s" % (rc, out[:200]))
        storage_write(g, name, u, "after-restart-%s.bin" % name)
    listing = g.wait(lambda: (lambda t: t if all(
        re.search(r"^%s\s.*\bwork ready\b" % re.escape(u["id"]), t, re.M)
        for u in users.values()) else None)(g.out("glassboxctl session list")), 20) \
        or g.out("glassboxctl session list")
    report(all(re.search(r"^%s\s.*\bwork ready\b" % re.escape(u["id"]), listing, re.M)
               for u in users.values()),
           "storage: after the restart, glassboxctl session list shows 'work ready' for both",
           listing.replace("\n", " | ")[:600])

    # kill -9 of a sidecar: its unit fails, ExecStopPost= removes the dead
    # mount, glassboxd resets the unit and starts it again; the session goes
    # on, sees its files again, and what it writes next reaches the remote.
    u = users["demo"]
    old_pid, old_id = g.show(u["sidecar"], "MainPID"), g.show(u["sidecar"], "InvocationID")
    since = g.now()
    start = time.monotonic()
    rc, out = g.sh("kill -9 %s" % shlex.quote(old_pid))
    back = g.wait(lambda: g.show(u["sidecar"], "ActiveState") == "active"
                  and g.show(u["sidecar"], "InvocationID") not in ("", old_id)
                  and session_mount(g, u)[0], 60, interval=1)
    timed("storage: kill -9 of demo's rclone to its mount back", start)
    restarted = g.out("journalctl --no-pager -o cat -u glassbox --since @%s | grep -F "
                      "'restarting it (1 of 3)'" % since)
    report(rc == 0 and bool(back) and bool(restarted) and
           g.show(u["unit"], "MainPID") == u["pid"],
           "storage: kill -9 of demo's rclone: the sidecar unit runs again and ~/Cloud/work "
           "is mounted again, the session goes on",
           "killed %s (exit %d); sidecar %s, InvocationID %s (was %s); journal %r; %s"
           % (old_pid, rc, g.show(u["sidecar"], "ActiveState"),
              g.show(u["sidecar"], "InvocationID"), old_id, restarted[-300:],
              session_mount(g, u)[1]))
    if back:
        rc, out = as_uid(g, u["uid"], "ls -- %s/" % shlex.quote(u["home"] + "/Cloud/work"),
                         u["pid"])
        report(rc == 0 and u["file"] in out.split(), "storage: after the kill -9, demo's "
               "session lists its file written before", "exit %d %s" % (rc, out[:200]))
        storage_write(g, "demo", u, "after-kill-demo.bin")

    # a. (end) Stop the sessions: everything uploaded, sidecars gone, no mount left.
    since = g.now()
    start = time.monotonic()
    for u in users.values():
        g.sh("glassboxctl session terminate %s" % shlex.quote(u["id"]), 60)
    for name, u in users.items():
        gone = g.wait(lambda: g.out("systemctl show -P ActiveState %s" % shlex.quote(u["unit"]))
                      != "active" and g.out("systemctl show -P LoadState %s"
                                            % shlex.quote(u["sidecar"])) == "not-found"
                      and g.out("systemctl show -P ActiveState %s"
                                % shlex.quote(u["sidecar"])) == "inactive", 300, interval=2)
        timed("storage: %s's session stop to sidecar gone" % name, start)
        report(bool(gone), "storage: after %s's session stopped, its sidecar unit is gone" % name,
               "session %s; sidecar %s/%s" % (
                   g.show(u["unit"], "ActiveState"), g.show(u["sidecar"], "LoadState"),
                   g.show(u["sidecar"], "ActiveState")))
        mounts = g.out("grep -F ' %s/%s/' /proc/1/mountinfo" % (STORAGE_ROOT, u["instance"]))
        report(mounts == "", "storage: no mount left under %s/%s after %s's session"
               % (STORAGE_ROOT, u["instance"], name), mounts)
        for file_name, digest in u["files"].items():
            remote = "%s/%s/%s" % (STORAGE_REMOTE, name, file_name)
            got = g.out("sha256sum %s 2>&1" % shlex.quote(remote)).split()
            report(digest is not None and got[:1] == [digest],
                   "storage: %s's %s is on the remote, byte-identical (sha256)"
                   % (name, file_name),
                   "%s: %s, written %s" % (remote, " ".join(got[:1] or ["?"]), digest))
    left = g.out("ls -A /run/glassbox/storage")
    report(left == "", "storage: the mounts' secrets are gone from /run/glassbox/storage", left)
    fuse = g.out("grep -F fuse.rclone /proc/1/mountinfo")
    report(fuse == "", "storage: no fuse.rclone mount left in PID 1's namespace", fuse)
    print(g.out("journalctl --no-pager -o cat -u glassbox --since @%s | grep -F storage: | "
                "tail -n 20" % since), flush=True)
    refused(g, b["uid"], None, "ls", "%s/demo" % STORAGE_REMOTE, (EACCES,),
            "A's folder on the remote")
    g.sh("glassboxctl user remove gbstore")


def print_security(g, unit):
    """The exposure figures of glassbox.service and of a session unit."""
    for name in ["glassbox.service"] + ([unit] if unit else []):
        rc, out = g.sh("systemd-analyze security --no-pager %s" % shlex.quote(name), 120)
        lines = out.splitlines()
        overall = [line for line in lines if "Overall exposure level" in line]
        print("\n".join(lines[-12:]), flush=True)
        info("systemd-analyze security %s: %s" %
             (name, overall[0].strip() if overall else "no overall figure (exit %d)" % rc))


def dump_guest(g):
    """What the lead needs when something failed."""
    for cmd in ("systemctl --no-pager --failed",
                "systemctl --no-pager list-units --all 'glassbox*'",
                "journalctl --no-pager -b -o short-monotonic -u glassbox | tail -n 80",
                "journalctl --no-pager -b -o short-monotonic -u 'glassbox-session@*' "
                "| tail -n 60",
                "journalctl --no-pager -b -o short-monotonic -u 'glassbox-storage@*' "
                "| tail -n 60"):
        try:
            print("--- guest: %s\n%s" % (cmd, g.out(cmd, 60)), flush=True)
        except VMError as e:
            print("--- guest: %s: %s" % (cmd, e), flush=True)


def in_guest():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    timings.append(("build-rootfs", float(os.environ.get("GB_APPLIANCE_BUILD_S", "0"))))
    with VM(os.path.join(OUT, "vm")) as vm:
        accel = vm.boot(os.path.join(OUT, "disk.img"), os.path.join(OUT, "vmlinuz"),
                        os.path.join(OUT, "initrd.img"), forwards={443: 0})
        info("accelerator: %s (%s); guest 443 -> 127.0.0.1:%d; console %s"
             % (accel, vm.accel_reason, vm.host_port(443), vm.console_path))
        g = Guest(vm)
        try:
            at = vm.wait_agent(timeout=600 if accel == "tcg" else 180)
            timings.append(("boot to agent", at))
            info("agent answered %.1f s after qemu started" % at)
            active = g.wait_active(timeout=240)
            timings.append(("boot to glassbox active", vm.uptime()))
            report(bool(active), "glassbox.service active after boot",
                   "%.1f s after qemu started" % vm.uptime())
            check_active(g)
            token, password = check_login(g)
            unit = session_id = None
            if token:
                unit, session_id = check_session_unit(g, token)
                check_no_root_sessions(g, unit)
                step = time.monotonic()
                check_reload(g, token, password)
                timed("reload checks", step)
                step = time.monotonic()
                check_restart(g, token, unit, session_id)
                timed("restart checks", step)
            step = time.monotonic()
            check_watchdog(g, unit)
            timed("watchdog check", step)
            step = time.monotonic()
            check_session_crash(g, token, unit)
            timed("session crash check", step)
            step = time.monotonic()
            check_socket_swap(g, token)
            timed("socket swap check", step)
            check_ctl(g)
            print_security(g, unit)
            step = time.monotonic()
            check_storage(g, password)
            timed("storage check", step)
            if failures:
                dump_guest(g)
        except VMError as e:
            report(False, "the guest answers", str(e))
            print("--- console tail:\n" + vm.console_text()[-4000:], flush=True)
        start = time.monotonic()
        clean = vm.shutdown(timeout=90)
        timed("poweroff", start)
        info("guest powered off %s" % ("cleanly" if clean else "(killed)"))
    print("timings:", flush=True)
    for name, seconds in timings:
        print("  %-50s %7.1f s" % (name, seconds), flush=True)
    print("%s: %d failed" % (os.path.basename(sys.argv[0]), failures), flush=True)
    sys.exit(1 if failures else 0)


def main():
    if os.environ.get("GB_IN_NETNS") == "1":
        in_guest()
        return
    if os.geteuid() != 0:
        skip("needs root (mmdebstrap --mode=root, the image's file owners, unshare -n)")
    missing = [t for t in ("mmdebstrap", "qemu-system-x86_64", "mkfs.ext4", "unshare", "ip")
               if shutil.which(t) is None]
    if missing:
        skip("not installed: %s (see packaging/build-deps.txt)" % ", ".join(missing))
    build_seconds = build_image()
    enter_network_namespace(build_seconds)


if __name__ == "__main__":
    main()
