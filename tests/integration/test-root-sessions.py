#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""glassboxd as root with the direct spawner never runs a session as root
(issue 8): without session.user it refuses to start, naming the key; with
session.user = an unprivileged account (made here with useradd, removed at
the end) a login's session and its application run as that account, with no
capability left, a fresh environment (a marker put in glassboxd's
environment is in neither), the account's home as working folder and a
session folder of its own, and glassboxd still relays to the session's
socket. Runs as root, in a network namespace with only loopback."""

import os
import re
import signal
import sys
import tempfile
import time

import gbdaemon
from gbtest import check, finish

if os.geteuid() != 0:
    print("SKIP: needs root (useradd, and glassboxd switching users)")
    sys.exit(77)

gbdaemon.enter_network_namespace()

MARKER = "GB_TEST_GLASSBOXD_ONLY"
ALLOW_ROOT = "GB_TEST_ALLOW_ROOT_SESSIONS"
SESSION_START = re.compile(r"session ([0-9a-f]{16}): starting for user 'demo' \(pid (\d+)")
HELLO = {"type": "hello", "codecs": ["H264", "VP8"], "width": 320, "height": 240}

# The account; the pid keeps parallel runs apart.
ACCOUNT = "gbtest-root%d" % (os.getpid() % 100000)
work = tempfile.TemporaryDirectory(prefix="gb-root-sessions-")
HOME = os.path.join(work.name, "home")


account = gbdaemon.Account(ACCOUNT, HOME)

# What the account needs to run a session: the session program, the test
# client and the plugin modules, copied out of the build tree (which may sit
# in a folder only root can read, such as /root); the configuration and the
# drop-ins readable, the folders above them searchable.
session_binary, client = gbdaemon.copy_for_account(work.name)

os.environ[MARKER] = "1"
os.environ[ALLOW_ROOT] = "0"  # what tests/meson.build and gbdaemon.py allow, taken back


def make_daemon(tmp, user=None):
    # A session without viewers ends after 1 s (the reload check below).
    extra = 'idle_timeout_s = 1; ' + ('user = "%s";' % user if user is not None else "")
    d = gbdaemon.Daemon(tmp=tmp, session_binary=session_binary, command=client,
                        session_extra=extra, server_extra='spawner = "direct";')
    for path in (d.root, d.runtime):
        os.chmod(path, 0o711)
    os.chmod(d.dropins, 0o755)
    for name in os.listdir(d.dropins):
        os.chmod(os.path.join(d.dropins, name), 0o644)
    os.chmod(d.config, 0o644)
    return d


def refused_start(name, user, expected):
    tmp = tempfile.TemporaryDirectory(prefix="gb-root-refused-")
    d = make_daemon(tmp, user)
    try:
        d.start(wait=False)
        status = d.wait_exit(timeout=15)
        log = d.log_text()
        check(status == 1 and all(text in log for text in expected),
              "%s: glassboxd exits 1 naming it (got %r: %s)" % (name, status, log.strip()[-400:]))
    finally:
        d.close()
        tmp.cleanup()


refused_start("as root with no session.user", None,
              ["glassbox.conf: server.spawner is \"direct\" and glassboxd runs as root",
               "set session.user"])
refused_start("session.user = root", "root",
              ["key 'session.user': 'root' has uid 0", "not root"])
refused_start("session.user names nobody", "gb-no-such-user",
              ["key 'session.user': there is no user 'gb-no-such-user'"])


def wait_for_gone(path, timeout):
    deadline = time.monotonic() + timeout
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not os.path.exists(path)


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def proc_environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        entries = f.read().split(b"\0")
    return dict(e.decode(errors="replace").split("=", 1) for e in entries if b"=" in e)


def running(program):
    """The processes running @program (a path only this test uses)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.readlink("/proc/%s/exe" % entry) == program:
                found.append(int(entry))
        except OSError:
            pass
    return found


def check_runs_as_account(what, pid):
    status = proc_status(pid)
    uid, gid = str(account.uid), str(account.gid)
    check(status["Uid"] == [uid] * 4, "%s runs as %s: real, effective, saved and fs uid %s "
          "(got %r)" % (what, ACCOUNT, uid, status["Uid"]))
    check(status["Gid"] == [gid] * 4, "%s: every gid is %s (got %r)" % (what, gid, status["Gid"]))
    check("0" not in status.get("Groups", []),
          "%s: not in group 0 (groups %r)" % (what, status.get("Groups")))
    check(status["CapEff"] == ["0000000000000000"] and status["CapPrm"] == ["0000000000000000"],
          "%s: no capabilities (CapEff %r, CapPrm %r)" % (what, status["CapEff"],
                                                          status["CapPrm"]))
    env = proc_environ(pid)
    check(MARKER not in env, "%s: nothing of glassboxd's environment (%s absent)"
          % (what, MARKER))
    return env


# ---- with session.user: the session and its app are the account's ----
d = make_daemon(work, ACCOUNT)
try:
    if not check(d.start(), "glassboxd starts as root with session.user = %s (%s)"
                 % (ACCOUNT, d.log_text()[-400:])):
        finish()
    check(re.search(r"sessions run as '%s' \(uid %d, session.user\)" % (ACCOUNT, account.uid),
                    d.log_text()) is not None, "glassboxd says who sessions run as")
    with open("/proc/%d/environ" % d.proc.pid, "rb") as f:
        check(MARKER.encode() in f.read(), "the marker is in glassboxd's own environment")

    status, token, _, _ = d.login()
    check(status == 200 and token is not None, "the demo login works (%d)" % status)
    ws = d.websocket(cookie=token)
    first = ws.recv_json(timeout=15) if ws.status == 101 else None
    check(first is not None and first.get("type") == "session",
          "the signalling WebSocket gets a session (%r)" % first)
    started = d.wait_log(SESSION_START, 15)
    ready = d.wait_log(r"session \S+ of user 'demo' is ready", 20)
    check(started is not None and ready is not None, "the session started and said READY")
    if started is None:
        finish()
    session_id, pid = started.group(1), int(started.group(2))

    env = check_runs_as_account("glassbox-session", pid)
    check(env.get("USER") == ACCOUNT and env.get("LOGNAME") == ACCOUNT
          and env.get("HOME") == HOME and env.get("PATH") == "/usr/local/bin:/usr/bin:/bin",
          "glassbox-session: USER, LOGNAME, HOME and PATH are the account's (%r)"
          % {k: env.get(k) for k in ("USER", "LOGNAME", "HOME", "PATH")})
    session_dir = os.path.join(d.runtime, "sessions", session_id)
    check(env.get("XDG_RUNTIME_DIR") == session_dir,
          "glassbox-session: XDG_RUNTIME_DIR is its session folder")
    check(os.readlink("/proc/%d/cwd" % pid) == HOME, "glassbox-session works in the account's home")
    info = os.stat(session_dir)
    check(info.st_uid == account.uid and info.st_mode & 0o777 == 0o700,
          "the session folder is the account's, 0700 (uid %d, %o)"
          % (info.st_uid, info.st_mode & 0o777))
    sessions_mode = os.stat(os.path.join(d.runtime, "sessions")).st_mode & 0o777
    check(sessions_mode == 0o711, "sessions/ is searchable, not listable (%o)" % sessions_mode)

    apps = []
    deadline = time.monotonic() + 10
    while not apps and time.monotonic() < deadline:
        apps = running(os.path.realpath(client))
        time.sleep(0.1)
    check(len(apps) == 1, "the application runs (%r)" % apps)
    if apps:
        check_runs_as_account("the application", apps[0])

    # glassboxd still reaches the session's socket: the hello is relayed and
    # the session's offer comes back.
    ws.send_json(HELLO)
    offer = ws.recv_json(timeout=30, skip=("ice", "info"))
    check(offer is not None and offer.get("type") == "offer",
          "hello relayed to the session, its offer came back (%r)"
          % (offer if offer is None else offer.get("type")))
    ws.close()
    check(d.wait_log(r"session %s of user 'demo' .*(ended|exited)" % session_id, 15)
          is not None or not os.path.exists("/proc/%d" % pid),
          "the session ends 1 s after its viewer left")
    check(wait_for_gone(session_dir, 10), "the session folder is removed")

    # A reload that takes session.user away: the next session is refused,
    # not started as root.
    with open(d.config) as f:
        text = f.read()
    with open(d.config, "w") as f:
        f.write(text.replace('user = "%s";' % ACCOUNT, ""))
    d.proc.send_signal(signal.SIGHUP)
    check(d.wait_log(r"reloaded ", 10) is not None, "the reload without session.user is applied")
    ws = d.websocket(cookie=token)
    first = ws.recv_json(timeout=15) if ws.status == 101 else None
    check(d.wait_log(r"runs as root, so every session would run as root; set session.user",
                     10) is not None and d.wait_log(r"session for user 'demo' not started", 5)
          is not None, "after it, a session start is refused, naming session.user")
    check(first is None or first.get("type") in ("error", "ended"),
          "the viewer gets no session (%r)" % first)
    ws.close()
    check(d.stop() == 0, "glassboxd stops cleanly")
finally:
    d.close()

# ---- the account cannot reach runtime_dir: refused at start, with the folder named ----
tmp = tempfile.TemporaryDirectory(prefix="gb-root-unreachable-")
d = make_daemon(tmp, ACCOUNT)
os.chmod(d.root, 0o700)
try:
    d.start(wait=False)
    status = d.wait_exit(timeout=15)
    log = d.log_text()
    check(status == 1 and "key 'session.user': '%s' cannot reach %s/sessions" % (ACCOUNT, d.runtime)
          in log, "a runtime_dir the account cannot reach: exit 1 naming it (got %r: %s)"
          % (status, log.strip()[-300:]))
finally:
    d.close()
    tmp.cleanup()

work.cleanup()
finish()
