#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The session ends with its application and leaves nothing behind; SIGTERM
escalates to SIGKILL after the grace period; nothing repaints while idle;
a broken configuration stops start-up with the file and line."""

import os
import time
import gbtest
from gbtest import check

# 1. the application's exit status is the session's
s = gbtest.Session([gbtest.CLIENT, "--exit-after-ms", "300", "--exit-code", "3"])
try:
    check(s.proc.wait(timeout=15) == 3, "session exits with the application's status 3")
    check(os.listdir(s.runtime) == [], "runtime folder empty after exit")
finally:
    s.close()

# 2. an application that ignores SIGTERM, and a child it abandoned, are killed
script = "trap '' TERM; (trap '' TERM; sleep 60) & echo child $!; echo ready; " \
         "while :; do sleep 0.05; done"
s = gbtest.Session(["/bin/sh", "-c", script], config_extra="stop_grace_ms = 300;")
try:
    child = s.wait_line(r"child \d+")
    check(child is not None and s.wait_line("ready") is not None, "stubborn app started")
    check(s.wait_control(), "control socket exists")
    app_pid = int(s.stats()["app_pid"])
    check(len(gbtest.processes_in_group(app_pid)) >= 2, "app group has its processes")
    t0 = time.monotonic()
    status = s.stop()
    took = time.monotonic() - t0
    check(status == 0, "stopped session exits 0 (got %r)" % status)
    check(took < 5, "stop took %.2f s (grace 0.3 s per step)" % took)
    check(gbtest.processes_in_group(app_pid) == [], "no process of the app's group is left")
    check(not gbtest.process_alive(int(child.split()[1])), "the abandoned child is gone")
    check("sending SIGKILL" in s.log_text(), "SIGKILL escalation logged")
finally:
    s.close()

# 3. idle: no repaint without damage
s = gbtest.Session([gbtest.CLIENT, "--color", "101010"])
try:
    check(s.wait_line(r"ready 640 480") is not None, "client ready")
    s.wait_control()
    time.sleep(0.5)
    before = int(s.stats()["frames"])
    time.sleep(2.0)
    after = int(s.stats()["frames"])
    check(after == before, "no frame repainted in 2 s of idle (%d -> %d)" % (before, after))
    s.control("key 57 down", "key 57 up")
    time.sleep(0.5)
    check(int(s.stats()["frames"]) > after, "a change repaints")
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()

# 4. a broken configuration refuses to start, naming file and line
s = gbtest.Session([gbtest.CLIENT], config_extra="widht = 3;")
try:
    status = s.proc.wait(timeout=10)
    log = s.log_text()
    check(status == 1, "broken config: exit status 1 (got %r)" % status)
    check(s.config + ":1:" in log and "session.widht" in log,
          "error names file, line and key")
finally:
    s.close()

# 5. a required plugin that cannot load stops start-up; an optional one does not
missing = "[plugin]\nkind = capture\nname = missing\n"
s = gbtest.Session([gbtest.CLIENT], dropins={"50-capture-missing.ini": missing})
try:
    status = s.proc.wait(timeout=10)
    log = s.log_text()
    check(status == 1, "missing required plugin: exit status 1 (got %r)" % status)
    check("capture-missing.so" in log and "refusing to start" in log,
          "the log names the plugin file and refuses to start")
finally:
    s.close()
s = gbtest.Session([gbtest.CLIENT], dropins={"50-capture-missing.ini":
                                             missing + "optional = true\n"})
try:
    check(s.wait_line(r"ready 640 480") is not None, "optional missing plugin: session runs")
    check("optional plugin" in s.log_text(), "the skipped optional plugin is logged")
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()
gbtest.finish()
