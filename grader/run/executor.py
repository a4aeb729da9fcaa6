"""Execute one notebook with nbclient in a fresh kernel, in a scratch folder, with the
probe injected before the first cell and after the last."""

from __future__ import annotations

import asyncio
import copy
import re
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.probe import PROBE_PATH
from grader.run.kernel import OwnInterpreterKernelManager, kernel_environment, kill_process_group

FINISH_TIMEOUT_S = 30
STARTUP_TIMEOUT_S = 60
TIMEOUT_ENAME = "CellTimeoutError"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0


@dataclass(frozen=True)
class CellRun:
    """One code cell of the student's notebook and how its execution went."""

    index: int  # position in the student's notebook (all cells, 0-based)
    status: str  # "ok" | "error" | "timeout" | "not-run"
    source_head: str
    ename: str | None = None
    evalue: str | None = None
    error_line: str | None = None  # the student's line that raised, when known


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


def _probe_install_source(journal_path: Path, secret: str) -> str:
    return "\n".join(
        [
            "import importlib.util as _grader_util, sys as _grader_sys",
            "_grader_spec = _grader_util.spec_from_file_location(",
            f"    '_grader_probe', {str(PROBE_PATH)!r})",
            "_grader_probe = _grader_util.module_from_spec(_grader_spec)",
            "_grader_spec.loader.exec_module(_grader_probe)",
            "_grader_sys.modules['_grader_probe'] = _grader_probe",
            f"_grader_probe.install({str(journal_path)!r}, {secret!r})",
            "del _grader_util, _grader_sys, _grader_spec, _grader_probe",
        ]
    )


FINISH_SOURCE = "__import__('sys').modules['_grader_probe'].finish()"


def _error_line(traceback: list[str]) -> str | None:
    """The last line of the student's own code in a traceback (IPython marks it '---->')."""
    marked = None
    for frame in traceback:
        for line in _ANSI.sub("", frame).splitlines():
            if line.lstrip().startswith("---->") or line.lstrip().startswith("->"):
                marked = line.strip().lstrip("->").strip()
        if "Cell In[" not in _ANSI.sub("", frame) and marked is not None:
            break
    return marked[:300] if marked else None


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


class _Run:
    """The state of one notebook's execution."""

    def __init__(self, nb: nbformat.NotebookNode, workdir: Path, limits: Limits):
        self.limits = limits
        self.secret = secrets.token_hex(16)
        self.journal_path = workdir / "facts.jsonl"
        self.cwd = workdir / "cwd"
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

    def _timeout_for(self, cell) -> int:
        return max(1, int(self.current_cell_timeout or 1))

    def _on_cell_executed(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply.get("content", {}) if execute_reply else {}

    async def run(self) -> Execution:
        started = time.monotonic()
        self.deadline = started + self.limits.notebook_timeout_s
        run_nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(self.student_nb.metadata))
        run_nb.cells = [
            nbformat.v4.new_code_cell(_probe_install_source(self.journal_path, self.secret))
        ]
        run_nb.cells += [nbformat.v4.new_code_cell(c.source) for _, c in self.code_cells]
        run_nb.cells.append(nbformat.v4.new_code_cell(FINISH_SOURCE))
        client = NotebookClient(
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
        )
        status, reason, pid = "completed", None, None
        kernel_log = (self.journal_path.parent / "kernel.log").open("ab")
        try:
            async with client.async_setup_kernel(
                cwd=str(self.cwd), env=kernel_environment(), stdout=kernel_log, stderr=kernel_log
            ):
                self.process = getattr(getattr(client.km, "provisioner", None), "process", None)
                pid = getattr(self.process, "pid", None)
                status, reason = await self._execute_all(client)
        except DeadKernelError:
            status, reason = "dead", self._death_reason()
        except CellTimeoutError as exc:
            status, reason = "timeout", f"the kernel stopped answering: {exc}"
        except (RuntimeError, TimeoutError, OSError) as exc:
            if status == "completed":
                status, reason = "failed", f"the kernel could not be run: {exc}"
        finally:
            kill_process_group(pid)
            kernel_log.close()
        cells = tuple(
            _cell_run(index, cell, self.replies.get(position + 1), (position + 1) in self.timed_out)
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
            time.monotonic() - started,
            executed,
        )

    async def _execute_all(self, client: NotebookClient) -> tuple[str, str | None]:
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
        if code is not None and code < 0:
            how = f" (killed by {signal.Signals(-code).name})"
        elif code is not None:
            how = f" (exit code {code})"
        return f"the kernel died{where}{how}"


def execute_notebook(nb: nbformat.NotebookNode, workdir: Path, limits: Limits) -> Execution:
    """Run ``nb`` in a fresh kernel whose working folder is ``workdir/cwd``."""
    return asyncio.run(execute_notebook_async(nb, workdir, limits))


async def execute_notebook_async(
    nb: nbformat.NotebookNode, workdir: Path, limits: Limits
) -> Execution:
    return await _Run(nb, workdir, limits).run()


def copy_into(source: Path, cwd: Path) -> None:
    """Give the kernel its own copy of the notebook (never the submissions folder)."""
    cwd.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, cwd / source.name)
