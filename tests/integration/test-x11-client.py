#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An X11 client runs through Xwayland, fills the output exactly like a
Wayland one (no frame of libweston's X11 window manager, no offset, no
overflow), follows output resizes, is put back when it leaves fullscreen by
itself, and gets input."""

import os
import time
import gbtest
from gbtest import check, colour

gbtest.unwind_through_libraries()

GREEN = colour("22aa44")


def wait_edges(s, width, height, rgb, timeout=5.0):
    """Poll frames until one is width x height with rgb all along its edges;
    return the edge pixels that are not rgb (in the last frame)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = s.screenshot()
        wrong = [p for p in gbtest.edge_pixels(frame) if p != rgb]
        if (frame.width, frame.height) != (width, height):
            wrong.append(("size", frame.width, frame.height))
        if not wrong or time.monotonic() > deadline:
            return wrong
        time.sleep(0.05)



# The client asks for 300x200: the session, not the client, picks the size.
# KEY_F (33) makes it leave fullscreen, as F11 does in many applications.
s = gbtest.Session([gbtest.X11_CLIENT, "--color", "22aa44", "--width", "300", "--height",
                    "200", "--unfullscreen-key", "33"])
try:
    check(s.wait_line(r"ready \d+ \d+", timeout=20) is not None, "X11 client is up")
    check(s.wait_control(), "control socket exists")
    check(s.wait_line(r"configure 640 480", timeout=10) is not None,
          "the X11 client was resized to exactly the output's 640x480")
    wrong = wait_edges(s, 640, 480, GREEN)
    check(not wrong, "the X11 window covers every edge pixel of the output, no frame "
          "(%d others, e.g. %r)" % (len(wrong), wrong[:3]))
    display = gbtest.x11_display(s)
    check(display is not None, "the log names the X11 display")
    seen = gbtest.wait_x11_geometry(display or ":?", (0, 0, 640, 480))
    check(seen == (0, 0, 640, 480),
          "the X server has the window at 0,0, 640x480 (%r)" % (seen,))

    s.control("motion 0 0", "button 272 down", "button 272 up")
    check(s.wait_line(r"pointer button 272 pressed 0 0") is not None,
          "a click at 0,0 of the output is at 0,0 of the X11 window")
    s.control("motion 639 479", "button 272 down", "button 272 up")
    check(s.wait_line(r"pointer button 272 pressed 639 479") is not None,
          "a click at 639,479 of the output is at 639,479 of the X11 window")
    s.control("key 30 down", "key 30 up")
    check(s.wait_line(r"key 30 pressed") is not None, "X11 client saw KEY_A")

    # The output follows a browser resize, larger then smaller; the X11
    # main window follows it exactly.
    for width, height in ((800, 600), (512, 384)):
        check(s.control('input {"type":"resize","width":%d,"height":%d}' % (width, height))
              == ["ok"], "resize to %dx%d accepted" % (width, height))
        check(s.wait_line(r"configure %d %d" % (width, height), timeout=5) is not None,
              "the X11 client was resized to exactly %dx%d" % (width, height))
        wrong = wait_edges(s, width, height, GREEN)
        check(not wrong, "at %dx%d the X11 window covers every edge pixel (%d others, e.g. %r)"
              % (width, height, len(wrong), wrong[:3]))
        seen = gbtest.wait_x11_geometry(display or ":?", (0, 0, width, height))
        check(seen == (0, 0, width, height),
              "the X server has the window at 0,0, %dx%d (%r)" % (width, height, seen))
    s.control("motion %d %d" % (width - 1, height - 1), "button 272 down", "button 272 up")
    check(s.wait_line(r"pointer button 272 pressed %d %d" % (width - 1, height - 1))
          is not None, "after the resizes, a click at the last pixel lands on the last pixel")

    # An application that leaves fullscreen by itself gets its old size and
    # libweston's frame back from the X11 window manager; the session puts
    # it back to the output's size, without a frame.
    # (The pointer goes to the middle: its cursor would cover edge pixels.)
    s.control("motion %d %d" % (width // 2, height // 2), "key 33 down", "key 33 up")
    check(s.wait_line(r"unfullscreen requested") is not None, "the client left fullscreen")
    check(s.wait_line(r"configure %d %d" % (width, height), timeout=5) is not None,
          "the session put it back to exactly %dx%d" % (width, height))
    wrong = wait_edges(s, width, height, GREEN)
    check(not wrong, "back to covering every edge pixel, no frame (%d others, e.g. %r)"
          % (len(wrong), wrong[:3]))
    seen = gbtest.wait_x11_geometry(display or ":?", (0, 0, width, height))
    check(seen == (0, 0, width, height),
          "the X server has it back at 0,0, %dx%d (%r)" % (width, height, seen))

    log = s.log_text()
    xpid = None
    for line in log.splitlines():
        if "started Xwayland" in line:
            xpid = int(line.rsplit("pid ", 1)[1].rstrip(")"))
    check(xpid is not None and gbtest.process_alive(xpid), "Xwayland runs")
    number = (display or ":?")[1:]

    check(s.stop() == 0, "SIGTERM stops the session with status 0")
    check(xpid is not None and not gbtest.process_alive(xpid), "Xwayland is gone")
    check(not os.path.exists("/tmp/.X11-unix/X" + number), "X11 socket removed")
    check(not os.path.exists("/tmp/.X%s-lock" % number), "X11 lock file removed")
    check(os.listdir(s.runtime) == [], "runtime folder empty (%r)" % os.listdir(s.runtime))
finally:
    s.close()
gbtest.finish()
