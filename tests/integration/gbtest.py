# SPDX-License-Identifier: MIT
"""A headless fixture for integration tests: a real glassbox-session on
libweston's headless backend, its control socket, and PNG frames read back.

Only the Python standard library; every wait is bounded in time."""

import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

BUILD = os.environ.get("GB_BUILD_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SESSION = os.path.join(BUILD, "core", "session", "glassbox-session")
CLIENT = os.path.join(BUILD, "tests", "clients", "glassbox-test-client")
X11_CLIENT = os.path.join(BUILD, "tests", "clients", "glassbox-test-x11-client")

failures = 0


def check(condition, message):
    """Record one assertion; the test exits non-zero if any failed."""
    global failures
    if condition:
        print("ok: " + message, flush=True)
    else:
        failures += 1
        print("FAIL: " + message, flush=True)
    return condition


def finish():
    print("%s: %d failed" % (os.path.basename(sys.argv[0]), failures), flush=True)
    sys.exit(1 if failures else 0)


def read_png(path):
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG into (w, h, rows)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError("%s: unsupported PNG layout" % path)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xff
            elif kind == 2:
                line[i] = (line[i] + b) & 0xff
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xff
        rows.append(line)
        previous = line
    return width, height, channels, rows


class Frame:
    def __init__(self, path):
        self.width, self.height, self.channels, self.rows = read_png(path)

    def pixel(self, x, y):
        row = self.rows[y]
        return tuple(row[x * self.channels:x * self.channels + 3])


def colour(text):
    return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))


class Session:
    """One glassbox-session. The application's stdout comes back as lines."""

    def __init__(self, command, width=640, height=480, xwayland=True, config_extra="",
                 extra_args=(), dropins=None, config_groups="", pass_fds=()):
        self.tmp = tempfile.TemporaryDirectory(prefix="gb-it-")
        self.runtime = os.path.join(self.tmp.name, "run")
        os.mkdir(self.runtime, 0o700)
        self.dropin_dir = os.path.join(self.tmp.name, "plugins.d")
        os.mkdir(self.dropin_dir)
        for name, text in (dropins or {}).items():
            with open(os.path.join(self.dropin_dir, name), "w") as f:
                f.write(text)
        self.config = os.path.join(self.tmp.name, "glassbox.conf")
        with open(self.config, "w") as f:
            f.write('session = { width = %d; height = %d; xwayland = %s; %s };\n'
                    'plugins = { vendor_dir = "%s/none"; config_dir = "%s"; };\n'
                    % (width, height, "true" if xwayland else "false", config_extra,
                       self.tmp.name, self.dropin_dir))
            # Further groups (webrtc = { ... };), for the streaming tests.
            f.write(config_groups)
        self.control_path = os.path.join(self.runtime, "control")
        self.log_path = os.path.join(self.tmp.name, "session.log")
        env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime)
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("DISPLAY", None)
        self.log = open(self.log_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [SESSION, "-c", self.config, "-i", "it", "--control", self.control_path,
             "--log-level", "debug", *extra_args, "--", *command],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True, pass_fds=pass_fds)
        self.lines = queue.Queue()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, pattern, timeout=10.0):
        """The first line of application output matching pattern, or None."""
        regex = re.compile(pattern)
        for line in self.seen:
            if regex.fullmatch(line):
                self.seen.remove(line)
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                self.lines.put(None)
                return None
            if regex.fullmatch(line):
                return line
            self.seen.append(line)

    def wait_control(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.control_path):
                return True
            time.sleep(0.02)
        return False

    def control(self, *lines, timeout=10.0):
        """Send command lines on one connection; return the answers."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control_path)
            s.sendall("".join(line + "\n" for line in lines).encode())
            answers, data = [], b""
            while len(answers) < len(lines):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
                while b"\n" in data:
                    line, data = data.split(b"\n", 1)
                    answers.append(line.decode())
            return answers

    def stats(self):
        answer = self.control("stats")[0]
        return dict(kv.split("=", 1) for kv in answer.split()[1:])

    def screenshot(self):
        path = os.path.join(self.tmp.name, "frame-%f.png" % time.monotonic())
        answer = self.control("screenshot " + path)
        if answer != ["ok"]:
            raise RuntimeError("screenshot failed: %r" % answer)
        return Frame(path)

    def wait_colour(self, x, y, rgb, timeout=5.0):
        """Poll frames until pixel (x, y) is rgb; return the last pixel seen."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.screenshot().pixel(x, y)
            if seen == rgb or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signal the session and return its exit status (None on time-out)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
        self.tmp.cleanup()


def process_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def processes_in_group(pgid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def reexec_in_fresh_tmp():
    """Run this test again in a private mount and network namespace with an
    empty /tmp (tests/in-fresh-tmp, then `unshare -n`): what a fresh machine
    has, whatever this one has lying around. Returns in the new process."""
    if os.environ.get("GB_TEST_FRESH_TMP") == "1":
        return
    source = os.environ.get("GB_SOURCE_ROOT") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", ".."))
    env = dict(os.environ, GB_TEST_FRESH_TMP="1")
    os.execvpe(os.path.join(source, "tests", "in-fresh-tmp"),
               [os.path.join(source, "tests", "in-fresh-tmp"), "unshare", "-n", "--",
                sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]], env)


# X11 applications inside a session: what its X server says about them.

def x11_display(session):
    """The session's X11 display (":N") as its log names it, or None."""
    for line in session.log_text().splitlines():
        if "X11 display :" in line:
            return ":" + line.rsplit(":", 1)[1].strip()
    return None


def x11_command(display, *argv):
    """Run an X11 utility (x11-utils) on display; its stdout, "" on failure."""
    env = dict(os.environ, DISPLAY=display)
    env.pop("WAYLAND_DISPLAY", None)
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def x11_active_window_geometry(display):
    """(x, y, width, height) of the window the X11 window manager made
    active (_NET_ACTIVE_WINDOW), in root coordinates, as the X server has
    it; None when there is none."""
    match = re.search(r"window id # (0x[0-9a-f]+)",
                      x11_command(display, "xprop", "-root", "_NET_ACTIVE_WINDOW"))
    if not match or int(match.group(1), 16) == 0:
        return None
    info = x11_command(display, "xwininfo", "-id", match.group(1))
    fields = {}
    for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"):
        found = re.search(r"%s:\s+(-?\d+)" % key, info)
        if not found:
            return None
        fields[key] = int(found.group(1))
    return (fields["Absolute upper-left X"], fields["Absolute upper-left Y"], fields["Width"],
            fields["Height"])


def wait_x11_geometry(display, expected, timeout=10.0):
    """Poll x11_active_window_geometry() until it is expected; the last seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = x11_active_window_geometry(display)
        if seen == expected or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def edge_pixels(frame):
    """Every pixel of the frame's first and last rows and columns."""
    w, h = frame.width, frame.height
    return ([frame.pixel(x, 0) for x in range(w)] + [frame.pixel(x, h - 1) for x in range(w)] +
            [frame.pixel(0, y) for y in range(h)] + [frame.pixel(w - 1, y) for y in range(h)])


def unwind_through_libraries():
    """For the X11 tests under ASan: full malloc stacks, so that tests/lsan.supp
    can name libweston's xwayland module in the leaks it leaves (its frames
    are missing from the fast unwinder's stacks, which stop in cairo)."""
    options = os.environ.get("ASAN_OPTIONS", "")
    if "fast_unwind_on_malloc" not in options:
        os.environ["ASAN_OPTIONS"] = options + (":" if options else "") + \
            "fast_unwind_on_malloc=0"
