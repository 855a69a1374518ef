#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An X11 client runs through Xwayland, fills the output, and gets input."""

import os
import gbtest
from gbtest import check, colour

s = gbtest.Session([gbtest.X11_CLIENT, "--color", "22aa44"])
try:
    check(s.wait_line(r"ready \d+ \d+", timeout=20) is not None, "X11 client is up")
    check(s.wait_control(), "control socket exists")
    seen = s.wait_colour(320, 240, colour("22aa44"), timeout=10)
    check(seen == colour("22aa44"), "the output shows the X11 client's colour (%r)" % (seen,))
    # libweston 10's X11 window manager frames the window (a title bar and
    # borders) and the shell cannot turn that off, so find where the
    # client's own pixels start and expect input relative to that.
    frame = s.screenshot()
    origin = next(((x, y) for y in range(120) for x in range(40)
                   if frame.pixel(x, y) == colour("22aa44")), None)
    check(origin is not None and frame.pixel(639 - 6, 479 - 6) == colour("22aa44"),
          "the X11 window spans the output, framed (client at %r)" % (origin,))
    ox, oy = origin or (0, 0)
    check(s.wait_line(r"configure %d \d+" % (640 - 2 * ox), timeout=5) is not None,
          "the X11 client was resized to the output's width less its frame")
    s.control("motion 100 80", "button 272 down", "button 272 up")
    check(s.wait_line(r"pointer button 272 pressed %d %d" % (100 - ox, 80 - oy)) is not None,
          "X11 client saw a click at 100,80 of the output (%d,%d of its window)"
          % (100 - ox, 80 - oy))
    s.control("key 30 down", "key 30 up")
    check(s.wait_line(r"key 30 pressed") is not None, "X11 client saw KEY_A")

    # The output follows a browser resize; the X11 main window follows it
    # too (libweston never reports X11 windows as maximized, so the shell
    # sizes its main window whatever the flag says).
    check(s.control('input {"type":"resize","width":800,"height":600}') == ["ok"],
          "resize to 800x600 accepted")
    check(s.wait_line(r"configure %d \d+" % (800 - 2 * ox), timeout=5) is not None,
          "the X11 client was resized to the new width less its frame")
    seen = s.wait_colour(780, 580, colour("22aa44"), timeout=5)
    check(seen == colour("22aa44"), "the X11 window fills the larger output (%r)" % (seen,))

    log = s.log_text()
    xpid = None
    for line in log.splitlines():
        if "started Xwayland" in line:
            xpid = int(line.rsplit("pid ", 1)[1].rstrip(")"))
    check(xpid is not None and gbtest.process_alive(xpid), "Xwayland runs")
    display = [l for l in log.splitlines() if "X11 display :" in l]
    number = display[0].rsplit(":", 1)[1].strip() if display else "?"

    check(s.stop() == 0, "SIGTERM stops the session with status 0")
    check(xpid is not None and not gbtest.process_alive(xpid), "Xwayland is gone")
    check(not os.path.exists("/tmp/.X11-unix/X" + number), "X11 socket removed")
    check(not os.path.exists("/tmp/.X%s-lock" % number), "X11 lock file removed")
    check(os.listdir(s.runtime) == [], "runtime folder empty (%r)" % os.listdir(s.runtime))
finally:
    s.close()
gbtest.finish()
