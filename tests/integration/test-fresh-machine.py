#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The first Quick start command on a fresh machine: packaging/demo (install
step skipped) in a private mount namespace with an empty /tmp and only
loopback. It prints a URL and a login; that login works over HTTP, the
session starts, says READY, draws its first frame, and a viewer's hello gets
a WebRTC offer. Ctrl-C stops everything it started."""

import glob
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
import queue
import gbtest
import gbdaemon
from gbtest import check

gbtest.reexec_in_fresh_tmp()
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

HELLO = {"type": "hello", "codecs": ["H264", "VP8"], "width": 320, "height": 240}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo(gbdaemon.Daemon):
    """The HTTP and WebSocket clients of gbdaemon, aimed at the demo."""

    def __init__(self, url, password):
        match = re.fullmatch(r"(https?)://([^/:]+):(\d+)/", url)
        self.scheme, self.host, self.port = match.group(1), match.group(2), int(match.group(3))
        self._password = password
        self.tmp = None

    def password(self):
        return self._password

    def close(self):
        pass


# Empty but for the way to this checkout when it was cloned under /tmp
# (tests/in-fresh-tmp puts it back at its own path).
source = os.path.realpath(gbdaemon.SOURCE)
in_tmp = [source.split("/")[2]] if source.startswith("/tmp/") else []
check(not os.path.lexists("/tmp/.X11-unix") and sorted(os.listdir("/tmp")) == in_tmp,
      "the namespace's /tmp is empty (%r)" % os.listdir("/tmp"))

port = free_port()
env = dict(os.environ, GB_SKIP_INSTALL="1", GB_DEMO_LISTEN="127.0.0.1:%d" % port,
           GB_BUILD_DIR=gbdaemon.BUILD)
for name in ("TMPDIR", "XDG_RUNTIME_DIR", "WAYLAND_DISPLAY", "DISPLAY"):
    env.pop(name, None)
demo = subprocess.Popen([os.path.join(gbdaemon.SOURCE, "packaging", "demo")],
                        cwd=gbdaemon.SOURCE, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
lines = queue.Queue()
output = []


def read():
    for line in demo.stdout:
        output.append(line.rstrip("\n"))
        lines.put(line.rstrip("\n"))
    lines.put(None)


threading.Thread(target=read, daemon=True).start()


def wait_output(pattern, timeout):
    """The first line of the demo's output (script and glassboxd) matching."""
    regex = re.compile(pattern)
    for line in list(output):
        match = regex.search(line)
        if match:
            return match
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if line is None:
            lines.put(None)
            return None
        match = regex.search(line)
        if match:
            return match
    return None


try:
    opened = wait_output(r"^  open:\s+(\S+)$", 300)
    login = wait_output(r"^  login:\s+demo / (\S+)$", 10)
    logged = wait_output(r"^  log:\s+(\S+)", 10)
    check(opened is not None and opened.group(1) == "http://127.0.0.1:%d/" % port,
          "the demo prints the URL (%r)" % (opened and opened.group(1)))
    check(login is not None, "the demo prints the login")
    password = login.group(1) if login else ""

    # Its files: a private folder, no fixed /tmp path, the log 0600.
    log_path = logged.group(1) if logged else ""
    folder = os.path.dirname(log_path)
    check(folder not in ("", "/tmp/glassbox-demo") and os.path.isdir(folder)
          and stat.S_IMODE(os.stat(folder).st_mode) & 0o066 == 0,
          "the demo's folder %r is private (mode %o)"
          % (folder, stat.S_IMODE(os.stat(folder).st_mode) if os.path.isdir(folder) else 0))
    check(os.path.isfile(log_path) and stat.S_IMODE(os.stat(log_path).st_mode) == 0o600,
          "its log is 0600")

    d = Demo(opened.group(1) if opened else "http://127.0.0.1:%d/" % port, password)
    status, cookie, _, body = d.login("demo", password)
    check(status == 200 and cookie, "the printed login works over HTTP (%s)" % status)
    status, _, body = d.request("GET", "/api/whoami", cookie=cookie)
    check(status == 200 and json.loads(body or b"{}").get("user") == "demo",
          "whoami says demo (%s %r)" % (status, body[:80]))
    wrong, _, _, _ = d.login("demo", password + "x")
    check(wrong == 401, "a wrong password is refused (%s)" % wrong)

    ws = d.websocket(cookie=cookie)
    first = ws.recv_json(timeout=30)
    check(first is not None and first.get("type") == "session",
          "the WebSocket names the session (%r)" % first)
    session_id = first.get("id", "none") if first else "none"
    ready = wait_output(r"session %s of user 'demo' is ready" % session_id, 90)
    check(ready is not None, "the session reached READY")
    ws.send_json(HELLO)
    offer = ws.recv_json(timeout=30, skip=("ice", "info"))
    check(offer is not None and offer.get("type") == "offer",
          "a viewer's hello gets a WebRTC offer (%r)" % (offer and offer.get("type")))

    # The first frame: the session's own figures, through its control socket.
    controls = [p for p in glob.glob(os.path.join(folder, "**", "*control*"), recursive=True)
                if stat.S_ISSOCK(os.lstat(p).st_mode)]
    check(len(controls) == 1, "one session control socket in the demo folder (%r)" % controls)
    figures = {}
    deadline = time.monotonic() + 30
    while controls and time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            c.connect(controls[0])
            c.sendall(b"stats\n")
            answer = c.recv(4096).decode()
        figures = dict(kv.split("=", 1) for kv in answer.split()[1:] if "=" in kv)
        if int(figures.get("frames", "0")) > 0 and float(
                figures.get("first_app_frame_ms", "0")) > 0:
            break
        time.sleep(0.2)
    check(int(figures.get("frames", "0")) > 0 and float(figures.get("first_app_frame_ms", "0")) > 0,
          "the application drew its first frame (frames=%s first_app_frame_ms=%s)"
          % (figures.get("frames"), figures.get("first_app_frame_ms")))
    app_pid = int(figures.get("app_pid", "0"))
    if app_pid > 0:
        with open("/proc/%d/status" % app_pid) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        check(os.geteuid() != 0 or "0" not in uids,
              "the application does not run as root (uids %s)" % " ".join(uids))
    ws.close()
finally:
    stopped = None
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            stopped = demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)
    check(stopped is not None, "Ctrl-C stops the demo (status %r)" % stopped)
    # What the demo started goes with it (the log's tee may take a moment).
    left = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(demo.pid)],
                              capture_output=True, text=True).stdout.strip().splitlines()
        if not left:
            break
        time.sleep(0.1)
    check(left == [], "nothing the demo started is left (%r)" % left)
    if gbtest.failures:
        print("--- the demo's output ---")
        print("\n".join(output[-60:]))
gbtest.finish()
