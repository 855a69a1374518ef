#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""glassbox-storage-sidecar (issue 10, the systemd spawner's storage
sidecars): the root-run first step of a glassbox-storage@ unit, run here by
hand as systemd would run its ExecStart=+ (the full unit runs in the
appliance suite under qemu).

Checks: --help; refusals that change nothing (not root, root's or a
service's account, no such user, a user name that is no instance, a target
outside the user's folder, too many secrets); a run as a person's account:
/var/lib/glassbox-storage 0711 root and the user's folder 0700 theirs, the
command runs as that uid with no supplementary group, no capability, umask
077, in the user's folder, with only HOME/USER/PATH/LANG, its secrets on fds
3 and 4 as sealed memory files with the credentials' bytes, the mount point
made by the user; a folder left by an earlier uid of the same name is handed
over entry by entry without following a link out of it (the link's target
stays root's) and without touching entries of other owners; the user's
folder replaced by a link is refused and nothing lands where it points;
--unmount of a folder that is not mounted is a clean no-op.

Runs as root in a private mount namespace with a tmpfs over /var/lib, so
nothing is left on the machine; the helper enters that namespace
(--mount-namespace=/proc/self/ns/mnt) instead of PID 1's."""

import os
import pwd
import stat
import subprocess
import sys
import tempfile

import gbdaemon
from gbtest import check, finish

if os.geteuid() != 0:
    print("SKIP: needs root (useradd, and the helper refuses to run as anyone else)")
    sys.exit(77)

HELPER = os.path.join(os.environ.get("GB_BUILD_ROOT", "build"), "core", "daemon",
                      "glassbox-storage-sidecar")
ROOT = "/var/lib/glassbox-storage"

# A private mount namespace (and network namespace: the fixture's way) with
# a tmpfs over /var/lib: nothing the helper makes is left on the machine.
gbdaemon.enter_network_namespace(mount=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/var/lib"], check=True)

suffix = os.getpid() % 100000
work = tempfile.TemporaryDirectory(prefix="gb-sidecar-helper-", dir="/var/tmp")
os.chmod(work.name, 0o700)
alice = gbdaemon.Account("gbside-a%d" % suffix, os.path.join(work.name, "home-a"),
                         system=False)
bob = gbdaemon.Account("gbside-b%d" % suffix, os.path.join(work.name, "home-b"),
                       system=False)
service = gbdaemon.Account("gbside-s%d" % suffix, os.path.join(work.name, "home-s"))

credentials = os.path.join(work.name, "credentials")
os.mkdir(credentials, 0o700)
SECRET0 = b"[remote]\ntype = local\n"
SECRET1 = b"glassbox:$2y$10$not-a-real-hash\n"
with open(os.path.join(credentials, "secret0"), "wb") as f:
    f.write(SECRET0)
with open(os.path.join(credentials, "secret1"), "wb") as f:
    f.write(SECRET1)


def run(args, env=None, user=None):
    command = [HELPER, "--mount-namespace=/proc/self/ns/mnt"] + args
    if user is not None:
        command = ["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                   "--clear-groups", "--"] + command
    environment = {"PATH": "/usr/bin:/bin", "CREDENTIALS_DIRECTORY": credentials,
                   "SECRET_ENV": "must-not-pass"}
    environment.update(env or {})
    return subprocess.run(command, env=environment, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)


def folder_of(account):
    return os.path.join(ROOT, account.name)


def target_of(account):
    return os.path.join(folder_of(account), "Cloud", "work")


# --help
result = run(["--help"])
check(result.returncode == 0 and b"--unmount=FOLDER" in result.stdout,
      "--help describes the options (exit %d)" % result.returncode)

# Refusals: exit 1, one line, nothing made.
refusals = [
    ("not root", ["--user=" + alice.name, "--target=" + target_of(alice), "--", "/bin/true"],
     alice, b"must run as root"),
    ("root", ["--user=root", "--target=%s/root/Cloud/x" % ROOT, "--", "/bin/true"], None,
     b"a system account"),
    ("a service's account", ["--user=" + service.name,
                             "--target=%s/%s/Cloud/x" % (ROOT, service.name), "--",
                             "/bin/true"], None, b"a system account"),
    ("no such user", ["--user=gbside-nobody%d" % suffix,
                      "--target=%s/x/Cloud/x" % ROOT, "--", "/bin/true"], None, b"no user"),
    ("not an instance name", ["--user=../etc", "--target=/etc/x", "--", "/bin/true"], None,
     b"not a session unit's instance"),
    ("a target outside", ["--user=" + alice.name, "--target=/var/tmp/x", "--", "/bin/true"],
     None, b"is not below"),
    ("a target beside", ["--user=" + alice.name,
                         "--target=%s/%s-x/Cloud" % (ROOT, alice.name), "--", "/bin/true"],
     None, b"is not below"),
    ("too many secrets", ["--user=" + alice.name, "--secrets=5",
                          "--target=" + target_of(alice), "--", "/bin/true"], None,
     b"--secrets=5"),
    ("a relative command", ["--user=" + alice.name, "--target=" + target_of(alice), "--",
                            "true"], None, b"not an absolute path"),
]
for name, args, user, expected in refusals:
    result = run(args, user=user)
    check(result.returncode != 0 and expected in result.stderr,
          "refused (%s): exit %d, %r" % (name, result.returncode,
                                        result.stderr.decode(errors="replace").strip()))
check(not os.path.exists(folder_of(alice)) and not os.path.exists(ROOT),
      "the refusals made nothing under %s" % ROOT)

# A run as alice: what the sidecar's command gets.
probe = ("id -u; id -G; umask; pwd; cat /dev/fd/3; echo ---; cat /dev/fd/4; echo ---; "
         "readlink /proc/self/fd/3; stat -c '%a %u' Cloud/work; "
         "grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status; echo ---env; env")
result = run(["--user=" + alice.name, "--target=" + target_of(alice), "--secrets=2", "--",
              "/bin/sh", "-c", probe])
out = result.stdout.decode(errors="replace")
lines = out.split("\n")
check(result.returncode == 0, "a run as %s: exit %d (%s)" % (
    alice.name, result.returncode, result.stderr.decode(errors="replace").strip()))
if result.returncode == 0:
    check(lines[0] == str(alice.uid), "runs as uid %d (%s)" % (alice.uid, lines[0]))
    check(lines[1] == str(alice.gid), "with its own group only (%s)" % lines[1])
    check(lines[2] == "0077", "umask 0077 (%s)" % lines[2])
    check(lines[3] == folder_of(alice), "in the user's folder (%s)" % lines[3])
    check(out.encode().find(SECRET0 + b"---\n" + SECRET1 + b"---") >= 0,
          "fds 3 and 4 hold the two credentials' bytes")
    check("memfd:glassbox-storage-secret" in out, "fd 3 is a sealed memory file, not the "
          "credential file")
    check("700 %d" % alice.uid in out, "the mount point was made 0700 by the user")
    check("CapEff:\t0000000000000000" in out and "CapPrm:\t0000000000000000" in out,
          "no capability held")
    environment = out.split("---env\n", 1)[-1].split("\n")
    # sh sets PWD itself.
    names = sorted(l.split("=", 1)[0] for l in environment if "=" in l and
                   not l.startswith("PWD="))
    check(names == ["HOME", "LANG", "PATH", "USER"],
          "the environment is HOME, LANG, PATH, USER only (%s)" % names)
    check("SECRET_ENV" not in out and "CREDENTIALS_DIRECTORY" not in out,
          "nothing else of the caller's environment passes")
st = os.stat(ROOT)
check(stat.S_IMODE(st.st_mode) == 0o711 and st.st_uid == 0,
      "%s is 0711 root (%o, uid %d)" % (ROOT, stat.S_IMODE(st.st_mode), st.st_uid))
st = os.stat(folder_of(alice))
check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == alice.uid,
      "the user's folder is 0700 and theirs (%o, uid %d)" % (stat.S_IMODE(st.st_mode),
                                                           st.st_uid))

# As bob: alice's folder is closed; the root folder cannot be listed.
result = subprocess.run(["setpriv", "--reuid=%d" % bob.uid, "--regid=%d" % bob.gid,
                         "--clear-groups", "--", "ls", folder_of(alice)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check(result.returncode != 0 and b"Permission denied" in result.stderr,
      "another user cannot list alice's folder (%s)" % result.stderr.decode().strip())
result = subprocess.run(["setpriv", "--reuid=%d" % bob.uid, "--regid=%d" % bob.gid,
                         "--clear-groups", "--", "ls", ROOT],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check(result.returncode != 0 and b"Permission denied" in result.stderr,
      "another user cannot list whose folders %s holds" % ROOT)

# A folder an earlier uid of bob's name left: handed over, links not followed.
victim = os.path.join(work.name, "victim")
with open(victim, "w") as f:
    f.write("root's file\n")
old_uid = 54321
folder = folder_of(bob)
os.makedirs(os.path.join(folder, ".cache", "deep"))
for path in [folder, os.path.join(folder, ".cache"), os.path.join(folder, ".cache", "deep")]:
    os.chown(path, old_uid, old_uid)
with open(os.path.join(folder, ".cache", "deep", "dirty"), "w") as f:
    f.write("not yet uploaded\n")
os.chown(os.path.join(folder, ".cache", "deep", "dirty"), old_uid, old_uid)
os.symlink(victim, os.path.join(folder, ".cache", "escape"))
os.lchown(os.path.join(folder, ".cache", "escape"), old_uid, old_uid)
os.symlink(work.name, os.path.join(folder, "escape-folder"))
os.lchown(os.path.join(folder, "escape-folder"), old_uid, old_uid)
with open(os.path.join(folder, "roots"), "w") as f:
    f.write("root's, in the folder\n")
result = run(["--user=" + bob.name, "--target=" + target_of(bob), "--", "/bin/true"])
check(result.returncode == 0 and b"uid %d's now" % bob.uid in result.stderr,
      "a folder of uid %d is handed to bob's uid %d (%s)" % (
          old_uid, bob.uid, result.stderr.decode(errors="replace").strip()))
owners = {p: os.lstat(os.path.join(folder, p)).st_uid
          for p in [".", ".cache", ".cache/deep", ".cache/deep/dirty", ".cache/escape",
                    "escape-folder"]}
check(all(uid == bob.uid for uid in owners.values()),
      "every entry of the old uid is bob's now, links themselves included (%s)" % owners)
check(os.stat(victim).st_uid == 0 and os.stat(work.name).st_uid == 0,
      "the links' targets outside stay root's")
check(os.lstat(os.path.join(folder, "roots")).st_uid == 0,
      "an entry of another owner is left alone")

# alice's folder replaced by a link: refused, nothing written where it points.
elsewhere = os.path.join(work.name, "elsewhere")
os.mkdir(elsewhere, 0o700)
subprocess.run(["rm", "-rf", folder_of(alice)], check=True)
os.symlink(elsewhere, folder_of(alice))
result = run(["--user=" + alice.name, "--target=" + target_of(alice), "--", "/bin/true"])
check(result.returncode != 0 and b"not a link" in result.stderr,
      "the user's folder as a link is refused (%s)" % result.stderr.decode().strip())
check(os.listdir(elsewhere) == [] and os.stat(elsewhere).st_uid == 0,
      "nothing was made or chowned where the link points")
os.unlink(folder_of(alice))

# --unmount of what is not mounted: nothing to do, exit 0.
result = run(["--user=" + bob.name, "--unmount=" + target_of(bob)])
check(result.returncode == 0, "--unmount of a folder that is not mounted exits 0 (%d, %s)" % (
    result.returncode, result.stderr.decode().strip()))
result = run(["--user=" + bob.name, "--unmount=/var/tmp"])
check(result.returncode != 0 and b"is not below" in result.stderr,
      "--unmount outside the user's folder is refused")

finish()
