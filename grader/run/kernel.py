"""The kernel the student's code runs in: the grader's own interpreter, whatever the
notebook's kernelspec names (students' files say ``py38`` or ``conda-env-py38-py``)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from grader.run.environment import KERNEL_ENV, kernel_environment  # noqa: F401 - re-exported

# a stock kernel, as Jupyter starts one (the benchmark's plain nbclient runs use it)
KERNEL_ARGV = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
# the grader's kernels: the same ipykernel, without debugger or history database
GRADING_KERNEL = Path(__file__).with_name("grading_kernel.py")
GRADING_KERNEL_ARGV = [
    sys.executable,
    str(GRADING_KERNEL),
    "-f",
    "{connection_file}",
    "--HistoryManager.enabled=False",
    # plain tracebacks: IPython's default parses every library file of the stack
    # (0.3-0.4 s for the first TensorFlow error); the student's line is still there
    "--InteractiveShell.xmode=Plain",
]


class OwnInterpreterKernelManager(AsyncKernelManager):
    """Starts ipykernel on ``sys.executable``, ignoring the notebook's kernelspec; a
    kernel source fills in ``spec_fields`` (the sandboxed argv, the provisioner)."""

    spec_fields: dict | None = None

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            fields = self.spec_fields or {"argv": list(KERNEL_ARGV), "metadata": {}}
            self._kernel_spec = KernelSpec(
                argv=fields["argv"],
                display_name="Python 3 (grader)",
                language="python",
                metadata={"debugger": False, **fields["metadata"]},
            )
        return self._kernel_spec


def kill_process_group(pid: int | None) -> None:
    """Kill the kernel and anything it started: jupyter_client gives each kernel its
    own session, so its process group id is its pid."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kernel_namespace(pid: int | None) -> str | None:
    """The PID namespace a sandboxed kernel's waiter made for it, if any."""
    if pid is None:
        return None
    try:
        namespace = os.readlink(f"/proc/{pid}/ns/pid_for_children")
        return None if namespace == os.readlink("/proc/self/ns/pid") else namespace
    except OSError:
        return None


def _living_in(namespace: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "ns" / "pid") != namespace:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):  # a zombie holds nothing but its number
            found.append(int(entry.name))
    return found


def empty_namespace(namespace: str, timeout_s: float) -> None:
    """Wait until no process of ``namespace`` runs (its init's death kills them all, but
    a thousand exiting forks of a TensorFlow process take a moment); kill stragglers."""
    deadline = time.monotonic() + timeout_s
    while (left := _living_in(namespace)) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
