# SPDX-License-Identifier: MIT
"""Boot a Glassbox appliance disk image under qemu and drive it.

The harness of the appliance tests (tests/appliance/test-appliance.py) and of
the flashable image's tests to come. Only the Python standard library; every
wait is bounded in time, and qemu is killed when the VM object is closed, the
script exits or a signal ends it.

    with VM(workdir) as vm:
        vm.boot("disk.img", "vmlinuz", "initrd.img", forwards={443: 0})
        vm.wait_agent(timeout=300)
        rc, out = vm.run("systemctl is-active glassbox", timeout=30)
        port = vm.host_port(443)       # https://127.0.0.1:PORT/ reaches the guest

The disk image is made by appliance-image/build-rootfs --test: a root command
agent on the guest's second serial port (ttyS1, test images only) answers
run(). The first serial port (ttyS0) is the console, logged to a file that
wait_for() searches.

Acceleration (TESTING-NOTES.md): KVM is tried first when /dev/kvm is usable;
when the guest shows no sign of starting init within kvm_probe_s seconds, or
qemu dies, it is killed and the guest boots again under TCG (software
emulation, multi-threaded, -cpu max). GB_VM_ACCEL=kvm|tcg forces one."""

import atexit
import base64
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

QEMU = os.environ.get("GB_QEMU") or "qemu-system-x86_64"

# Seen on the console once the kernel hands over to the initramfs' init.
KERNEL_STARTED = re.compile(r"Run /init as init process|Freeing unused kernel")

_live = set()


def _kill_all():
    for vm in list(_live):
        vm.kill()


atexit.register(_kill_all)


def _on_signal(signum, frame):
    _kill_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    if signal.getsignal(_sig) in (signal.SIG_DFL, signal.default_int_handler):
        signal.signal(_sig, _on_signal)


def free_port():
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VMError(Exception):
    pass


class VM:
    """One qemu guest. Not thread-safe: drive it from one thread."""

    def __init__(self, workdir, memory_mb=2048, cpus=2, log=None, kvm_probe_s=10.0):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.kvm_probe_s = kvm_probe_s
        self.log = log or (lambda text: print(text, flush=True))
        # Unix socket paths are limited to 108 bytes: keep them short.
        self.sockdir = tempfile.mkdtemp(prefix="gb-vm-")
        self.agent_path = os.path.join(self.sockdir, "agent.sock")
        self.console_path = None
        self.proc = None
        self.accel = None
        self.accel_reason = ""
        self.forwards = {}
        self.agent = None
        self.agent_buffer = b""
        self.boot_started = None
        _live.add(self)

    # Life cycle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def boot(self, disk, kernel, initrd, forwards=None, append="", snapshot=True,
             accel=None):
        """Start the guest. forwards maps guest TCP ports to host ports on
        127.0.0.1 (0: pick a free one; host_port() tells which). With
        snapshot, the guest's writes go to a temporary overlay and the disk
        image is left as it was. Returns the accelerator used."""
        for path in (disk, kernel, initrd):
            if not os.path.isfile(path):
                raise VMError("%s: no such file" % path)
        if shutil.which(QEMU) is None:
            raise VMError("%s is not installed" % QEMU)
        self.forwards = {int(g): (int(h) or free_port()) for g, h in (forwards or {}).items()}
        accel = accel or os.environ.get("GB_VM_ACCEL") or "auto"
        if accel not in ("auto", "kvm", "tcg"):
            raise VMError("accel must be auto, kvm or tcg, not %r" % accel)
        kvm_usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
        args = (disk, kernel, initrd, append, snapshot)
        if accel == "kvm" or (accel == "auto" and kvm_usable):
            self._start("kvm", *args)
            if accel == "kvm":
                self.accel_reason = "forced"
                return self.accel
            if self._wait_console(KERNEL_STARTED, self.kvm_probe_s):
                self.accel_reason = "init started within %.0f s" % self.kvm_probe_s
                return self.accel
            tail = self.console_text()[-300:].strip().replace("\n", " | ")
            self.log("vm: KVM guest showed no kernel start within %.0f s (qemu %s; console: %r); "
                     "falling back to TCG" % (self.kvm_probe_s,
                                              "exited %s" % self.proc.poll()
                                              if self.proc.poll() is not None else "running",
                                              tail))
            self.kill()
            self.accel_reason = "KVM failed the probe"
        elif accel == "auto":
            self.accel_reason = "/dev/kvm not usable"
        else:
            self.accel_reason = "forced"
        self._start("tcg", *args)
        return self.accel

    def _start(self, accel, disk, kernel, initrd, append, snapshot):
        self.accel = accel
        self.console_path = os.path.join(self.workdir, "console-%s.log" % accel)
        with open(self.console_path, "wb"):
            pass
        if os.path.exists(self.agent_path):
            os.unlink(self.agent_path)
        hostfwd = "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % (h, g)
                          for g, h in sorted(self.forwards.items()))
        cmdline = "root=/dev/vda rw console=ttyS0,115200 panic=-1 " \
            "systemd.journald.forward_to_console=0 " + append
        cmd = [QEMU, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
               "-m", str(self.memory_mb), "-smp", str(self.cpus)]
        if accel == "kvm":
            cmd += ["-accel", "kvm", "-cpu", "max"]
        else:
            cmd += ["-accel", "tcg,thread=multi", "-cpu", "max"]
        cmd += ["-kernel", kernel, "-initrd", initrd, "-append", cmdline.strip(),
                "-drive", "file=%s,format=raw,if=virtio,cache=unsafe" % os.path.abspath(disk),
                "-netdev", "user,id=net0,restrict=on" + hostfwd,
                "-device", "virtio-net-pci,netdev=net0",
                "-device", "virtio-rng-pci",
                "-chardev", "file,id=console,path=" + self.console_path,
                "-serial", "chardev:console",
                "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % self.agent_path,
                "-serial", "chardev:agent",
                "-monitor", "none"]
        if snapshot:
            cmd.append("-snapshot")
        self.log("vm: starting qemu (%s): %s" % (accel, " ".join(shlex.quote(c) for c in cmd)))
        qemu_log = open(os.path.join(self.workdir, "qemu-%s.log" % accel), "wb")
        self.boot_started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qemu_log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        qemu_log.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """Kill qemu now (the guest's writes are lost with -snapshot)."""
        if self.agent is not None:
            self.agent.close()
            self.agent = None
            self.agent_buffer = b""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def shutdown(self, timeout=60.0):
        """Power the guest off cleanly; kill qemu when that takes longer than
        timeout. True when the guest powered itself off."""
        if not self.running():
            self.kill()
            return False
        if self.agent is not None:
            try:
                self._send(b"GBRUN %s 10 %s\n" % (
                    secrets.token_hex(4).encode(), base64.b64encode(b"systemctl poweroff")))
            except OSError:
                pass
        try:
            self.proc.wait(timeout=timeout)
            clean = True
        except subprocess.TimeoutExpired:
            clean = False
        self.kill()
        return clean

    def close(self):
        self.kill()
        shutil.rmtree(self.sockdir, ignore_errors=True)
        _live.discard(self)

    def host_port(self, guest_port):
        return self.forwards[int(guest_port)]

    def uptime(self):
        """Seconds since qemu was started."""
        return time.monotonic() - self.boot_started

    # Console

    def console_text(self):
        try:
            with open(self.console_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def _wait_console(self, regex, timeout, start=0):
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.console_text(), start)
            if match:
                return match
            if not self.running() or time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    def wait_for(self, pattern, timeout, start=0):
        """The first match of pattern (a regex) on the console after offset
        start, or None when it did not appear within timeout seconds or qemu
        exited."""
        return self._wait_console(re.compile(pattern), timeout, start)

    # The root command agent on ttyS1

    def _send(self, data):
        self.agent.sendall(data)

    def _read_line(self, deadline):
        """One line from the agent (without its newline), or None at deadline."""
        while b"\n" not in self.agent_buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.running():
                return None
            self.agent.settimeout(min(left, 1.0))
            try:
                chunk = self.agent.recv(1 << 16)
            except socket.timeout:
                continue
            if not chunk:
                raise VMError("the agent socket closed (qemu exited?)")
            self.agent_buffer += chunk
            if len(self.agent_buffer) > (64 << 20):
                raise VMError("the agent sent over 64 MiB without a newline")
        line, self.agent_buffer = self.agent_buffer.split(b"\n", 1)
        return line.rstrip(b"\r")

    def wait_agent(self, timeout):
        """Wait until the guest's agent answers; the seconds since boot() when
        it did. Raises VMError on time-out or when qemu exits."""
        deadline = time.monotonic() + timeout
        while self.agent is None:
            if not self.running():
                raise VMError("qemu exited (status %s) before the agent answered; see %s"
                              % (self.proc.poll() if self.proc else "?", self.console_path))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.agent_path)
                self.agent = s
            except OSError:
                s.close()
                if time.monotonic() >= deadline:
                    raise VMError("qemu's agent socket %s never opened" % self.agent_path)
                time.sleep(0.2)
        while True:
            token = secrets.token_hex(4)
            self._send(b"GBPING %s\n" % token.encode())
            line_deadline = min(deadline, time.monotonic() + 2.0)
            while True:
                line = self._read_line(line_deadline)
                if line is None:
                    break
                if line == b"GBPONG " + token.encode():
                    self.agent_buffer = b""
                    return self.uptime()
            if time.monotonic() >= deadline:
                raise VMError("the guest's agent did not answer within %.0f s (is this a "
                              "--test image? console: %s)" % (timeout, self.console_path))
            if not self.running():
                raise VMError("qemu exited (status %s); see %s"
                              % (self.proc.poll(), self.console_path))

    def run_bytes(self, command, timeout=60):
        """Run a shell command as root in the guest: (rc, stdout+stderr as
        bytes). The guest kills it after timeout seconds (rc 124 or 137);
        VMError when no answer comes back within timeout + 20 s."""
        if self.agent is None:
            raise VMError("run(%r) before wait_agent()" % command)
        limit = max(1, min(3600, int(timeout + 0.999)))
        token = secrets.token_hex(6).encode()
        self._send(b"GBRUN %s %d %s\n" % (token, limit, base64.b64encode(command.encode())))
        deadline = time.monotonic() + limit + 20
        output = None
        while True:
            line = self._read_line(deadline)
            if line is None:
                raise VMError("no answer from the guest to %r within %d s" % (command, limit + 20))
            parts = line.split(b" ")
            if len(parts) >= 2 and parts[1] == token:
                if parts[0] == b"GBOUT":
                    output = base64.b64decode(parts[2]) if len(parts) > 2 else b""
                elif parts[0] == b"GBEND":
                    return int(parts[2]), output or b""

    def run(self, command, timeout=60):
        """run_bytes() with the output as text."""
        rc, output = self.run_bytes(command, timeout)
        return rc, output.decode("utf-8", "replace")

    def copy_in(self, data, guest_path, mode=0o644, timeout=60):
        """Write bytes (or a str) to guest_path, atomically (temporary file,
        then rename). Meant for small files: at most 16 MiB."""
        if isinstance(data, str):
            data = data.encode()
        if len(data) > (16 << 20):
            raise VMError("copy_in: %d bytes is too much for the serial agent" % len(data))
        tmp = "%s.gbvm-%s" % (guest_path, secrets.token_hex(4))
        q = shlex.quote
        rc, out = self.run(": > %s" % q(tmp), timeout)
        if rc != 0:
            raise VMError("copy_in %s: %s" % (guest_path, out.strip()))
        chunk = 48 << 10
        for i in range(0, len(data), chunk):
            b64 = base64.b64encode(data[i:i + chunk]).decode()
            rc, out = self.run("printf %%s %s | base64 -d >> %s" % (b64, q(tmp)), timeout)
            if rc != 0:
                self.run("rm -f %s" % q(tmp), timeout)
                raise VMError("copy_in %s: %s" % (guest_path, out.strip()))
        rc, out = self.run("chmod %o %s && mv -f %s %s" % (mode, q(tmp), q(tmp), q(guest_path)),
                           timeout)
        if rc != 0:
            raise VMError("copy_in %s: %s" % (guest_path, out.strip()))

    def copy_out(self, guest_path, timeout=60):
        """The bytes of a small guest file (at most 4 MiB); VMError when it
        cannot be read."""
        rc, out = self.run_bytes("cat -- %s" % shlex.quote(guest_path), timeout)
        if rc != 0:
            raise VMError("copy_out %s: %s" % (guest_path, out.decode("utf-8", "replace").strip()))
        return out
