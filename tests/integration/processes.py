"""Which processes a grader run started, found by ancestry and PID namespace rather than
by name: a forked pool kernel keeps its parent's command line, and a student's daemon can
call itself anything.  A watch samples, while the grader runs, every process in a PID
namespace of its own that descends from the grader and was started from this checkout;
afterwards nothing may be alive in any namespace it saw."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pid_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def foreign_namespace_processes() -> set[int]:
    """Processes in a PID namespace other than ours: where kernels live."""
    mine = pid_namespace("self")
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            namespace = pid_namespace(entry.name)
            if namespace is not None and namespace != mine:
                found.add(int(entry.name))
    return found


def ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(status.split("\nPPid:\t", 1)[1].split()[0])
        chain.append(pid)
    return chain


class KernelWatch(threading.Thread):
    """Records the PID namespace of every process the grader starts in one (its kernels),
    while the batch runs: afterwards, nothing may be alive in any of them."""

    def __init__(self, grader: subprocess.Popen):
        super().__init__(daemon=True)
        self.grader = grader
        self.namespaces: set[str] = set()
        # the host pids of the namespaces' inits (pid 1 inside): one per kernel started.
        # Namespace numbers are reused once a namespace is gone (kernels one after
        # another may all show the same one), so they cannot count kernels.
        self.inits: set[int] = set()

    def run(self):
        while self.grader.poll() is None:
            for pid in foreign_namespace_processes():
                if self.grader.pid in ancestors(pid):
                    if innermost_pid(pid) == 1:
                        self.inits.add(pid)
                    namespace = pid_namespace(pid)
                    if namespace and ours(pid):
                        self.namespaces.add(namespace)
            time.sleep(0.1)

    def alive(self) -> set[int]:
        """Processes left in the kernels' namespaces, zombies aside (they hold nothing
        but a number, and this machine's init may reap them late).  A namespace's number
        can be reused by another checkout's kernel once ours is gone: a namespace counts
        only while one of its processes was started from this checkout."""
        members: dict[str, list[int]] = {}
        for pid in foreign_namespace_processes():
            namespace = pid_namespace(pid)
            if namespace in self.namespaces and not zombie(pid):
                members.setdefault(namespace, []).append(pid)
        return {pid for pids in members.values() if any(map(ours, pids)) for pid in pids}


def ours(pid: int) -> bool:
    """Started from this checkout (other checkouts may grade on the same machine)."""
    try:
        return str(REPO / "grader").encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def innermost_pid(pid: int) -> int | None:
    """The process's number in its own PID namespace (the last field of NSpid)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("\nNSpid:", 1)[1].split("\n", 1)[0].split()[-1])
    except (OSError, IndexError, ValueError):
        return None


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return True


def describe(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200]
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return f"{pid}: gone"
    fields = {
        k: v.strip() for k, v in (ln.split(":", 1) for ln in status.splitlines() if ":" in ln)
    }
    where = f"ppid={fields.get('PPid')} nspid={fields.get('NSpid')}"
    return f"{pid} {fields.get('State')} {where} {command!r}"


def processes_with(mark: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if mark.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            pass
    return found


def watched_run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` of a grader command under a KernelWatch; the result carries
    ``kernel_namespaces`` (what the watch saw), ``kernels_started`` (how many kernel
    namespaces' inits it saw) and ``kernels_left`` (alive afterwards)."""
    grader = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
    watch = KernelWatch(grader)
    watch.start()
    stdout, stderr = grader.communicate(timeout=1800)
    watch.join()
    completed = subprocess.CompletedProcess(command, grader.returncode, stdout, stderr)
    completed.kernel_namespaces = watch.namespaces
    completed.kernels_started = len(watch.inits)
    completed.kernels_left = {pid: describe(pid) for pid in watch.alive()}
    return completed
