"""The warm pool's parent process, as the grader holds it: started with the standard
library only, so the command line can start it before importing anything heavy (it then
imports TensorFlow while the grader imports the rest)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.run.environment import kernel_environment

ZYGOTE = Path(__file__).with_name("zygote.py")
READY_TIMEOUT_S = 180


class PoolUnavailable(RuntimeError):
    """The pool's parent could not be started; ``str(exc)`` says why."""


class Zygote:
    """The running parent process and its socket.  Starting it does not wait: the parent
    imports TensorFlow (seconds) while the grader goes on; ``wait_ready`` waits."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="grader-pool-"))
        self.socket_path = str(self.folder / "zygote.sock")
        self.log = (self.folder / "zygote.log").open("ab")
        self.ready = False
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE), self.socket_path, str(os.getpid())],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=kernel_environment(),
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        if self.ready:
            return
        # a real deadline: a parent that hangs while importing must not hang the grader
        ready, _, _ = select.select([self.process.stdout], [], [], READY_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            raise PoolUnavailable(f"the pool's parent did not start (see {self.log.name})")
        self.ready = True

    def alive(self) -> bool:
        return self.process.poll() is None

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
        if not answer:
            raise PoolUnavailable("the pool's parent did not answer")
        return json.loads(answer)

    def fork(self, request: dict, log_fd: int, journal_fd: int) -> int:
        return int(self._ask(request, [log_fd, journal_fd])["pid"])

    def returncode(self, pid: int) -> int | None:
        return self._ask({"op": "status", "pid": pid})["returncode"]

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its session: the parent and its forks
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.log.close()
