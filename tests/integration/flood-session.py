#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Stands in for glassbox-session in test-connection-limits.py: it takes the
arguments glassboxd's direct spawner gives (--signal-socket PATH --ready-fd
FD), says READY, and sends every viewer that connects to its signal socket
lines of 60 KB without pause, as a session that talks a lot would. Bounded:
256 MiB per viewer, 60 s in all; it stops when glassboxd hangs up."""

import os
import socket
import sys
import threading
import time

args = sys.argv[1:]
path = args[args.index("--signal-socket") + 1]
ready_fd = int(args[args.index("--ready-fd") + 1])
deadline = time.monotonic() + 60
line = b'{"type":"flood","data":"' + b"x" * 60000 + b'"}\n'

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(8)
server.settimeout(1)
os.write(ready_fd, b"READY\n")
os.close(ready_fd)


def flood(conn):
    sent = 0
    conn.settimeout(5)
    try:
        while sent < 256 << 20 and time.monotonic() < deadline:
            conn.sendall(line)
            sent += len(line)
    except OSError:
        pass
    conn.close()


while time.monotonic() < deadline:
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    threading.Thread(target=flood, args=(conn,), daemon=True).start()
