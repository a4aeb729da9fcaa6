"""Execute one notebook with nbclient in a fresh kernel, in a scratch folder, with the
probe injected before the first cell and after the last."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import nbformat
import zmq
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.facts import Facts, read_journal
from grader.probe import PROBE_PATH
from grader.run.kernel import (
    GRADING_KERNEL_ARGV,
    OwnInterpreterKernelManager,
    empty_namespace,
    kernel_environment,
    kernel_namespace,
    kill_process_group,
)
from grader.run.output_cap import CappedNotebookClient, OutputCaps
from grader.run.pool import KernelSource, PlainSource
from grader.run.sandbox import SandboxPolicy, close_box, open_box, plan, scratch_root

FINISH_TIMEOUT_S = 30
JOURNAL = "facts.jsonl"
REAP_TIMEOUT_S = 30
RESPONSE_TIMEOUT_S = 10
STARTUP_TIMEOUT_S = 60
TIMEOUT_ENAME = "CellTimeoutError"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0
    sandbox: SandboxPolicy = SandboxPolicy()
    output: OutputCaps = OutputCaps()


@dataclass(frozen=True)
class CellRun:
    """One code cell of the student's notebook and how its execution went."""

    index: int  # position in the student's notebook (all cells, 0-based)
    status: str  # "ok" | "error" | "timeout" | "not-run"
    source_head: str
    ename: str | None = None
    evalue: str | None = None
    error_line: str | None = None  # the student's line that raised, when known
    truncated: bool = False  # its output was cut at MAX_OUTPUT_BYTES_PER_CELL


@dataclass(frozen=True)
class Execution:
    """What running the notebook produced: a status, the cells and the probe's journal."""

    status: str  # "completed" | "timeout" | "dead" | "failed"
    reason: str | None
    cells: tuple[CellRun, ...]
    journal_path: Path
    secret: str
    seconds: float
    executed: nbformat.NotebookNode | None = None  # the student's cells with their outputs
    # seconds spent per phase: kernel_ready, cells, shutdown (for the benchmark)
    phases: dict[str, float] = dataclasses.field(default_factory=dict)
    workdir: Path | None = None  # the folder the kernel ran in (the caller removes it)


def _probe_install_source(journal_fd: int, secret: str, incoming: Path | None = None) -> str:
    # a kernel started before its submission was known gets the submission's files now,
    # from its box (only the grader writes there once the kernel answers)
    copy = (
        [
            "import shutil as _grader_shutil",
            f"_grader_shutil.copytree({str(incoming)!r}, '.', dirs_exist_ok=True)",
            "del _grader_shutil",
        ]
        if incoming is not None
        else []
    )
    return "\n".join(
        [
            *copy,
            "import importlib.util as _grader_util, sys as _grader_sys",
            "_grader_spec = _grader_util.spec_from_file_location(",
            f"    '_grader_probe', {str(PROBE_PATH)!r})",
            "_grader_probe = _grader_util.module_from_spec(_grader_spec)",
            "_grader_spec.loader.exec_module(_grader_probe)",
            "_grader_sys.modules['_grader_probe'] = _grader_probe",
            f"_grader_probe.install(int(__import__('os').environ.pop('GRADER_JOURNAL_FD', "
            f"{journal_fd})), {secret!r})",
            "del _grader_util, _grader_sys, _grader_spec, _grader_probe",
        ]
    )


FINISH_SOURCE = "__import__('sys').modules['_grader_probe'].finish()"


_CELL_FRAME = re.compile(r"^\s*Cell In\[\d+\], line (\d+)")
_ARROW = re.compile(r"^\s*-*>\s*(\d+)\s?(.*)$")


def _error_line(traceback: list[str]) -> str | None:
    """The student's own line that raised: the deepest frame of a notebook cell
    (``Cell In[n], line k``), in the grading kernel's plain tracebacks (the source line
    follows the frame's header) or in IPython's default ones (the line marked ``---->``)."""
    lines = _ANSI.sub("", "\n".join(traceback)).splitlines()
    marked = any(_ARROW.match(line) for line in lines)
    found = None
    for i, line in enumerate(lines):
        if _CELL_FRAME.match(line) is None:
            continue
        for following in lines[i + 1 :]:
            if _CELL_FRAME.match(following) or following.lstrip().startswith("File "):
                break
            arrow = _ARROW.match(following) if marked else None
            if arrow is not None:
                found = arrow.group(2).strip()
                break
            if not marked and following.strip():
                found = following.strip()  # plain: the frame's source line
                break
    return found[:300] if found else None


def _cell_run(index: int, cell, reply: dict | None, timed_out: bool) -> CellRun:
    head = next((line for line in cell.source.splitlines() if line.strip()), "")[:120]
    if timed_out:
        return CellRun(index, "timeout", head, TIMEOUT_ENAME, None)
    if reply is None:
        return CellRun(index, "not-run", head)
    if reply.get("status") == "error":
        return CellRun(
            index,
            "error",
            head,
            reply.get("ename"),
            _ANSI.sub("", str(reply.get("evalue", "")))[:500],
            _error_line(reply.get("traceback") or []),
        )
    return CellRun(index, "ok", head)


@dataclass
class StartedKernel:
    """A sandboxed kernel that answers, in its own work folder, with its journal."""

    workdir: Path
    journal_fd: int
    kernel_log: object
    km: OwnInterpreterKernelManager | None = None
    kc: object = None
    process: object = None
    namespace: str | None = None
    error: Exception | None = None  # why it did not start

    @property
    def box(self) -> Path:
        return self.workdir / "box"

    @property
    def pid(self) -> int | None:
        return getattr(self.process, "pid", None)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def discard(self) -> None:
        """Kill it and free its files (a kernel that was never used)."""
        kill_process_group(self.pid)
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001 - its loop may be gone
                pass
        self.close_files()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def close_files(self) -> None:
        if not self.kernel_log.closed:
            self.kernel_log.close()
        try:
            os.close(self.journal_fd)
        except OSError:
            pass


def _kernel_manager(box: Path, limits: Limits, source: KernelSource):
    """A kernel manager talking over unix sockets in the box (no TCP: the kernel may
    have no network at all), whose command starts the kernel in its sandbox."""
    manager = OwnInterpreterKernelManager(
        kernel_name="python3",
        transport="ipc",
        ip=str(box / "ipc"),
        connection_file=str(box / "connection.json"),
    )
    sandbox = plan(limits.sandbox, box, box / "cwd")
    manager.spec_fields = source.kernel_spec_fields(list(GRADING_KERNEL_ARGV), sandbox)
    return manager


async def start_kernel(workdir: Path, limits: Limits, source: KernelSource) -> StartedKernel:
    """Start a sandboxed kernel whose box is ``workdir/box`` and wait until it answers.
    ``workdir`` holds what only the grader sees (journal, kernel log)."""
    (workdir / "box" / "cwd").mkdir(parents=True, exist_ok=True)
    journal_fd = os.open(workdir / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    kernel = StartedKernel(workdir, journal_fd, (workdir / "kernel.log").open("ab"))
    try:
        kernel.km = _kernel_manager(kernel.box, limits, source)
        open_box(kernel.box)
        # pass_fds: only this kernel inherits its journal's descriptor
        await kernel.km.start_kernel(
            cwd=str(kernel.box / "cwd"),
            env={**kernel_environment(), "GRADER_JOURNAL_FD": str(journal_fd)},
            stdout=kernel.kernel_log,
            stderr=kernel.kernel_log,
            pass_fds=(journal_fd,),
        )
        kernel.process = getattr(getattr(kernel.km, "provisioner", None), "process", None)
        kernel.namespace = kernel_namespace(kernel.pid)
        # No heartbeat channel: aliveness comes from the process itself, and a heartbeat
        # thread whose socket the student's code broke would hang the cleanup.
        kernel.kc = kernel.km.client()
        # its sockets connect before the kernel has bound its own (forked, it is still
        # booting): ZMQ retries every 100 ms by default, every 5 ms here
        kernel.kc.context.setsockopt(zmq.RECONNECT_IVL, 5)
        await ensure_async(kernel.kc.start_channels(hb=False))
        await _answering(kernel.kc, STARTUP_TIMEOUT_S)
        close_box(kernel.box)
    except Exception as error:  # noqa: BLE001 - the run turns it into a status
        kernel.error = error
    except BaseException:  # cancelled (a batch ending while kernels start ahead)
        kernel.discard()
        raise
    return kernel


async def _answering(kc, timeout_s: float) -> None:
    """What jupyter_client's ``wait_for_ready`` checks (a kernel_info reply on shell, and
    IOPub connected), with short waits: that one waits 0.2 s for IOPub after each reply
    and then another 0.2 s of silence on IOPub before it returns, 0.2-0.4 s per kernel.
    Messages left on IOPub belong to no cell: nbclient skips them (their parent differs)."""
    deadline = time.monotonic() + timeout_s
    wait = 0.01
    while True:
        kc.kernel_info()
        try:
            reply = await kc.shell_channel.get_msg(timeout=max(wait, 0.25))
        except Empty:
            reply = None
        if reply is not None and reply["msg_type"] == "kernel_info_reply":
            try:
                await kc.iopub_channel.get_msg(timeout=wait)
            except Empty:
                pass
            else:
                kc._handle_kernel_info_reply(reply)
                return
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout_s:g} seconds")
        wait = min(0.2, wait * 2)


def expect_submissions(source: KernelSource, count: int, limits: Limits) -> None:
    """Tell ``source`` that ``count`` submissions with ``limits`` are coming (the warm
    pool starts their first kernels at once).  Call it on the loop that will run them."""
    source.expect(count, limits, lambda workdir: start_kernel(workdir, limits, source))


class KernelUnresponsive(Exception):
    """The kernel is alive but no longer answers; ``str(exc)`` says after which cell."""


class _Run:
    """The state of one notebook's execution."""

    def __init__(
        self, nb: nbformat.NotebookNode, workdir: Path, limits: Limits, source: KernelSource
    ):
        self.limits = limits
        self.source = source
        self.secret = secrets.token_hex(16)
        # workdir holds what only the grader sees (journal, kernel log); workdir/box is
        # all the kernel sees of this submission: its working folder and its sockets.
        self.workdir = workdir
        self.journal_path = workdir / "facts.jsonl"
        self.box = workdir / "box"
        self.cwd = self.box / "cwd"
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.student_nb = nb
        self.code_cells = [
            (i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()
        ]
        self.replies: dict[int, dict] = {}
        self.timed_out: set[int] = set()
        self.deadline = 0.0
        self.current_cell_timeout: float | None = None
        self.process = None
        self.namespace: str | None = None  # the kernel's PID namespace

    def _timeout_for(self, cell) -> int:
        return max(1, int(self.current_cell_timeout or 1))

    def _on_cell_executed(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply.get("content", {}) if execute_reply else {}

    async def _kernel(self) -> tuple[StartedKernel, Path | None]:
        """A kernel for this run: one the source started ahead of time (the submission's
        files then go to its box, and the first cell copies them in), else a new one."""
        ready = await self.source.take_ready(
            self.limits, lambda workdir: start_kernel(workdir, self.limits, self.source)
        )
        if ready is None:
            return await start_kernel(self.workdir, self.limits, self.source), None
        incoming = ready.box / "incoming"
        shutil.copytree(self.cwd, incoming)
        return ready, incoming

    async def run(self) -> Execution:
        started = time.monotonic()
        self.deadline = started + self.limits.notebook_timeout_s
        kernel, incoming = await self._kernel()
        self.workdir, self.journal_path = kernel.workdir, kernel.workdir / JOURNAL
        self.process, self.namespace = kernel.process, kernel.namespace
        ready = time.monotonic()
        run_nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(self.student_nb.metadata))
        install = _probe_install_source(kernel.journal_fd, self.secret, incoming)
        run_nb.cells = [nbformat.v4.new_code_cell(install)]
        run_nb.cells += [nbformat.v4.new_code_cell(c.source) for _, c in self.code_cells]
        run_nb.cells.append(nbformat.v4.new_code_cell(FINISH_SOURCE))
        client = CappedNotebookClient(
            run_nb,
            kernel_name="python3",
            kernel_manager_class=OwnInterpreterKernelManager,
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "timed out", "traceback": []},
            timeout_func=self._timeout_for,
            startup_timeout=STARTUP_TIMEOUT_S,
            shutdown_kernel="immediate",
            record_timing=False,
            on_cell_executed=self._on_cell_executed,
            caps=self.limits.output,
        )
        client.km, client.kc = kernel.km, kernel.kc
        status, reason, cells_done = "completed", None, None
        try:
            if kernel.error is not None:
                status = "failed"
                reason = f"the kernel could not be run: {kernel.error}"
            else:
                client.kc.allow_stdin = False
                async with client.async_setup_kernel():
                    status, reason = await self._execute_all(client)
                    cells_done = time.monotonic()
                    # Killed, not asked to shut down: nbclient then finds it dead and skips
                    # jupyter_client's shutdown, which polls a killed kernel every 0.1 s.
                    kill_process_group(kernel.pid)
                    await self._reaped()
        except DeadKernelError:
            status, reason = "dead", self._death_reason()
        except KernelUnresponsive as exc:
            status, reason = "dead", str(exc)
        except zmq.Again:
            status, reason = "dead", "the kernel stopped taking requests"
        except CellTimeoutError as exc:
            status, reason = "timeout", f"the kernel stopped answering: {exc}"
        except (RuntimeError, TimeoutError, OSError) as exc:
            if status == "completed":
                status, reason = "failed", f"the kernel could not be run: {exc}"
        finally:
            kill_process_group(kernel.pid)
            await self._reaped()
            kernel.close_files()
        finished = time.monotonic()
        phases = {}
        if cells_done is not None:
            phases = {
                "kernel_ready": ready - started,
                "cells": cells_done - ready,
                "shutdown": finished - cells_done,
            }
        cells = tuple(
            dataclasses.replace(
                _cell_run(
                    index, cell, self.replies.get(position + 1), (position + 1) in self.timed_out
                ),
                truncated=(position + 1) in client.truncated_cells,
            )
            for position, (index, cell) in enumerate(self.code_cells)
        )
        executed = copy.deepcopy(self.student_nb)
        for position, (index, _) in enumerate(self.code_cells):
            executed.cells[index].outputs = run_nb.cells[position + 1].get("outputs", [])
        return Execution(
            status,
            reason,
            cells,
            self.journal_path,
            self.secret,
            finished - started,
            executed,
            phases,
            self.workdir,
        )

    async def _reaped(self) -> None:
        """Wait until the kernel's waiter is gone: it exits only once its namespace's
        init is dead, and the init's death takes every process of the submission with it,
        so a finished submission has no process left."""
        if self.process is None:
            return
        try:
            await asyncio.to_thread(self.process.wait, REAP_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a waiter that will not die is killed again
            kill_process_group(getattr(self.process, "pid", None))
        if self.namespace is not None:
            await asyncio.to_thread(empty_namespace, self.namespace, REAP_TIMEOUT_S)

    async def _execute_all(self, client: NotebookClient) -> tuple[str, str | None]:
        # A send to a kernel whose sockets the student's code broke would block the whole
        # event loop (and with it the batch): give every send a deadline instead.
        for channel in (
            client.kc.shell_channel,
            client.kc.control_channel,
            client.kc.stdin_channel,
        ):
            if channel.socket is not None:
                channel.socket.setsockopt(zmq.SNDTIMEO, int(RESPONSE_TIMEOUT_S * 1000))
        self.current_cell_timeout = STARTUP_TIMEOUT_S
        await client.async_execute_cell(client.nb.cells[0], 0, store_history=False)
        status, reason = "completed", None
        last = len(client.nb.cells) - 1
        for position in range(1, last):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                status = "timeout"
                break
            self.current_cell_timeout = min(self.limits.cell_timeout_s, remaining)
            cell_started = time.monotonic()
            await client.async_execute_cell(client.nb.cells[position], position)
            reply = self.replies.get(position, {})
            if reply.get("ename") == TIMEOUT_ENAME:
                self.timed_out.add(position)
                if not await self._responsive(client):
                    raise KernelUnresponsive(
                        f"the kernel stopped answering after cell "
                        f"{self.code_cells[position - 1][0] + 1} was interrupted"
                    )
                if time.monotonic() - cell_started < self.limits.cell_timeout_s - 0.5:
                    status = "timeout"  # cut by the notebook's limit, not the cell's
                    break
        if status == "timeout":
            reason = (
                f"the notebook ran past its limit of {self.limits.notebook_timeout_s:g} s;"
                " facts gathered so far were kept"
            )
        self.current_cell_timeout = FINISH_TIMEOUT_S
        await client.async_execute_cell(client.nb.cells[last], last, store_history=False)
        return status, reason

    async def _responsive(self, client: NotebookClient) -> bool:
        """After an interrupt, a sane kernel answers a kernel_info request at once; one
        that does not (student code broke its sockets, or ignores interrupts) is hung."""
        try:
            await client.kc.kernel_info(reply=True, timeout=RESPONSE_TIMEOUT_S)
            return True
        except (TimeoutError, RuntimeError, OSError, zmq.ZMQError):
            return False

    def _ran_out_of_memory(self) -> bool:
        log = self.workdir / "kernel.log"
        if not self.limits.sandbox.memory_bytes or not log.is_file():
            return False
        with log.open("rb") as stream:
            stream.seek(max(0, log.stat().st_size - 8192))
            tail = stream.read()
        return any(
            s in tail
            for s in (b"bad_alloc", b"MemoryError", b"Cannot allocate memory", b"out of memory")
        )

    def _death_reason(self) -> str:
        where = ""
        executed = [p for p in self.replies if 0 < p <= len(self.code_cells)]
        position = (max(executed) + 1) if executed else 1
        if position <= len(self.code_cells):
            where = f" while running cell {self.code_cells[position - 1][0] + 1}"
        code = None
        if self.process is not None:
            try:
                code = self.process.wait(timeout=5)
            except Exception:
                code = self.process.poll()
        how = ""
        if self._ran_out_of_memory():
            limit = self.limits.sandbox.memory_bytes / 1024**3
            how = f"; it ran out of its memory limit of {limit:g} GiB"
        elif code is not None and code < 0:
            how = f" (killed by {signal.Signals(-code).name})"
        elif code is not None:
            how = f" (exit code {code})"
        return f"the kernel died{where}{how}"


def execute_notebook(
    nb: nbformat.NotebookNode, workdir: Path, limits: Limits, source: KernelSource | None = None
) -> Execution:
    """Run ``nb`` in a fresh kernel whose working folder is ``workdir/box/cwd``."""
    return asyncio.run(execute_notebook_async(nb, workdir, limits, source))


async def execute_notebook_async(
    nb: nbformat.NotebookNode,
    workdir: Path,
    limits: Limits,
    source: KernelSource | None = None,
) -> Execution:
    return await _Run(nb, workdir, limits, source or PlainSource()).run()


def copy_into(source: Path, cwd: Path) -> None:
    """Give the kernel its own copy of the notebook (never the submissions folder)."""
    cwd.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, cwd / source.name)


@dataclass(frozen=True)
class Executed:
    """What running one submission left once its work folder is gone: how the run went,
    the student's cells with their outputs, and the facts read from the probe's journal."""

    status: str  # "completed" | "timeout" | "dead" | "failed"
    reason: str | None
    cells: tuple[CellRun, ...]
    seconds: float
    executed: nbformat.NotebookNode | None
    facts: Facts
    phases: dict[str, float] = dataclasses.field(default_factory=dict)  # seconds per phase


def _file_name_in_box(name: str) -> str:
    """The submission's file name as the kernel sees it: never a path, never empty."""
    base = Path(name.replace("\0", "_")).name
    return base if base not in ("", ".", "..") else "submission.ipynb"


async def execute_submission_async(
    name: str, content: bytes, nb: nbformat.NotebookNode, limits: Limits, source: KernelSource
) -> Executed:
    """Run one submission in a work folder this function makes and removes: the kernel's
    working folder holds the notebook's bytes as ``name``; the journal is read (and
    checked against the run's secret) before the folder goes."""
    workdir = Path(tempfile.mkdtemp(prefix="sub-", dir=scratch_root()))
    ran_in = None  # a kernel started ahead runs in a folder of its own
    try:
        cwd = workdir / "box" / "cwd"
        cwd.mkdir(parents=True)
        (cwd / _file_name_in_box(name)).write_bytes(content)
        execution = await execute_notebook_async(nb, workdir, limits, source)
        ran_in = execution.workdir
        facts_started = time.monotonic()
        facts = read_journal(execution.journal_path, execution.secret)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if ran_in is not None:
            shutil.rmtree(ran_in, ignore_errors=True)
    return Executed(
        execution.status,
        execution.reason,
        execution.cells,
        execution.seconds,
        execution.executed,
        facts,
        {**execution.phases, "facts": time.monotonic() - facts_started},
    )
