#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""session.renderer = "gl": the client's colour reaches the output through
libweston's GL renderer (Mesa's software rasterizer on these machines), and
frames read back the right way up."""

import os
import gbtest
from gbtest import check, colour

# Mesa's DRI driver is unloaded at exit and leaves a few allocations that
# LeakSanitizer cannot name ("<unknown module>"), so no suppression can
# single them out. Leak checking stays on for every other test (the same
# session code runs under the pixman renderer there); ASan and UBSan errors
# still fail this one.
os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "").replace(
    "detect_leaks=1", "detect_leaks=0")

s = gbtest.Session([gbtest.CLIENT, "--color", "336699", "--alt-color", "cc3300"],
                   config_extra='renderer = "gl";')
try:
    check(s.wait_line(r"ready 640 480", timeout=20) is not None, "client ready")
    check(s.wait_control(), "control socket exists")
    seen = s.wait_colour(320, 240, colour("336699"))
    check(seen == colour("336699"), "GL renderer shows the client's colour (%r)" % (seen,))
    frame = s.screenshot()
    for x, y in ((0, 0), (639, 0), (0, 479), (639, 479)):
        check(frame.pixel(x, y) == colour("336699"), "corner %d,%d has it too" % (x, y))
    s.control("key 57 down", "key 57 up")
    seen = s.wait_colour(320, 240, colour("cc3300"))
    check(seen == colour("cc3300"), "a repaint through GL shows the new colour")
    check("gl renderer" in s.log_text(), "the log names the GL renderer")
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()

# Orientation: a popup the client puts at 40,50 of its window shows near the
# top of the output, not near the bottom.
s = gbtest.Session([gbtest.CLIENT, "--color", "336699", "--popup-key", "25", "--popup-color",
                    "ffff00"], config_extra='renderer = "gl";')
try:
    check(s.wait_line(r"ready 640 480", timeout=20) is not None, "client ready")
    s.wait_control()
    s.control("key 25 down", "key 25 up")
    check(s.wait_line(r"popup ready 120 60") is not None, "popup mapped")
    seen = s.wait_colour(100, 80, colour("ffff00"), timeout=10)
    frame = s.screenshot()
    check(seen == colour("ffff00") and frame.pixel(100, 479 - 80) == colour("336699"),
          "popup at the top, none at the bottom: frames are the right way up")
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()

# An X11 window through the GL renderer fills the output (no frame).
s = gbtest.Session([gbtest.X11_CLIENT, "--color", "22aa44"], config_extra='renderer = "gl";')
try:
    check(s.wait_line(r"ready \d+ \d+", timeout=20) is not None, "X11 client ready")
    s.wait_control()
    seen = s.wait_colour(639, 479, colour("22aa44"), timeout=10)
    frame = s.screenshot()
    corners = [frame.pixel(x, y) for x, y in ((0, 0), (639, 0), (0, 479), (639, 479))]
    check(all(p == colour("22aa44") for p in corners),
          "the X11 window covers the output's four corners (%r)" % corners)
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()
gbtest.finish()
