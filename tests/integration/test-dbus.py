#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""org.glassbox.Manager1 and glassboxctl against a real glassboxd on a
private dbus-daemon, inside network and mount namespaces of their own.

The bus uses the shipped policy (packaging/dbus/org.glassbox.Manager1.conf)
under a system.conf-like default policy. glassboxd runs with the direct
spawner, auth-local and auth-example, and a real glassbox-session with the
test client. Checked: properties and status; users added, listed, given a
new password and removed, each checked by logging in over HTTP; a session
seen in the list, its screenshot (a PNG of the right size and colour),
terminated with SessionRemoved on the bus; plugin disable/enable writing an
override beside the drop-in and turning a plugin's logins off and on; a refused reload
(broken config, last auth plugin disabled); --json; exit codes; and the
admin check: uid 65534 is refused everything that changes state (and
nothing changes), a non-root member of glassbox-admin (supplementary or
primary group, in a copy of /etc/group bind-mounted in this mount
namespace) is allowed; a uid calling in a loop is refused every time but
only its first 10 refusals of the minute are logged."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import gbdaemon
from gbtest import check, finish, read_png

ADMIN_GID = 4242
MEMBER_UID = 4243
OUTSIDER_UID = 4244
FLOODER_UID = 4245
NOBODY = 65534

GLASSBOXCTL = os.path.join(gbdaemon.BUILD, "core", "ctl", "glassboxctl")
POLICY = os.path.join(gbdaemon.SOURCE, "packaging", "dbus", "org.glassbox.Manager1.conf")
EXAMPLE_PASSWORD = "carol-example-password"
COLOUR = (0x20, 0x40, 0x80)  # gbdaemon's test client draws 204080


def enter_namespaces():
    """Re-run as root in new network and mount namespaces (loopback only,
    /etc/group replaceable without touching the host's)."""
    if os.environ.get("GB_IN_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if os.geteuid() != 0:
        print("test-dbus: needs root (setpriv to other uids, a private mount namespace); "
              "skipped")
        sys.exit(77)
    env = dict(os.environ, GB_IN_NETNS="1")
    sys.stdout.flush()
    os.execvpe("unshare", ["unshare", "-n", "-m", "--propagation", "private", "--",
                           sys.executable] + sys.argv, env)


def private_account_files(tmp):
    """/etc/group with glassbox-admin added and /etc/passwd with two test
    users (dbus-daemon refuses uids it cannot name), bind-mounted in this
    mount namespace only."""
    extra = {
        "group": ["glassbox-admin:x:%d:" % ADMIN_GID],
        "passwd": ["gbtest-member:x:%d:%d::/nonexistent:/usr/sbin/nologin"
                   % (MEMBER_UID, MEMBER_UID),
                   "gbtest-outsider:x:%d:%d::/nonexistent:/usr/sbin/nologin"
                   % (OUTSIDER_UID, OUTSIDER_UID),
                   "gbtest-flooder:x:%d:%d::/nonexistent:/usr/sbin/nologin"
                   % (FLOODER_UID, FLOODER_UID)],
    }
    for name, lines in extra.items():
        copy = os.path.join(tmp, name)
        with open("/etc/" + name) as f:
            text = f.read()
        ours = [line.split(":")[0] for line in lines]
        text = "".join(line + "\n" for line in text.splitlines()
                       if line.split(":")[0] not in ours)
        text += "".join(line + "\n" for line in lines)
        with open(copy, "w") as f:
            f.write(text)
        os.chmod(copy, 0o644)
        subprocess.run(["mount", "--bind", copy, "/etc/" + name], check=True)


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- Debian's system.conf, shortened: nobody owns or is sent calls unless a
       system.d file says so. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


class Bus:
    """A private dbus-daemon whose socket any uid may reach."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "bus")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "socket")
        self.address = "unix:path=" + self.socket
        config = os.path.join(self.dir, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG.format(socket=self.socket, policy=POLICY))
        self.log = open(os.path.join(self.dir, "dbus-daemon.log"), "w")
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file=" + config, "--nofork",
                                      "--nopidfile"], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.chmod(self.socket, 0o666)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


class Monitor:
    """dbus-monitor for org.glassbox.Manager1's signals, into a file."""

    def __init__(self, bus):
        self.path = os.path.join(bus.dir, "monitor.log")
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen(
            ["dbus-monitor", "--address", bus.address,
             "type='signal',path='/org/glassbox/Manager1'"],
            stdout=self.out, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.path, errors="replace") as f:
            return f.read()

    def wait(self, pattern, timeout=10.0):
        regex = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = regex.search(self.text())
            if match:
                return match
            time.sleep(0.05)
        return regex.search(self.text())

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.out.close()


class Ctl:
    def __init__(self, address):
        self.address = address

    def run(self, *args, uid=None, gid=None, groups=None, stdin=None, timeout=40):
        """(exit status, stdout, stderr) of glassboxctl, as root or as uid."""
        command = [GLASSBOXCTL, "--bus", self.address, *args]
        if uid is not None:
            prefix = ["setpriv", "--reuid", str(uid), "--regid", str(gid if gid else uid)]
            prefix += ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
            command = prefix + command
        try:
            done = subprocess.run(command, input=stdin, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "", "timed out"
        return done.returncode, done.stdout, done.stderr

    def json(self, *args, **kwargs):
        status, out, err = self.run("--json", *args, **kwargs)
        try:
            return status, json.loads(out), err
        except ValueError:
            return status, None, err + " / stdout: " + out


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def login_status(d, user, password):
    return d.login(user, password)[0]


def sessions(ctl):
    status, listed, _ = ctl.json("session", "list")
    return listed if status == 0 and isinstance(listed, list) else None


def check_usage(ctl):
    status, out, _ = ctl.run("--help")
    check(status == 0 and "session screenshot ID FILE.png" in out and "Exit status" in out,
          "glassboxctl --help: 0 and every command (status %r)" % status)
    for args in (["user", "--help"], ["user", "add", "--help"], ["session", "--help"],
                 ["plugin", "enable", "--help"], ["status", "--help"]):
        status, out, _ = ctl.run(*args)
        check(status == 0 and out.startswith("Usage: glassboxctl"),
              "glassboxctl %s: 0 with a usage (status %r)" % (" ".join(args), status))
    status, out, _ = ctl.run("user", "add", "--help")
    check("--admin" in out, "user add --help mentions --admin")
    for args in ([], ["frobnicate"], ["session"], ["session", "kill", "x"],
                 ["session", "terminate"], ["user", "add", "a", "b"], ["--nope", "status"],
                 ["status", "--admin"]):
        status, _, err = ctl.run(*args)
        check(status == 2 and err, "glassboxctl %s: usage error 2 (got %r)"
              % (" ".join(args) or "(nothing)", status))
    status, out, _ = ctl.run("--version")
    check(status == 0 and out.startswith("glassboxctl "), "--version")


def check_unreachable(ctl, bus):
    status, _, err = ctl.run("status")
    check(status == 5 and "not running" in err,
          "status with no glassboxd on the bus: exit 5 (%r, %s)" % (status, err.strip()))
    status, _, err = Ctl("unix:path=/nonexistent/bus").run("session", "list")
    check(status == 5, "an unreachable bus address: exit 5 (%r, %s)" % (status, err.strip()))


def check_status(ctl):
    status, out, _ = ctl.run("status")
    check(status == 0 and "glassboxd 0." in out and "Sessions: 0 of 8" in out,
          "status: version and 0 of 8 sessions (%r: %r)" % (status, out))
    status, data, err = ctl.json("status")
    check(status == 0 and isinstance(data, dict) and data.get("sessions") == 0
          and data.get("max_sessions") == 8 and re.match(r"\d+\.\d+", data.get("version", "")),
          "status --json parses: %r %s" % (data, err))
    # Straight from the bus too, with a client that is not ours.
    done = subprocess.run(["dbus-send", "--bus=" + ctl.address, "--print-reply",
                           "--dest=org.glassbox.Manager1", "/org/glassbox/Manager1",
                           "org.freedesktop.DBus.Properties.Get",
                           "string:org.glassbox.Manager1", "string:MaxSessions"],
                          capture_output=True, text=True, timeout=20)
    check(done.returncode == 0 and "uint32 8" in done.stdout,
          "dbus-send Properties.Get MaxSessions: uint32 8 (%s)" % done.stdout.strip())
    done = subprocess.run(["dbus-send", "--bus=" + ctl.address, "--print-reply",
                           "--dest=org.glassbox.Manager1", "/org/glassbox/Manager1",
                           "org.freedesktop.DBus.Introspectable.Introspect"],
                          capture_output=True, text=True, timeout=20)
    for name in ("ListSessions", "TerminateSession", "Screenshot", "ListPlugins",
                 "SetPluginEnabled", "Reload", "ListUsers", "AddUser", "SetPassword",
                 "RemoveUser", "SessionNew", "SessionRemoved", "SessionCount"):
        if not check(name in done.stdout, "introspection lists %s" % name):
            break


def check_users(ctl, d):
    status, users, err = ctl.json("user", "list")
    check(status == 0 and isinstance(users, list)
          and any(u["user"] == "demo" and "user" in u["roles"] and u["plugin"] == "local"
                  for u in users),
          "user list --json: demo, a user, from local (%r %s)" % (users, err))
    status, out, _ = ctl.run("user", "list")
    check(status == 0 and re.search(r"^USER\s+ROLES\s+PLUGIN$", out, re.M)
          and re.search(r"^demo\s+(admin,)?user\s+local$", out, re.M),
          "user list: a table (%r)" % out)

    status, out, err = ctl.run("user", "add", "alice", stdin="alice-first-pw\n")
    check(status == 0, "user add alice: 0 (%r %s)" % (status, err))
    status, _, err = ctl.run("user", "add", "bob", "--admin", stdin="bob-password-1\n")
    check(status == 0, "user add bob --admin: 0 (%r %s)" % (status, err))
    status, users, _ = ctl.json("user", "list")
    roles = {u["user"]: u["roles"] for u in users or []}
    check(roles.get("alice") == ["user"] and roles.get("bob") == ["admin", "user"],
          "alice is a user, bob an admin too (%r)" % roles)
    check(login_status(d, "alice", "alice-first-pw") == 200,
          "alice logs in over HTTP with the password given to user add")
    status, _, err = ctl.run("user", "add", "alice", stdin="whatever-pw\n")
    check(status == 1 and "UserExists" in err, "user add alice again: 1, UserExists (%r %s)"
          % (status, err.strip()))
    status, _, err = ctl.run("user", "add", "emptypw", stdin="\n")
    check(status == 2, "user add with an empty password: usage error (%r)" % status)
    status, _, err = ctl.run("user", "add", "x" * 80, stdin="long-name-pw\n")
    check(status == 1 and "63 bytes" in err, "a user name over 63 bytes refused (%r %s)"
          % (status, err.strip()))

    status, _, err = ctl.run("user", "passwd", "alice", stdin="alice-second-pw\n")
    check(status == 0, "user passwd alice: 0 (%r %s)" % (status, err))
    check(login_status(d, "alice", "alice-first-pw") == 401,
          "alice's old password no longer logs in")
    check(login_status(d, "alice", "alice-second-pw") == 200, "alice's new password logs in")
    status, _, err = ctl.run("user", "passwd", "nosuchuser", stdin="some-password\n")
    check(status == 3, "user passwd of an unknown user: 3 (%r %s)" % (status, err.strip()))

    status, out, err = ctl.run("--json", "user", "remove", "alice")
    check(status == 0 and json.loads(out or "{}").get("result") == "ok",
          "user remove alice --json: ok (%r %s)" % (status, err))
    check(login_status(d, "alice", "alice-second-pw") == 401, "removed alice cannot log in")
    status, _, err = ctl.run("user", "remove", "alice")
    check(status == 3 and "NoSuchUser" not in err and "no user" in err,
          "user remove of a removed user: 3 (%r %s)" % (status, err.strip()))
    log = d.log_text(whole=True)
    check("alice-first-pw" not in log and "alice-second-pw" not in log
          and "bob-password-1" not in log, "no password in glassboxd's log")
    check(re.search(r"D-Bus: uid 0: AddUser\(alice, roles user\): done", log) is not None,
          "the admin action is logged with uid, method and arguments")


def start_session(d):
    status, token, _, _ = d.login("demo", d.password())
    check(status == 200 and token, "demo logs in")
    ws = d.websocket(cookie=token)
    first = ws.recv_json(timeout=15) if ws.status == 101 else None
    check(first is not None and first.get("type") == "session",
          "a viewer started a session (%r)" % first)
    return ws, (first or {}).get("id")


def check_sessions(ctl, d, monitor, tmp):
    ws, session_id = start_session(d)
    # Sessions are the identity's: "namespace:user", here auth-local's demo.
    check(monitor.wait(r"member=SessionNew.*?string \"%s\"\s+string \"local:demo\"" % session_id)
          is not None, "SessionNew(%s, local:demo) on the bus" % session_id)
    listed = wait_for(lambda: [s for s in sessions(ctl) or []
                               if s["id"] == session_id and s["state"] == "running"], 20)
    check(bool(listed), "session list shows it running")
    if listed:
        entry = listed[0]
        now_us = time.time() * 1e6
        check(entry["user"] == "local:demo" and entry["viewers"] == 1 and entry["unit"] == ""
              and entry["spawner"] == "direct" and abs(now_us - entry["started_us"]) < 120e6,
              "its user, viewers, unit, spawner and start time (%r)" % entry)
    status, out, _ = ctl.run("session", "list")
    # MOUNTS is "-": no storage plugin here (tests/storage checks the column).
    check(status == 0 and re.search(r"^ID\s+USER\s+STATE\s+VIEWERS\s+STARTED\s+UNIT\s+MOUNTS$",
                                    out, re.M)
          and re.search(r"^%s\s+local:demo\s+running\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+"
                        r"\(direct\)\s+-$" % session_id, out, re.M),
          "session list: a table (%r)" % out)
    status, data, _ = ctl.json("status")
    check(status == 0 and data and data.get("sessions") == len(sessions(ctl) or []) >= 1,
          "status: as many sessions as the list has (%r)" % data)
    check(monitor.wait(r"member=PropertiesChanged.*?SessionCount") is not None,
          "PropertiesChanged for SessionCount on the bus")

    png = os.path.join(tmp, "shot.png")
    status, out, err = ctl.json("session", "screenshot", session_id, png)
    check(status == 0 and out and out.get("width") == 320 and out.get("height") == 240,
          "session screenshot --json: 320x240 (%r %s)" % (out, err))
    try:
        width, height, channels, rows = read_png(png)
        pixel = tuple(rows[height // 2][(width // 2) * channels:(width // 2) * channels + 3])
        check((width, height) == (320, 240)
              and all(abs(a - b) <= 8 for a, b in zip(pixel, COLOUR)),
              "the screenshot is a %dx%d PNG of the app's colour (%r)" % (width, height, pixel))
    except (OSError, ValueError) as e:
        check(False, "the screenshot is a readable PNG (%s)" % e)
    session_dir = os.path.join(d.runtime, "sessions", session_id)
    check(not [n for n in os.listdir(session_dir) if n.startswith("screenshot-")],
          "no screenshot left in the session's folder")
    status, _, err = ctl.run("session", "screenshot", "0123456789abcdef", png)
    check(status == 3, "screenshot of an unknown session: 3 (%r %s)" % (status, err.strip()))
    return ws, session_id


def check_terminate(ctl, d, monitor, ws, session_id):
    status, _, err = ctl.run("session", "terminate", "0123456789abcdef")
    check(status == 3 and "no session" in err, "terminate an unknown session: 3 (%r %s)"
          % (status, err.strip()))
    status, _, err = ctl.run("session", "terminate", session_id)
    check(status == 0, "session terminate: 0 (%r %s)" % (status, err))
    match = monitor.wait(r"member=SessionRemoved.*?string \"%s\"\s+string \"local:demo\"\s+"
                         r"string \"([^\"]*)\"" % session_id, timeout=20)
    check(match is not None and "terminated by an administrator" in match.group(1),
          "SessionRemoved(%s, local:demo, reason) on the bus (%r)"
          % (session_id, match.group(1) if match else None))
    check(ws.wait_close(timeout=15) is not None, "the viewer's WebSocket was closed")
    ws.close()
    check(wait_for(lambda: not [s for s in sessions(ctl) or [] if s["id"] == session_id], 10),
          "the session is gone from the list")


def dropin_path(d, name):
    return os.path.join(d.dropins, name)


def check_plugins(ctl, d):
    status, plugins, err = ctl.json("plugin", "list")
    by_name = {(p["kind"], p["name"]): p for p in plugins or []}
    check(status == 0 and {("capture", "weston"), ("encoder", "x264"), ("encoder", "vp8"),
                           ("encoder", "nvenc"), ("auth", "local"), ("auth", "example")}
          <= set(by_name), "plugin list: every drop-in of every kind (%r %s)"
          % (sorted(by_name), err))
    local = by_name.get(("auth", "local"), {})
    check(local.get("enabled") is True and local.get("version")
          and local.get("file") == dropin_path(d, "50-auth-local.ini"),
          "auth local: enabled, its version, its file (%r)" % local)
    nvenc = by_name.get(("encoder", "nvenc"), {})
    check(nvenc.get("file", "").endswith("config/plugins.d/20-encoder-nvenc.ini")
          and nvenc.get("version") == "",
          "encoder nvenc comes from the vendor folder, not loaded here (%r)" % nvenc)
    status, out, _ = ctl.run("plugin", "list")
    check(status == 0 and re.search(r"^example\s+auth\s+\S+\s+yes\s+/", out, re.M),
          "plugin list: a table (%r)" % out)

    example_file = dropin_path(d, "60-auth-example.ini")
    with open(example_file) as f:
        example_before = f.read()
    check(login_status(d, "carol", EXAMPLE_PASSWORD) == 200, "carol logs in (auth-example)")
    status, _, err = ctl.run("plugin", "disable", "example")
    check(status == 0, "plugin disable example: 0 (%r %s)" % (status, err))
    with open(example_file) as f:
        text = f.read()
    override = example_file + ".d/50-glassboxctl.conf"
    override_text = open(override).read() if os.path.exists(override) else ""
    check(re.search(r"^enabled = false$", override_text, re.M)
          and EXAMPLE_PASSWORD not in override_text and text == example_before,
          "an override beside the drop-in says enabled = false; the drop-in is untouched")
    check(login_status(d, "carol", EXAMPLE_PASSWORD) == 401,
          "carol's login is refused once auth-example is disabled")
    check(login_status(d, "demo", d.password()) == 200, "auth-local still logs demo in")
    status, plugins, _ = ctl.json("plugin", "list")
    check(any(p["name"] == "example" and p["enabled"] is False for p in plugins or []),
          "plugin list shows example disabled")
    status, _, err = ctl.run("plugin", "disable", "auth-example")
    check(status == 0, "disabling it again (KIND-NAME): 0, nothing to do (%r %s)"
          % (status, err))

    # The last auth plugin cannot go: the reload is refused, the file put back.
    local_file = dropin_path(d, "50-auth-local.ini")
    with open(local_file) as f:
        before = f.read()
    status, _, err = ctl.run("plugin", "disable", "local")
    with open(local_file) as f:
        after = f.read()
    check(status == 1 and "ReloadRefused" in err and before == after
          and not os.path.exists(local_file + ".d/50-glassboxctl.conf"),
          "disabling the last auth plugin: ReloadRefused, no override left (%r %s)"
          % (status, err.strip()))
    check(login_status(d, "demo", d.password()) == 200, "demo still logs in after that")

    status, _, err = ctl.run("plugin", "enable", "example")
    check(status == 0, "plugin enable example: 0 (%r %s)" % (status, err))
    check(login_status(d, "carol", EXAMPLE_PASSWORD) == 200,
          "carol logs in again once auth-example is enabled")
    check(not os.path.exists(override),
          "enabling it again removed the override: the drop-in says enabled itself")

    # A vendor drop-in: an override in the config folder, the vendor file as it is.
    status, _, err = ctl.run("plugin", "disable", "nvenc")
    nvenc_override = dropin_path(d, "20-encoder-nvenc.ini.d/50-glassboxctl.conf")
    text = open(nvenc_override).read() if os.path.exists(nvenc_override) else ""
    check(status == 0 and "enabled = false" in text
          and not os.path.exists(dropin_path(d, "20-encoder-nvenc.ini")),
          "plugin disable nvenc: an override in the config folder, no copy of the vendor "
          "drop-in (%r %s)" % (status, err.strip()))
    status, plugins, _ = ctl.json("plugin", "list")
    check(any(p["name"] == "nvenc" and p["enabled"] is False
              and p["file"].endswith("config/plugins.d/20-encoder-nvenc.ini")
              for p in plugins or []), "plugin list: nvenc disabled, its vendor file named")
    status, _, err = ctl.run("plugin", "enable", "nosuchplugin")
    check(status == 3, "plugin enable of an unknown plugin: 3 (%r %s)" % (status, err.strip()))


def check_reload(ctl, d):
    status, out, err = ctl.run("reload")
    check(status == 0, "reload: 0 (%r %s)" % (status, err))
    with open(d.config) as f:
        good = f.read()
    with open(d.config, "a") as f:
        f.write("server = { max_sessions = \"many\"; };\n")
    status, _, err = ctl.run("reload")
    check(status == 1 and "ReloadRefused" in err and "glassbox.conf" in err,
          "reload of a broken config: 1, ReloadRefused naming the file (%s)" % err.strip())
    with open(d.config, "w") as f:
        f.write(good)
    status, data, _ = ctl.json("status")
    check(status == 0 and data and data.get("max_sessions") == 8,
          "the old configuration stays in force")
    check(login_status(d, "demo", d.password()) == 200, "demo logs in after the refused reload")


def check_admin(ctl, d):
    as_nobody = dict(uid=NOBODY, gid=NOBODY)
    for args in (["status"], ["session", "list"], ["plugin", "list"]):
        status, _, err = ctl.run(*args, **as_nobody)
        check(status == 0, "uid %d may: %s (%r %s)" % (NOBODY, " ".join(args), status, err))

    ws, session_id = start_session(d)
    wait_for(lambda: [s for s in sessions(ctl) or [] if s["state"] == "running"], 20)
    example_file = dropin_path(d, "60-auth-example.ini")
    with open(example_file) as f:
        example_before = f.read()
    png = os.path.join(d.root, "nobody.png")
    refused = [
        (["user", "list"], None),
        (["user", "add", "mallory"], "mallory-password\n"),
        (["user", "passwd", "demo"], "hijacked-password\n"),
        (["user", "remove", "bob"], None),
        (["plugin", "disable", "example"], None),
        (["plugin", "enable", "example"], None),
        (["reload"], None),
        (["session", "terminate", session_id or "x"], None),
        (["session", "screenshot", session_id or "x", png], None),
    ]
    for args, stdin in refused:
        status, _, err = ctl.run(*args, stdin=stdin, **as_nobody)
        check(status == 4 and "uid %d" % NOBODY in err and "glassbox-admin" in err,
              "uid %d is refused %s: exit 4 naming the uid (%r %s)"
              % (NOBODY, " ".join(args), status, err.strip()))
    status, users, _ = ctl.json("user", "list")
    names = [u["user"] for u in users or []]
    check("mallory" not in names and "bob" in names, "nothing changed in the users (%r)" % names)
    check(login_status(d, "demo", d.password()) == 200, "demo's password is unchanged")
    with open(example_file) as f:
        check(f.read() == example_before, "the drop-in is unchanged")
    check(any(s["id"] == session_id and s["state"] == "running" for s in sessions(ctl) or []),
          "the session is still running")
    check(not os.path.exists(png), "no screenshot was written")
    log = d.log_text(whole=True)
    check(re.search(r"D-Bus: uid %d: Reload\(\): refused" % NOBODY, log) is not None,
          "the refusal is logged with the uid")

    # The shipped policy: only root may own the name.
    done = subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                           "--clear-groups", "dbus-send", "--bus=" + ctl.address,
                           "--print-reply", "--dest=org.freedesktop.DBus",
                           "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName",
                           "string:org.glassbox.Manager1", "uint32:0"],
                          capture_output=True, text=True, timeout=20)
    check(done.returncode != 0 and "AccessDenied" in done.stderr,
          "the bus policy does not let uid %d own org.glassbox.Manager1 (%s)"
          % (NOBODY, done.stderr.strip()))

    # Members of glassbox-admin: by a supplementary group, or the primary one.
    member = dict(uid=MEMBER_UID, gid=MEMBER_UID, groups=[ADMIN_GID])
    status, _, err = ctl.run("user", "add", "dave", stdin="dave-password-1\n", **member)
    check(status == 0, "uid %d, in glassbox-admin (supplementary): user add: 0 (%r %s)"
          % (MEMBER_UID, status, err))
    check(login_status(d, "dave", "dave-password-1") == 200, "dave logs in")
    status, _, err = ctl.run("user", "remove", "dave", uid=MEMBER_UID, gid=ADMIN_GID)
    check(status == 0, "uid %d with primary group glassbox-admin: user remove: 0 (%r %s)"
          % (MEMBER_UID, status, err))
    shots = os.path.join(d.root, "shots")
    os.mkdir(shots)
    os.chmod(shots, 0o777)
    png = os.path.join(shots, "member.png")
    status, _, err = ctl.run("session", "screenshot", session_id or "x", png, **member)
    check(status == 0 and os.path.getsize(png) > 100 and os.stat(png).st_uid == MEMBER_UID,
          "a member may take a screenshot, written as that uid (%r %s)"
          % (status, err.strip()))
    # For whoever reads the test log: where the member's groups came from.
    for line in d.log_text(whole=True).splitlines():
        if "caller uid %d:" % MEMBER_UID in line:
            print("info: " + line)
            break
    status, _, err = ctl.run("reload", uid=OUTSIDER_UID, gid=OUTSIDER_UID, groups=[100])
    check(status == 4, "uid %d in other groups only: reload refused (%r)"
          % (OUTSIDER_UID, status))
    status, _, err = ctl.run("session", "terminate", session_id or "x", **member)
    check(status == 0, "a member terminates the session (%r %s)" % (status, err.strip()))
    ws.wait_close(timeout=15)
    ws.close()
    check(wait_for(lambda: not [s for s in sessions(ctl) or [] if s["id"] == session_id], 10),
          "the member's terminate ended it")


def check_refusal_flood(ctl, d):
    """A local user calling in a loop is refused every time, but only the
    first 10 refusals of a minute are logged (and audited)."""
    calls = 25
    offset = len(d.log_text(whole=True))
    statuses = [ctl.run("reload", uid=FLOODER_UID, gid=FLOODER_UID)[0] for _ in range(calls)]
    check(statuses == [4] * calls, "uid %d is refused all %d reloads (%r)"
          % (FLOODER_UID, calls, sorted(set(statuses), key=str)))
    time.sleep(0.5)
    log = d.log_text(whole=True)[offset:]
    logged = re.findall(r"D-Bus: uid %d: Reload\(\): refused" % FLOODER_UID, log)
    check(len(logged) == 10, "only the first 10 refusals are logged (%d)" % len(logged))
    check(re.search(r"D-Bus: uid %d: 10 refused calls in 60 s; the next ones until then are "
                    r"counted, not logged" % FLOODER_UID, log) is not None,
          "the log says the next refusals are counted, not logged")
    status, _, err = ctl.run("reload", uid=OUTSIDER_UID, gid=OUTSIDER_UID)
    log = d.log_text(whole=True)[offset:]
    check(status == 4 and re.search(r"D-Bus: uid %d: Reload\(\): refused" % OUTSIDER_UID, log),
          "another uid's refusal is still logged (%r)" % status)
    status, _, err = ctl.run("status")
    check(status == 0, "root is still served (%r %s)" % (status, err.strip()))


def check_modes():
    """--dbus=required refuses to start without the bus; auto goes on."""
    d = gbdaemon.Daemon()
    env = dict(os.environ, GLASSBOX_PLUGIN_PATH=gbdaemon.PLUGIN_PATH,
               DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus")
    done = subprocess.run([gbdaemon.DAEMON, "-c", d.config, "--dbus=required"],
                          capture_output=True, text=True, env=env, timeout=60)
    check(done.returncode == 1 and "refusing to start (--dbus=required)" in done.stderr
          and "/nonexistent/bus" in done.stderr,
          "--dbus=required without a bus: exit 1 naming the bus (%r)" % done.returncode)
    done = subprocess.run([gbdaemon.DAEMON, "-c", d.config, "--dbus=sometimes"],
                          capture_output=True, text=True, env=env, timeout=60)
    check(done.returncode == 2 and "--dbus=sometimes" in done.stderr,
          "--dbus=sometimes: usage error 2 (%r)" % done.returncode)
    proc = subprocess.Popen([gbdaemon.DAEMON, "-c", d.config], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "D-Bus" in line and any("listening on" in seen for seen in lines):
            break
    proc.send_signal(signal.SIGTERM)
    try:
        rest, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, _ = proc.communicate(timeout=10)
    lines += rest.splitlines(keepends=True)
    status = proc.returncode
    text = "".join(lines)
    warnings = [line for line in lines if "D-Bus" in line]
    check("listening on" in text and len(warnings) == 1 and "going on without" in warnings[0]
          and status == 0,
          "--dbus=auto (the default) without a bus: one warning, serves anyway, exits 0 "
          "(%r, %r)" % (warnings, status))
    d.close()


def main():
    enter_namespaces()
    tmp_holder = tempfile.TemporaryDirectory(prefix="gb-dbus-")
    tmp = tmp_holder.name
    os.chmod(tmp, 0o755)
    private_account_files(tmp)
    bus = Bus(tmp)
    monitor = Monitor(bus)
    ctl = Ctl(bus.address)
    d = None
    try:
        check(os.path.exists(bus.socket), "the private dbus-daemon listens")
        check_usage(ctl)
        check_unreachable(ctl, bus)

        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        # auth-example (built, never installed) is the second auth plugin.
        example_dir = os.path.join(gbdaemon.BUILD, "plugins", "auth-example")
        check(os.path.exists(os.path.join(example_dir, "auth-example.so")),
              "auth-example.so is built (ninja builds it with everything)")
        gbdaemon.PLUGIN_PATH += ":" + example_dir
        d = gbdaemon.Daemon(server_extra="max_sessions = 8;")
        os.chmod(d.root, 0o755)
        with open(dropin_path(d, "60-auth-example.ini"), "w") as f:
            f.write("; carol's drop-in: comments stay when glassboxctl rewrites it\n"
                    "[plugin]\nkind = auth\nname = example\n\n[settings]\nuser = carol\n"
                    "password = %s\n" % EXAMPLE_PASSWORD)
        check_modes()
        if check(d.start(), "glassboxd starts") and \
                check(d.wait_log(r"D-Bus: org\.glassbox\.Manager1 on unix:path=") is not None,
                      "glassboxd owns org.glassbox.Manager1 on the private bus"):
            check_status(ctl)
            check_users(ctl, d)
            ws, session_id = check_sessions(ctl, d, monitor, tmp)
            check_terminate(ctl, d, monitor, ws, session_id)
            check_plugins(ctl, d)
            check_reload(ctl, d)
            check_admin(ctl, d)
            check_refusal_flood(ctl, d)

            check(d.stop() == 0, "glassboxd stops with 0")
            status, _, _ = ctl.run("status")
            check(status == 5, "status once glassboxd is gone: 5 (%r)" % status)
        else:
            print(d.log_text())
    finally:
        if d is not None:
            d.close()
        monitor.close()
        bus.close()
        for name in ("group", "passwd"):
            subprocess.run(["umount", "/etc/" + name], check=False)
        tmp_holder.cleanup()
    finish()


if __name__ == "__main__":
    main()
