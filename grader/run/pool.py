"""Kernel sources: where a submission's kernel comes from.

Modelled on jupyter_client's provisioner base: a small base class whose methods say what
an implementer owes, chosen explicitly by the options and passed down (never found
through a global).

* ``PlainSource``: a fresh ``python grading_kernel.py`` (ipykernel) per submission, started
  through ``confine.py`` (exec).
* ``ForkSource``: the warm pool.  One long-lived parent (``zygote.py``) that has imported
  TensorFlow, numpy, matplotlib and ipykernel forks a fresh kernel per submission, which
  nbclient drives as usual.  It plugs in through jupyter_client's kernel provisioner API
  (``ForkProvisioner``, registered as ``grader-fork``); the socket and the sandbox plan
  reach the provisioner through the kernel spec's ``kernel_provisioner.config``.  If the
  parent dies, the next kernel start brings up a new one (``generation`` counts them, so
  a submission whose kernel died with the old parent can be run again).

Both apply the same sandbox (``confine.enter``), so the boundary is written once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Dict, Unicode

from grader.run.kernel import GRADING_KERNEL
from grader.run.parent import PoolUnavailable, Zygote  # noqa: F401 - PoolUnavailable re-exported
from grader.run.sandbox import SandboxPlan, sandboxed_argv, scratch_root


class KernelSource:
    """Where kernels come from.  An implementer owes ``kernel_spec_fields`` and may use
    ``start``/``close`` for resources that live as long as a batch."""

    name = "base"
    generation = 0  # changes when the source had to be rebuilt (a dead pool parent)

    def kernel_spec_fields(self, argv: list[str], sandbox: SandboxPlan) -> dict:
        """``argv`` and ``metadata`` for the KernelSpec of one kernel in ``sandbox``."""
        raise NotImplementedError

    def spawn(self) -> None:
        """Begin acquiring it without waiting (``start`` then waits); may do nothing."""

    def start(self) -> None:
        """Acquire what the source needs; may raise PoolUnavailable."""

    def lost_since(self, generation: int) -> bool:
        """Whether kernels started at ``generation`` may have died with the source."""
        return False

    async def take_ready(self, limits, start: Callable[[Path], Awaitable]):
        """A kernel started ahead of time for ``limits`` (``start(workdir)`` makes one), or
        None: the caller then starts its own.  Plain sources keep none."""
        return None

    def expect(self, count: int, limits, start: Callable[[Path], Awaitable]) -> None:
        """``count`` submissions with ``limits`` are coming (a source that starts kernels
        ahead starts the first ones now, with ``start(workdir)``)."""

    def close(self) -> None:
        """Release it; no process of the source is alive afterwards."""

    def __enter__(self) -> KernelSource:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PlainSource(KernelSource):
    """A fresh interpreter per kernel, exec'd inside the sandbox."""

    name = "plain"

    def kernel_spec_fields(self, argv: list[str], sandbox: SandboxPlan) -> dict:
        return {"argv": sandboxed_argv(argv, sandbox), "metadata": {}}


class ForkSource(KernelSource):
    """The warm pool: kernels forked from a parent that has imported TensorFlow."""

    name = "fork"

    def __init__(self, ready_kernels: int = 0, zygote: Zygote | None = None):
        self.zygote: Zygote | None = zygote  # a parent already started, or one later
        self._lock = threading.Lock()
        # kernels started before they are needed: while submissions run, the next ones'
        # kernels fork, enter their sandbox and boot ipykernel (a bounded queue per
        # set of limits, in the order they were started; each holds about one forked
        # kernel's memory).  A submission takes the oldest, finished or not: it never
        # starts a kernel of its own while one is already on its way.
        self.ready_kernels = ready_kernels
        self.expected: int | None = None  # submissions still to come, when known
        self._ready: dict[object, list[asyncio.Task]] = {}

    def expect(self, count: int, limits, start: Callable[[Path], Awaitable]) -> None:
        self.expected = count
        if self.ready_kernels > 0:
            self._refill(limits, start)  # the first kernels boot while the batch sets up

    async def take_ready(self, limits, start: Callable[[Path], Awaitable]):
        if self.ready_kernels <= 0:
            return None
        queue = self._ready.setdefault(limits, [])
        if self.expected is not None:
            self.expected -= 1
        while queue:
            task = queue.pop(0)
            self._refill(limits, start)  # the next one boots while this one is used
            try:
                kernel = await asyncio.shield(task)
            except asyncio.CancelledError:
                task.add_done_callback(_discard_started)  # ours now: never left running
                raise
            except Exception:  # noqa: BLE001 - a start that failed: take the next
                continue
            if kernel.error is None and kernel.alive():
                return kernel
            kernel.discard()
        self._refill(limits, start)
        return None

    def _refill(self, limits, start) -> None:
        queue = self._ready.setdefault(limits, [])
        wanted = self.ready_kernels
        if self.expected is not None:  # none started for submissions that will not come
            wanted = min(wanted, self.expected)
        for _ in range(max(0, wanted - len(queue))):
            queue.append(asyncio.ensure_future(self._start_one(start)))

    async def _start_one(self, start):
        workdir = Path(tempfile.mkdtemp(prefix="ready-", dir=scratch_root()))
        kernel = await start(workdir)
        if self.zygote is None:  # closed meanwhile
            kernel.discard()
            raise PoolUnavailable("the pool was closed")
        return kernel

    def _discard_ready(self) -> None:
        for queue in self._ready.values():
            for task in queue:
                if task.done():
                    _discard_started(task)
                else:
                    task.cancel()  # start_kernel discards a kernel cancelled mid-start
                    task.add_done_callback(_discard_started)
        self._ready.clear()

    def spawn(self) -> None:
        """Start the parent without waiting for it (it imports while the caller goes on)."""
        with self._lock:
            if self.zygote is None or not self.zygote.alive():
                if self.zygote is not None:
                    self.zygote.close()
                    self.generation += 1
                self.zygote = Zygote()

    def start(self) -> None:
        self.spawn()
        with self._lock:
            try:
                self.zygote.wait_ready()
            except PoolUnavailable:
                self.zygote.close()
                self.zygote = None
                raise

    def lost_since(self, generation: int) -> bool:
        if self.generation != generation or self.zygote is None or not self.zygote.alive():
            return True
        try:  # a parent killed a moment ago may not have been reaped yet: ask it
            self.zygote.returncode(0)
            return False
        except (OSError, PoolUnavailable, ValueError):
            return True

    def close(self) -> None:
        self._discard_ready()
        with self._lock:
            if self.zygote is not None:
                self.zygote.close()
                self.zygote = None

    def kernel_spec_fields(self, argv: list[str], sandbox: SandboxPlan) -> dict:
        self.start()  # a parent that died is replaced before the next kernel
        return {
            "argv": argv,
            "metadata": {
                "kernel_provisioner": {
                    "provisioner_name": "grader-fork",
                    "config": {
                        "socket_path": self.zygote.socket_path,
                        "sandbox": sandbox.as_dict(),
                    },
                }
            },
        }


def _discard_started(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().discard()


def _connect(socket_path: str) -> Zygote:
    """A handle on a running parent, for a provisioner that only knows its socket."""
    handle = Zygote.__new__(Zygote)
    handle.socket_path = socket_path
    return handle


class ForkedProcess:
    """What LocalProvisioner expects of a Popen, for a kernel forked by the zygote."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.zygote.returncode(self.pid)
            except (OSError, PoolUnavailable):
                # the parent is gone, and the kernel's waiter with it (PDEATHSIG)
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.005)  # a killed kernel's waiter is reaped within milliseconds
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)  # the waiter's group: the kernel, unless it left
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches a kernel by asking the warm parent to fork, not by exec.  Its socket and
    the sandbox plan come from the kernel spec's ``kernel_provisioner.config``."""

    socket_path = Unicode("", config=True)
    sandbox = Dict({}, config=True)

    async def launch_kernel(self, cmd: list[str], **kwargs):
        if not self.socket_path:
            raise PoolUnavailable("no warm pool is running")
        zygote = _connect(self.socket_path)
        kernel_args = cmd[cmd.index(str(GRADING_KERNEL)) + 1 :]
        request = {
            "kernel_args": kernel_args,
            "cwd": str(kwargs["cwd"]),
            "env": dict(kwargs["env"]),
            "sandbox": dict(self.sandbox),
        }
        log_fd = kwargs["stdout"].fileno()
        journal_fd = kwargs["pass_fds"][0]
        pid = await asyncio.to_thread(zygote.fork, request, log_fd, journal_fd)
        self.process = ForkedProcess(zygote, pid)
        self.pid = self.pgid = pid  # the child calls setsid()
        return self.connection_info


def start_or_plain(source: KernelSource) -> KernelSource:
    """``source`` started, or plain kernels when it cannot start (a warning says why)."""
    try:
        source.start()
    except PoolUnavailable as error:
        print(f"warning: {error}; using plain kernels", file=sys.stderr)
        return PlainSource()
    return source


def kernel_source(
    pooled: bool, ready_kernels: int = 0, zygote: Zygote | None = None
) -> KernelSource:
    """The source the options ask for (not started yet); a pool keeps ``ready_kernels``
    kernels started ahead of the submissions that will use them, with ``zygote`` as its
    parent when one was started earlier."""
    return ForkSource(ready_kernels, zygote=zygote) if pooled else PlainSource()
