#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The users' own storage remotes (issue 10): /api/storage/remotes of a real
glassboxd with two users of auth-local, in a network namespace with only
loopback and a private mount namespace (a stand-in for journald's socket
receives the audit entries).

Checked: remotes of the allowed types are added, replaced and deleted; the
list never shows a secret; the sealed file holds no secret, URL, host or
user name in clear, is 0600 in a 0700 folder, and the key is 0600; the
other user neither sees nor deletes them, and a file copied to the other
user's name does not open; a type the operator does not allow, line-break
and control-character injection, unknown keys, too many remotes and an
oversized body are refused; a foreign or missing Origin is refused; a
corrupted file is an error naming it (and the API refuses every change
rather than overwrite it); a key with a wrong mode is refused; the remotes
survive a restart; changes per minute are limited; a reload that allows no
type stops additions; and no secret ever reaches the log or the audit."""

import hashlib
import json
import os
import re
import signal
import stat
import subprocess

import gbdaemon
import gbjournal
from gbtest import check, finish

ALICE_PW = "alice-remotes-Pw-1"
BOB_PW = "bob-remotes-Pw-2"
CHANGES_PER_MINUTE = 40

DAV_PASS = "dav-SECRET-0x51f3"
DAV_URL = "https://dav.alice-example.test/remote.php/dav/files/alice"
SFTP_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEKEYSECRET9d1e"
            "\\n-----END OPENSSH PRIVATE KEY-----")
SFTP_HOST = "sftp-host.alice-example.test"
SECRETS = [DAV_PASS, "b3BlbnNzaC1rZXktdjEKEYSECRET9d1e", "sftp-PASS-7781"]


def make_hash(password):
    result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                            capture_output=True, text=True, check=True, timeout=30)
    return result.stdout.strip()


def write_storage(d, types, max_remotes=3):
    """glassbox.conf with a storage group (replacing any earlier one)."""
    with open(d.config) as f:
        text = f.read().split("\nstorage = ")[0]
    text += "\nstorage = { user_remote_types = [ %s ]; max_user_remotes = %d; };\n" % (
        ", ".join('"%s"' % t for t in types), max_remotes)
    with open(d.config, "w") as f:
        f.write(text)


def make_daemon():
    d = gbdaemon.Daemon()
    with open(d.users, "w") as f:
        f.write("alice:%s:user\nbob:%s:user\n" % (make_hash(ALICE_PW), make_hash(BOB_PW)))
    os.chmod(d.users, 0o600)
    with open(os.path.join(d.dropins, "50-auth-local.ini"), "w") as f:
        f.write("[plugin]\nkind = auth\nname = local\n\n[settings]\nusers_file = %s\n"
                "create_demo_user = false\n" % d.users)
    write_storage(d, ["webdav", "sftp"])
    return d


def api(d, method, path="/api/storage/remotes", body=None, cookie=None, origin="own",
        headers=None):
    """(status, JSON answer or None, headers, raw body)."""
    headers = dict(headers or {})
    if origin == "own":
        headers["Origin"] = d.origin()
    elif origin:
        headers["Origin"] = origin
    if isinstance(body, str):
        body = body.encode()
        headers["Content-Type"] = "application/json"
    status, response_headers, data = d.request(method, path, body, headers, cookie)
    try:
        answer = json.loads(data) if data else None
    except ValueError:
        answer = None
    return status, answer, response_headers, data


def sealed_path(d, identity):
    return os.path.join(d.state, "remotes",
                        hashlib.sha256(identity.encode()).hexdigest() + ".sealed")


def login(d, user, password):
    status, token, _, body = d.login(user, password)
    check(status == 200 and token, "%s logs in (%s %r)" % (user, status, body))
    return token


WEBDAV = {"name": "nextcloud", "type": "webdav",
          "params": {"url": DAV_URL, "vendor": "nextcloud", "user": "alice-dav",
                     "pass": DAV_PASS}}
SFTP = {"name": "home-sftp", "type": "sftp",
        "params": {"host": SFTP_HOST, "port": "2222", "user": "alice-sftp",
                   "key_pem": SFTP_KEY}}


def check_add_and_list(d, alice, bob):
    status, answer, _, _ = api(d, "GET")
    check(status == 401, "GET without a login: 401 (%s)" % status)
    status, answer, _, _ = api(d, "GET", cookie=alice)
    check(status == 200 and answer == {"allowed_types": ["webdav", "sftp"], "max_remotes": 3,
                                       "remotes": []},
          "alice has no remotes yet, and sees the allowed types (%s %r)" % (status, answer))
    check(not os.path.exists(os.path.join(d.state, "remotes.key")),
          "no key is made before the first remote")

    status, answer, _, raw = api(d, "POST", body=json.dumps(WEBDAV), cookie=alice)
    check(status == 201 and answer and "next session" in answer.get("message", ""),
          "alice adds a WebDAV remote: 201, applies from the next session (%s %r)"
          % (status, answer))
    check(DAV_PASS.encode() not in raw, "the answer to the POST holds no password")
    status, answer, _, raw = api(d, "POST", body=json.dumps(SFTP), cookie=alice)
    check(status == 201, "alice adds an SFTP remote with a key (%s %r)" % (status, answer))

    status, answer, _, raw = api(d, "GET", cookie=alice)
    remotes = {r["name"]: r for r in (answer or {}).get("remotes", [])}
    check(status == 200 and set(remotes) == {"nextcloud", "home-sftp"},
          "alice lists both remotes (%s %r)" % (status, answer))
    check(remotes.get("nextcloud", {}).get("params") ==
          {"url": DAV_URL, "vendor": "nextcloud", "user": "alice-dav"}
          and remotes["nextcloud"].get("type") == "webdav"
          and remotes["nextcloud"].get("secrets_set") == ["pass"],
          "the WebDAV remote shows url, vendor and user, and that a password is set, not "
          "which (%r)" % remotes.get("nextcloud"))
    check(remotes.get("home-sftp", {}).get("params") ==
          {"host": SFTP_HOST, "port": "2222", "user": "alice-sftp"}
          and remotes["home-sftp"].get("secrets_set") == ["key_pem"],
          "the SFTP remote shows host, port and user, never key_pem (%r)"
          % remotes.get("home-sftp"))
    check(not any(s.encode() in raw for s in SECRETS), "no secret in the list's bytes")

    status, answer, _, _ = api(d, "GET", cookie=bob)
    check(status == 200 and answer.get("remotes") == [],
          "bob sees none of alice's remotes (%s %r)" % (status, answer))


def check_files(d):
    folder = os.path.join(d.state, "remotes")
    path = sealed_path(d, "local:alice")
    key = os.path.join(d.state, "remotes.key")
    check(os.path.isdir(folder) and stat.S_IMODE(os.stat(folder).st_mode) == 0o700,
          "state_dir/remotes is a 0700 folder")
    check(os.path.isfile(path) and stat.S_IMODE(os.stat(path).st_mode) == 0o600,
          "alice's file is <sha256 of local:alice>.sealed, 0600")
    check(sorted(os.listdir(folder)) == [os.path.basename(path)],
          "nothing else in the folder: no temporary file left (%r)" % os.listdir(folder))
    check(os.path.isfile(key) and stat.S_IMODE(os.stat(key).st_mode) == 0o600
          and os.path.getsize(key) == 32, "remotes.key is 32 bytes, 0600")
    with open(path, "rb") as f:
        raw = f.read()
    check(raw.startswith(b"GBR1"), "the file starts with its header GBR1")
    clear = SECRETS + [DAV_URL, "dav.alice-example", SFTP_HOST, "alice-dav", "alice-sftp",
                       "nextcloud", "home-sftp", "BEGIN OPENSSH", "webdav", "local:alice"]
    found = [s for s in clear if s.encode() in raw or s.encode("utf-16-le") in raw]
    check(found == [], "the sealed file holds no secret, URL, host, user or name in clear "
          "(%r)" % found)


def check_other_user(d, alice, bob):
    status, answer, _, _ = api(d, "DELETE", "/api/storage/remotes/nextcloud", cookie=bob)
    check(status == 404, "bob cannot delete alice's remote: 404 (%s %r)" % (status, answer))
    status, answer, _, _ = api(d, "GET", cookie=alice)
    check(len(answer.get("remotes", [])) == 2, "alice still has both remotes")
    # A file copied to bob's name does not open for bob: the identity is sealed in.
    bob_path = sealed_path(d, "local:bob")
    with open(sealed_path(d, "local:alice"), "rb") as f:
        data = f.read()
    with open(bob_path, "wb") as f:
        f.write(data)
    os.chmod(bob_path, 0o600)
    status, answer, _, raw = api(d, "GET", cookie=bob)
    check(status == 500 and b"nextcloud" not in raw,
          "alice's file copied to bob's name does not open for bob: 500 (%s %r)"
          % (status, answer))
    check(d.wait_log(re.escape(bob_path) + r" cannot be opened: it does not decrypt") is not None,
          "the log names the file that does not decrypt")
    os.unlink(bob_path)


def check_refusals(d, alice):
    path = sealed_path(d, "local:alice")
    with open(path, "rb") as f:
        before = f.read()
    s3 = {"name": "bucket", "type": "s3",
          "params": {"provider": "Minio", "access_key_id": "AK", "secret_access_key": "SK"}}
    status, answer, _, _ = api(d, "POST", body=json.dumps(s3), cookie=alice)
    check(status == 403 and "type" in (answer or {}).get("error", ""),
          "an s3 remote, a type this server does not allow: 403 (%s %r)" % (status, answer))
    local = {"name": "root", "type": "local", "params": {}}
    status, answer, _, _ = api(d, "POST", body=json.dumps(local), cookie=alice)
    check(status == 403, "a 'local' remote: 403 (%s %r)" % (status, answer))

    injections = [
        ("user", "x\n[other]\ntype = local"), ("pass", "pw\r\n[other]"), ("user", "a\tb"),
        ("user", "a\x00b"), ("pass", "pw\x1b[2J"), ("user", " alice"), ("pass", "pw "),
        ("user", "a\u2028b"), ("user", "a\u0085b"), ("url", "https://h/\n[x]"),
        ("url", "file:///etc/shadow"), ("type", "local"), ("vendor", "dropbox"),
    ]
    for key, value in injections:
        body = {"name": "evil", "type": "webdav",
                "params": {"url": "https://h.example/", "user": "u", "pass": "p"}}
        body["params"][key] = value
        status, answer, _, _ = api(d, "POST", body=json.dumps(body), cookie=alice)
        check(status == 400 and "error" in (answer or {}),
              "%s = %r: 400 (%s %r)" % (key, value, status, answer))
    for name in ["Evil", "a\nb", "../x", "", "a" * 33, "x]\n[y"]:
        body = dict(WEBDAV, name=name)
        status, answer, _, _ = api(d, "POST", body=json.dumps(body), cookie=alice)
        check(status == 400, "name %r: 400 (%s %r)" % (name, status, answer))
    for text in ["not json", "[]", '{"name":"x","type":"webdav"}',
                 '{"name":"x","type":"webdav","params":{"url":1}}',
                 '{"name":"x","type":"webdav","params":{},"extra":1}']:
        status, answer, _, _ = api(d, "POST", body=text, cookie=alice)
        check(status == 400, "body %r: 400 (%s %r)" % (text, status, answer))
    big = dict(WEBDAV, params=dict(WEBDAV["params"], **{"pass": "p" * (17 * 1024)}))
    status, answer, _, _ = api(d, "POST", body=json.dumps(big), cookie=alice)
    check(status == 413, "a body over 16 KiB: 413 (%s %r)" % (status, answer))

    for origin in ["http://evil.example", None]:
        status, answer, _, _ = api(d, "POST", body=json.dumps(dict(WEBDAV, name="csrf")),
                                   cookie=alice, origin=origin)
        check(status == 403, "POST with Origin %r: 403 (%s %r)" % (origin, status, answer))
        status, answer, _, _ = api(d, "DELETE", "/api/storage/remotes/nextcloud",
                                   cookie=alice, origin=origin)
        check(status == 403, "DELETE with Origin %r: 403 (%s %r)" % (origin, status, answer))
    status, answer, headers, _ = api(d, "PUT", cookie=alice)
    check(status == 405 and "POST" in (headers.get("Allow") or ""), "PUT: 405 (%s)" % status)

    with open(path, "rb") as f:
        check(f.read() == before, "none of the refused requests changed alice's file")


def check_replace_limit_delete(d, alice):
    replaced = dict(WEBDAV, params=dict(WEBDAV["params"], user="alice2"))
    status, answer, _, _ = api(d, "POST", body=json.dumps(replaced), cookie=alice)
    names = [r["name"] for r in (answer or {}).get("remotes", [])]
    check(status == 200 and sorted(names) == ["home-sftp", "nextcloud"],
          "posting the same name replaces it: 200, still two (%s %r)" % (status, names))
    third = {"name": "work", "type": "sftp",
             "params": {"host": "10.0.0.7", "user": "a", "pass": "sftp-PASS-7781"}}
    status, answer, _, _ = api(d, "POST", body=json.dumps(third), cookie=alice)
    check(status == 201, "a third remote (max_user_remotes = 3): 201 (%s %r)" % (status, answer))
    fourth = dict(third, name="fourth")
    status, answer, _, _ = api(d, "POST", body=json.dumps(fourth), cookie=alice)
    check(status == 409 and "most" in (answer or {}).get("error", ""),
          "a fourth: refused, 409 (%s %r)" % (status, answer))
    status, answer, _, _ = api(d, "POST", body=json.dumps(dict(third, params=dict(
        third["params"], port="22"))), cookie=alice)
    check(status == 200, "replacing one at the limit still works (%s %r)" % (status, answer))
    status, answer, _, _ = api(d, "DELETE", "/api/storage/remotes/work", cookie=alice)
    names = [r["name"] for r in (answer or {}).get("remotes", [])]
    check(status == 200 and "work" not in names and len(names) == 2,
          "alice deletes one of hers (%s %r)" % (status, names))
    status, _, _, _ = api(d, "DELETE", "/api/storage/remotes/work", cookie=alice)
    check(status == 404, "deleting it again: 404 (%s)" % status)


def check_restart(d, alice):
    key = os.path.join(d.state, "remotes.key")
    with open(key, "rb") as f:
        key_before = f.read()
    check(d.stop() == 0, "glassboxd stops")
    check(d.start(), "glassboxd starts again")
    status, answer, _, _ = api(d, "GET", cookie=alice)
    names = sorted(r["name"] for r in (answer or {}).get("remotes", []))
    check(status == 200 and names == ["home-sftp", "nextcloud"],
          "after a restart alice's remotes are still there (%s %r)" % (status, answer))
    with open(key, "rb") as f:
        check(f.read() == key_before, "the key is the same after the restart")


def check_bad_key(d, alice):
    key = os.path.join(d.state, "remotes.key")
    os.chmod(key, 0o644)
    status, answer, _, _ = api(d, "GET", cookie=alice)
    check(status == 500, "a key others may read: the list is refused (%s %r)" % (status, answer))
    check(d.wait_log(re.escape(key) + r" must be a file .* mode 0600 \(it has .*0644") is not None,
          "the log names the key and its wrong mode")
    status, _, _, _ = api(d, "POST", body=json.dumps(WEBDAV), cookie=alice)
    check(status == 500, "and so is a change (%s)" % status)
    os.chmod(key, 0o600)


def check_corrupt(d, alice):
    path = sealed_path(d, "local:alice")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0x20
    with open(path, "wb") as f:
        f.write(data)
    status, answer, _, _ = api(d, "GET", cookie=alice)
    check(status == 500 and "cannot be read" in (answer or {}).get("error", ""),
          "a corrupted file: GET answers an error, not an empty list (%s %r)" % (status, answer))
    check(d.wait_log(re.escape(path) + r" cannot be opened: it does not decrypt") is not None,
          "the log names the corrupted file")
    status, answer, _, _ = api(d, "POST", body=json.dumps(dict(WEBDAV, name="new")),
                               cookie=alice)
    check(status == 500, "a POST does not overwrite it (%s %r)" % (status, answer))
    status, _, _, _ = api(d, "DELETE", "/api/storage/remotes/nextcloud", cookie=alice)
    check(status == 500, "nor does a DELETE (%s)" % status)
    with open(path, "rb") as f:
        check(f.read() == bytes(data), "the corrupted file is left as it is")
    # Cut short, and another version: errors too.
    for what, text in (("cut short", bytes(data[:20])), ("of version 2", b"GBR2" + data[4:])):
        with open(path, "wb") as f:
            f.write(text)
        status, _, _, _ = api(d, "GET", cookie=alice)
        check(status == 500, "a file %s: 500 (%s)" % (what, status))
    # The operator's remedy: remove the file.
    os.unlink(path)
    status, answer, _, _ = api(d, "GET", cookie=alice)
    check(status == 200 and answer.get("remotes") == [],
          "once the operator removes it, alice starts afresh (%s %r)" % (status, answer))


def check_change_limit(d, bob):
    statuses = []
    for i in range(CHANGES_PER_MINUTE + 5):
        status, answer, headers, _ = api(d, "DELETE", "/api/storage/remotes/none%d" % i,
                                         cookie=bob)
        statuses.append(status)
        if status == 429:
            break
    check(statuses[-1] == 429 and statuses.count(404) == CHANGES_PER_MINUTE
          and (headers.get("Retry-After") or "").isdigit(),
          "changes per minute are limited: %d, then 429 with Retry-After (%r)"
          % (CHANGES_PER_MINUTE, statuses[-3:]))


def check_reload_disallows(d, alice):
    write_storage(d, [])
    d.proc.send_signal(signal.SIGHUP)
    check(d.wait_log(r"reloaded ") is not None, "glassboxd reloads")
    status, answer, _, _ = api(d, "GET", cookie=alice)
    check(status == 200 and answer.get("allowed_types") == [],
          "after the reload no type is allowed (%s %r)" % (status, answer))
    status, answer, _, _ = api(d, "POST", body=json.dumps(WEBDAV), cookie=alice)
    check(status == 403, "and a POST is refused: 403 (%s %r)" % (status, answer))


def check_audit_and_log(d, journal):
    found = journal.wait(lambda e: e.get("GLASSBOX_EVENT") == "user-remote"
                         and e.get("GLASSBOX_ACTION") == "delete")
    entries = journal.events("user-remote")
    actions = [(e.get("GLASSBOX_USER"), e.get("GLASSBOX_ACTION"), e.get("GLASSBOX_REMOTE"))
               for e in entries]
    check(found and ("alice", "add", "nextcloud") in actions
          and ("alice", "replace", "nextcloud") in actions
          and ("alice", "delete", "work") in actions
          and all(e.get("GLASSBOX_NAMESPACE") == "local" for e in entries),
          "every add, replace and delete is audited with the identity and the name (%r)"
          % actions)
    with journal.lock:
        raw = b"".join(journal.raw)
    log = d.log_text(whole=True).encode()
    leaked = [s for s in SECRETS if s.encode() in raw or s.encode() in log]
    check(leaked == [], "no secret in the audit entries or the log (%r)" % leaked)


def main():
    gbdaemon.enter_network_namespace(mount=True)
    gbjournal.private_journal_folder()
    os.environ["GB_TEST_REMOTE_CHANGES_PER_MINUTE"] = str(CHANGES_PER_MINUTE)
    journal = gbjournal.Journal()
    d = make_daemon()
    try:
        if not check(d.start(), "glassboxd starts with storage.user_remote_types"):
            print(d.log_text())
            return
        alice = login(d, "alice", ALICE_PW)
        bob = login(d, "bob", BOB_PW)
        check_add_and_list(d, alice, bob)
        check_files(d)
        check_other_user(d, alice, bob)
        check_refusals(d, alice)
        check_replace_limit_delete(d, alice)
        check_audit_and_log(d, journal)
        check_restart(d, alice)
        check_bad_key(d, alice)
        check_corrupt(d, alice)
        check_change_limit(d, bob)
        check_reload_disallows(d, alice)
        status = d.stop()
        check(status == 0, "glassboxd stops cleanly (%r; leaks fail under ASan)" % status)
        if status != 0:
            print(d.log_text()[-4000:])
    finally:
        d.close()
    finish()


main()
