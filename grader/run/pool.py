"""The warm kernel pool: one long-lived parent (``zygote.py``) that has imported
TensorFlow, numpy, matplotlib and ipykernel forks a fresh kernel per submission, which
nbclient then drives as usual.  It plugs in through jupyter_client's kernel provisioner
API (``ForkProvisioner``, registered as ``grader-fork``).

Each forked kernel keeps the sandbox of a plain one (its own process and session, its
own working folder, memory cap, network and mount namespaces) and is thrown away after
its submission.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from grader.run.kernel import kernel_environment, kill_process_group

ZYGOTE = Path(__file__).with_name("zygote.py")
READY_TIMEOUT_S = 180
_active: Zygote | None = None


class PoolUnavailable(RuntimeError):
    """The pool's parent could not be started; ``str(exc)`` says why."""


class Zygote:
    """The running parent process and its socket."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="grader-pool-"))
        self.socket_path = str(self.folder / "zygote.sock")
        self.log = (self.folder / "zygote.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE), self.socket_path],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=kernel_environment(),
            start_new_session=True,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        line = self.process.stdout.readline()
        if line.strip() != b"ready" or time.monotonic() > deadline:
            self.close()
            raise PoolUnavailable(f"the pool's parent did not start (see {self.log.name})")

    def _ask(self, request: dict, fds: list[int] = ()) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(30)
            connection.connect(self.socket_path)
            socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], list(fds))
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = connection.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return json.loads(answer)

    def fork(self, request: dict, log_fd: int, journal_fd: int) -> int:
        return int(self._ask(request, [log_fd, journal_fd])["pid"])

    def returncode(self, pid: int) -> int | None:
        return self._ask({"op": "status", "pid": pid})["returncode"]

    def close(self) -> None:
        kill_process_group(self.process.pid)
        self.process.wait()
        self.log.close()


class ForkedProcess:
    """What LocalProvisioner expects of a Popen, for a kernel forked by the zygote."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.returncode(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches a kernel by asking the warm parent to fork, not by exec."""

    sandbox_request: dict = {}

    async def launch_kernel(self, cmd: list[str], **kwargs):
        if _active is None:
            raise PoolUnavailable("no warm pool is running")
        kernel_args = cmd[cmd.index("ipykernel_launcher") + 1 :]
        request = {
            "kernel_args": kernel_args,
            "cwd": str(kwargs["cwd"]),
            "env": dict(kwargs["env"]),
            "sandbox": self.parent.sandbox_request,
        }
        log_fd = kwargs["stdout"].fileno()
        journal_fd = kwargs["pass_fds"][0]
        pid = await asyncio.to_thread(_active.fork, request, log_fd, journal_fd)
        self.process = ForkedProcess(_active, pid)
        self.pid = self.pgid = pid  # the child calls setsid()
        return self.connection_info


@contextmanager
def warm_pool():
    """Run a warm pool for the duration of a batch."""
    global _active
    zygote = Zygote()
    _active = zygote
    try:
        yield zygote
    finally:
        _active = None
        zygote.close()


def pool_active() -> bool:
    return _active is not None
