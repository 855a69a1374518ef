#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Wayland client's colour reaches the output; input injected through the
control socket reaches the client, at the right coordinates; a key switches
its colour; garbage on the control socket is refused and changes nothing."""

import gbtest
from gbtest import check, colour

s = gbtest.Session([gbtest.CLIENT, "--color", "336699", "--alt-color", "cc3300"])
try:
    check(s.wait_line(r"ready 640 480") is not None, "client maximized to 640x480")
    check(s.wait_control(), "control socket exists")
    frame = s.screenshot()
    check((frame.width, frame.height) == (640, 480), "frame is 640x480")
    for x, y in ((0, 0), (639, 0), (320, 240), (0, 479), (639, 479)):
        check(frame.pixel(x, y) == colour("336699"),
              "pixel %d,%d is the client's colour (%r)" % (x, y, frame.pixel(x, y)))

    # keyboard: evdev 30 is KEY_A
    check(s.control("key 30 down", "key 30 up") == ["ok", "ok"], "key accepted")
    check(s.wait_line(r"key 30 pressed") is not None, "client saw KEY_A pressed")
    check(s.wait_line(r"key 30 released") is not None, "client saw KEY_A released")

    # pointer: motion, then a left click where it is
    check(s.control("motion 200 150") == ["ok"], "motion accepted")
    check(s.wait_line(r"pointer (motion|enter) 200 150") is not None,
          "client saw the pointer at 200,150")
    check(s.control("button 272 down", "button 272 up") == ["ok", "ok"], "click accepted")
    check(s.wait_line(r"pointer button 272 pressed 200 150") is not None,
          "client saw the left button pressed at 200,150")
    check(s.wait_line(r"pointer button 272 released 200 150") is not None,
          "client saw the left button released at 200,150")
    check(s.control("motion 639.0 479") == ["ok"], "motion to the far corner accepted")
    check(s.wait_line(r"pointer motion 639 479") is not None, "client saw 639,479")
    check(s.control("axis vertical 15") == ["ok"], "wheel accepted")
    check(s.wait_line(r"pointer axis vertical 15.00") is not None, "client saw the wheel")

    # the switch key (57, space) changes the colour on screen
    s.control("key 57 down", "key 57 up")
    check(s.wait_line(r"color cc3300") is not None, "client switched colour")
    seen = s.wait_colour(320, 240, colour("cc3300"))
    check(seen == colour("cc3300"), "the output shows the new colour (%r)" % (seen,))

    # hostile input: each refused, none reaches the client
    bad = ["key 0 down", "key 272 down", "key 99999 down", "key 30 sideways", "key -1 up",
           "button 30 down", "motion -1 5", "motion 640 10", "motion nan 3", "motion 1e999 2",
           "axis vertical 1e9", "axis diagonal 3", "screenshot relative.png", "bogus",
           "key 30 down extra", ""]
    answers = s.control(*bad)
    check(len(answers) == len(bad) and all(a.startswith("error ") for a in answers),
          "every malformed command refused (%r)" % (answers,))
    before = int(s.stats()["rejected"])
    check(before >= len(bad), "refusals are counted (%d)" % before)
    answers = s.control("x" * 5000)
    check(answers and answers[0].startswith("error line longer"),
          "an over-long line is refused (%r)" % (answers[:1],))
    check(s.stats()["app_pid"] != "0", "the session survived all of it")
    check(s.wait_line(r"key (0|272|99999) .*", timeout=0.5) is None,
          "no refused key reached the client")

    # held keys are released on request, so nothing stays stuck
    s.control("key 42 down", "button 273 down")
    check(s.wait_line(r"key 42 pressed") is not None, "shift held")
    check(s.control("release-all") == ["ok"], "release-all accepted")
    check(s.wait_line(r"key 42 released") is not None, "shift released by release-all")
    check(s.wait_line(r"pointer button 273 released .*") is not None,
          "right button released by release-all")

    check(s.stop() == 0, "SIGTERM stops the session with status 0")
    log = s.log_text()
    check("first frame showing the application after" in log, "first frame time logged")
finally:
    s.close()
gbtest.finish()
