# SPDX-License-Identifier: MIT
"""A stand-in for systemd-journald, for the integration tests that check
glassboxd's audit trail (sd_journal_send() and its kin).

journald listens on a unix datagram socket, /run/systemd/journal/socket, and
takes one entry a datagram in its native protocol: fields of KEY=VALUE\\n,
or, binary-safe, KEY\\n<little-endian 64-bit size><data>\\n. An entry too big
for a datagram comes as a memfd passed along (SCM_RIGHTS) with an empty
datagram. A test that is root in a private mount namespace (unshare -m)
calls private_journal_folder(), which puts a tmpfs of its own where that
socket goes, then binds it with Journal(), so glassboxd's entries reach the
test and not the host's journal.

Only the Python standard library; every wait is bounded in time, and the
parser raises nothing on what it is given."""

import array
import os
import re
import socket
import struct
import subprocess
import threading
import time

JOURNAL = "/run/systemd/journal"
SOCKET = os.path.join(JOURNAL, "socket")
MAX_DATAGRAM = 1 << 20
MAX_ENTRY = 1 << 24  # what a memfd-passed entry is read of, at the most
MAX_FIELDS = 1000
FIELD_NAME = re.compile(rb"[A-Z0-9_]+")


def private_journal_folder():
    """A tmpfs over the deepest of /run/systemd/journal, /run/systemd, /run that
    exists (in this mount namespace only: call it after unshare -m), with the
    journal folder in it."""
    for path in (JOURNAL, "/run/systemd", "/run"):
        if os.path.isdir(path):
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "gb-test-journal", path],
                           check=True, timeout=30)
            break
    os.makedirs(JOURNAL, exist_ok=True)


def parse_native(data, errors=None):
    """The fields ({name: value as text}) of one entry in the journal's native
    protocol: KEY=VALUE\\n, or KEY\\n<le64 size><data>\\n. Raises nothing: a
    truncated entry gives the fields read so far, a field with a bad name is
    left out, and what was wrong is appended to @errors (a list) if given."""
    def wrong(what):
        if errors is not None:
            errors.append(what)

    try:
        data = bytes(data)
    except (TypeError, ValueError):
        wrong("not bytes: %r" % type(data))
        return {}
    fields, i = {}, 0
    for _ in range(MAX_FIELDS):
        if i >= len(data):
            return fields
        newline = data.find(b"\n", i)
        if newline < 0:
            wrong("a field without its newline at %d" % i)
            newline = len(data)
        line = data[i:newline]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            i = newline + 1
        else:
            key = line
            if newline + 9 > len(data):
                wrong("a binary field %r without its size" % key[:64])
                return fields
            size = struct.unpack("<Q", data[newline + 1:newline + 9])[0]
            value = data[newline + 9:newline + 9 + size]
            if len(value) != size or data[newline + 9 + size:newline + 10 + size] != b"\n":
                wrong("a binary field %r of the wrong size (%d)" % (key[:64], size))
            i = newline + 10 + size
        if not FIELD_NAME.fullmatch(key):
            wrong("a bad field name %r" % key[:64])
            continue
        fields[key.decode()] = value.decode("utf-8", "replace")
    if i < len(data):
        wrong("more than %d fields" % MAX_FIELDS)
    return fields


def read_memfd(fd):
    """What a memfd passed along holds (MAX_ENTRY bytes at the most); closes it."""
    try:
        with os.fdopen(fd, "rb") as f:
            f.seek(0)
            return f.read(MAX_ENTRY)
    except (OSError, ValueError):
        return b""


class Journal:
    """Binds the journal's socket (path) and keeps, under lock, every entry's
    bytes as they came (raw: a memfd-passed entry's content, not its empty
    datagram), its fields (entries) and what did not parse (errors)."""

    def __init__(self, path=SOCKET):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.settimeout(0.2)  # so that close() stops the thread soon
        self.raw = []
        self.entries = []
        self.errors = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _receive(self):
        """One entry's bytes, or None when there was none in time."""
        fds = array.array("i")
        try:
            data, ancillary, _, _ = self.sock.recvmsg(MAX_DATAGRAM,
                                                      socket.CMSG_SPACE(4 * fds.itemsize))
        except socket.timeout:
            return None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        for n, fd in enumerate(fds):  # a big entry comes as a memfd
            content = read_memfd(fd)
            if n == 0:
                data = content
        return data

    def _run(self):
        while not self.closing.is_set():
            try:
                data = self._receive()
            except OSError:
                return
            if not data:  # none in time, or an empty datagram: no entry
                continue
            errors = []
            entry = parse_native(data, errors)
            with self.lock:
                self.raw.append(data)
                self.entries.append(entry)
                self.errors += errors

    def wait(self, predicate, timeout=10.0):
        """The entries that predicate(entry) holds for, in the order they came,
        as soon as there is one, or [] once timeout seconds have passed (0:
        look once)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                entries = list(self.entries)
            found = [e for e in entries if predicate(e)]
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            time.sleep(min(0.05, left))

    def first(self, predicate, timeout=10.0):
        """The first entry predicate(entry) holds for, or None after timeout."""
        found = self.wait(predicate, timeout)
        return found[0] if found else None

    def events(self, event):
        """The entries so far of GLASSBOX_EVENT event."""
        return self.wait(lambda e: e.get("GLASSBOX_EVENT") == event, timeout=0)

    def clear(self):
        """Forgets the entries so far (not the errors)."""
        with self.lock:
            self.raw.clear()
            self.entries.clear()

    def close(self):
        self.closing.set()
        self.thread.join(timeout=5)
        self.sock.close()
