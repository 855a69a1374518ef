"""Real remotes for the storage suite, on 127.0.0.1 in the test's network
namespace: OpenSSH's sshd serving SFTP (internal-sftp, a test key) and
Apache with mod_dav serving WebDAV (basic authentication). Both run as an
account made for the test, so that files land owned by it, as on a real
server. Only the Python standard library; every wait is bounded."""

import atexit
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

APACHE_MODULES = "/usr/lib/apache2/modules"


def enter_namespaces():
    """Re-run this script in its own network namespace (only loopback, up) and
    mount namespace, and there make /dev/fuse usable by every account, as
    Debian's udev rule does (MODE="0666"); some containers give it to root
    only. Nothing outside the namespaces changes."""
    if os.environ.get("GB_IN_NETNS") != "1":
        env = dict(os.environ, GB_IN_NETNS="1")
        sys.stdout.flush()
        os.execvpe("unshare", ["unshare", "-n", "-m", "--propagation", "private", "--",
                               sys.executable] + sys.argv, env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    info = os.stat("/dev/fuse")
    if info.st_mode & 0o666 != 0o666:
        dev = tempfile.mkdtemp(prefix="gb-dev-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", dev], check=True)
        node = os.path.join(dev, "fuse")
        os.mknod(node, 0o666 | stat.S_IFCHR, info.st_rdev)
        os.chmod(node, 0o666)
        subprocess.run(["mount", "--bind", node, "/dev/fuse"], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def descendants(root):
    """Every process below @root, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                # "pid (comm) state ppid ...": comm may hold spaces.
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


class Sftp:
    """sshd on 127.0.0.1:port; logins as @account with the key in self.key_pem."""

    def __init__(self, work, account):
        self.work = os.path.join(work, "sshd")
        os.makedirs(self.work, 0o755, exist_ok=True)
        self.account = account
        self.port = free_port()
        self.host_key = os.path.join(self.work, "host_key")
        self.client_key = os.path.join(self.work, "client_key")
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                           check=True)
        self.authorized = os.path.join(self.work, "authorized_keys")
        shutil.copy(self.client_key + ".pub", self.authorized)
        os.chmod(self.authorized, 0o644)
        with open(self.client_key) as f:
            self.key_pem = f.read().strip().replace("\n", "\\n")
        self.config = os.path.join(self.work, "sshd_config")
        with open(self.config, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s/sshd.pid\n"
                    "AuthorizedKeysFile %s\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                    "AllowUsers %s\nSubsystem sftp internal-sftp\nForceCommand internal-sftp\n"
                    "LogLevel ERROR\n"
                    % (self.port, self.host_key, self.work, self.authorized, account.name))
        os.makedirs("/run/sshd", 0o755, exist_ok=True)
        self.proc = None
        atexit.register(self.stop)

    def start(self):
        self.log = open(os.path.join(self.work, "sshd.log"), "a")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return wait_port(self.port)

    def stop(self):
        """Stop the listener and every connection it serves: the remote is down."""
        if self.proc and self.proc.poll() is None:
            # Every connection is a tree of sshd processes below the listener
            # (privilege separation): kill them all, so that no open
            # connection keeps the remote "up".
            for pid in descendants(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def section(self, name):
        return ("[%s]\ntype = sftp\nhost = 127.0.0.1\nport = %d\nuser = %s\nkey_pem = %s\n"
                "shell_type = none\nmd5sum_command = none\nsha1sum_command = none\n"
                % (name, self.port, self.account.name, self.key_pem))


class WebDav:
    """Apache with mod_dav on 127.0.0.1:port, at /dav, one user with a password."""

    def __init__(self, work, account, user="davuser", password="dav secret 1"):
        self.work = os.path.join(work, "apache")
        self.root = os.path.join(self.work, "dav")
        os.makedirs(self.root, 0o755, exist_ok=True)
        os.chown(self.root, account.uid, account.gid)
        os.makedirs(os.path.join(self.work, "locks"), 0o755, exist_ok=True)
        os.chown(os.path.join(self.work, "locks"), account.uid, account.gid)
        self.user, self.password = user, password
        self.port = free_port()
        self.htpasswd = os.path.join(self.work, "htpasswd")
        subprocess.run(["htpasswd", "-c", "-B", "-b", self.htpasswd, user, password],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(self.htpasswd, 0o644)
        modules = ["mpm_event", "authz_core", "authn_core", "authn_file",
                   "auth_basic", "authz_user", "dav", "dav_fs", "alias"]
        self.config = os.path.join(self.work, "httpd.conf")
        with open(self.config, "w") as f:
            for m in modules:
                f.write("LoadModule %s_module %s/mod_%s.so\n" % (m, APACHE_MODULES, m))
            f.write('ServerName 127.0.0.1\nListen 127.0.0.1:%d\nPidFile %s/httpd.pid\n'
                    'ErrorLog %s/error.log\nUser %s\nGroup %s\nDAVLockDB %s/locks/lock\n'
                    'DocumentRoot %s\nAlias /dav %s\n'
                    '<Directory %s>\n  DAV On\n  AuthType Basic\n  AuthName dav\n'
                    '  AuthUserFile %s\n  Require valid-user\n</Directory>\n'
                    % (self.port, self.work, self.work, account.name, account.name,
                       self.work, self.root, self.root, self.root, self.htpasswd))
        self.proc = None
        atexit.register(self.stop)

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/apache2", "-f", self.config, "-DFOREGROUND"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        return wait_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def section(self, name, obscured_password):
        return ("[%s]\ntype = webdav\nurl = http://127.0.0.1:%d/dav\nvendor = other\n"
                "user = %s\npass = %s\n" % (name, self.port, self.user, obscured_password))


def obscure(value):
    return subprocess.run(["rclone", "obscure", "-"], input=value.encode(), check=True,
                          capture_output=True).stdout.decode().strip()
