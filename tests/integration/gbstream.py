# SPDX-License-Identifier: MIT
"""Fixtures for the streaming tests: a glassbox-session with its signal
socket and the real capture and encoder plugins, and WebRTC viewers
(tests/clients/glassbox-test-viewer) that decode what it sends.

WebRTC opens UDP sockets, so every test that uses this module runs inside
its own network namespace holding only loopback: call
in_network_namespace() first. Only the Python standard library; every wait
is bounded in time."""

import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

import gbtest

VIEWER = os.path.join(gbtest.BUILD, "tests", "clients", "glassbox-test-viewer")
NAMESPACE_MARK = "GB_TEST_NETNS"


def in_network_namespace():
    """Run this test again inside `unshare -n` with lo up, unless it already is."""
    if os.environ.get(NAMESPACE_MARK) == "1":
        return
    env = dict(os.environ)
    env[NAMESPACE_MARK] = "1"
    sys.stdout.flush()
    try:
        result = subprocess.run(
            ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
             sys.executable, *sys.argv], env=env, timeout=600)
    except FileNotFoundError:
        print("FAIL: unshare(1) is missing: WebRTC tests need a loopback-only namespace")
        sys.exit(1)
    except subprocess.TimeoutExpired:
        print("FAIL: the test did not finish within 600 s")
        sys.exit(1)
    sys.exit(result.returncode)


def plugin_path():
    """The real plugins' build folders (meson sets GB_PLUGIN_BUILD_PATH)."""
    path = os.environ.get("GB_PLUGIN_BUILD_PATH")
    if not path:
        path = ":".join(os.path.join(gbtest.BUILD, "plugins", p) for p in
                        ("capture-weston", "encoder-x264", "encoder-vp8", "encoder-nvenc"))
    return path


def has_plugin(label):
    """True when <label>.so (e.g. "encoder-nvenc") was built."""
    return any(os.path.exists(os.path.join(d, label + ".so"))
               for d in plugin_path().split(":") if d)


def close_colour(a, b, tolerance=8):
    return a is not None and b is not None and all(abs(x - y) <= tolerance
                                                   for x, y in zip(a, b))


def dropin(kind, name, optional=False, settings=None):
    text = "[plugin]\nkind = %s\nname = %s\n" % (kind, name)
    if optional:
        text += "optional = true\n"
    if settings:
        text += "\n[settings]\n" + "".join("%s = %s\n" % kv for kv in settings.items())
    return text


class StreamSession(gbtest.Session):
    """A session streaming through --signal-socket, with the real capture-weston
    and the encoder plugins named in encoders ({name: optional})."""

    def __init__(self, command, encoders=None, webrtc="", session_extra="", width=640,
                 height=480, **kwargs):
        encoders = encoders if encoders is not None else {"x264": False}
        self.signal_dir = tempfile.TemporaryDirectory(prefix="gb-sig-")
        self.signal_path = os.path.join(self.signal_dir.name, "signal.sock")
        dropins = {"10-capture-weston.ini": dropin("capture", "weston")}
        for i, (name, optional) in enumerate(encoders.items()):
            dropins["2%d-encoder-%s.ini" % (i, name)] = dropin("encoder", name, optional)
        os.environ["GLASSBOX_PLUGIN_PATH"] = plugin_path()
        # Under ASan: GLib leaves a block behind by design while GStreamer loads
        # (tests/lsan.supp); only the slow unwinder records the stack that
        # tells it apart.
        asan = os.environ.get("ASAN_OPTIONS", "")
        if asan and "fast_unwind_on_malloc" not in asan:
            os.environ["ASAN_OPTIONS"] = asan + ":fast_unwind_on_malloc=0"
        ready_read, ready_write = os.pipe()
        try:
            super().__init__(
                command, width=width, height=height, xwayland=False,
                config_extra=session_extra, dropins=dropins,
                config_groups='webrtc = { ice_addresses = [ "127.0.0.1" ]; %s };\n' % webrtc,
                extra_args=("--signal-socket", self.signal_path, "--ready-fd",
                            str(ready_write)),
                pass_fds=(ready_write,), **kwargs)
        finally:
            os.close(ready_write)
        self.ready_fd = ready_read

    def wait_ready(self, timeout=20.0):
        """True once the session wrote READY on --ready-fd."""
        deadline = time.monotonic() + timeout
        data = b""
        while time.monotonic() < deadline and b"\n" not in data:
            readable, _, _ = select.select([self.ready_fd], [], [],
                                           max(0.0, deadline - time.monotonic()))
            if not readable:
                break
            chunk = os.read(self.ready_fd, 64)
            if not chunk:
                break
            data += chunk
        return data == b"READY\n"

    def stream_stats(self):
        return self.stats()

    def wait_stats(self, predicate, timeout=10.0):
        """Poll stats until predicate(stats) holds; return the last stats."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if predicate(stats) or time.monotonic() > deadline:
                return stats
            time.sleep(0.1)

    def close(self):
        super().close()
        os.close(self.ready_fd)
        self.signal_dir.cleanup()


class Viewer:
    """One glassbox-test-viewer on the session's signal socket."""

    FRAME = re.compile(r"frame (\d+) (\d+)x(\d+) rgb=([0-9a-f]{6}) t=([0-9.]+)")

    def __init__(self, session, codecs="H264,VP8", frames=0, timeout_ms=60000, probe=None,
                 size=None, name="viewer"):
        self.session = session
        args = [VIEWER, "--signal-socket", session.signal_path, "--codecs", codecs,
                "--timeout-ms", str(timeout_ms)]
        if frames:
            args += ["--frames", str(frames)]
        if probe:
            args += ["--probe", "%d,%d" % probe]
        if size:
            args += ["--width", str(size[0]), "--height", str(size[1])]
        self.log_path = os.path.join(session.tmp.name, "%s-%d.log" % (name, id(self)))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        self.frames = []  # (n, width, height, rgb, t_ms)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return None, False
        try:
            line = self.lines.get(timeout=left)
        except queue.Empty:
            return None, False
        if line is None:
            self.lines.put(None)
            return None, False
        match = self.FRAME.fullmatch(line)
        if match:
            self.frames.append((int(match.group(1)), int(match.group(2)),
                                int(match.group(3)), gbtest.colour(match.group(4)),
                                float(match.group(5))))
        return line, True

    def wait_line(self, pattern, timeout=15.0):
        """The first line matching pattern (a regex), or None."""
        regex = re.compile(pattern)
        for line in self.seen:
            if regex.fullmatch(line):
                self.seen.remove(line)
                return line
        deadline = time.monotonic() + timeout
        while True:
            line, more = self._next(deadline)
            if not more:
                return None
            if regex.fullmatch(line):
                return line
            if not self.FRAME.fullmatch(line):
                self.seen.append(line)

    def wait_colour(self, rgb, tolerance=8, timeout=10.0):
        """Read frames until one shows rgb (within tolerance); the last colour seen."""
        deadline = time.monotonic() + timeout
        if self.frames and close_colour(self.frames[-1][3], rgb, tolerance):
            return self.frames[-1][3]
        while True:
            line, more = self._next(deadline)
            if not more:
                return self.frames[-1][3] if self.frames else None
            if self.FRAME.fullmatch(line):
                if close_colour(self.frames[-1][3], rgb, tolerance):
                    return self.frames[-1][3]
            else:
                self.seen.append(line)

    def wait_frame(self, predicate, timeout=10.0):
        """Read frames until predicate((n, width, height, rgb, t_ms)); that frame or None."""
        deadline = time.monotonic() + timeout
        for frame in self.frames:
            if predicate(frame):
                return frame
        while True:
            line, more = self._next(deadline)
            if not more:
                return None
            if self.FRAME.fullmatch(line):
                if predicate(self.frames[-1]):
                    return self.frames[-1]
            else:
                self.seen.append(line)

    def frames_during(self, seconds):
        """Frames decoded during the next seconds (reading everything meanwhile)."""
        before = len(self.frames)
        deadline = time.monotonic() + seconds
        while True:
            line, more = self._next(deadline)
            if not more:
                break
            if not self.FRAME.fullmatch(line):
                self.seen.append(line)
        return len(self.frames) - before

    def info(self, timeout=15.0):
        """The "info" line as a dict, or None."""
        line = self.wait_line(r"info .*", timeout)
        if not line:
            return None
        match = re.fullmatch(r"info codec=(?P<codec>\S+) encoder=(?P<encoder>\S+) "
                             r"width=(?P<width>\d+) height=(?P<height>\d+) "
                             r"fallback=(?P<fallback>.*)", line)
        return match.groupdict() if match else None

    def send(self, message):
        """One message on the data channel (queued until it opens)."""
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def wait_exit(self, timeout=15.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """Leave abruptly, as a closed browser tab does."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        return self.wait_exit()

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.log.close()


def dump_logs(session, *viewers):
    """On failure: what the session and the viewers said."""
    if not gbtest.failures:
        return
    print("--- session log (tail) ---")
    print("\n".join(session.log_text().splitlines()[-60:]))
    for viewer in viewers:
        if viewer:
            print("--- %s (stderr tail) ---" % viewer.log_path)
            print("\n".join(viewer.log_text().splitlines()[-20:]))
