"""The sandbox a student kernel runs in, as the grader plans it.

``SandboxPolicy`` holds the settings (limits, network); ``plan`` turns it into a
``SandboxPlan`` for one kernel: which host folders it may read, where its box is, which
identity it gets.  The plan is applied by ``grader/run/confine.py`` (one function, used
by both kernel sources: the exec launcher and the warm pool's forked child), so the
boundary is written once.

Where the machine allows no namespaces (no root, user namespaces disabled) the kernel
still gets its resource limits, and the grader says once, clearly, what is lost.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

CONFINE = Path(__file__).with_name("confine.py")
PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MEMORY_BYTES = 4 * 1024**3
DEFAULT_DISK_BYTES = 512 * 1024**2
DEFAULT_MAX_PROCESSES = 256  # TensorFlow on 2 cores runs ~40 threads; a fork bomb needs more
DEFAULT_UID = 65534  # nobody: the kernel's identity when the grader runs as root
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
# Inside the sandbox: a home and caches on the kernel's own size-limited tmpfs.
# JPY_PARENT_PID=1: the kernel's parent is the namespace's init (PID 1), which ipykernel
# would otherwise take for a parent that died; the sandbox ends the kernel with its waiter.
SANDBOX_ENV = {
    "HOME": "/tmp/kernel-home",
    "TMPDIR": "/tmp",
    "XDG_CACHE_HOME": "/tmp/kernel-home/.cache",
    "JPY_PARENT_PID": "1",
}


@dataclass(frozen=True)
class SandboxPolicy:
    memory_bytes: int = DEFAULT_MEMORY_BYTES  # 0: no cap
    disk_bytes: int = DEFAULT_DISK_BYTES  # the kernel's working folder and /tmp together
    max_processes: int = DEFAULT_MAX_PROCESSES  # processes and threads of one kernel
    allow_network: bool = False
    isolate_files: bool = True
    uid: int = DEFAULT_UID  # used when the grader is root
    hidden_folders: tuple[Path, ...] = field(default=())  # never visible, even if bound


class SandboxUnavailable(UserWarning):
    """Namespaces cannot be made here; the kernel runs with its resource limits only."""


_scratch_root: Path | None = None


def scratch_root() -> Path:
    """This process's folder of per-submission scratch folders (none of it is visible
    to a kernel except its own box)."""
    global _scratch_root
    if _scratch_root is None:
        _scratch_root = Path(tempfile.mkdtemp(prefix="grader-run-"))
        atexit.register(shutil.rmtree, _scratch_root, True)
    return _scratch_root


def _python_folders() -> list[str]:
    """What the kernel's interpreter reads: the installation, the environment, the
    grader package and the import path; never the grader's working folder."""
    cwd = os.getcwd()
    folders = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}
    folders.add(str(PACKAGE_DIR))
    folders.add(os.path.dirname(os.path.realpath(sys.executable)))
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        folders.add(sysconfig.get_paths()[name])
    entries = [*sys.path, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    for entry in entries:
        if entry and os.path.isabs(entry) and os.path.exists(entry) and entry != cwd:
            folders.add(entry)
    return sorted(f for f in folders if f and f not in ("/", "/tmp", "/root", "/home"))


def _matplotlib_cache() -> str | None:
    """The grader's matplotlib cache (its font list), copied into plain kernels so they
    do not rebuild it (a second or more per kernel)."""
    for candidate in (
        os.environ.get("MPLCONFIGDIR"),
        os.path.join(os.environ.get("XDG_CACHE_HOME") or "", "matplotlib"),
        os.path.expanduser("~/.cache/matplotlib"),
    ):
        if candidate and os.path.isdir(candidate):
            return candidate
    return None


@dataclass(frozen=True)
class SandboxPlan:
    """What ``confine.enter`` does for one kernel; serialisable (the pool gets it as JSON)."""

    namespaces: bool
    allow_network: bool
    uid: int | None  # the kernel's identity when the grader is root; None otherwise
    gid: int | None
    read_only: tuple[str, ...]
    hide: tuple[str, ...]
    box: str
    cwd: str
    memory_bytes: int
    disk_bytes: int
    max_processes: int
    matplotlib_cache: str | None
    env: dict

    def as_dict(self) -> dict:
        return asdict(self)


def plan(policy: SandboxPolicy, box: Path, cwd: Path) -> SandboxPlan:
    """The plan for one kernel whose box (sockets, connection file) is ``box`` and whose
    working folder is ``cwd`` (inside the box)."""
    namespaces = sandbox_available()
    if not namespaces:
        warnings.warn(UNAVAILABLE_WARNING, SandboxUnavailable, stacklevel=3)
    privileged = os.geteuid() == 0
    hide = tuple(str(Path(f).resolve()) for f in (scratch_root(), *policy.hidden_folders))
    return SandboxPlan(
        namespaces=namespaces,
        allow_network=policy.allow_network,
        uid=policy.uid if privileged else None,
        gid=policy.uid if privileged else None,
        read_only=(*SYSTEM_FOLDERS, *_python_folders()),
        hide=hide if policy.isolate_files else (),
        box=str(box),
        cwd=str(cwd),
        memory_bytes=policy.memory_bytes,
        disk_bytes=policy.disk_bytes,
        max_processes=policy.max_processes,
        matplotlib_cache=_matplotlib_cache(),
        env=dict(SANDBOX_ENV) if namespaces else {},
    )


UNAVAILABLE_WARNING = (
    "cannot create namespaces here (no root, no user namespaces): student code runs "
    "with network access, sees the file system and may outlive its submission; memory, "
    "processes and file size are still capped"
)


@cache
def sandbox_available() -> bool:
    """Whether ``confine.enter`` works on this machine (tried once, with ``true``)."""
    if os.environ.get("GRADER_NO_NAMESPACES") == "1":  # what an instructor loses: tested
        return False
    box = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    try:
        (box / "cwd").mkdir()
        open_box(box)
        trial = SandboxPlan(
            True, False, DEFAULT_UID if os.geteuid() == 0 else None,
            DEFAULT_UID if os.geteuid() == 0 else None,
            (*SYSTEM_FOLDERS, *_python_folders()), (), str(box), str(box / "cwd"),
            0, 1024**2, 64, None, {},
        )  # fmt: skip
        argv = [sys.executable, str(CONFINE), json.dumps(trial.as_dict()), "--", "true"]
        completed = subprocess.run(argv, capture_output=True, timeout=30)
        return completed.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(box, ignore_errors=True)


def sandboxed_argv(kernel_argv: list[str], sandbox: SandboxPlan) -> list[str]:
    """The command that starts ``kernel_argv`` inside the sandbox (plain kernels)."""
    return [sys.executable, str(CONFINE), json.dumps(sandbox.as_dict()), "--", *kernel_argv]


def open_box(box: Path) -> None:
    """Before the kernel starts: it may create its sockets in its box."""
    if os.geteuid() == 0:
        os.chmod(box, 0o777)


def close_box(box: Path) -> None:
    """Once the kernel answers: nothing more may be written to its box (the host's disk),
    and its files are the grader's again.  Root only: an ordinary user's kernel has the
    user's own identity and could undo it (its writes are capped by RLIMIT_FSIZE)."""
    if os.geteuid() != 0:
        return
    for entry in box.iterdir():
        if entry.name != "cwd" and not entry.is_symlink():
            os.chown(entry, 0, 0)
            if entry.is_file():
                os.chmod(entry, 0o600)
    os.chmod(box, 0o755)


def isolation_summary(policy: SandboxPolicy) -> str:
    """One line for the console: what the sandbox does on this machine."""
    memory = (
        f"memory {policy.memory_bytes / 1024**3:g} GiB" if policy.memory_bytes else "no memory cap"
    )
    limits = f"{memory}, disk {policy.disk_bytes / 1024**2:g} MiB, {policy.max_processes} processes"
    if not sandbox_available():
        return f"sandbox: {limits}; WARNING: {UNAVAILABLE_WARNING}"
    who = f"uid {policy.uid}" if os.geteuid() == 0 else "your uid"
    network = "network allowed" if policy.allow_network else "no network"
    return f"sandbox: {limits}, {network}, own namespaces as {who}, no capabilities"
