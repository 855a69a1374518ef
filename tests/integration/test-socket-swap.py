#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""No user reaches another user's session by swapping their own session's
sockets (issue #8, "Socket swap").

A session's signal and control sockets live in a folder its user can write
(the direct spawner's runtime_dir/sessions/ID, the systemd unit's
RuntimeDirectory). Here, with the direct spawner, a real glassboxd on a
private dbus-daemon and two users' real sessions, user A's two sockets are
replaced by symbolic links to user B's, then by hard links to B's socket
files (which a direct session's user could make: direct sessions share
glassboxd's uid). Each time A's next WebSocket, /metrics and `glassboxctl
session screenshot A` must not reach B's session: the WebSocket is closed
with 1011 and never sees B's offer, the scrape reports A's session as not
answering, the screenshot fails, and glassboxd's log names the refusal
(session, user, socket, and what it found: the link, or B's pid), as does
the audit trail (a stand-in for journald's socket in a private mount
namespace receives the session-socket-refused entry). B's session keeps
working throughout."""

import os
import re
import subprocess
import sys
import tempfile
import time

import gbdaemon
import gbjournal
from gbtest import check, finish

GLASSBOXCTL = os.path.join(gbdaemon.BUILD, "core", "ctl", "glassboxctl")
HELLO = {"type": "hello", "codecs": ["H264", "VP8"], "width": 320, "height": 240}
BOB_PASSWORD = "bob-socket-swap-pw"
SOCKET_REFUSED_ID = "8780e433c2194bf89410e3f765748a2e"

# A private bus on which glassboxd may own org.glassbox.Manager1 (everyone is root here).
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
"""


def enter_namespaces():
    """Re-run in new network and mount namespaces (loopback only; a journal
    socket of our own), as root."""
    if os.geteuid() != 0:
        print("test-socket-swap: needs root (sessions' folders are root's); skipped")
        sys.exit(77)
    if os.environ.get("GB_IN_NETNS") != "1":
        env = dict(os.environ, GB_IN_NETNS="1")
        sys.stdout.flush()
        os.execvpe("unshare", ["unshare", "-m", "-n", "--propagation", "private", "--",
                               sys.executable] + sys.argv, env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def start_bus(tmp):
    folder = os.path.join(tmp, "bus")
    os.mkdir(folder)
    socket_path = os.path.join(folder, "socket")
    config = os.path.join(folder, "bus.conf")
    with open(config, "w") as f:
        f.write(BUS_CONFIG.format(socket=socket_path))
    log = open(os.path.join(folder, "dbus-daemon.log"), "w")
    proc = subprocess.Popen(["dbus-daemon", "--config-file=" + config, "--nofork",
                             "--nopidfile"], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while not os.path.exists(socket_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc, log, "unix:path=" + socket_path


def ctl(address, *args, stdin=None):
    try:
        done = subprocess.run([GLASSBOXCTL, "--bus", address, *args], input=stdin,
                              capture_output=True, text=True, timeout=40)
    except subprocess.TimeoutExpired:
        return None, "", "timed out"
    return done.returncode, done.stdout, done.stderr


def open_viewer(d, token):
    ws = d.websocket(cookie=token)
    first = ws.recv_json(timeout=20) if ws.status == 101 else None
    return ws, first


def session_of(d, token, name):
    """A viewer of the user's running session, its id and its session's pid."""
    ws, first = open_viewer(d, token)
    session_id = (first or {}).get("id")
    check(first is not None and first.get("type") == "session" and first.get("user") == name,
          "%s's viewer: a session (%r)" % (name, first))
    ready = d.wait_log(r"session %s of user '%s' is ready \(pid (\d+)" % (session_id, name), 20)
    check(ready is not None, "%s's session %s is ready" % (name, session_id))
    ws.send_json(HELLO)
    offer = ws.recv_json(timeout=30, skip=("ice", "info"))
    check(offer is not None and offer.get("type") == "offer",
          "%s's hello is answered by an offer from their session" % name)
    return ws, session_id, int(ready.group(1)) if ready else 0


def scrape(d):
    status, _, body = d.request("GET", "/metrics")
    return status, body.decode(errors="replace")


def stats_up(text, session_id):
    match = re.search(r'^glassbox_session_stats_up\{session="%s"\} (\d)' % session_id, text,
                      re.M)
    return int(match.group(1)) if match else None


def main():
    enter_namespaces()
    gbjournal.private_journal_folder()
    journal = gbjournal.Journal()
    holder = tempfile.TemporaryDirectory(prefix="gb-socket-swap-")
    tmp = holder.name
    bus, bus_log, address = start_bus(tmp)
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
    d = gbdaemon.Daemon(server_extra="max_sessions = 4;",
                        session_extra="idle_timeout_s = 60; max_viewers = 8;")
    try:
        if check(d.start(), "glassboxd starts (%s)" % d.log_text()[-300:]):
            swap_and_check(d, address, tmp, journal)
    finally:
        d.close()
        journal.close()
        if bus.poll() is None:
            bus.terminate()
            try:
                bus.wait(timeout=10)
            except subprocess.TimeoutExpired:
                bus.kill()
                bus.wait(timeout=10)
        bus_log.close()
        holder.cleanup()
    finish()


def attempt(d, address, tmp, journal, alice, id_a, id_b, how, reason):
    """A's WebSocket, a scrape and A's screenshot, with A's sockets replaced
    (how: "links", "hard links"): all refused; the refusals logged with
    reason (a regex on what was found) and audited."""
    log_before = len(d.log_text())
    audited_before = len(journal.wait(lambda e: e.get("MESSAGE_ID") == SOCKET_REFUSED_ID,
                                      timeout=0))

    # A's next WebSocket: refused, never relayed to B's session.
    ws, first = open_viewer(d, alice)
    check(first is not None and first.get("id") == id_a,
          "%s: A's new WebSocket is for A's session (%r)" % (how, first))
    if ws.status == 101:
        try:
            ws.send_json(HELLO)
        except OSError:
            pass  # refused at once: the close is still there to read
    seen = []
    for _ in range(20):
        message = ws.recv_json(timeout=10)
        if message is None:
            break
        seen.append(message.get("type"))
    check("offer" not in seen and ws.close_code == 1011,
          "%s: A's new WebSocket gets no offer and is closed with 1011 (%r, %r)"
          % (how, seen, ws.close_code))
    ws.close()
    refusal = d.wait_log(r"session %s of user 'demo': refusing its signal socket (\S+): %s"
                         % (id_a, reason), 10)
    check(refusal is not None, "%s: glassboxd logs the refusal, naming A's session, user, "
          "socket and what it found (%r)" % (how, refusal.group(0) if refusal else None))

    # /metrics: A's session does not answer; B's does.
    status, text = scrape(d)
    check(status == 200 and stats_up(text, id_a) == 0 and stats_up(text, id_b) == 1,
          "%s: /metrics reports A's stats as down, B's up (%r %r)"
          % (how, stats_up(text, id_a), stats_up(text, id_b)))

    # The screenshot over D-Bus: refused, no PNG.
    png = os.path.join(tmp, "a.png")
    status, out, err = ctl(address, "session", "screenshot", id_a, png)
    check(status not in (0, None) and not os.path.exists(png)
          and "refused its control socket" in err,
          "%s: glassboxctl session screenshot A fails, says why and writes nothing (%r %s)"
          % (how, status, err.strip()))
    log = d.log_text()[log_before:]
    refusals = re.findall(r"session %s of user 'demo': refusing its control socket \S+: %s"
                          % (id_a, reason), log)
    check(len(refusals) == 2, "%s: the scrape and the screenshot are both logged (%d)"
          % (how, len(refusals)))
    check(not re.search(r"D-Bus: screenshot of session %s: \d+ bytes" % id_a, log),
          "%s: no screenshot of A's session was delivered" % how)
    audited = []
    deadline = time.monotonic() + 10
    while len(audited) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        audited = journal.wait(lambda e: e.get("MESSAGE_ID") == SOCKET_REFUSED_ID, timeout=0)
        audited = [e for e in audited[audited_before:] if e.get("GLASSBOX_SESSION") == id_a]
    check(len(audited) == 3 and all(
        e.get("GLASSBOX_EVENT") == "session-socket-refused" and e.get("GLASSBOX_USER") == "demo"
        and e.get("PRIORITY") == "4" and re.match(reason, e.get("GLASSBOX_REASON", ""))
        and e.get("GLASSBOX_SOCKET", "").startswith(os.path.join(d.runtime, "sessions", id_a))
        for e in audited),
        "%s: three session-socket-refused audit entries with A's session, user, socket and "
        "what was found (%r)" % (how, audited[:1]))
    return log


def swap_and_check(d, address, tmp, journal):
    check(d.wait_log(r"D-Bus: org\.glassbox\.Manager1 on") is not None,
          "glassboxd is on the private bus")
    status, _, err = ctl(address, "user", "add", "bob", stdin=BOB_PASSWORD + "\n")
    check(status == 0, "user add bob: 0 (%r %s)" % (status, err))
    status, alice, _, _ = d.login("demo", d.password())
    status2, bob, _, _ = d.login("bob", BOB_PASSWORD)
    check(status == 200 and status2 == 200 and alice and bob,
          "user A (demo) and user B (bob) log in")

    ws_a, id_a, pid_a = session_of(d, alice, "demo")
    ws_b, id_b, pid_b = session_of(d, bob, "bob")
    if not check(id_a and id_b and id_a != id_b and pid_a and pid_b and pid_a != pid_b,
                 "two sessions, two processes (%s %d, %s %d)" % (id_a, pid_a, id_b, pid_b)):
        return
    status, text = scrape(d)
    check(status == 200 and stats_up(text, id_a) == 1 and stats_up(text, id_b) == 1,
          "before the swap /metrics has both sessions' stats")

    dir_a = os.path.join(d.runtime, "sessions", id_a)
    dir_b = os.path.join(d.runtime, "sessions", id_b)
    swaps = [(os.path.join(dir_a, mine), os.path.join(dir_b, theirs)) for mine, theirs in
             (("signal.sock", "signal.sock"),
              ("glassbox-%s.control" % id_a, "glassbox-%s.control" % id_b))]

    # 1. As A's session's user: A's sockets become symbolic links to B's.
    # Refused before connecting: B's session does not even see a connection.
    for mine, theirs in swaps:
        os.unlink(mine)
        os.symlink(theirs, mine)
    check(all(os.path.islink(mine) for mine, _ in swaps),
          "A's signal and control sockets are now links to B's")
    log = attempt(d, address, tmp, journal, alice, id_a, id_b, "links",
                  r"it is a symbolic link \(to %s/" % re.escape(dir_b))
    check(not re.search(r"signal: viewer \d+ connected", log),
          "links: B's session saw no connection (no 'viewer connected' in the log)")

    # 2. Hard links to B's socket files: the same file (owner, mode) as far as
    # a look at A's folder goes; a direct session's user could make them,
    # since direct sessions share glassboxd's uid. The peer check refuses.
    for mine, theirs in swaps:
        os.unlink(mine)
        os.link(theirs, mine)
    check(all(os.path.samefile(mine, theirs) for mine, theirs in swaps),
          "A's signal and control sockets are now hard links to B's")
    attempt(d, address, tmp, journal, alice, id_a, id_b, "hard links",
            r"it is served by pid %d uid \d+, not the session's pid %d" % (pid_b, pid_a))

    # B is untouched: their viewer still relays, their screenshot works.
    png_b = os.path.join(tmp, "b.png")
    status, out, err = ctl(address, "--json", "session", "screenshot", id_b, png_b)
    check(status == 0 and os.path.exists(png_b),
          "B's own screenshot still works (%r %s)" % (status, err.strip()))
    ws_b2, first = open_viewer(d, bob)
    ws_b2.send_json(HELLO)
    offer = ws_b2.recv_json(timeout=30, skip=("ice", "info"))
    check(first is not None and first.get("id") == id_b and offer is not None
          and offer.get("type") == "offer", "B's new viewer still gets B's offer")
    ws_b2.close()
    ws_a.close()
    ws_b.close()
    check(d.stop() == 0, "glassboxd stops with 0")


if __name__ == "__main__":
    main()
