"""Run a real QEMU under KVM and record what gmemtui reads: its trace and its monitor dump.

One code path for the real-QEMU tests (tests/test_qemu_real.py) and for the recordings shipped in
layouts/qemu-*/ (``python -m tests.qemu_harness --out layouts``): QEMU starts paused (``-S``) with
a QMP socket and ``-trace kvm_set_user_memory -D trace.log`` in a scratch directory; optional QMP
commands run (hot-plug, ``cont`` for a while and ``stop``, so SeaBIOS remaps PAM and maps BARs);
then ``info mtree -f`` and ``info ramblock`` go through ``human-monitor-command`` and QEMU quits.
Every step has a timeout, and the process is killed whatever happens.

Extra QEMU binaries (e.g. a 10.0 next to the distribution's 7.2) come from ``GMEMTUI_QEMU``
(paths separated by ``os.pathsep``).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 20.0  # seconds for QEMU to open its QMP socket
QMP_TIMEOUT = 30.0  # seconds for one QMP reply
QUIT_TIMEOUT = 10.0  # seconds for QEMU to exit after "quit" (then it is killed)
KVM_GET_API_VERSION = 0xAE00

QmpCommand = tuple[str, dict]


@dataclass(frozen=True)
class Machine:
    """A machine shape: QEMU arguments, QMP commands run before the dump, seconds to let it run."""

    name: str
    args: tuple[str, ...]
    qmp: tuple[QmpCommand, ...] = ()
    run_seconds: float = 0.0  # > 0: "cont", wait, "stop" (SeaBIOS runs: PAM, PCI BARs, VGA)
    about: str = ""


MACHINES = (
    Machine("pc-512m", ("-machine", "pc", "-m", "512M"),
            about="i440fx, 512 MiB, paused before the first instruction"),
    Machine("q35-4g", ("-machine", "q35", "-m", "4G"),
            about="q35, 4 GiB: 2 GiB below 4G, 2 GiB above (pc.ram split at the below-4G limit)"),
    Machine("pc-dimm-hotplug", ("-machine", "pc", "-m", "2G,slots=2,maxmem=4G"),
            qmp=(("object-add", {"qom-type": "memory-backend-ram", "id": "mem1", "size": 1 << 30}),
                 ("device_add", {"driver": "pc-dimm", "id": "dimm1", "memdev": "mem1"})),
            about="i440fx, 2 GiB, a 1 GiB pc-dimm hot-plugged over QMP into the hotplug area above 4G"),
    Machine("pc-vga-seabios", ("-machine", "pc", "-m", "512M", "-device", "VGA"), run_seconds=4.0,
            about="i440fx, 512 MiB, std VGA; SeaBIOS ran for a few seconds: PAM remaps, the VGA "
                  "BAR (vga.vram, dirty logging on) and its option ROM"),
    Machine("q35-memfd", ("-machine", "q35,memory-backend=ram0", "-m", "1G",
                          "-object", "memory-backend-memfd,id=ram0,size=1G"),
            about="q35, 1 GiB of memory-backend-memfd as the machine's RAM"),
)
COMMON_ARGS = ("-accel", "kvm", "-S", "-nodefaults", "-display", "none",
               "-qmp", "unix:qmp.sock,server=on,wait=off", "-trace", "kvm_set_user_memory", "-D", "trace.log")


def qemu_binaries() -> list[str]:
    """qemu-system-x86_64 on PATH, then the binaries named in GMEMTUI_QEMU."""
    found = [p for p in [shutil.which("qemu-system-x86_64")] if p]
    found += [p for p in os.environ.get("GMEMTUI_QEMU", "").split(os.pathsep) if p and os.access(p, os.X_OK)]
    return list(dict.fromkeys(found))


def kvm_problem() -> str | None:
    """Why /dev/kvm cannot run a VM here, or None."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            return "/dev/kvm: unexpected KVM API version"
    except OSError as e:
        return f"/dev/kvm: KVM_GET_API_VERSION: {e.strerror}"
    finally:
        os.close(fd)
    return None


class QemuError(Exception):
    pass


class Qemu:
    """A QEMU process with a QMP connection; use as a context manager (it is always killed)."""

    def __init__(self, binary: str, args: tuple[str, ...], workdir: Path) -> None:
        self.binary = binary
        self.argv = [binary, *COMMON_ARGS, *args]
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.buf = b""
        self.greeting: dict = {}

    def __enter__(self) -> Qemu:
        # its messages go to a file: a pipe nobody reads could fill and stall QEMU
        with open(self.workdir / "qemu.out", "wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        path = self.workdir / "qmp.sock"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                out = (self.workdir / "qemu.out").read_text(errors="replace")
                raise QemuError(f"QEMU exited with {self.proc.returncode}: {out.strip()[-500:]}")
            if path.exists():
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(QMP_TIMEOUT)
                    s.connect(str(path))
                    self.sock = s
                    break
                except OSError:
                    s.close()
            if time.monotonic() > deadline:
                raise QemuError(f"QEMU did not open its QMP socket within {START_TIMEOUT} s")
            time.sleep(0.05)
        self.greeting = self._read()
        self.qmp("qmp_capabilities")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.poll() is None and self.sock is not None:
                try:
                    self._send("quit", {})
                except OSError:
                    pass
            proc.wait(QUIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(QUIT_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if self.sock is not None:
                self.sock.close()
            self.proc = None

    def _send(self, command: str, args: dict) -> None:
        assert self.sock is not None
        msg = {"execute": command, **({"arguments": args} if args else {})}
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def _read(self) -> dict:
        assert self.sock is not None
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)  # bounded by the socket timeout
            if not chunk:
                raise QemuError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def qmp(self, command: str, args: dict | None = None) -> object:
        self._send(command, args or {})
        while True:
            reply = self._read()
            if "error" in reply:
                raise QemuError(f"QMP {command}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]

    def hmp(self, line: str) -> str:
        out = self.qmp("human-monitor-command", {"command-line": line})
        assert isinstance(out, str)
        return out.replace("\r\n", "\n")

    @property
    def version(self) -> str:
        v = self.greeting.get("QMP", {}).get("version", {})
        q = v.get("qemu", {})
        package = f" ({v['package'].strip()})" if v.get("package", "").strip() else ""
        return f"QEMU {q.get('major')}.{q.get('minor')}.{q.get('micro')}{package}"


@dataclass
class Recording:
    machine: Machine
    version: str
    argv: list[str]
    qmp_log: list[str] = field(default_factory=list)
    trace: str = ""
    mtree: str = ""
    ramblock: str = ""

    def command_line(self) -> str:
        return shlex.join(["qemu-system-x86_64", *self.argv[1:]])

    def header(self, what: str) -> str:
        about = textwrap.wrap(f"Machine: {self.machine.about}.", 98)
        lines = [
            f"# {what},",
            f"# recorded from real {self.version} under KVM.",
            *(f"# {line}" for line in about),
            "# Recorded by tests/qemu_harness.py (python -m tests.qemu_harness); below the header the file",
            "# is as QEMU printed it. Command line (run in a scratch directory):",
            f"#   {self.command_line()}",
            "# QMP commands, in order:",
            *(f"#   {c}" for c in self.qmp_log),
        ]
        return "\n".join(lines) + "\n"

    def dump_text(self) -> str:
        """``info mtree -f`` then ``info ramblock``, as pasted from an HMP monitor."""
        return (self.header("info mtree -f and info ramblock (via human-monitor-command)")
                + "(qemu) info mtree -f\n" + self.mtree + "(qemu) info ramblock\n" + self.ramblock)

    def trace_text(self) -> str:
        return self.header("kvm_set_user_memory trace (-trace kvm_set_user_memory -D trace.log)") + self.trace


def record(binary: str, machine: Machine, workdir: Path | None = None) -> Recording:
    """Run ``machine`` on ``binary`` and return its trace and dump (the trace up to the dump)."""
    with tempfile.TemporaryDirectory(prefix="gmemtui-qemu-") as tmp:
        wd = workdir or Path(tmp)
        with Qemu(binary, machine.args, wd) as q:
            rec = Recording(machine, q.version, q.argv)
            rec.qmp_log.append('{"execute": "qmp_capabilities"}')
            for command, args in machine.qmp:
                q.qmp(command, args)
                rec.qmp_log.append(json.dumps({"execute": command, "arguments": args}))
            if machine.run_seconds > 0:
                q.qmp("cont")
                time.sleep(machine.run_seconds)
                q.qmp("stop")
                rec.qmp_log.append(
                    f'{{"execute": "cont"}}, {machine.run_seconds:g} s later {{"execute": "stop"}}')
            rec.mtree = q.hmp("info mtree -f")
            rec.ramblock = q.hmp("info ramblock")
            for hmp in ("info mtree -f", "info ramblock"):
                rec.qmp_log.append(json.dumps({"execute": "human-monitor-command",
                                               "arguments": {"command-line": hmp}}))
            # the trace as it stands at the dump (the log backend writes each line as it happens)
            trace = (wd / "trace.log").read_text()
            rec.trace = trace[: trace.rfind("\n") + 1]  # a line still being written is not in it
        return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="directory; files go to OUT/qemu-MAJOR.MINOR/")
    ap.add_argument("--qemu", action="append", help="QEMU binary (default: those qemu_binaries() finds)")
    ap.add_argument("--machine", action="append", help="machine shape name (default: all)")
    args = ap.parse_args(argv)
    for binary in args.qemu or qemu_binaries():
        for m in MACHINES:
            if args.machine and m.name not in args.machine:
                continue
            rec = record(binary, m)
            major_minor = ".".join(rec.version.split()[1].split(".")[:2])
            out = args.out / f"qemu-{major_minor}"
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{m.name}.trace").write_text(rec.trace_text())
            (out / f"{m.name}.mtree").write_text(rec.dump_text())
            print(f"{out}/{m.name}.{{trace,mtree}}: {rec.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
