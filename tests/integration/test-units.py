#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The systemd units of packaging/systemd, as meson configured them.

- `systemd-analyze verify` passes on both (copies whose ExecStart points at
  the build tree's binaries), with no warning about them; a deliberately
  broken copy fails, so the check can fail.
- `systemd-analyze security --offline` rates both "OK" or better, and the
  settings the design relies on are there (Type=notify, the watchdog,
  ExecReload, the capability set with a reason for each, no PartOf= on the
  session, the credential and runtime paths glassboxd uses).
- The session unit's ExecStart runs for real the way systemd would run it:
  specifiers expanded, the params file loaded as a credential, Environment=,
  NOTIFY_SOCKET: glassbox-session reads --params, creates its sockets where
  glassboxd will look for them, says READY=1 on the notify socket, and
  STOPPING=1 and exit status 0 on SIGTERM.

systemd is not PID 1 here; tests/appliance boots a real one."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import gbdaemon
from gbtest import check, finish

gbdaemon.enter_network_namespace()

BUILD = gbdaemon.BUILD
UNITS = os.path.join(BUILD, "packaging", "systemd")
DAEMON = gbdaemon.DAEMON
SESSION = gbdaemon.SESSION
ANALYZE = shutil.which("systemd-analyze")


def parse_unit(text):
    """{section: [(key, value)]}, comments kept aside as a list of lines."""
    sections, comments, section = {}, [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or stripped.startswith(";"):
            comments.append(stripped)
        elif stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            sections.setdefault(section, [])
        elif "=" in stripped and section:
            key, value = stripped.split("=", 1)
            sections[section].append((key.strip(), value.strip()))
    return sections, comments


def values(unit, section, key):
    return [v for k, v in unit[0].get(section, []) if k == key]


def one(unit, section, key):
    found = values(unit, section, key)
    return found[-1] if found else None


def point_at_build(text):
    """The unit with its ExecStart programs replaced by the build tree's."""
    def replace(match):
        program = os.path.basename(match.group(2))
        built = {"glassboxd": DAEMON, "glassbox-session": SESSION}.get(program)
        return match.group(1) + (built or match.group(2))
    return re.sub(r"^(ExecStart=)(\S+)", replace, text, flags=re.M)


def verify(folder, names):
    """(exit status, [problem lines about our units])."""
    result = subprocess.run([ANALYZE, "verify", "--man=no"] +
                            [os.path.join(folder, n) for n in names],
                            capture_output=True, text=True, timeout=60, cwd=folder)
    output = (result.stdout + result.stderr).splitlines()
    problems = [line for line in output if "glassbox" in line or folder in line]
    return result.returncode, problems


def exposure(folder, name):
    result = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager",
                             os.path.join(folder, name)],
                            capture_output=True, text=True, timeout=60, cwd=folder)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    return (float(match.group(1)), match.group(2)) if match else (None, result.stderr)


if ANALYZE is None:
    check(False, "systemd-analyze is installed (Debian package systemd)")
    finish()

tmp = tempfile.TemporaryDirectory(prefix="gb-units-")
units = {}
try:
    for name in ("glassbox.service", "glassbox-session@.service"):
        with open(os.path.join(UNITS, name)) as f:
            text = f.read()
        check("@" + "bindir@" not in text and "@sysconfdir@" not in text,
              "%s: meson filled in the install paths" % name)
        units[name] = parse_unit(text)
        with open(os.path.join(tmp.name, name), "w") as f:
            f.write(point_at_build(text))

    # ---- systemd-analyze verify ----
    status, problems = verify(tmp.name, ["glassbox.service", "glassbox-session@alice.service",
                                         "glassbox-session@gb-0123456789abcdef.service"])
    check(status == 0 and problems == [],
          "systemd-analyze verify: both units, no warning (%d %r)" % (status, problems[:5]))

    broken_dir = os.path.join(tmp.name, "broken")
    os.mkdir(broken_dir)
    with open(os.path.join(tmp.name, "glassbox.service")) as f:
        good = f.read()
    with open(os.path.join(broken_dir, "glassbox.service"), "w") as f:
        f.write(good.replace("WatchdogSec=", "WatchdogSecs="))
    status, problems = verify(broken_dir, ["glassbox.service"])
    check(any("WatchdogSecs" in p for p in problems),
          "a misspelt key is reported, so the check can fail (%r)" % problems[:2])
    with open(os.path.join(broken_dir, "glassbox.service"), "w") as f:
        f.write(re.sub(r"^ExecStart=\S+", "ExecStart=/nonexistent/glassboxd", good, flags=re.M))
    status, problems = verify(broken_dir, ["glassbox.service"])
    check(status != 0 and problems, "a missing ExecStart program fails verify (%d)" % status)

    # ---- sandbox ratings ----
    for name, instance, limit in (("glassbox.service", "glassbox.service", 3.0),
                                  ("glassbox-session@.service",
                                   "glassbox-session@alice.service", 2.5)):
        level, word = exposure(tmp.name, instance)
        check(level is not None and level <= limit,
              "systemd-analyze security: %s exposure %s %s (at most %.1f)"
              % (instance, level, word, limit))

    # ---- the settings glassboxd relies on ----
    g = units["glassbox.service"]
    check(one(g, "Service", "Type") == "notify" and one(g, "Service", "NotifyAccess") == "main",
          "glassbox.service: Type=notify, NotifyAccess=main")
    check(one(g, "Service", "WatchdogSec") == "20s" and
          one(g, "Service", "Restart") == "on-failure",
          "glassbox.service: WatchdogSec=20s, Restart=on-failure")
    check(one(g, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID",
          "glassbox.service: ExecReload sends SIGHUP")
    check(one(g, "Service", "ExecStart").split()[0].endswith("/glassboxd"),
          "glassbox.service: ExecStart runs glassboxd")
    caps = (one(g, "Service", "CapabilityBoundingSet") or "").split()
    check(sorted(caps) == ["CAP_AUDIT_WRITE", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
                           "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"],
          "glassbox.service: the capability bounding set (%r)" % caps)
    check(all(any(cap in c for c in g[1]) for cap in caps),
          "glassbox.service: a comment justifies each capability")
    for key, value in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                       ("SystemCallFilter", "@system-service"),
                       ("StateDirectory", "glassbox"), ("RuntimeDirectory", "glassbox"),
                       ("RuntimeDirectoryPreserve", "yes"),
                       ("ConfigurationDirectory", "glassbox glassbox/plugins.d"),
                       ("ReadWritePaths",
                        "-/etc/glassbox/plugins.d -/var/lib/private/glassbox-homes")):
        check(one(g, "Service", key) == value, "glassbox.service: %s=%s" % (key, value))
    check(set((one(g, "Service", "RestrictAddressFamilies") or "").split()) <=
          {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"},
          "glassbox.service: RestrictAddressFamilies")

    s = units["glassbox-session@.service"]
    check(one(s, "Service", "Type") == "notify", "session unit: Type=notify")
    check(not values(s, "Unit", "PartOf") and not values(s, "Unit", "BindsTo"),
          "session unit: no PartOf=/BindsTo= glassbox.service (a restart keeps sessions)")
    check(one(s, "Service", "DynamicUser") == "yes" and one(s, "Service", "User") == "%i",
          "session unit: DynamicUser=yes, User=%i")
    check(one(s, "Service", "LoadCredential") == "params:/run/glassbox/sessions/%i.params",
          "session unit: the params credential is where glassboxd writes it")
    check(re.search(r"\s--params=%d/params(\s|$)", one(s, "Service", "ExecStart") or ""),
          "session unit: glassbox-session --params=%d/params")
    check(one(s, "Service", "RuntimeDirectory") == "glassbox-session/%i" and
          one(s, "Service", "RuntimeDirectoryMode") == "0700",
          "session unit: RuntimeDirectory=glassbox-session/%i, 0700")
    check(one(s, "Service", "StateDirectory") == "glassbox-homes/%i",
          "session unit: a StateDirectory per user for its files")
    check(values(s, "Service", "CapabilityBoundingSet") == [""],
          "session unit: no capabilities at all")
    check(one(s, "Service", "DeviceAllow") == "char-drm rw" and
          one(s, "Service", "DevicePolicy") == "closed",
          "session unit: only the GPU's devices besides the pseudo devices")
    check(one(s, "Service", "SystemCallFilter") == "@system-service",
          "session unit: SystemCallFilter=@system-service")

    # ---- the session unit's ExecStart, run as systemd would ----
    d = gbdaemon.Daemon()  # only for its glassbox.conf and plugin drop-ins
    instance = "gb-0123456789abcdef"
    root = tmp.name
    runtime_root, state_root, creds = (os.path.join(root, n) for n in ("run", "lib", "creds"))
    runtime = os.path.join(runtime_root, "glassbox-session", instance)
    home = os.path.join(state_root, "glassbox-homes", instance)
    for folder in (runtime, home, creds):
        os.makedirs(folder, 0o700)
    params = ("session_id=0123456789abcdef\nconfig=%s\nsignal_socket=%s/signal.sock\n"
              "control=%s/control.sock\nuser=alice@example.com\n" % (d.config, runtime, runtime))
    with open(os.path.join(creds, "params"), "w") as f:  # what LoadCredential= copies
        f.write(params)

    def expand(text):
        return (text.replace("%i", instance).replace("%d", creds).replace("%t", runtime_root)
                .replace("%S", state_root))

    argv = expand(one(s, "Service", "ExecStart")).split()
    argv[0] = SESSION
    env = dict(os.environ, GLASSBOX_PLUGIN_PATH=gbdaemon.PLUGIN_PATH,
               CREDENTIALS_DIRECTORY=creds)
    env.pop("XDG_RUNTIME_DIR", None)
    # GStreamer's quark table leak (tests/lsan.supp) is only recognised
    # with the slow unwinder, as in gbstream.py.
    if env.get("ASAN_OPTIONS") and "fast_unwind_on_malloc" not in env["ASAN_OPTIONS"]:
        env["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"
    for assignment in values(s, "Service", "Environment"):
        for item in assignment.split():
            key, value = item.split("=", 1)
            env[key] = expand(value)
    check(env.get("XDG_RUNTIME_DIR") == runtime and env.get("HOME") == home,
          "session unit: XDG_RUNTIME_DIR and HOME from Environment=")

    notify_path = os.path.join(root, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(20)
    env["NOTIFY_SOCKET"] = notify_path
    log_path = os.path.join(root, "session.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, env=env, cwd=expand(one(s, "Service",
                                                             "WorkingDirectory")),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            ready = notify.recv(4096).decode()
        except socket.timeout:
            ready = None
        check(ready == "READY=1", "the session says READY=1 on NOTIFY_SOCKET (%r)" % ready)
        check(os.path.exists(os.path.join(runtime, "signal.sock")) and
              os.path.exists(os.path.join(runtime, "control.sock")),
              "its signal and control sockets are where glassboxd looks for them")
        with open(log_path) as f:
            log_text = f.read()
        check("parameters from %s/params: session 0123456789abcdef of user "
              "'alice@example.com'" % creds in log_text, "it logs what --params gave it")
        proc.send_signal(signal.SIGTERM)
        try:
            stopping = notify.recv(4096).decode()
        except socket.timeout:
            stopping = None
        check(stopping == "STOPPING=1", "SIGTERM: STOPPING=1 (%r)" % stopping)
        try:
            status = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            status = None
        check(status == 0, "and it exits 0 (%r)" % status)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        notify.close()
        d.close()

    # --params is strict, and exclusive with the options it stands for.
    with open(os.path.join(creds, "params"), "w") as f:
        f.write(params + "colour=red\n")
    result = subprocess.run([SESSION, "--params=%s/params" % creds], capture_output=True,
                            text=True, timeout=30, env=env)
    check(result.returncode == 2 and
          "%s/params:6: unknown key 'colour'" % creds in result.stderr,
          "a bad params file: exit 2, naming file and line (%r)" % result.stderr.strip())
    result = subprocess.run([SESSION, "--params=%s/params" % creds, "-i", "x"],
                            capture_output=True, text=True, timeout=30, env=env)
    check(result.returncode == 2 and "cannot be combined" in result.stderr,
          "--params with -i: a usage error")
    result = subprocess.run([DAEMON] + one(g, "Service", "ExecStart").split()[1:] + ["--help"],
                            capture_output=True, text=True, timeout=30)
    check(result.returncode == 0, "glassboxd accepts the unit's ExecStart options")
finally:
    tmp.cleanup()

finish()
