#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Output resize from a data channel message (through the control socket's
`input` command): the output takes the new size, the maximized application
gets a configure of it and fills it, frames have it, pointer positions
follow it; sizes above session.max_width/max_height are clamped, odd sizes
rounded down to even, tiny ones raised to 64; a burst of requests ends at
the last one without a resize for each; the GL renderer resizes too."""

import json
import os
import time

import gbtest
from gbtest import check, colour


def resize(width, height):
    return "input " + json.dumps({"type": "resize", "width": width, "height": height})


def wait_size(s, width, height, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        stats = s.stats()
        size = (int(stats["width"]), int(stats["height"]))
        if size == (width, height) or time.monotonic() > deadline:
            return size
        time.sleep(0.02)


def wait_filled(s, width, height, rgb, timeout=5.0):
    """Poll frames until one is width x height with rgb in both far corners."""
    deadline = time.monotonic() + timeout
    while True:
        frame = s.screenshot()
        good = ((frame.width, frame.height) == (width, height) and
                frame.pixel(0, 0) == rgb and frame.pixel(width - 1, height - 1) == rgb)
        if good or time.monotonic() > deadline:
            return frame, good
        time.sleep(0.05)


def resize_to(s, request, expected, what):
    """Ask for request (w, h); check the client and the output end at expected."""
    check(s.control(resize(*request)) == ["ok"], "%s: resize %dx%d accepted" % ((what,) + request))
    check(s.wait_line(r"configure %d %d" % expected) is not None,
          "%s: client configured to %dx%d" % ((what,) + expected))
    size = wait_size(s, *expected)
    check(size == expected, "%s: output is %dx%d (%r)" % ((what,) + expected + (size,)))


s = gbtest.Session([gbtest.CLIENT, "--color", "336699"],
                   config_extra="max_width = 1920; max_height = 1200;")
try:
    check(s.wait_line(r"ready 640 480") is not None, "client maximized to 640x480")
    check(s.wait_control(), "control socket exists")

    resize_to(s, (1600, 900), (1600, 900), "plain")
    frame, good = wait_filled(s, 1600, 900, colour("336699"))
    check(good, "a 1600x900 frame filled by the client (%dx%d, corners %r %r)"
          % (frame.width, frame.height, frame.pixel(0, 0),
             frame.pixel(frame.width - 1, frame.height - 1)))
    check("output resized from 640x480 to 1600x900" in s.log_text(), "the change is logged")

    # pointer positions follow the new size
    check(s.control('input {"type":"move","x":1500,"y":850}') == ["ok"],
          "a position inside the new size is accepted")
    check(s.wait_line(r"pointer (enter|motion) 1500 850") is not None,
          "client saw the pointer at 1500,850")

    # the same size again changes nothing (first forget the configures so
    # far: the application's activation may have sent one of the new size)
    s.wait_line(r"(?!)", timeout=0.3)
    s.seen.clear()
    check(s.control(resize(1600, 900)) == ["ok"], "the current size is accepted")
    check(s.wait_line(r"configure .*", timeout=0.5) is None, "and sends no configure")

    resize_to(s, (5000, 3000), (1920, 1200), "above the maximum")
    resize_to(s, (801, 601), (800, 600), "odd")
    resize_to(s, (10, 1), (64, 64), "below 64")
    resize_to(s, (1921, 1199), (1920, 1198), "odd at the maximum")

    # the old far corner is now outside
    before = int(s.stats()["input_dropped"])
    answers = s.control('input {"type":"move","x":1919,"y":1197}')
    check(answers == ["ok"], "the new far corner is inside (%r)" % answers)
    resize_to(s, (640, 480), (640, 480), "back")
    answers = s.control('input {"type":"move","x":1500,"y":850}')
    check(answers == ["error value out of range"], "a position past the new size is refused")
    check(int(s.stats()["input_dropped"]) == before + 1, "and counted")
    frame, good = wait_filled(s, 640, 480, colour("336699"))
    check(good, "a 640x480 frame filled by the client")

    # a burst: the last request wins, with far fewer changes than requests
    s.wait_line(r"(?!)", timeout=0.3)
    s.seen.clear()
    burst = [(700 + 10 * i, 500 + 6 * i) for i in range(30)]
    answers = s.control(*[resize(w, h) for w, h in burst])
    check(answers == ["ok"] * len(burst), "a burst of %d resizes accepted" % len(burst))
    size = wait_size(s, *burst[-1])
    check(size == burst[-1], "the output ends at the last request %r (%r)" % (burst[-1], size))
    check(s.wait_line(r"configure %d %d" % burst[-1]) is not None, "so does the client")
    s.wait_line(r"(?!)", timeout=0.3)
    changes = s.log_text().count("output resized from")
    configures = len([line for line in s.seen if line.startswith("configure ")])
    check(configures < len(burst) // 2,
          "requests were coalesced (%d configures, %d changes so far)" % (configures + 1,
                                                                           changes))

    check(s.stats()["app_pid"] != "0", "the application survived every resize")
    check(s.stop() == 0, "SIGTERM stops the session with status 0")
finally:
    s.close()

# An application that redraws every frame keeps a frame in flight most of
# the time: the resize waits for it to finish, and the output goes on.
s = gbtest.Session([gbtest.CLIENT, "--color", "336699", "--clock"])
try:
    check(s.wait_line(r"ready 640 480") is not None, "clock: client ready")
    check(s.wait_control(), "clock: control socket exists")
    sizes = [(640 + 40 * (i % 7), 480 + 20 * (i % 5)) for i in range(25)] + [(1024, 768)]
    for size in sizes:
        check(s.control(resize(*size)) == ["ok"], "clock: resize %dx%d accepted" % size)
        time.sleep(0.03)
    size = wait_size(s, 1024, 768)
    check(size == (1024, 768), "clock: the output ends at 1024x768 (%r)" % (size,))
    check(s.wait_line(r"configure 1024 768") is not None, "clock: so does the client")
    frames = int(s.stats()["frames"])
    time.sleep(0.5)
    later = int(s.stats()["frames"])
    check(later - frames >= 5, "clock: the output keeps repainting (%d frames in 0.5 s)"
          % (later - frames))
    frame, good = wait_filled(s, 1024, 768, colour("336699"))
    check(good, "clock: a 1024x768 frame filled by the client")
    log = s.log_text()
    changes = log.count("output resized from")
    check(2 <= changes < len(sizes), "clock: %d changes for %d requests" % (changes, len(sizes)))
    check(s.stop() == 0, "clock: SIGTERM stops the session with status 0")
finally:
    s.close()

# The GL renderer rebuilds its buffers too. Mesa's DRI driver leaves
# allocations LeakSanitizer cannot name (see test-gl-renderer.py).
os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "").replace(
    "detect_leaks=1", "detect_leaks=0")
s = gbtest.Session([gbtest.CLIENT, "--color", "cc3300"], config_extra='renderer = "gl";')
try:
    check(s.wait_line(r"ready 640 480", timeout=20) is not None, "GL: client ready")
    check(s.wait_control(), "GL: control socket exists")
    resize_to(s, (1280, 720), (1280, 720), "GL")
    frame, good = wait_filled(s, 1280, 720, colour("cc3300"))
    check(good, "GL: a 1280x720 frame filled by the client (%dx%d)" % (frame.width,
                                                                       frame.height))
    check(s.stop() == 0, "GL: SIGTERM stops the session with status 0")
finally:
    s.close()
gbtest.finish()
