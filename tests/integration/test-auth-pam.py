#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""auth-pam against a real PAM stack: glassboxd with only the pam plugin
enabled, the service file packaging/pam.d/glassbox (common-auth and
common-account: pam_unix), and accounts this test makes.

The accounts live in temporary copies of /etc/passwd, /etc/shadow and
/etc/group, and the service file in a copy of /etc/pam.d, bind-mounted over
the real ones inside a private mount namespace (unshare -m), which also has
a network namespace of its own with only loopback (unshare -n): the host's
/etc is never touched. Logins go over HTTP to 127.0.0.1."""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

if os.environ.get("GB_IN_PAM_NS") != "1":
    # Root makes the namespaces directly; anyone else in a user namespace
    # where they are root (then pam_unix reads the shadow copy itself).
    unshare = ["unshare", "-m", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-m", "-n"]
    env = dict(os.environ, GB_IN_PAM_NS="1", GB_IN_NETNS="1")
    sys.stdout.flush()
    os.execvpe(unshare[0], unshare + ["--propagation", "private", "--", sys.executable]
               + sys.argv, env)

import gbdaemon  # noqa: E402
from gbtest import check, finish  # noqa: E402

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

SERVICE_FILE = os.path.join(gbdaemon.SOURCE, "packaging", "pam.d", "glassbox")
PASSWORDS = {
    "alice": "alice-Pass-1",     # a plain user
    "bob": "bob-Pass-2",         # in glassbox-admin (a supplementary group)
    "frank": "frank-Pass-6",     # glassbox-admin is his primary group
    "carol": "carol-Pass-3",     # locked: '!' before the hash
    "dave": "dave-Pass-4",       # account expired (shadow field 8 in the past)
    "erin": "erin-Pass-5",       # password must be changed (last change 0)
    "sysuser": "sys-Pass-7",     # uid 999, below min_uid
    "root": "root-Pass-8",       # uid 0, allow_root is off
}


def make_hash(password):
    """A SHA-512 crypt hash, the way an operator's chpasswd makes one."""
    result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def write(path, text, mode):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def bind(source, target):
    subprocess.run(["mount", "--bind", source, target], check=True)


def make_accounts(folder):
    """Account files with the test's users, bind-mounted over /etc's."""
    today = (datetime.date.today() - datetime.date(1970, 1, 1)).days
    hashes = {user: make_hash(password) for user, password in PASSWORDS.items()}
    passwd = ["root:x:0:0:root:/root:/bin/sh",
              "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
              "sysuser:x:999:999:system account:/nonexistent:/usr/sbin/nologin",
              "alice:x:1001:1001::/home/alice:/bin/sh",
              "bob:x:1002:1002::/home/bob:/bin/sh",
              "carol:x:1003:1003::/home/carol:/bin/sh",
              "dave:x:1004:1004::/home/dave:/bin/sh",
              "erin:x:1005:1005::/home/erin:/bin/sh",
              "frank:x:1006:990::/home/frank:/bin/sh"]
    shadow = []
    for user in ("root", "daemon", "nobody", "sysuser", "alice", "bob", "carol", "dave",
                 "erin", "frank"):
        hash_ = hashes.get(user, "*")
        last_change, expire = str(today - 1), ""
        if user == "carol":
            hash_ = "!" + hash_
        elif user == "dave":
            expire = "1"
        elif user == "erin":
            last_change = "0"
        shadow.append("%s:%s:%s:0:99999:7::%s:" % (user, hash_, last_change, expire))
    group = ["root:x:0:", "daemon:x:1:", "nogroup:x:65534:", "sysuser:x:999:",
             "glassbox-admin:x:990:bob", "glassbox-users:x:991:alice,frank",
             "alice:x:1001:", "bob:x:1002:", "carol:x:1003:", "dave:x:1004:",
             "erin:x:1005:"]
    for name, lines, mode in (("passwd", passwd, 0o644), ("shadow", shadow, 0o640),
                              ("group", group, 0o644)):
        path = os.path.join(folder, name)
        write(path, "\n".join(lines) + "\n", mode)
        bind(path, "/etc/" + name)
    pam_d = os.path.join(folder, "pam.d")
    shutil.copytree("/etc/pam.d", pam_d, symlinks=True)
    shutil.copyfile(SERVICE_FILE, os.path.join(pam_d, "glassbox"))
    bind(pam_d, "/etc/pam.d")


def preload_libcrypt_under_asan():
    """GCC 12's AddressSanitizer intercepts crypt_r() but looks the real one
    up only when the process starts; pam_unix.so brings libcrypt in later,
    with dlopen(), and the interceptor then calls address 0 (GCC bug 111057,
    fixed upstream by dropping the interceptor). In a sanitizer build, load
    libcrypt with the program, after the ASan runtime, which must come first."""
    ldd = subprocess.run(["ldd", gbdaemon.DAEMON], capture_output=True, text=True).stdout
    asan = [line.split()[0] for line in ldd.splitlines() if "libasan.so" in line]
    if asan:
        os.environ["LD_PRELOAD"] = "%s:libcrypt.so.1" % asan[0]
        print("sanitizer build: LD_PRELOAD=%s" % os.environ["LD_PRELOAD"])


def start(settings):
    """glassboxd with only auth-pam enabled (auth-local turned off)."""
    d = gbdaemon.Daemon()
    with open(os.path.join(d.dropins, "50-auth-local.ini"), "w") as f:
        f.write("[plugin]\nkind = auth\nname = local\nenabled = false\n")
    with open(os.path.join(d.dropins, "51-auth-pam.ini"), "w") as f:
        f.write("[plugin]\nkind = auth\nname = pam\nenabled = true\n\n[settings]\n"
                + "".join("%s = %s\n" % item for item in settings.items()))
    if not check(d.start(), "glassboxd starts with auth-pam (%s)" % settings):
        print(d.log_text())
        d.close()
        return None
    return d


def whoami(d, cookie):
    status, _, body = d.request("GET", "/api/whoami", cookie=cookie)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {}


def roles_of(answer):
    roles = answer.get("roles")
    if isinstance(roles, str):
        roles = roles.split(",")
    return set(roles or [])


def check_login(d, user, admin):
    status, cookie, _, body = d.login(user, PASSWORDS[user])
    check(status == 200 and cookie, "%s logs in with the right password (%s %s)"
          % (user, status, body[:100]))
    status, answer = whoami(d, cookie)
    check(status == 200 and answer.get("user") == user,
          "whoami with %s's cookie says %s (%s %s)" % (user, user, status, answer))
    expected = {"user", "admin"} if admin else {"user"}
    check(roles_of(answer) == expected,
          "whoami gives %s the roles %s (got %s)" % (user, sorted(expected), answer))


def check_refused(d, user, password, log_pattern, why):
    status, cookie, _, _ = d.login(user, password)
    check(status == 401 and not cookie, "%s is refused: %s (%s)" % (user, why, status))
    if not check(d.wait_log(log_pattern, timeout=5.0) is not None,
                 "the log says why %s was refused: /%s/" % (user, log_pattern)):
        print("".join(line for line in d.log_text().splitlines(True) if user in line))


with tempfile.TemporaryDirectory(prefix="gb-pam-") as folder:
    os.chmod(folder, 0o700)
    make_accounts(folder)
    preload_libcrypt_under_asan()
    # Only the mount namespace sees them.
    check(subprocess.run(["getent", "passwd", "alice"], capture_output=True,
                         text=True).stdout.startswith("alice:x:1001:1001:"),
          "the test's accounts are in this namespace's /etc/passwd")

    d = start({"service": "glassbox"})
    if d:
        try:
            check("loaded auth-pam 1.0.0" in d.log_text(), "glassboxd loaded auth-pam")
            check(d.wait_log(r"pam: PAM service 'glassbox', accounts from uid 1000, "
                             r"admin group 'glassbox-admin'", timeout=1.0) is not None,
                  "auth-pam logs its settings")
            check_login(d, "alice", admin=False)
            check_login(d, "bob", admin=True)
            check_login(d, "frank", admin=True)

            check_refused(d, "alice", "alice-Pass-2",
                          r"user 'alice': pam_authenticate \(service 'glassbox'\): "
                          r"Authentication failure", "a wrong password")
            check_refused(d, "zoe", "zoe-Pass-9",
                          r"user 'zoe': pam_authenticate \(service 'glassbox'\): ",
                          "no such account")
            check_refused(d, "carol", PASSWORDS["carol"],
                          r"user 'carol': pam_authenticate \(service 'glassbox'\): "
                          r"Authentication failure", "the account is locked")
            # The password is right, so pam_authenticate passes and the account
            # step refuses. Debian's common-account turns pam_unix's "expired"
            # into pam_deny's "Authentication failure" (default=ignore).
            check_refused(d, "dave", PASSWORDS["dave"],
                          r"user 'dave': pam_acct_mgmt \(service 'glassbox'\): "
                          r"(User account has expired|Authentication failure)",
                          "the account has expired")
            check_refused(d, "erin", PASSWORDS["erin"],
                          r"user 'erin': pam_acct_mgmt \(service 'glassbox'\): "
                          r"Authentication token is no longer valid",
                          "the password must be changed first")
            check_refused(d, "sysuser", PASSWORDS["sysuser"],
                          r"user 'sysuser' \(uid 999\) refused before PAM: it is a system "
                          r"account", "uid 999 is below min_uid")
            check_refused(d, "root", PASSWORDS["root"],
                          r"user 'root' \(uid 0\) refused before PAM: it is root",
                          "root, with allow_root off")
            check_refused(d, "Alice", PASSWORDS["alice"],
                          r"user name 'Alice' refused before PAM", "a name PAM never sees")

            text = d.log_text()
            check(not any(p in text for p in PASSWORDS.values()),
                  "no password, right or wrong, reaches the log")
            check(" failed login for user 'dave' from 127.0.0.1" in text,
                  "glassboxd logs the failed login")
            status = d.stop()
            check(status == 0, "glassboxd exits cleanly (%s)" % status)
        except Exception:
            print(d.log_text())
            raise
        finally:
            d.close()

    # allowed_group: only its members; a custom label; root allowed.
    d = start({"allowed_group": "glassbox-users", "allow_root": "true",
               "label": "Box account"})
    if d:
        try:
            check_login(d, "alice", admin=False)
            check_login(d, "frank", admin=True)
            check_refused(d, "bob", PASSWORDS["bob"],
                          r"user 'bob' refused: not a member of settings.allowed_group "
                          r"'glassbox-users'", "bob is not in allowed_group")
            # root passes the uid rule now, but not the group rule.
            check_refused(d, "root", PASSWORDS["root"],
                          r"user 'root' refused: not a member of settings.allowed_group",
                          "root is not in allowed_group either")
            status = d.stop()
            check(status == 0, "glassboxd exits cleanly (%s)" % status)
        except Exception:
            print(d.log_text())
            raise
        finally:
            d.close()

    # A bad setting stops glassboxd with a line naming it.
    d = gbdaemon.Daemon()
    try:
        with open(os.path.join(d.dropins, "50-auth-local.ini"), "w") as f:
            f.write("[plugin]\nkind = auth\nname = local\nenabled = false\n")
        with open(os.path.join(d.dropins, "51-auth-pam.ini"), "w") as f:
            f.write("[plugin]\nkind = auth\nname = pam\n\n[settings]\nservice = ../shadow\n")
        d.start(wait=False)
        status = d.wait_exit(timeout=15.0)
        check(status not in (0, None), "glassboxd refuses to start with a bad service name "
              "(exit %s)" % status)
        check("settings.service: the PAM service name starts with '.' or '-'" in d.log_text(),
              "the log names the bad setting")
    finally:
        d.close()

finish()
