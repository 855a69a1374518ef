#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Xwayland on a fresh machine: the session makes /tmp/.X11-unix itself,
and a socket folder it cannot use is a clear error and a clean exit, never a
crash (libweston 10 frees its xwayland state on that path but leaves its
listener on the compositor; the session cuts it out)."""

import os
import shutil
import signal
import stat
import gbtest
from gbtest import check, colour

gbtest.reexec_in_fresh_tmp()

X11_DIR = "/tmp/.X11-unix"


def run_to_exit(note, timeout=20):
    """A session with Xwayland whose start must fail: its status and log."""
    # libweston leaks the log scope of the xwayland state it frees on this
    # path (not ours to free): no leak checking for these runs.
    os.environ["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    s = gbtest.Session([gbtest.X11_CLIENT, "--color", "22aa44"])
    try:
        try:
            status = s.proc.wait(timeout=timeout)
        except Exception:
            status = None
        log = s.log_text()
    finally:
        s.close()
        os.environ["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    check(status == 1, "%s: the session exits with status 1, no signal (%r)" % (note, status))
    return log


check(not os.path.lexists(X11_DIR), "the fresh /tmp has no %s" % X11_DIR)

# 1. Nothing there: the session makes the folder, 1777, and X11 works.
s = gbtest.Session([gbtest.X11_CLIENT, "--color", "22aa44"])
try:
    check(s.wait_line(r"ready \d+ \d+", timeout=20) is not None, "X11 client is up")
    mode = os.lstat(X11_DIR).st_mode if os.path.lexists(X11_DIR) else 0
    check(stat.S_ISDIR(mode) and stat.S_IMODE(mode) == 0o1777,
          "the session created %s with mode 1777 (%o)" % (X11_DIR, mode))
    check(s.wait_control(), "control socket exists")
    seen = s.wait_colour(320, 240, colour("22aa44"), timeout=10)
    check(seen == colour("22aa44"), "the X11 client's colour is on the output (%r)" % (seen,))
    check("created /tmp/.X11-unix" in s.log_text(), "the log says it created the folder")
    check(s.stop() == 0, "SIGTERM stops the session with status 0")
finally:
    s.close()

# 2. The display's socket path cannot be bound (a folder that cannot be
# unlinked sits there): libweston's listen fails after it set itself up.
shutil.rmtree(X11_DIR, ignore_errors=True)
os.makedirs(X11_DIR + "/X0/in-the-way")
os.chmod(X11_DIR, 0o1777)
log = run_to_exit("X0 taken")
check("cannot open an X11 display socket" in log, "the log names the X11 socket")
check("session.xwayland" in log, "the log says which key turns X11 off")
check("Segmentation" not in log and "AddressSanitizer" not in log, "no crash in the log")

# 3. Something else than a folder is in the way.
shutil.rmtree(X11_DIR)
os.symlink("/nonexistent", X11_DIR)
log = run_to_exit("a symlink")
check("/tmp/.X11-unix is not a directory" in log, "the log says what is in the way")
os.unlink(X11_DIR)

# 4. Without Xwayland nothing is needed from /tmp at all.
s = gbtest.Session([gbtest.CLIENT, "--color", "3366cc"], xwayland=False)
try:
    check(s.wait_control(), "a Wayland-only session starts")
    check(not os.path.lexists(X11_DIR), "and makes no X11 folder")
    check(s.stop() == 0, "and stops with status 0")
finally:
    s.close()

gbtest.finish()
