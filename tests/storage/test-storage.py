#!/usr/bin/env python3
"""Storage suite (issue 10): a session's cloud folders through storage-rclone's
sidecars, against real remotes on 127.0.0.1: OpenSSH's sshd (SFTP) and Apache
with mod_dav (WebDAV), in a network namespace with only loopback.

The session runs as an unprivileged account (session.user, the direct
spawner); its application is a script that writes, renames and deletes under
~/Cloud/<mount>, then draws a window. Checked on the remote afterwards, by
SHA-256:
  - a normal end: every file (100 MB included) is there, renames and deletes too,
    and the mounts are gone once everything is uploaded;
  - kill -9 of the session: the sidecar still uploads;
  - kill -9 of the sidecar: glassboxd restarts it and what was written uploads;
  - the remote down while writing: the application keeps working from the cache,
    the upload resumes when the remote is back;
  - the remote down at the end: the bounded wait runs out, the log and the
    user's next page say what stayed in the cache, and the next session
    uploads it;
  - a file changed on the remote: the remote's version is what the next open reads;
  - a conflict (edited in the session while another party changed the remote's
    copy, before the upload; and again with the remote down during the edit):
    both versions end up on the remote, the edit at the file's name, the other
    party's as "NAME (conflict YYYY-MM-DD HHMMSS).EXT";
  - bad settings (unknown backend, unreachable remote, missing credentials):
    the session starts without those mounts and the log and the page say why;
  - no credential in a sidecar's command line or environment, nor in the session's.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from gbtest import check, finish  # noqa: E402

if os.geteuid() != 0:
    print("SKIP: needs root (useradd, sshd, and glassboxd switching users)")
    sys.exit(77)
if not shutil.which("rclone") or not os.path.exists("/dev/fuse"):
    print("SKIP: needs rclone and /dev/fuse")
    sys.exit(77)

import storage_servers as servers  # noqa: E402

servers.enter_namespaces()
import storage_box  # noqa: E402
from storage_box import mounted, sha256, sidecar_pids, status_api, wait_for, wait_new  # noqa

BIG_MB = 100

box = storage_box.Box()
account, remote_account, sftp, dav = box.account, box.remote_account, box.sftp, box.dav
SFTP_ROOT, DAV_ROOT, SECRETS = box.sftp_root, box.dav_root, box.secrets
remotes_file, as_other = box.remotes_file, box.as_other
make_daemon, scenario, scenario_done = box.make_daemon, box.scenario, box.scenario_done
start_session, end_session, sums = box.start_session, box.end_session, box.sums
GLASSBOXCTL, BUS_SOCKET = storage_box.GLASSBOXCTL, box.bus_address[len("unix:path="):]

CLOUD = os.path.join(account.home, "Cloud")
ORG, DAV = os.path.join(CLOUD, "org"), os.path.join(CLOUD, "dav")
WRITE = ("cd \"$HOME/Cloud/{m}\"\nhead -c {big}M /dev/urandom > big-{m}.bin\n"
         "printf hello > small.txt\nprintf renamed > before.txt\nmv before.txt after.txt\n"
         "printf gone > deleted.txt\nrm deleted.txt\nmkdir -p sub\nprintf nested > sub/nested.txt\n"
         "sha256sum big-{m}.bin small.txt after.txt sub/nested.txt | "
         "sed 's|  |  {m}/|' >> \"$HOME/scenario.sums\"\n")

# ---- 1. a normal session: write, rename, delete; everything on both remotes ----
d = make_daemon("org=org:users/%u, dav=dav:%u")
try:
    scenario("rm -f \"$HOME/scenario.sums\"\n" + WRITE.format(m="org", big=BIG_MB)
             + WRITE.format(m="dav", big=10))
    token, ws, sid, pid = start_session(d, "normal")
    check(mounted(ORG) and mounted(DAV), "~/Cloud/org and ~/Cloud/dav are mounted before the "
          "application starts")
    pids = sidecar_pids(ORG) + sidecar_pids(DAV)
    check(len(pids) == 2, "one sidecar per mount (%r)" % pids)
    for p in pids:
        with open("/proc/%d/status" % p) as f:
            uid_line = [line for line in f if line.startswith("Uid:")][0].split()[1:]
        check(uid_line == [str(account.uid)] * 4, "sidecar %d runs as the session's account" % p)
        with open("/proc/%d/cmdline" % p, "rb") as f:
            cmdline = f.read().decode(errors="replace")
        with open("/proc/%d/environ" % p, "rb") as f:
            environ = f.read().decode(errors="replace")
        check(not any(s in cmdline or s in environ for s in SECRETS),
              "sidecar %d: no credential in its command line or environment" % p)
        check("--config=/dev/fd/3" in cmdline, "sidecar %d reads its config from a pipe" % p)
    with open("/proc/%d/environ" % pid, "rb") as f:
        environ = f.read().decode(errors="replace")
    check(not any(s in environ for s in SECRETS), "no credential in the session's environment")
    # Another user of the box, with a shell of their own: nothing of this
    # user's mounts, caches or credentials is within reach.
    for p in pids:
        with open("/proc/%d/cmdline" % p, "rb") as f:
            port = re.search(rb"--rc-addr=127\.0\.0\.1:(\d+)", f.read()).group(1).decode()
        for what, command in (
                ("the mount", ["ls", ORG]),
                ("the cache", ["ls", os.path.join(account.home, ".cache", "glassbox-storage")]),
                ("the sidecar's config (fd 3)", ["cat", "/proc/%d/fd/3" % p]),
                ("the sidecar's environment", ["cat", "/proc/%d/environ" % p]),
                ("the operator's remotes file", ["cat", remotes_file])):
            done = as_other(command)
            check(done.returncode != 0 and not any(x in done.stdout for x in SECRETS),
                  "another account cannot read %s of sidecar %d (%s)"
                  % (what, p, done.stderr.strip()[-120:]))
        done = as_other(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                         "-u", "glassbox:guess", "http://127.0.0.1:%s/vfs/stats" % port])
        check(done.stdout == "401", "another account gets 401 from sidecar %d's remote control "
              "(%r)" % (p, done.stdout))
    status, body = status_api(d, token)
    check(status == 200 and body and sorted(m["name"] for m in body["mounts"]) == ["dav", "org"]
          and all(m["state"] == "ready" for m in body["mounts"]),
          "/api/storage/status lists both mounts, ready (%r)" % body)
    listed = subprocess.run([GLASSBOXCTL, "--bus", "unix:path=" + BUS_SOCKET, "session", "list"],
                            capture_output=True, text=True, timeout=30)
    check(listed.returncode == 0 and re.search(r"^%s .*(org ready, dav ready|dav ready, org ready)$"
                                               % sid, listed.stdout, re.M) is not None,
          "glassboxctl session list shows the mounts (%r)" % listed.stdout)
    status, _, metrics = d.request("GET", "/metrics")
    metrics = metrics.decode(errors="replace")
    check(status == 200 and 'glassbox_storage_mounts{state="ready"} 2' in metrics
          and "glassbox_storage_files_waiting " in metrics,
          "/metrics counts the mounts by state")
    check(scenario_done(), "the application wrote, renamed and deleted its files")
    written = sums()
    end_session(d, ws, sid, "normal")
    check(not mounted(ORG) and not mounted(DAV) and not sidecar_pids(ORG),
          "after the session the mounts and their sidecars are gone")
    for name, digest in written.items():
        mount, rel = name.split("/", 1)
        root = SFTP_ROOT if mount == "org" else DAV_ROOT
        path = os.path.join(root, rel)
        check(os.path.exists(path) and sha256(path) == digest,
              "%s is on the %s remote, byte-identical (SHA-256)" % (name, mount))
    for root, what in ((SFTP_ROOT, "SFTP"), (DAV_ROOT, "WebDAV")):
        check(not os.path.exists(os.path.join(root, "deleted.txt"))
              and not os.path.exists(os.path.join(root, "before.txt")),
              "the %s remote has the rename and the delete too" % what)

    # ---- 2. kill -9 of the session: the sidecar still uploads ----
    scenario("head -c 4M /dev/urandom > \"$HOME/Cloud/org/session-killed.bin\"\n"
             "sha256sum \"$HOME/Cloud/org/session-killed.bin\" > \"$HOME/scenario.sums\"\n")
    token, ws, sid, pid = start_session(d, "kill -9 of the session")
    check(scenario_done(), "the application wrote its file")
    digest = open(os.path.join(account.home, "scenario.sums")).read().split()[0]
    os.kill(pid, signal.SIGKILL)
    end_session(d, ws, sid, "kill -9 of the session")
    path = os.path.join(SFTP_ROOT, "session-killed.bin")
    check(os.path.exists(path) and sha256(path) == digest,
          "after kill -9 of glassbox-session the file is on the remote")

    # ---- 3. a file changed on the remote: the remote's version is read ----
    scenario("while [ ! -e \"$HOME/go\" ]; do sleep 0.2; done\nsleep 3\n"
             "cat \"$HOME/Cloud/org/small.txt\" > \"$HOME/scenario.read\"\n")
    token, ws, sid, pid = start_session(d, "changed on the remote")
    with open(os.path.join(SFTP_ROOT, "small.txt"), "w") as f:
        f.write("changed on the server")
    open(os.path.join(account.home, "go"), "w").close()
    check(scenario_done(), "the application read the file again")
    with open(os.path.join(account.home, "scenario.read")) as f:
        check(f.read() == "changed on the server",
              "after the listing's cache time the application reads the remote's version")
    end_session(d, ws, sid, "changed on the remote")
finally:
    d.close()

# ---- 4. kill -9 of the sidecar inside the write-back delay, and the remote down ----
# With the remote down rclone answers from its listing cache only while that is
# fresh (then EIO): these sessions keep listings for 5 minutes, rclone's default.
d = make_daemon("org=org:users/%u", write_back_s=4, dir_cache_time_s=300)
try:
    scenario("head -c 8M /dev/urandom > \"$HOME/Cloud/org/sidecar-killed.bin\"\n"
             "sha256sum \"$HOME/Cloud/org/sidecar-killed.bin\" > \"$HOME/scenario.sums\"\n")
    token, ws, sid, pid = start_session(d, "kill -9 of the sidecar")
    check(scenario_done(), "the application wrote its file")
    digest = open(os.path.join(account.home, "scenario.sums")).read().split()[0]
    mark = len(d.log_text())
    killed = sidecar_pids(ORG)
    for p in killed:
        os.kill(p, signal.SIGKILL)
    check(len(killed) == 1 and wait_new(d, r"sidecar of mount 'org' of \S+ was killed by signal 9"
                                        r".*restarting it", mark, 15) is not None,
          "glassboxd restarts a sidecar killed with -9")
    path = os.path.join(SFTP_ROOT, "sidecar-killed.bin")
    check(wait_for(lambda: os.path.exists(path) and sha256(path) == digest, 60),
          "the file written before the kill is uploaded by the restarted sidecar")

    # The remote goes down while the application writes.
    # The application has been working in its folder (listed) when the remote goes.
    scenario("ls \"$HOME/Cloud/org\" > /dev/null\ntouch \"$HOME/listed\"\n"
             "while [ ! -e \"$HOME/go\" ]; do sleep 0.2; done\n"
             "head -c 2M /dev/urandom > \"$HOME/Cloud/org/while-down.bin\"\n"
             "sha256sum \"$HOME/Cloud/org/while-down.bin\" > \"$HOME/scenario.sums\"\n")
    # The scenario runs at the application's start only: a new session.
    end_session(d, ws, sid, "kill -9 of the sidecar")
    token, ws, sid, pid = start_session(d, "remote down while writing")
    check(wait_for(lambda: os.path.exists(os.path.join(account.home, "listed")), 30),
          "the application has listed its folder")
    sftp.stop()
    open(os.path.join(account.home, "go"), "w").close()
    check(scenario_done(60), "with the remote down the application still writes (the cache)")
    digest = open(os.path.join(account.home, "scenario.sums")).read().split()[0]
    path = os.path.join(SFTP_ROOT, "while-down.bin")
    time.sleep(3)
    check(not os.path.exists(path), "nothing reached the remote while it was down")
    check(sftp.start(), "the remote comes back")
    check(wait_for(lambda: os.path.exists(path) and sha256(path) == digest, 90),
          "the upload resumes once the remote is back")
    end_session(d, ws, sid, "remote down while writing")
finally:
    d.close()

# ---- 5. the remote down at the end: a bounded wait, then the user hears of it ----
d = make_daemon("org=org:users/%u", extra_env={"GB_TEST_STORAGE_FLUSH_TIMEOUT_S": "4"},
                write_back_s=2, dir_cache_time_s=300)
try:
    scenario("ls \"$HOME/Cloud/org\" > /dev/null\ntouch \"$HOME/listed\"\n"
             "while [ ! -e \"$HOME/go\" ]; do sleep 0.2; done\n"
             "head -c 1M /dev/urandom > \"$HOME/Cloud/org/kept.bin\"\n"
             "sha256sum \"$HOME/Cloud/org/kept.bin\" > \"$HOME/scenario.sums\"\n")
    token, ws, sid, pid = start_session(d, "remote down at the end")
    check(wait_for(lambda: os.path.exists(os.path.join(account.home, "listed")), 30),
          "the application has listed its folder")
    sftp.stop()
    open(os.path.join(account.home, "go"), "w").close()
    check(scenario_done(60), "the application wrote its file with the remote down")
    digest = open(os.path.join(account.home, "scenario.sums")).read().split()[0]
    end_session(d, ws, sid, "remote down at the end", timeout=60)
    check(wait_new(d, r"mount 'org' of \S+: 1 file\(s\) not yet uploaded after 4 s", 0, 5)
          is not None, "the log says how many files stayed in the cache")
    # glassboxd restarts before the user comes back: the notice is kept.
    check(d.stop() == 0 and d.start(), "glassboxd stops and starts again")
    status, token, _, _ = d.login()
    status, body = status_api(d, token)
    check(status == 200 and body and any("1 file(s) of ~/Cloud/org not yet uploaded" in n
                                         for n in body["notices"]),
          "the user's page hears of it, after a restart of glassboxd too (%r)" % body)
    status, body = status_api(d, token)
    check(status == 200 and body and body["notices"] == [], "and hears of it once (%r)" % body)
    check(sftp.start(), "the remote comes back")
    scenario("true\n")
    token, ws, sid, pid = start_session(d, "the next session")
    path = os.path.join(SFTP_ROOT, "kept.bin")
    check(wait_for(lambda: os.path.exists(path) and sha256(path) == digest, 60),
          "the next session uploads what the cache kept")
    end_session(d, ws, sid, "the next session")

    # A new session while the previous one still uploads: it waits for those
    # mounts to stop (the same folders), then mounts and starts.
    scenario("head -c 30M /dev/urandom > \"$HOME/Cloud/org/last.bin\"\n"
             "sha256sum \"$HOME/Cloud/org/last.bin\" > \"$HOME/scenario.sums\"\n")
    token, ws, sid, pid = start_session(d, "a session that ends while uploading")
    check(scenario_done(), "the application wrote its file")
    digest = open(os.path.join(account.home, "scenario.sums")).read().split()[0]
    mark = len(d.log_text())
    ws.close()
    check(wait_new(d, r"session %s ended; mount 'org' of \S+ uploads what is left" % sid, mark,
                   15) is not None, "the session ends and its mount flushes")
    scenario("true\n")
    token, ws, sid2, pid = start_session(d, "the session after it")
    log = d.log_text()[mark:]
    waited = re.search(r"session %s of local:demo waits until the mounts of the user's "
                       r"previous session have uploaded" % sid2, log)
    stopped = log.find("storage: the mounts of session %s are all stopped" % sid)
    mounted_again = log.find("storage: mount 'org' of local:demo (session %s) is ready" % sid2)
    check(waited is not None and 0 <= stopped < mounted_again,
          "the next session waited for the previous mounts to stop before mounting")
    path = os.path.join(SFTP_ROOT, "last.bin")
    check(os.path.exists(path) and sha256(path) == digest,
          "the file of the session before is on the remote")
    end_session(d, ws, sid2, "the session after it")
finally:
    d.close()

# ---- 6. a remote the user added from the web client, mounted beside the operator's ----
d = make_daemon("org=org:users/%u",
                conf_extra='storage = { user_remote_types = [ "webdav" ]; };\n')
try:
    status, token, _, _ = d.login()
    body = json.dumps({"name": "mydav", "type": "webdav",
                       "params": {"url": "http://127.0.0.1:%d/dav" % dav.port, "vendor": "other",
                                  "user": dav.user, "pass": dav.password}})
    status, _, answer = d.request("POST", "/api/storage/remotes", body.encode(),
                                  {"Origin": d.origin(), "Content-Type": "application/json"},
                                  token)
    check(status in (200, 201), "the user adds a WebDAV remote of their own (%s %r)"
          % (status, answer))
    # The login started a session already (no viewer: it ends after 1 s); the
    # remote is mounted from the next one.
    check(wait_new(d, r"storage: the mounts of session \S+ are all stopped", 0, 30) is not None,
          "the session the login started ends without a viewer")
    scenario("printf mine > \"$HOME/Cloud/mydav/mine.txt\"\n")
    token, ws, sid, pid = start_session(d, "a user's own remote")
    check(mounted(os.path.join(CLOUD, "mydav")) and mounted(ORG),
          "the user's remote is at ~/Cloud/mydav, beside the operator's ~/Cloud/org (%s)"
          % d.log_text()[-2500:])
    p = sidecar_pids(os.path.join(CLOUD, "mydav"))
    with open("/proc/%d/cmdline" % p[0], "rb") as f:
        cmdline = f.read().decode(errors="replace")
    check(dav.password not in cmdline and "127.0.0.1:%d" % dav.port not in cmdline,
          "its URL and password are not on the sidecar's command line")
    check(scenario_done(), "the application wrote into the user's own remote")
    end_session(d, ws, sid, "a user's own remote")
    path = os.path.join(DAV_ROOT, "..", "mine.txt")
    check(os.path.exists(path) and open(path).read() == "mine",
          "the file is on the user's own WebDAV remote")
finally:
    d.close()

# ---- 7. bad settings: the session starts without those mounts, and says why ----
# The operator's remotes as a systemd credential this time (what
# LoadCredentialEncrypted= of glassbox.service decrypts into
# $CREDENTIALS_DIRECTORY, mode 0400): remotes_file = credential:NAME.
credentials = os.path.join(box.work.name, "credentials")
os.mkdir(credentials, 0o700)
shutil.copy(remotes_file, os.path.join(credentials, "storage-remotes"))
os.chmod(os.path.join(credentials, "storage-remotes"), 0o400)
d = make_daemon("org=org:users/%u, bad=bad:x, down=down:x, nocreds=nocreds:x",
                extra_env={"GB_TEST_STORAGE_READY_TIMEOUT_S": "15",
                           "CREDENTIALS_DIRECTORY": credentials},
                remotes_setting="credential:storage-remotes")
try:
    scenario("true\n")
    token, ws, sid, pid = start_session(d, "bad settings")
    check(mounted(ORG), "the good mount is there (its remote from the systemd credential)")
    log = d.log_text()
    for name, why in (("bad", r"didn't find backend called \"nosuchbackend\""),
                      ("down", r"connection refused|couldn't connect"),
                      ("nocreds", r"unable to authenticate|no supported methods|"
                                  r"couldn't connect")):
        check(re.search(r"mount '%s' of local:demo \(session \S+\) is not available: .*(%s)"
                        % (name, why), log) is not None,
              "the log says why mount '%s' is missing" % name)
    # A second user of this box: the direct spawner runs every user as the same
    # account, so their ~/Cloud/org would be demo's folder. Refused, never
    # mounted over demo's.
    added = subprocess.run([GLASSBOXCTL, "--bus", box.bus_address, "user", "add", "eve"],
                           input="eve-password-1\n", capture_output=True, text=True, timeout=30)
    mark = len(d.log_text())
    status, eve, _, _ = d.login("eve", "eve-password-1")
    refused = wait_new(d, r"mount 'org' of local:eve \(session \S+\) is not available: \S+ is "
                       r"mounted already, for another session", mark, 30)
    check(added.returncode == 0 and status == 200 and refused is not None,
          "a second user's mount on the same folder of the shared account is refused (%s)"
          % (added.stderr.strip() or d.log_text()[mark:][-400:]))
    check(len(sidecar_pids(ORG)) == 1, "demo's mount is the only one on ~/Cloud/org")

    status, body = status_api(d, token)
    failed = {m["name"]: m.get("problem", "") for m in (body or {}).get("mounts", [])
              if m["state"] == "failed"}
    check(sorted(failed) == ["bad", "down", "nocreds"] and all(failed.values()),
          "/api/storage/status names each failed mount with its reason (%r)" % failed)
    end_session(d, ws, sid, "bad settings")
finally:
    d.close()

# ---- 8. a conflict: edited here while another party changed the remote's copy ----
# rclone 1.60 uploads the edit made here over the remote's newer copy; the
# plugin sees it first (write_back_s 15 > glassboxd's 5 s status interval)
# and keeps the remote's version as "NAME (conflict YYYY-MM-DD HHMMSS).EXT".
# The other party writes straight into the servers' folders after the
# application's edit, well inside the write-back delay: a fixed order.
d = make_daemon("org=org:users/%u, dav=dav:%u", write_back_s=15)
try:
    ORIGINAL, MINE, THEIRS = (b"the first version\n", b"edited in the session\n",
                              b"changed on the server by another party\n")
    for root in (SFTP_ROOT, DAV_ROOT):
        os.makedirs(root, exist_ok=True)
        os.chown(root, remote_account.uid, remote_account.gid)
        path = os.path.join(root, "conflict.txt")
        with open(path, "wb") as f:
            f.write(ORIGINAL)
        os.chown(path, remote_account.uid, remote_account.gid)
        os.utime(path, (time.time() - 600, time.time() - 600))
    # twice.txt, edited again after its upload, is no conflict.
    scenario("".join("printf 'edited in the session\\n' > \"$HOME/Cloud/%s/conflict.txt\"\n"
                     "printf 'first edit\\n' > \"$HOME/Cloud/%s/twice.txt\"\n" % (m, m)
                     for m in ("org", "dav"))
             + "touch \"$HOME/listed\"\nwhile [ ! -e \"$HOME/go\" ]; do sleep 0.2; done\n"
             + "".join("printf 'the second edit\\n' > \"$HOME/Cloud/%s/twice.txt\"\n" % m
                       for m in ("org", "dav")))
    token, ws, sid, pid = start_session(d, "a conflict")
    mark = len(d.log_text())
    check(wait_for(lambda: os.path.exists(os.path.join(account.home, "listed")), 60),
          "the application edited conflict.txt on both mounts")
    for root in (SFTP_ROOT, DAV_ROOT):
        with open(os.path.join(root, "conflict.txt"), "wb") as f:
            f.write(THEIRS)
    copies = {}
    for mount in ("org", "dav"):
        kept = wait_new(d, r"mount '%s' of local:demo: conflict: 'conflict\.txt' changed on the "
                        r"remote while it was edited here; the remote's version is kept as "
                        r"'(conflict \(conflict \d{4}-\d\d-\d\d \d{6}\)\.txt)', the edit made "
                        r"here uploads to 'conflict\.txt'" % mount, mark, 30)
        check(kept is not None, "the log says which file of mount '%s' got a conflict copy%s"
              % (mount, "" if kept else " (%s)" % d.log_text()[mark:][-1500:]))
        copies[mount] = kept.group(1) if kept else None
    twice = [os.path.join(root, "twice.txt") for root in (SFTP_ROOT, DAV_ROOT)]
    check(wait_for(lambda: all(os.path.exists(p) and open(p).read() == "first edit\n"
                               for p in twice), 40), "twice.txt is uploaded once")
    open(os.path.join(account.home, "go"), "w").close()
    check(scenario_done(), "the application edited twice.txt again")
    end_session(d, ws, sid, "a conflict")
    check(all(open(p).read() == "the second edit\n" for p in twice),
          "the second edit of twice.txt is uploaded over the first: no conflict")
    for mount, root in (("org", SFTP_ROOT), ("dav", DAV_ROOT)):
        path = os.path.join(root, "conflict.txt")
        check(os.path.exists(path) and sha256(path) == hashlib.sha256(MINE).hexdigest(),
              "%s: the edit made in the session is at conflict.txt (SHA-256)" % mount)
        copy = os.path.join(root, copies[mount] or "missing")
        check(os.path.exists(copy) and sha256(copy) == hashlib.sha256(THEIRS).hexdigest(),
              "%s: the other party's version is kept as %r (SHA-256)" % (mount, copies[mount]))
        # Every case before this one left its files here too: none got a copy.
        others = [os.path.relpath(os.path.join(top, n), root)
                  for top, _, names in os.walk(root) for n in names if "(conflict " in n]
        check(others == [copies[mount]], "%s: this conflict's copy is the only one on the "
              "remote, after every case of the suite (%r)" % (mount, others))
    log = d.log_text()
    check(not any(text.decode().strip() in log for text in (MINE, THEIRS)),
          "the log names the files, never their contents")
    status, token, _, _ = d.login()
    status, body = status_api(d, token)
    notices = body["notices"] if status == 200 and body else []
    for mount in ("org", "dav"):
        check(any(n.startswith("1 file(s) in ~/Cloud/%s changed on the remote while they "
                               "were edited here" % mount) for n in notices),
              "the user's page hears of the conflict copy of mount '%s' (%r)" % (mount, notices))
finally:
    d.close()

# ---- 9. a conflict while the remote is down: rclone's upload fails, then retries ----
# The edit is made with the remote down; rclone's first upload (15 s after the
# close) fails within seconds (low_level_retries 3) and is retried 30 s later.
# The other party changes the file meanwhile and the remote comes back right
# after that failure: the plugin's check (every 5 s, paused 10 s at most after
# a remote that timed out) comes well before the retry. Listings are kept 5
# minutes, as in case 4.
d = make_daemon("org=org:users/%u", write_back_s=15, dir_cache_time_s=300)
try:
    MINE, THEIRS = b"edited while the remote was down\n", b"the other party's version, longer\n"
    os.makedirs(SFTP_ROOT, exist_ok=True)
    os.chown(SFTP_ROOT, remote_account.uid, remote_account.gid)
    path = os.path.join(SFTP_ROOT, "down.txt")
    with open(path, "wb") as f:
        f.write(b"before\n")
    os.chown(path, remote_account.uid, remote_account.gid)
    os.utime(path, (time.time() - 600, time.time() - 600))
    scenario("ls \"$HOME/Cloud/org\" > /dev/null\ntouch \"$HOME/listed\"\n"
             "while [ ! -e \"$HOME/go\" ]; do sleep 0.2; done\n"
             "printf 'edited while the remote was down\\n' > \"$HOME/Cloud/org/down.txt\"\n")
    token, ws, sid, pid = start_session(d, "a conflict while the remote is down")
    check(wait_for(lambda: os.path.exists(os.path.join(account.home, "listed")), 30),
          "the application has listed its folder")
    sftp.stop()
    mark = len(d.log_text())
    open(os.path.join(account.home, "go"), "w").close()
    check(scenario_done(60), "the application edited down.txt with the remote down")
    failed = wait_new(d, r"down\.txt: vfs cache: failed to upload try #1", mark, 40)
    check(failed is not None, "rclone's first upload of down.txt fails")
    with open(path, "wb") as f:
        f.write(THEIRS)
    check(sftp.start(), "the remote comes back")
    kept = wait_new(d, r"mount 'org' of local:demo: conflict: 'down\.txt' changed on the remote "
                    r"while it was edited here; the remote's version is kept as "
                    r"'(down \(conflict [-0-9 ]+\)\.txt)'", mark, 25)
    check(kept is not None, "the conflict is seen before rclone's retry%s"
          % ("" if kept else " (%s)" % d.log_text()[mark:][-1500:]))
    check(wait_for(lambda: sha256(path) == hashlib.sha256(MINE).hexdigest(), 60),
          "rclone's retry uploads the edit made here to down.txt (SHA-256)")
    end_session(d, ws, sid, "a conflict while the remote is down")
    copy = os.path.join(SFTP_ROOT, kept.group(1) if kept else "missing")
    check(os.path.exists(copy) and sha256(copy) == hashlib.sha256(THEIRS).hexdigest(),
          "the other party's version is kept as %r (SHA-256)" % os.path.basename(copy))
    others = sorted(n for n in os.listdir(SFTP_ROOT) if n.startswith("down"))
    check(others == sorted(["down.txt", os.path.basename(copy)]),
          "down.txt has one conflict copy (%r)" % others)
finally:
    d.close()

finish()
