# SPDX-License-Identifier: MIT
"""A fixture for glassboxd integration tests: a real glassboxd with a
temporary configuration, state folder and runtime folder; the demo password
read from its log; and HTTP and WebSocket (RFC 6455) clients.

Only the Python standard library; every wait is bounded in time. Tests that
use it open TCP sockets, so they call enter_network_namespace() first."""

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("GB_BUILD_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("GB_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DAEMON = os.path.join(BUILD, "core", "daemon", "glassboxd")
SESSION = os.path.join(BUILD, "core", "session", "glassbox-session")
CLIENT = os.path.join(BUILD, "tests", "clients", "glassbox-test-client")
PLUGIN_PATH = os.environ.get("GB_PLUGIN_BUILD_PATH") or ":".join(
    os.path.join(BUILD, "plugins", d) for d in
    sorted(os.listdir(os.path.join(BUILD, "plugins"))) if not d.startswith("."))

PASSWORD_LINE = re.compile(r"created user 'demo' with password '([^']*)'")
LISTEN_LINE = re.compile(r"listening on (https?)://([^/]+)/")


def enter_network_namespace(mount=False):
    """Re-run this script in a network namespace that has only loopback, up
    (and, with mount, a private mount namespace too)."""
    if os.environ.get("GB_IN_NETNS") != "1":
        env = dict(os.environ, GB_IN_NETNS="1")
        unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
        if mount:
            unshare.insert(-1, "-m")
        sys.stdout.flush()
        os.execvpe(unshare[0], unshare + ["--", sys.executable] + sys.argv, env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


class Account:
    """A system account made for a test (useradd), its home @home made 0700 and
    its own; removed (userdel) at exit. @unlocked gives it the password field
    "*" (no password, but not locked: sshd without PAM refuses a locked one);
    system=False a person's uid (1000 and above) rather than a service's."""

    def __init__(self, name, home, shell="/usr/sbin/nologin", unlocked=False, system=True):
        import atexit
        import pwd
        self.name = name
        subprocess.run(["useradd"] + (["--system"] if system else []) +
                       ["--user-group", "--no-create-home", "--home-dir", home,
                        "--shell", shell, name], check=True)
        atexit.register(self.remove)
        if unlocked:
            subprocess.run(["usermod", "-p", "*", name], check=True)
        entry = pwd.getpwnam(name)
        self.uid, self.gid, self.home = entry.pw_uid, entry.pw_gid, home
        os.makedirs(home, 0o700, exist_ok=True)
        os.chown(home, self.uid, self.gid)

    def remove(self):
        subprocess.run(["userdel", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def copy_for_account(folder):
    """Copy what a session needs (the session program, the test client, the
    plugin modules) out of the build tree, which may sit where only root can
    read, into @folder (made searchable): for sessions run as an
    unprivileged account. PLUGIN_PATH then names the copies. Returns
    (session_binary, client)."""
    global PLUGIN_PATH
    os.chmod(folder, 0o711)
    bin_dir = os.path.join(folder, "bin")
    plugin_dir = os.path.join(folder, "plugins")
    os.mkdir(bin_dir, 0o755)
    os.mkdir(plugin_dir, 0o755)
    session_binary = shutil.copy(SESSION, bin_dir)
    client = shutil.copy(CLIENT, bin_dir)
    for source in PLUGIN_PATH.split(":"):
        for name in os.listdir(source):
            if name.endswith(".so"):
                os.chmod(shutil.copy(os.path.join(source, name), plugin_dir), 0o644)
    for path in (session_binary, client):
        os.chmod(path, 0o755)
    PLUGIN_PATH = plugin_dir
    return session_binary, client


class Daemon:
    """One glassboxd. Its folders live in a temporary directory that survives
    restart() (same users file, same generated certificate)."""

    def __init__(self, listen="127.0.0.1:0", server_extra="", session_extra="",
                 webrtc_extra="", web_files=None, tmp=None, session_binary=SESSION,
                 command=None):
        self.tmp = tmp or tempfile.TemporaryDirectory(prefix="gb-daemon-")
        self.owns_tmp = tmp is None
        root = self.tmp.name
        self.root = root
        self.state = os.path.join(root, "state")
        self.runtime = os.path.join(root, "run")
        self.web = os.path.join(root, "web")
        self.dropins = os.path.join(root, "plugins.d")
        for d in (self.state, self.runtime, self.dropins):
            os.makedirs(d, 0o700, exist_ok=True)
        os.makedirs(self.web, exist_ok=True)
        for name, content in (web_files or {}).items():
            path = os.path.join(self.web, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
        self.users = os.path.join(self.state, "users")
        # The session's plugins, named like the vendor drop-ins they stand
        # in for; glassboxd loads only the auth one.
        dropins = {
            "10-capture-weston.ini": "[plugin]\nkind = capture\nname = weston\n",
            "30-encoder-x264.ini": "[plugin]\nkind = encoder\nname = x264\n",
            "31-encoder-vp8.ini": "[plugin]\nkind = encoder\nname = vp8\n",
            "50-auth-local.ini": "[plugin]\nkind = auth\nname = local\n\n[settings]\n"
                                 "users_file = %s\n" % self.users,
        }
        for name, text in dropins.items():
            with open(os.path.join(self.dropins, name), "w") as f:
                f.write(text)
        self.config = os.path.join(root, "glassbox.conf")
        # command=False: no session.command at all.
        if command is not False:
            command = 'command = [ "%s", "--color", "204080" ];' % (command or CLIENT)
        with open(self.config, "w") as f:
            f.write('server = { listen = "%s"; state_dir = "%s"; runtime_dir = "%s";\n'
                    '  web_dir = "%s"; session_binary = "%s"; %s };\n'
                    'session = { %s width = 320;\n'
                    '  height = 240; xwayland = false; %s };\n'
                    'webrtc = { ice_addresses = [ "127.0.0.1" ]; %s };\n'
                    'plugins = { vendor_dir = "%s"; config_dir = "%s"; };\n'
                    % (listen, self.state, self.runtime, self.web, session_binary,
                       server_extra, command or "", session_extra, webrtc_extra,
                       os.path.join(SOURCE, "config", "plugins.d"), self.dropins))
        self.log_path = os.path.join(root, "glassboxd.log")
        self.proc = None
        self.scheme = self.host = None
        self.port = 0

    def start(self, wait=True, timeout=15.0):
        """Start glassboxd; with wait, until it listens (False if it did not)."""
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) \
            else 0
        self.log = open(self.log_path, "a")
        env = dict(os.environ, GLASSBOX_PLUGIN_PATH=PLUGIN_PATH)
        # Tests run as root with no session.user (test-root-sessions.py sets "0").
        env.setdefault("GB_TEST_ALLOW_ROOT_SESSIONS", "1")
        self.proc = subprocess.Popen([DAEMON, "-c", self.config, "--log-level", "debug"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        if not wait:
            return True
        match = self.wait_log(LISTEN_LINE, timeout)
        if not match:
            return False
        self.scheme = match.group(1)
        address, port = match.group(2).rsplit(":", 1)
        self.port = int(port)
        self.host = address.strip("[]")
        if self.host in ("0.0.0.0", "::"):
            self.host = "127.0.0.1"
        return True

    def log_text(self, whole=False):
        with open(self.log_path, errors="replace") as f:
            text = f.read()
        return text if whole else text[self.log_offset:]

    def wait_log(self, pattern, timeout=10.0):
        """The first match of pattern in this run's log, waiting for it."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.log_text())
            if match or time.monotonic() > deadline:
                return match
            if self.proc.poll() is not None:
                return regex.search(self.log_text())
            time.sleep(0.05)

    def password(self):
        """The demo password, from the log of any run."""
        match = PASSWORD_LINE.search(self.log_text(whole=True))
        return match.group(1) if match else None

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Signal glassboxd and return its exit status (None on time-out)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            status = None
        self.log.close()
        return status

    def wait_exit(self, timeout=10.0):
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.log.close()
        return status

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        if self.owns_tmp:
            self.tmp.cleanup()

    # HTTP

    def ssl_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.certificate_path())
        return context

    def certificate_path(self):
        return os.path.join(self.state, "tls-certificate.pem")

    def connection(self, timeout=10.0, context=None):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=context or self.ssl_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def origin(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    def request(self, method, path, body=None, headers=None, cookie=None):
        """One request on a fresh connection: (status, headers, body bytes)."""
        headers = dict(headers or {})
        if cookie:
            headers["Cookie"] = "glassbox_session=" + cookie
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.headers, data
        finally:
            conn.close()

    def raw_request(self, line):
        """Send a request line as is (no client-side path clean-up)."""
        conn = self.connection()
        try:
            conn.putrequest("GET", line, skip_host=False, skip_accept_encoding=True)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def login(self, user="demo", password=None):
        """(status, cookie token or None, headers, body)."""
        status, headers, body = self.request(
            "POST", "/api/login",
            {"username": user, "password": password if password is not None
             else self.password()})
        token = None
        for value in headers.get_all("Set-Cookie") or []:
            match = re.match(r"glassbox_session=([^;]*)", value)
            if match and match.group(1):
                token = match.group(1)
        return status, token, headers, body

    def websocket(self, cookie=None, origin="own", path="/api/session", timeout=10.0):
        ws = WebSocket()
        headers = {}
        if cookie:
            headers["Cookie"] = "glassbox_session=" + cookie
        if origin == "own":
            headers["Origin"] = self.origin()
        elif origin:
            headers["Origin"] = origin
        context = self.ssl_context() if self.scheme == "https" else None
        ws.connect(self.host, self.port, path, headers, context, timeout)
        return ws


class WebSocket:
    """A minimal RFC 6455 client: handshake, masked frames out, frames in."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self):
        self.sock = None
        self.status = None
        self.headers = {}
        self.body = b""
        self.buffer = b""
        self.close_code = None

    def connect(self, host, port, path, headers, context, timeout):
        sock = socket.create_connection((host, port), timeout=timeout)
        if context:
            sock = context.wrap_socket(sock, server_hostname=host)
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path,
                 "Host: %s:%d" % ("[%s]" % host if ":" in host else host, port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        lines += ["%s: %s" % item for item in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = sock.recv(4096)
            if not chunk or len(self.buffer) > 65536:
                raise ConnectionError("no handshake answer")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            length = int(self.headers.get("content-length", "0"))
            while len(self.buffer) < length:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                self.buffer += chunk
            self.body = self.buffer[:length]
            sock.close()
            self.sock = None
            return
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if self.headers.get("sec-websocket-accept") != accept:
            raise ConnectionError("bad Sec-WebSocket-Accept")

    def send_frame(self, opcode, payload, fin=True):
        header = bytes([(0x80 if fin else 0) | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", length)
        mask = os.urandom(4)
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")) \
            .to_bytes(length, "big") if length else b""
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def _read(self, n, deadline):
        while len(self.buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv(self, timeout=10.0):
        """The next data frame as (opcode, payload); ('close', code) on close;
        ('eof', None) when the connection ends without one; None on time-out."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                b0, b1 = self._read(2, deadline)
                length = b1 & 0x7f
                if length == 126:
                    length = struct.unpack(">H", self._read(2, deadline))[0]
                elif length == 127:
                    length = struct.unpack(">Q", self._read(8, deadline))[0]
                if b1 & 0x80:
                    self._read(4, deadline)  # servers never mask; tolerate it
                payload = self._read(length, deadline)
                opcode = b0 & 0x0f
                if opcode == 0x9:
                    self.send_frame(0xA, payload)
                    continue
                if opcode == 0xA:
                    continue
                if opcode == 0x8:
                    self.close_code = struct.unpack(">H", payload[:2])[0] \
                        if len(payload) >= 2 else 1005
                    try:
                        self.send_frame(0x8, payload[:2])
                    except OSError:
                        pass
                    return ("close", self.close_code)
                return (opcode, payload)
        except TimeoutError:
            return None
        except (EOFError, ConnectionError, OSError):
            return ("eof", None)

    def recv_json(self, timeout=10.0, skip=()):
        """The next text message as JSON, skipping types in skip; None when
        something else came (the close code is then in close_code)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.0, deadline - time.monotonic()))
            if frame is None or frame[0] != 0x1:
                return None
            message = json.loads(frame[1])
            if message.get("type") not in skip:
                return message

    def wait_close(self, timeout=10.0):
        """Read until the server closes; its close code, 1006 without a
        close frame, or None on time-out."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.0, deadline - time.monotonic()))
            if frame is None:
                return None
            if frame[0] == "close":
                return frame[1]
            if frame[0] == "eof":
                return 1006

    def close(self, code=1000):
        if self.sock is None:
            return
        try:
            self.send_frame(0x8, struct.pack(">H", code))
            self.wait_close(timeout=2.0)
        except OSError:
            pass
        self.sock.close()
        self.sock = None
