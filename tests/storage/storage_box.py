"""The storage suite's box: an unprivileged account the sessions run as
(session.user, the direct spawner), real remotes on 127.0.0.1 (sshd for
SFTP, Apache mod_dav for WebDAV) run by an account of their own, another
account standing for a second user of the box, the operator's remotes file,
and glassboxd with storage-rclone. Its application is a script the test
writes (~/scenario.sh), then the test client's window.

Used by tests/storage/test-storage.py and tests/bench/storage-figures.py.
Only the Python standard library; every wait is bounded. Call
storage_servers.enter_namespaces() before making one."""

import atexit
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time

import gbdaemon
import storage_servers as servers
from gbtest import check, finish

SESSION_START = re.compile(r"session ([0-9a-f]{16}): starting for user 'demo' \(pid (\d+)")
GLASSBOXCTL = os.path.join(gbdaemon.BUILD, "core", "ctl", "glassboxctl")


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def wait_new(d, pattern, mark, timeout):
    """The first match of @pattern in the log written after @mark (len(log_text()))."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + timeout
    while True:
        match = regex.search(d.log_text()[mark:])
        if match or time.monotonic() > deadline:
            return match
        time.sleep(0.05)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def mounted(target):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def sidecar_pids(target):
    """The rclone mount processes serving @target."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 3 and argv[1] == b"mount" and argv[3] == target.encode():
            pids.append(int(entry))
    return pids


def status_api(d, token):
    status, _, body = d.request("GET", "/api/storage/status", cookie=token)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


class Box:
    def __init__(self, prefix="gb-storage-"):
        suffix = os.getpid() % 100000
        self.work = tempfile.TemporaryDirectory(prefix=prefix)
        work = self.work.name
        os.chmod(work, 0o711)
        self.account = gbdaemon.Account("gbstore%d" % suffix, os.path.join(work, "home"))
        self.remote_account = gbdaemon.Account("gbremote%d" % suffix,
                                               os.path.join(work, "remote"), shell="/bin/sh",
                                               unlocked=True)
        self.other = gbdaemon.Account("gbother%d" % suffix, os.path.join(work, "other"),
                                      shell="/bin/sh")
        self.sftp = servers.Sftp(work, self.remote_account)
        self.dav = servers.WebDav(work, self.remote_account)
        check(self.sftp.start(), "sshd serves SFTP on 127.0.0.1:%d" % self.sftp.port)
        check(self.dav.start(), "Apache serves WebDAV on 127.0.0.1:%d" % self.dav.port)
        self.sftp_root = os.path.join(self.remote_account.home, "users", "demo")
        self.dav_root = os.path.join(self.dav.root, "demo")
        self.cloud = os.path.join(self.account.home, "Cloud")

        # What the account runs, out of a build tree it may not be able to read.
        self.session_binary, client = gbdaemon.copy_for_account(work)
        self.app = os.path.join(work, "bin", "storage-app")
        with open(self.app, "w") as f:
            f.write("#!/bin/sh\n# The test's application: what ~/scenario.sh says, then a "
                    "window.\nif [ -x \"$HOME/scenario.sh\" ]; then\n"
                    "  \"$HOME/scenario.sh\" > \"$HOME/scenario.log\" 2>&1 &\nfi\n"
                    "exec %s --color 204080\n" % client)
        os.chmod(self.app, 0o755)

        # The operator's remotes: root's, 0600. Credentials only here and on the
        # sidecars' fd 3. Some are broken on purpose (the bad-settings case).
        self.remotes_file = os.path.join(work, "remotes.conf")
        self.dav_obscured = servers.obscure(self.dav.password)
        with open(self.remotes_file, "w") as f:
            f.write(self.sftp.section("org") + self.dav.section("dav", self.dav_obscured)
                    + "[bad]\ntype = nosuchbackend\n"
                    + "[down]\ntype = sftp\nhost = 127.0.0.1\nport = %d\nuser = nobody\n"
                    % servers.free_port()
                    + "[nocreds]\ntype = sftp\nhost = 127.0.0.1\nport = %d\nuser = %s\n"
                    % (self.sftp.port, self.remote_account.name))
        os.chmod(self.remotes_file, 0o600)
        self.secrets = [self.sftp.key_pem.split("\\n")[1], self.dav_obscured, self.dav.password]

        # A private bus for glassboxd's D-Bus API (glassboxctl session list).
        self.bus_address = "unix:path=" + os.path.join(work, "bus.socket")
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                "--address=" + self.bus_address], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        atexit.register(bus.kill)
        check(wait_for(lambda: os.path.exists(os.path.join(work, "bus.socket")), 10),
              "a private D-Bus for glassboxctl")
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address

    def as_other(self, command):
        """@command as another user of the box, with a shell of their own."""
        return subprocess.run(["setpriv", "--reuid", str(self.other.uid), "--regid",
                               str(self.other.gid), "--clear-groups"] + command,
                              capture_output=True, text=True, timeout=30)

    def make_daemon(self, mounts, extra_env=None, write_back_s=1, dir_cache_time_s=2,
                    conf_extra="", remotes_setting=None):
        d = gbdaemon.Daemon(session_binary=self.session_binary, command=self.app,
                            session_extra='idle_timeout_s = 1; user = "%s";'
                            % self.account.name,
                            server_extra='spawner = "direct";')
        with open(d.config, "a") as f:
            f.write(conf_extra)
        for path in (d.root, d.runtime):
            os.chmod(path, 0o711)
        with open(os.path.join(d.dropins, "70-storage-rclone.ini"), "w") as f:
            f.write("[plugin]\nkind = storage\nname = rclone\n\n[settings]\n"
                    "remotes_file = %s\nmounts = %s\nwrite_back_s = %d\n"
                    "dir_cache_time_s = %d\ncache_max_size_mb = 4096\n"
                    % (remotes_setting or self.remotes_file, mounts, write_back_s,
                       dir_cache_time_s))
        os.chmod(d.dropins, 0o755)
        for name in os.listdir(d.dropins):
            os.chmod(os.path.join(d.dropins, name), 0o644)
        os.chmod(d.config, 0o644)
        for key, value in (extra_env or {}).items():
            os.environ[key] = value
        ok = d.start()
        for key in (extra_env or {}):
            del os.environ[key]
        check(ok, "glassboxd starts with storage-rclone (%s)" % d.log_text()[-300:])
        return d

    def home_file(self, name):
        return os.path.join(self.account.home, name)

    def scenario(self, text):
        """The application's next actions; it touches ~/scenario.done at the end."""
        for name in ("scenario.done", "scenario.log", "go", "listed"):
            try:
                os.unlink(self.home_file(name))
            except FileNotFoundError:
                pass
        path = self.home_file("scenario.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nset -e\n" + text + "\ntouch \"$HOME/scenario.done\"\n")
        os.chmod(path, 0o755)
        os.chown(path, self.account.uid, self.account.gid)

    def scenario_done(self, timeout=120):
        done = wait_for(lambda: os.path.exists(self.home_file("scenario.done")), timeout)
        if not done:
            try:
                with open(self.home_file("scenario.log")) as f:
                    print("scenario.log:", f.read()[-800:])
            except OSError:
                pass
        return done

    def sums(self):
        """{name: SHA-256} from the ~/scenario.sums the application wrote."""
        result = {}
        with open(self.home_file("scenario.sums")) as f:
            for line in f:
                digest, name = line.split()
                result[name] = digest
        return result

    def start_session(self, d, what):
        mark = len(d.log_text())
        status, token, _, _ = d.login()
        ws = d.websocket(cookie=token)
        first = ws.recv_json(timeout=60) if ws.status == 101 else None
        started = wait_new(d, SESSION_START, mark, 60)
        ready = wait_new(d, r"session \S+ of user 'demo' is ready", mark, 60)
        check(status == 200 and first is not None and started is not None
              and ready is not None,
              "%s: the session starts after its mounts (%s)" % (what, d.log_text()[-3000:]))
        if started is None:
            finish()
        return token, ws, started.group(1), int(started.group(2))

    def end_session(self, d, ws, session_id, what, timeout=120):
        ws.close()
        stopped = wait_new(d, r"storage: the mounts of session %s are all stopped"
                           % session_id, 0, timeout)
        check(stopped is not None, "%s: the mounts flush and stop after the session (%s)"
              % (what, d.log_text()[-600:]))
