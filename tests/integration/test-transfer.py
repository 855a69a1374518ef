#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Files in the browser (issue 10): uploads into ~/Uploads and downloads from
~/Downloads of the login's own running session, through a real glassboxd
running as root with the direct spawner and a real session running as an
unprivileged account (made here with useradd, removed at the end).

Checks: an upload is byte-identical (SHA-256), owned by the account, never
replaces a file ("name (1).ext"); names with '../', '/', NUL or control
characters are refused and nothing is written outside; a leading dot is
sanitised; a symbolic link the account planted (Uploads -> a folder
outside, Uploads/x -> a file outside, the part file -> outside) is refused
or not followed, and nothing is written outside; over files.max_upload_size
is 413 with no file left; a full disk is 507 with the partial file
removed; an upload resumes with Content-Range; the download list holds
regular files only (no link, FIFO or folder), a download is byte-identical
with its Content-Disposition, a link or FIFO is not served; another user's
login reaches none of it; every upload and download is audited to the
journal (a socket the test binds in place of journald's). Runs as root in a network namespace with only
loopback and a private mount namespace (the small tmpfs of the full-disk
case)."""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import gbdaemon
import gbjournal
from gbtest import check, finish

if os.geteuid() != 0:
    print("SKIP: needs root (useradd, and glassboxd switching to the session's user)")
    sys.exit(77)

# And a private mount namespace: the tmpfs below is nobody else's.
gbdaemon.enter_network_namespace(mount=True)

# The audit trail: a folder of our own over /run/systemd/journal (in this
# mount namespace only) and a socket there standing in for journald's.
gbjournal.private_journal_folder()
journal = gbjournal.Journal()

ACCOUNT = "gbtest-xfer%d" % (os.getpid() % 100000)
work = tempfile.TemporaryDirectory(prefix="gb-transfer-")
HOME = os.path.join(work.name, "home")
OUTSIDE = os.path.join(work.name, "outside")
MAX_UPLOAD = 8 * 1024 * 1024


account = gbdaemon.Account(ACCOUNT, HOME)
UID, GID = account.uid, account.gid
# A folder outside the home that the account could write to: a link that
# were followed would land there.
os.mkdir(OUTSIDE, 0o777)
os.chmod(OUTSIDE, 0o777)

# What the account needs to run a session, out of the build tree.
session_binary, client = gbdaemon.copy_for_account(work.name)
os.environ["GB_TEST_ALLOW_ROOT_SESSIONS"] = "0"


def make_daemon(tmp):
    d = gbdaemon.Daemon(tmp=tmp, session_binary=session_binary, command=client,
                        session_extra='user = "%s";' % ACCOUNT,
                        server_extra='spawner = "direct"; max_sessions = 1;')
    for path in (d.root, d.runtime):
        os.chmod(path, 0o711)
    os.chmod(d.dropins, 0o755)
    for name in os.listdir(d.dropins):
        os.chmod(os.path.join(d.dropins, name), 0o644)
    with open(d.config, "a") as f:
        f.write('files = { max_upload_size = "8M"; };\n')
    os.chmod(d.config, 0o644)
    return d


def sha(data):
    return hashlib.sha256(data).hexdigest()


def tree(path):
    """Every path under @path (links not followed), for 'nothing written there'."""
    found = []
    for root, dirs, files in os.walk(path):
        found += [os.path.join(root, n) for n in dirs + files]
    return sorted(found)


def upload(d, name, data, cookie, origin="own", headers=None, quoted=True):
    target = urllib.parse.quote(name, safe="") if quoted else name
    h = dict(headers or {})
    if origin == "own":
        h["Origin"] = d.origin()
    elif origin:
        h["Origin"] = origin
    status, _, body = d.request("PUT", "/api/files/uploads/" + target, body=data, headers=h,
                                cookie=cookie)
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, body


def get_json(d, path, cookie):
    status, headers, body = d.request("GET", path, cookie=cookie)
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body


UPLOADS = os.path.join(HOME, "Uploads")
DOWNLOADS = os.path.join(HOME, "Downloads")

tmp = tempfile.TemporaryDirectory(prefix="gb-transfer-daemon-")
d = make_daemon(tmp)
try:
    # A first start makes the demo user; alice gets the same password hash.
    check(d.start(), "glassboxd starts (%s)" % d.log_text()[-300:])
    d.stop()
    with open(d.users) as f:
        demo_hash = f.read().split(":", 1)[1].strip()
    with open(d.users, "a") as f:
        f.write("alice:%s\n" % demo_hash)
    if not check(d.start(), "glassboxd starts again with alice"):
        finish()

    status, cookie, _, _ = d.login()
    check(status == 200 and cookie, "demo logs in (%d)" % status)
    check(d.wait_log(r"session \S+ of user 'demo' is ready", 20) is not None,
          "demo's session is running")

    # ---- refusals before any file ----
    status, _ = upload(d, "early.txt", b"x", cookie=None)
    check(status == 401, "an upload without a login: 401 (%d)" % status)
    status, _ = upload(d, "early.txt", b"x", cookie, origin=None)
    check(status == 403, "an upload without Origin: 403 (%d)" % status)
    status, _ = upload(d, "early.txt", b"x", cookie, origin="http://evil.example")
    check(status == 403, "an upload from another Origin: 403 (%d)" % status)
    check(not os.path.exists(UPLOADS), "nothing was made by the refused uploads")

    # ---- a plain upload ----
    data = os.urandom(300 * 1024 + 7)
    status, answer = upload(d, "hello wörld.bin", data, cookie)
    check(status == 201 and answer.get("name") == "hello wörld.bin"
          and answer.get("size") == len(data), "an upload: 201 with its name (%d %r)"
          % (status, answer))
    path = os.path.join(UPLOADS, "hello wörld.bin")
    check(os.path.isfile(path) and sha(open(path, "rb").read()) == sha(data),
          "the file in ~/Uploads is byte-identical (SHA-256)")
    info = os.stat(path)
    check(info.st_uid == UID and info.st_gid == GID,
          "the file belongs to the session's user, not root (uid %d gid %d)"
          % (info.st_uid, info.st_gid))
    check(os.stat(UPLOADS).st_uid == UID, "~/Uploads was made by the session's user")
    big = os.urandom(MAX_UPLOAD)
    status, answer = upload(d, "exactly the limit.bin", big, cookie)
    check(status == 201 and sha(open(os.path.join(UPLOADS, "exactly the limit.bin"), "rb").read())
          == sha(big), "a file of exactly files.max_upload_size (8 MiB): 201, byte-identical "
          "(%d)" % status)
    print("info: the upload paused its reading for the disk: %s"
          % bool(re.search(r"the upload waits for the disk", d.log_text())))
    status, answer = upload(d, "hello wörld.bin", b"second", cookie)
    check(status == 201 and answer.get("name") == "hello wörld (1).bin",
          "the same name again: 'hello wörld (1).bin' (%d %r)" % (status, answer))
    check(sha(open(path, "rb").read()) == sha(data), "the first file is not replaced")
    status, answer = upload(d, "empty", b"", cookie)
    check(status == 201 and os.path.getsize(os.path.join(UPLOADS, "empty")) == 0,
          "an empty file uploads (%d %r)" % (status, answer))

    # ---- names ----
    before = tree(work.name)
    for name, what in (("../escape.txt", "'../'"), ("../../outside/escape.txt", "'../../'"),
                       ("a/b.txt", "'/'"), ("nul\0byte", "NUL"), ("bell\x07.txt", "a control"),
                       ("line\nfeed", "a newline"), ("..", "'..'"), ("x" * 256, "256 bytes"),
                       ("\udcff.txt", "not UTF-8")):
        quoted = urllib.parse.quote(name.encode("utf-8", "surrogateescape"), safe="")
        status, answer = upload(d, quoted, b"nope", cookie, quoted=False)
        check(400 <= status < 500, "a name with %s is refused (%d %r)" % (what, status, answer))
    # A literal "../" the client did not encode: libsoup removes the dot segments.
    status, _, _ = d.request("PUT", "/api/files/uploads/../../escape.txt", body=b"nope",
                             headers={"Origin": d.origin()}, cookie=cookie)
    check(status != 201, "a path with a literal '../' does not upload (%d)" % status)
    check(tree(work.name) == before, "nothing was written anywhere by the refused names")
    status, answer = upload(d, ".bashrc", b"hidden", cookie)
    check(status == 201 and answer.get("name") == "_bashrc"
          and not os.path.exists(os.path.join(UPLOADS, ".bashrc")),
          "a leading dot is sanitised: '.bashrc' lands as '_bashrc' (%d %r)" % (status, answer))

    # ---- size limits ----
    before = tree(UPLOADS)
    status, answer = upload(d, "big.bin", b"b" * (MAX_UPLOAD + 1), cookie)
    check(status == 413, "one byte over files.max_upload_size: 413 (%d %r)" % (status, answer))
    status, answer = upload(d, "big.bin", b"b" * 10, cookie,
                            headers={"Content-Range": "bytes 0-9/%d" % (MAX_UPLOAD + 1)})
    check(status == 413, "a piece of a file over the limit: 413 (%d)" % status)
    check(tree(UPLOADS) == before, "no file (nor part file) is left by the 413s")

    # ---- resume with Content-Range ----
    data = os.urandom(250000)
    status, answer = upload(d, "resumed.bin", data[:100000], cookie,
                            headers={"Content-Range": "bytes 0-99999/250000"})
    check(status == 200 and answer.get("offset") == 100000,
          "the first piece: 200, offset 100000 (%d %r)" % (status, answer))
    status, _, answer = get_json(d, "/api/files/uploads/resumed.bin", cookie)
    check(status == 200 and answer.get("offset") == 100000,
          "GET says where to resume (%d %r)" % (status, answer))
    status, answer = upload(d, "resumed.bin", data[50000:60000], cookie,
                            headers={"Content-Range": "bytes 50000-59999/250000"})
    check(status == 416 and answer.get("offset") == 100000,
          "a piece at the wrong place: 416 with the offset (%d %r)" % (status, answer))
    status, answer = upload(d, "resumed.bin", data[100000:], cookie,
                            headers={"Content-Range": "bytes 100000-249999/250000"})
    check(status == 201 and answer.get("name") == "resumed.bin",
          "the last piece: 201 (%d %r)" % (status, answer))
    check(sha(open(os.path.join(UPLOADS, "resumed.bin"), "rb").read()) == sha(data),
          "the resumed file is byte-identical")
    check(not [n for n in os.listdir(UPLOADS) if n.endswith(".part")],
          "no part file is left once the file is whole")

    # ---- links the session's user planted ----
    os.rename(UPLOADS, UPLOADS + ".real")
    os.symlink(OUTSIDE, UPLOADS)
    os.lchown(UPLOADS, UID, GID)
    status, answer = upload(d, "planted.txt", b"through the link", cookie)
    check(status == 403, "~/Uploads -> a folder outside: 403 (%d %r)" % (status, answer))
    check(os.listdir(OUTSIDE) == [], "nothing was written through ~/Uploads' link")
    os.unlink(UPLOADS)
    os.rename(UPLOADS + ".real", UPLOADS)
    target = os.path.join(OUTSIDE, "target")
    os.symlink(target, os.path.join(UPLOADS, "x"))
    os.lchown(os.path.join(UPLOADS, "x"), UID, GID)
    status, answer = upload(d, "x", b"not into the target", cookie)
    check(status == 201 and answer.get("name") == "x (1)",
          "~/Uploads/x -> a file outside: the upload is 'x (1)' (%d %r)" % (status, answer))
    check(not os.path.lexists(target) and os.readlink(os.path.join(UPLOADS, "x")) == target,
          "the link is untouched and its target was not written")
    part = ".glassbox-upload-%s.part" % hashlib.sha256(b"y").hexdigest()[:16]
    os.symlink(os.path.join(OUTSIDE, "part"), os.path.join(UPLOADS, part))
    os.lchown(os.path.join(UPLOADS, part), UID, GID)
    status, answer = upload(d, "y", b"0123456789", cookie,
                            headers={"Content-Range": "bytes 10-19/20"})
    check(status in (409, 416), "a resume into a part file that is a link: refused (%d %r)"
          % (status, answer))
    check(os.listdir(OUTSIDE) == [], "nothing was written through the part file's link")

    # ---- a full disk ----
    small = os.path.join(UPLOADS, "small")
    os.mkdir(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700,uid=%d,gid=%d"
                    % (UID, GID), "tmpfs", small], check=True)
    with open(d.config, "a") as f:
        f.write("")
    # Uploads go into files.uploads_dir; this one points at the small folder.
    text = open(d.config).read().replace('max_upload_size = "8M";',
                                         'max_upload_size = "8M"; uploads_dir = "Uploads/small";')
    with open(d.config, "w") as f:
        f.write(text)
    d.proc.send_signal(1)
    check(d.wait_log(r"reloaded ", 10) is not None, "a reload points files.uploads_dir there")
    status, answer = upload(d, "full.bin", os.urandom(600 * 1024), cookie)
    check(status == 507 and "no space left" in (answer or {}).get("error", ""),
          "a full disk: 507 saying so (%d %r)" % (status, answer))
    check(os.listdir(small) == [], "the partial file is removed (%r)" % os.listdir(small))
    subprocess.run(["umount", small], check=True)
    os.rmdir(small)
    text = text.replace(' uploads_dir = "Uploads/small";', "")
    with open(d.config, "w") as f:
        f.write(text)
    d.proc.send_signal(1)
    check(d.wait_log(r"reloaded .*\n(.|\n)*reloaded ", 10) is not None, "reloaded back")

    # ---- downloads ----
    os.mkdir(DOWNLOADS, 0o700)
    os.chown(DOWNLOADS, UID, GID)
    report = os.urandom(3 * 1024 * 1024 + 11)  # several pieces
    files = {"report.pdf": report, 'résumé "q".txt': b"bonjour\n", "zero": b""}
    for name, content in files.items():
        with open(os.path.join(DOWNLOADS, name), "wb") as f:
            f.write(content)
        os.chown(os.path.join(DOWNLOADS, name), UID, GID)
    secret = os.path.join(OUTSIDE, "secret")
    with open(secret, "w") as f:
        f.write("secret\n")
    os.symlink(secret, os.path.join(DOWNLOADS, "leak"))
    os.symlink("/etc/shadow", os.path.join(DOWNLOADS, "shadow"))
    os.mkfifo(os.path.join(DOWNLOADS, "fifo"))
    os.mkdir(os.path.join(DOWNLOADS, "folder"))
    with open(os.path.join(DOWNLOADS, ".hidden"), "w") as f:
        f.write("h")

    status, headers, listing = get_json(d, "/api/files/downloads", cookie)
    names = sorted(f["name"] for f in listing.get("files", [])) if status == 200 else []
    check(status == 200 and names == sorted(files),
          "the list holds the regular files only, no link, FIFO, folder or hidden file (%d %r)"
          % (status, names))
    sizes = {f["name"]: f["size"] for f in listing.get("files", [])} if status == 200 else {}
    check(sizes.get("report.pdf") == len(report), "the list gives sizes")
    check(headers.get("Cache-Control") == "no-store", "the list is not cached")

    status, headers, body = d.request("GET", "/api/files/downloads/report.pdf", cookie=cookie)
    check(status == 200 and sha(body) == sha(report),
          "a download is byte-identical (%d, %d bytes)" % (status, len(body)))
    check(headers.get("Content-Disposition")
          == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
          "with Content-Disposition: attachment (%r)" % headers.get("Content-Disposition"))
    check(headers.get("Content-Type") == "application/octet-stream"
          and headers.get("X-Content-Type-Options") == "nosniff",
          "as application/octet-stream, nosniff")
    status, headers, body = d.request(
        "GET", "/api/files/downloads/" + urllib.parse.quote('résumé "q".txt'), cookie=cookie)
    check(status == 200 and body == b"bonjour\n"
          and "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22q%22.txt" in
          headers.get("Content-Disposition", ""),
          "a UTF-8 name with a quote downloads, encoded (%d %r)"
          % (status, headers.get("Content-Disposition")))
    status, _, body = d.request("GET", "/api/files/downloads/zero", cookie=cookie)
    check(status == 200 and body == b"", "an empty file downloads (%d)" % status)
    for name in ("leak", "shadow", "fifo", "folder", ".hidden", "missing"):
        status, _, body = d.request("GET", "/api/files/downloads/" + name, cookie=cookie)
        check(status == 404 and b"secret" not in body and b"root:" not in body,
              "'%s' is not served (%d)" % (name, status))
    status, _, _ = d.request("GET", "/api/files/downloads/report.pdf")
    check(status == 401, "a download without a login: 401 (%d)" % status)

    os.rename(DOWNLOADS, DOWNLOADS + ".real")
    os.symlink(OUTSIDE, DOWNLOADS)
    os.lchown(DOWNLOADS, UID, GID)
    status, _, listing = get_json(d, "/api/files/downloads", cookie)
    check(status == 403, "~/Downloads -> a folder outside: the list is refused (%d)" % status)
    status, _, body = d.request("GET", "/api/files/downloads/secret", cookie=cookie)
    check(status == 403 and b"secret" not in body, "and nothing is served through it (%d)"
          % status)
    os.unlink(DOWNLOADS)
    os.rename(DOWNLOADS + ".real", DOWNLOADS)

    # ---- transfers under way per login ----
    held = []
    for i in range(4):
        sock = socket.create_connection((d.host, d.port), timeout=10)
        sock.sendall(("PUT /api/files/uploads/slow%d HTTP/1.1\r\nHost: %s:%d\r\n"
                      "Origin: %s\r\nCookie: glassbox_session=%s\r\n"
                      "Content-Length: 100000\r\n\r\n" % (i, d.host, d.port, d.origin(), cookie))
                     .encode() + b"s" * 1000)
        held.append(sock)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(
            [n for n in os.listdir(UPLOADS) if n.endswith(".part")]) < 4:
        time.sleep(0.05)
    status, answer = upload(d, "fifth.txt", b"5", cookie)
    check(status == 429, "a fifth transfer while 4 are under way: 429 (%d %r)" % (status, answer))
    for sock in held:
        sock.close()
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-upload"
                          and e.get("GLASSBOX_FILE") == "slow0")
    check(entry is not None and entry.get("GLASSBOX_RESULT", "").startswith("cut short"),
          "an upload cut short is audited so (%r)" % entry)
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        status, answer = upload(d, "fifth.txt", b"5", cookie)
        if status != 429:
            break
        time.sleep(0.1)
    check(status == 201, "once they are gone, the next upload goes through (%d)" % status)
    deadline = time.monotonic() + 5  # the child may still be writing what it had
    while True:
        status, _, answer = get_json(d, "/api/files/uploads/slow1", cookie)
        if (status == 200 and answer.get("offset") == 1000) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(status == 200 and answer.get("offset") == 1000,
          "a cut upload keeps what came, to resume from (%d %r)" % (status, answer))

    # ---- another user's login ----
    status, alice, _, _ = d.login(user="alice")
    check(status == 200 and alice, "alice logs in (%d)" % status)
    before = tree(HOME)
    status, answer = upload(d, "from-alice.txt", b"alice was here", alice)
    check(status == 409, "alice (no session of her own) cannot upload into demo's (%d %r)"
          % (status, answer))
    status, _, listing = get_json(d, "/api/files/downloads", alice)
    check(status == 409 and "files" not in listing, "nor list demo's downloads (%d)" % status)
    status, _, body = d.request("GET", "/api/files/downloads/report.pdf", cookie=alice)
    check(status == 409 and sha(body) != sha(report), "nor download them (%d)" % status)
    check(tree(HOME) == before, "alice wrote nothing")

    # ---- a login that ends cuts its transfers ----
    sock = socket.create_connection((d.host, d.port), timeout=10)
    sock.sendall(("PUT /api/files/uploads/held HTTP/1.1\r\nHost: %s:%d\r\nOrigin: %s\r\n"
                  "Cookie: glassbox_session=%s\r\nContent-Length: 100000\r\n\r\n"
                  % (d.host, d.port, d.origin(), cookie)).encode() + b"h" * 500)
    deadline = time.monotonic() + 10
    part = ".glassbox-upload-%s.part" % hashlib.sha256(b"held").hexdigest()[:16]
    while time.monotonic() < deadline and not os.path.exists(os.path.join(UPLOADS, part)):
        time.sleep(0.05)
    status, _, _ = d.request("POST", "/api/logout", headers={"Origin": d.origin()}, cookie=cookie)
    check(status == 204, "demo logs out (%d)" % status)
    sock.settimeout(5)
    try:
        reply = sock.recv(4096)
    except OSError:
        reply = b""
    check(reply == b"" or reply.startswith(b"HTTP/1.1 401"),
          "the upload under way is cut at once (%r)" % reply[:40])
    sock.close()
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-upload"
                          and e.get("GLASSBOX_FILE") == "held")
    check(entry is not None and entry.get("GLASSBOX_RESULT") == "cut short: the user logged out",
          "and audited so (%r)" % (entry or {}).get("GLASSBOX_RESULT"))

    # ---- the audit trail ----
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-upload"
                          and e.get("GLASSBOX_FILE") == "hello wörld.bin"
                          and e.get("GLASSBOX_RESULT") == "ok")
    check(entry is not None and entry.get("GLASSBOX_USER") == "demo"
          and entry.get("GLASSBOX_NAMESPACE") == "local"
          and entry.get("GLASSBOX_BYTES") == str(300 * 1024 + 7)
          and entry.get("MESSAGE_ID") == "2619aa7d78a94d5c8d7422eb401a51c9"
          and re.fullmatch(r"[0-9a-f]{16}", entry.get("GLASSBOX_SESSION", "")) is not None,
          "an upload is audited: identity, session, file, bytes, result (%r)" % entry)
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-upload"
                          and e.get("GLASSBOX_FILE") == "big.bin")
    check(entry is not None and "over the limit" in entry.get("GLASSBOX_RESULT", "")
          and entry.get("PRIORITY") == "4", "a refused upload is audited with why (%r)" % entry)
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-download"
                          and e.get("GLASSBOX_FILE") == "report.pdf")
    check(entry is not None and entry.get("GLASSBOX_RESULT") == "ok"
          and entry.get("GLASSBOX_BYTES") == str(len(report))
          and entry.get("MESSAGE_ID") == "26a26c8e09f6425ea81e6d81045fdc93",
          "a download is audited with its bytes (%r)" % entry)
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-download"
                          and e.get("GLASSBOX_FILE") == "leak")
    check(entry is not None and entry.get("GLASSBOX_RESULT", "").startswith("there is no file"),
          "a refused download is audited (%r)" % entry)
    entry = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "file-upload"
                          and e.get("GLASSBOX_USER") == "alice")
    check(entry is not None and entry.get("GLASSBOX_RESULT") == "you have no session running",
          "another user's refused upload is audited (%r)" % entry)

    log = d.log_text(whole=True)
    check(re.search(r"uploaded 'hello w\?\?rld\.bin' into ~/Uploads", log) is not None,
          "uploads are logged with the file and the session")
    bad = [line for line in log.splitlines() if "CRITICAL" in line or "runtime error" in line]
    check(bad == [], "no GLib criticals from glassboxd (%r)" % bad[:3])
    check(d.stop() == 0, "glassboxd stops cleanly")
finally:
    d.close()
    tmp.cleanup()
    subprocess.run(["umount", os.path.join(UPLOADS, "small")], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

work.cleanup()
finish()
