#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shell's window policy: a dialog opens centred at its own size, is
raised and focused, and stays above its main window when that is clicked;
a popup shows where the application put it."""

import gbtest
from gbtest import check, colour

MAIN, DIALOG, POPUP = colour("aa0000"), colour("00aa00"), colour("ffff00")
client = [gbtest.CLIENT, "--color", "aa0000", "--dialog-key", "32", "--dialog-color",
          "00aa00", "--popup-key", "25", "--popup-color", "ffff00"]

s = gbtest.Session(client, xwayland=False)
try:
    check(s.wait_line(r"ready 640 480") is not None, "main window maximized")
    s.wait_control()
    s.control("key 32 down", "key 32 up")
    check(s.wait_line(r"dialog ready 200 100") is not None, "dialog at its own size 200x100")
    check(s.wait_line(r"dialog keyboard enter") is not None, "the new dialog has keyboard focus")
    frame = s.screenshot()
    inside = [frame.pixel(x, y) for x, y in ((220, 190), (419, 289), (320, 240))]
    outside = [frame.pixel(x, y) for x, y in ((219, 240), (420, 240), (320, 189), (320, 290))]
    check(all(p == DIALOG for p in inside), "dialog centred: 220..419 x 190..289 (%r)" % inside)
    check(all(p == MAIN for p in outside), "main window around it (%r)" % outside)

    s.control("motion 30 30", "button 272 down", "button 272 up")
    check(s.wait_line(r"keyboard enter") is not None, "a click focuses the main window")
    seen = s.wait_colour(320, 240, DIALOG, timeout=2)
    check(seen == DIALOG, "the dialog stays above its main window (%r)" % (seen,))
    s.control("motion 320 240", "button 272 down", "button 272 up")
    check(s.wait_line(r"dialog pointer button 272 pressed 100 50") is not None,
          "a click on the dialog lands in it, at 100,50 of the dialog")
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()

s = gbtest.Session(client, xwayland=False)
try:
    check(s.wait_line(r"ready 640 480") is not None, "main window maximized")
    s.wait_control()
    s.control("key 25 down", "key 25 up")
    check(s.wait_line(r"popup configure 40 50 120 60") is not None,
          "popup placed at 40,50 of its parent, 120x60")
    check(s.wait_line(r"popup ready 120 60") is not None, "popup mapped")
    seen = s.wait_colour(100, 80, POPUP, timeout=2)
    frame = s.screenshot()
    check(seen == POPUP and frame.pixel(40, 50) == POPUP and frame.pixel(159, 109) == POPUP,
          "the popup covers 40..159 x 50..109 of the output")
    check(frame.pixel(39, 50) == MAIN and frame.pixel(160, 109) == MAIN,
          "and nothing outside it")
    check(s.stop() == 0, "SIGTERM exits 0")
finally:
    s.close()
gbtest.finish()
