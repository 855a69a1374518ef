#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Data channel input messages, injected through the control socket's
`input JSON` command (the same code path as a viewer's data channel): keys
by KeyboardEvent.code reach the client as evdev keys, pointer moves and
buttons at the right place, the wheel scaled; garbage is refused and
counted; the rate limit drops and counts; a connection that closes lets go
of what it held, and only of that."""

import json
import socket
import time

import gbtest
from gbtest import check


def message(**members):
    return "input " + json.dumps(members, separators=(",", ":"))


def key(code, down):
    return message(type="key", code=code, down=down)


class Connection:
    """One control connection kept open, like one viewer's data channel."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.data = b""

    def send(self, *lines):
        self.sock.sendall("".join(line + "\n" for line in lines).encode())
        answers = []
        while len(answers) < len(lines):
            while b"\n" not in self.data:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return answers
                self.data += chunk
            line, self.data = self.data.split(b"\n", 1)
            answers.append(line.decode())
        return answers

    def close(self):
        self.sock.close()


s = gbtest.Session([gbtest.CLIENT, "--color", "336699", "--alt-color", "cc3300"])
try:
    check(s.wait_line(r"ready 640 480") is not None, "client maximized to 640x480")
    check(s.wait_control(), "control socket exists")
    check(s.wait_line(r"keyboard enter", timeout=5) is not None, "client has keyboard focus")

    # keys by KeyboardEvent.code
    for code, evdev in (("KeyA", 30), ("Digit1", 2), ("Enter", 28), ("ShiftLeft", 42),
                        ("ArrowUp", 103), ("F12", 88), ("NumpadEnter", 96),
                        ("IntlBackslash", 86), ("MetaRight", 126)):
        answers = s.control(key(code, True), key(code, False))
        check(answers == ["ok", "ok"], "%s down/up accepted (%r)" % (code, answers))
        check(s.wait_line(r"key %d pressed" % evdev) is not None,
              "client saw %s as evdev %d pressed" % (code, evdev))
        check(s.wait_line(r"key %d released" % evdev) is not None,
              "client saw %s as evdev %d released" % (code, evdev))

    # Space is the client's colour switch: the key reaches the application
    s.control(key("Space", True), key("Space", False))
    check(s.wait_line(r"color cc3300") is not None, "Space switched the client's colour")

    # pointer: move, then buttons where it is
    # (the client rounds to whole pixels: 200.25 is 200)
    check(s.control(message(type="move", x=200.25, y=150)) == ["ok"], "move accepted")
    check(s.wait_line(r"pointer (motion|enter) 200 150") is not None,
          "client saw the pointer at 200,150")
    for button, evdev in ((0, 272), (2, 273), (1, 274), (3, 275), (4, 276)):
        answers = s.control(message(type="button", button=button, down=True),
                            message(type="button", button=button, down=False))
        check(answers == ["ok", "ok"], "button %d accepted" % button)
        check(s.wait_line(r"pointer button %d pressed 200 150" % evdev) is not None,
              "client saw button %d as %d pressed at 200,150" % (button, evdev))
        check(s.wait_line(r"pointer button %d released 200 150" % evdev) is not None,
              "client saw button %d released" % evdev)
    check(s.control(message(type="move", x=639.25, y=479)) == ["ok"],
          "move to the last pixel accepted")
    check(s.wait_line(r"pointer motion 639 479") is not None, "client saw 639,479")

    # wheel: 120 pixels (one notch) are 10 wl_pointer units
    check(s.control(message(type="wheel", dx=0, dy=120)) == ["ok"], "wheel accepted")
    check(s.wait_line(r"pointer axis vertical 10.00") is not None,
          "client saw one notch down as vertical 10")
    check(s.control(message(type="wheel", dx=-240, dy=0)) == ["ok"], "sideways wheel accepted")
    check(s.wait_line(r"pointer axis horizontal -20.00") is not None,
          "client saw two notches left as horizontal -20")

    # release-all: what this connection holds is let go
    c = Connection(s.control_path)
    answers = c.send(key("ControlRight", True), message(type="button", button=2, down=True))
    check(answers == ["ok", "ok"], "control and right button held (%r)" % answers)
    check(s.wait_line(r"key 97 pressed") is not None, "client saw ControlRight pressed")
    check(s.wait_line(r"pointer button 273 pressed .*") is not None, "right button pressed")
    check(c.send(message(type="release-all")) == ["ok"], "release-all accepted")
    check(s.wait_line(r"key 97 released") is not None, "release-all released ControlRight")
    check(s.wait_line(r"pointer button 273 released .*") is not None,
          "release-all released the right button")
    c.close()

    # garbage: each refused with a reason, counted, nothing reaches the client
    s.wait_line(r"(?!)", timeout=0.3)  # let what is on its way arrive, then forget it
    s.seen.clear()
    before = int(s.stats()["input_dropped"])
    bad = [
        "input", "input ", "input {", "input nonsense", "input []", "input {}",
        'input {"type":"key"}', 'input {"type":"key","code":"KeyA"}',
        'input {"type":"key","code":"KeyA","down":"yes"}',
        'input {"type":"key","code":"NoSuchKey","down":true}',
        'input {"type":"key","code":"KeyA","down":true,"extra":1}',
        'input {"type":"key","type":"key","code":"KeyA","down":true}',
        'input {"type":"key","code":"KeyA","down":true} trailing',
        'input {"type":"move","x":640,"y":10}', 'input {"type":"move","x":10,"y":480}',
        'input {"type":"move","x":-1,"y":10}', 'input {"type":"move","x":NaN,"y":10}',
        'input {"type":"move","x":Infinity,"y":10}', 'input {"type":"move","x":1e999,"y":1}',
        'input {"type":"button","button":5,"down":true}',
        'input {"type":"wheel","dx":0,"dy":10001}',
        'input {"type":"resize","width":0,"height":600}',
        'input {"type":"key","code":"\\ud800","down":true}',
        'input {"type":"key","code":"\xe9","down":true}',
        "input " + "[" * 1000, "input " + '{"type":' * 120,
    ]
    answers = s.control(*bad)
    check(len(answers) == len(bad) and all(a.startswith("error ") for a in answers),
          "every malformed message refused (%r)" % (answers,))
    check("error unknown key code" in answers, "an unknown code is named as such")
    check("error value out of range" in answers, "a position outside is named as such")
    dropped = int(s.stats()["input_dropped"]) - before
    # "input" alone is a usage error of the control socket, not an input message
    check(dropped == len(bad) - 1, "drops counted in stats (%d of %d)" % (dropped, len(bad) - 1))
    check(s.wait_line(r"key \d+ pressed", timeout=0.5) is None, "no refused key reached the client")
    check(s.wait_line(r"pointer button .*", timeout=0.2) is None,
          "no refused button reached the client")
    check(s.stats()["app_pid"] != "0", "the session survived all of it")

    # the rate limit: 2000 a second per viewer; a flood is cut and counted
    before = int(s.stats()["input_dropped"])
    flood = 3 * 2000
    c = Connection(s.control_path)
    started = time.monotonic()
    answers = []
    # in chunks, so that the answers never fill the socket (the session does
    # not wait for a reader, and each small answer costs the socket ~1 KiB)
    for _ in range(flood // 50):
        answers += c.send(*([message(type="release-all")] * 50))
    took = time.monotonic() - started
    c.close()
    limited = answers.count("error over the rate limit")
    accepted = answers.count("ok")
    check(len(answers) == flood and accepted + limited == flood,
          "every flooded message answered (%d ok, %d limited, %.2f s)" % (accepted, limited,
                                                                         took))
    check(accepted <= 2000 + 2000 * took + 50,
          "no more than the burst plus 2000/s got through (%d)" % accepted)
    check(limited >= flood - 2000 - 2000 * took - 50 and limited > 0,
          "the rest was dropped (%d)" % limited)
    dropped = int(s.stats()["input_dropped"]) - before
    check(dropped == limited, "rate drops counted in stats (%d)" % dropped)
    # another connection has its own budget
    check(s.control(message(type="release-all")) == ["ok"], "another viewer is not limited")

    # a connection that closes releases what it holds, and only that
    a = Connection(s.control_path)
    b = Connection(s.control_path)
    check(a.send(key("ShiftRight", True), key("KeyB", True)) == ["ok", "ok"],
          "viewer A holds ShiftRight and B")
    check(s.wait_line(r"key 54 pressed") is not None, "client saw ShiftRight pressed")
    check(s.wait_line(r"key 48 pressed") is not None, "client saw B pressed")
    check(b.send(key("ShiftRight", True), key("KeyB", False)) == ["ok", "ok"],
          "viewer B presses ShiftRight too, releases a B it does not hold")
    check(s.wait_line(r"key 48 released", timeout=0.5) is None,
          "B's release of A's key changed nothing")
    a.close()
    check(s.wait_line(r"key 48 released") is not None,
          "closing A's connection released its B")
    check(s.wait_line(r"key 54 released", timeout=0.5) is None,
          "ShiftRight stays down: B still holds it")
    b.close()
    check(s.wait_line(r"key 54 released") is not None,
          "closing B's connection released ShiftRight")

    check(s.stop() == 0, "SIGTERM stops the session with status 0")
finally:
    s.close()
gbtest.finish()
