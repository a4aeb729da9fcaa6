"""The sandbox a student kernel runs in: a memory cap, no network, and a view of the
file system in which the other submissions, the submissions folder and the output
folder are hidden.

Namespaces come from util-linux's ``unshare``: directly as root, else in a user
namespace (``--user --map-root-user``) where the system allows one.  Where neither
works the kernel still gets its memory cap, and the grader says once, clearly, that
network and file isolation are off.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LAUNCHER = Path(__file__).with_name("sandbox_launch.py")
DEFAULT_MEMORY_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class SandboxPolicy:
    memory_bytes: int = DEFAULT_MEMORY_BYTES  # 0: no cap
    allow_network: bool = False
    isolate_files: bool = True
    hidden_folders: tuple[Path, ...] = field(default=())  # besides the other scratch folders


class SandboxUnavailable(UserWarning):
    """Namespaces cannot be made here; the kernel runs with its memory cap only."""


@cache
def namespace_prefix() -> tuple[str, ...] | None:
    """The ``unshare`` words that give a new mount and network namespace here, or None."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for words in (
        (unshare, "--mount", "--net"),
        (unshare, "--user", "--map-root-user", "--mount", "--net"),
    ):
        try:
            probe = subprocess.run([*words, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return words
    return None


_scratch_root: Path | None = None


def scratch_root() -> Path:
    """This process's folder of per-submission scratch folders; inside a sandbox all of
    it is hidden except the kernel's own box."""
    global _scratch_root
    if _scratch_root is None:
        _scratch_root = Path(tempfile.mkdtemp(prefix="grader-run-"))
        atexit.register(shutil.rmtree, _scratch_root, True)
    return _scratch_root


def _needed_by_the_kernel(folder: Path) -> bool:
    """Hiding a folder that holds the interpreter or the grader would break the kernel."""
    needed = [Path(sys.prefix), Path(sys.executable).resolve().parent, LAUNCHER.parent.parent]
    folder = folder.resolve()
    return any(n.resolve() == folder or folder in n.resolve().parents for n in needed)


@dataclass(frozen=True)
class SandboxPlan:
    """What the sandbox will do for one kernel on this machine."""

    namespaces: tuple[str, ...]  # the unshare words; empty: none here
    hide: tuple[str, ...]
    keep: str
    memory: int
    allow_network: bool

    def as_request(self) -> dict:
        """The plan for the warm pool's parent, which applies it in a forked child."""
        return {
            "namespaces": bool(self.namespaces),
            "user_namespace": "--user" in self.namespaces,
            "allow_network": self.allow_network,
            "hide": list(self.hide),
            "keep": self.keep,
            "memory": self.memory,
        }


def plan(policy: SandboxPolicy, box: Path, scratch_root: Path) -> SandboxPlan:
    prefix = namespace_prefix() if (policy.isolate_files or not policy.allow_network) else ()
    if prefix is None:
        warnings.warn(
            "cannot create namespaces here (no root, no user namespaces): student "
            "code runs with network access and sees the file system; memory is "
            "still capped",
            SandboxUnavailable,
            stacklevel=3,
        )
        prefix = ()
    words = tuple(w for w in prefix if not (policy.allow_network and w == "--net"))
    hide = ()
    if words and policy.isolate_files:
        hide = tuple(
            str(Path(f).resolve())
            for f in (scratch_root, *policy.hidden_folders)
            if os.path.isdir(f) and not _needed_by_the_kernel(Path(f))
        )
    return SandboxPlan(words, hide, str(box), policy.memory_bytes, policy.allow_network)


def sandboxed_argv(
    kernel_argv: list[str], policy: SandboxPolicy, workdir: Path, scratch_root: Path, cwd: Path
) -> list[str]:
    """The command that starts ``kernel_argv`` inside the sandbox."""
    sandbox = plan(policy, workdir, scratch_root)
    launcher = [
        sys.executable,
        str(LAUNCHER),
        "--memory",
        str(sandbox.memory),
        "--keep",
        sandbox.keep,
        "--cwd",
        str(cwd),
    ]
    for folder in sandbox.hide:
        launcher += ["--hide", folder]
    if not sandbox.hide:
        launcher.append("--no-mounts")
    return [*sandbox.namespaces, *launcher, "--", *kernel_argv]


def isolation_summary(policy: SandboxPolicy) -> str:
    """One line for the console: what the sandbox does on this machine."""
    prefix = namespace_prefix()
    memory = (
        f"memory cap {policy.memory_bytes / 1024**3:g} GiB"
        if policy.memory_bytes
        else "no memory cap"
    )
    if prefix is None:
        return f"sandbox: {memory}; WARNING: no namespaces here, so network and files are open"
    network = "network allowed" if policy.allow_network else "no network"
    return f"sandbox: {memory}, {network}, other submissions hidden"
