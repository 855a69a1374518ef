#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real toolkit's X11 application (GTK 3's gtk3-widget-factory from
Debian's gtk-3-examples, forced onto X11) fills the output exactly: the X
server has its main window at 0,0 at the output's size, before and after a
resize, and its pixels reach the last column and row of the output."""

import shutil
import sys
import time

import gbtest
from gbtest import check

gbtest.unwind_through_libraries()

APP = shutil.which("gtk3-widget-factory")
if APP is None:
    print("SKIP: gtk3-widget-factory is not installed (Debian package gtk-3-examples)")
    sys.exit(77)

BACKGROUND = (0, 0, 0)  # the shell's background, where no window is


def background_share(pixels):
    return sum(1 for p in pixels if p == BACKGROUND) / len(pixels)


def wait_edges_shown(s, width, height, timeout=10.0):
    """Poll frames until one is width x height whose last column and last
    row are (at least 95%) the application's; return that share."""
    deadline = time.monotonic() + timeout
    while True:
        frame = s.screenshot()
        share = 1.0
        if (frame.width, frame.height) == (width, height):
            last = ([frame.pixel(width - 1, y) for y in range(height)] +
                    [frame.pixel(x, height - 1) for x in range(width)])
            share = 1.0 - background_share(last)
        if share >= 0.95 or time.monotonic() > deadline:
            return share



# GTK reads GDK_BACKEND; the session hands the application a clean
# environment, so set it on the command line. NO_AT_BRIDGE: no
# accessibility bus to wait for.
s = gbtest.Session(["env", "GDK_BACKEND=x11", "NO_AT_BRIDGE=1", APP], width=1024, height=768)
try:
    check(s.wait_control(), "control socket exists")
    deadline = time.monotonic() + 30
    while "application window" not in s.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    check("application window 'gtk3-widget-factory' mapped" in s.log_text(),
          "gtk3-widget-factory mapped its window through Xwayland")
    display = gbtest.x11_display(s) or ":?"
    seen = gbtest.wait_x11_geometry(display, (0, 0, 1024, 768), timeout=15)
    check(seen == (0, 0, 1024, 768),
          "the X server has its main window at 0,0, 1024x768, the output (%r)" % (seen,))
    share = wait_edges_shown(s, 1024, 768)
    check(share >= 0.95, "its pixels reach the output's right and bottom edges "
          "(%.0f%% of the last column and row)" % (100 * share))

    check(s.control('input {"type":"resize","width":1280,"height":800}') == ["ok"],
          "resize to 1280x800 accepted")
    seen = gbtest.wait_x11_geometry(display, (0, 0, 1280, 800), timeout=10)
    check(seen == (0, 0, 1280, 800),
          "after the resize, the X server has it at 0,0, 1280x800 (%r)" % (seen,))
    share = wait_edges_shown(s, 1280, 800)
    check(share >= 0.95, "after the resize its pixels reach the right and bottom edges "
          "(%.0f%% of the last column and row)" % (100 * share))
    status = s.stop()
    if not check(status == 0, "SIGTERM stops the session with status 0 (%r)" % status):
        print("--- the session's log, its end ---\n" +
              "\n".join(s.log_text().splitlines()[-40:]))
finally:
    s.close()
gbtest.finish()
