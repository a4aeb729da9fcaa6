"""Grade a folder of submissions, several at a time, writing each result as it finishes.

Layout of the output folder:
  OUT/results.json                        every submission (rewritten after each one)
  OUT/index.html, OUT/grades.csv, ...     the exporters' files, written at the end
  OUT/submissions/<file name>/result.json
  OUT/submissions/<file name>/facts.json  the validated facts (re-judging, fixtures)
  OUT/submissions/<file name>/executed.ipynb
  OUT/submissions/<file name>/report.html

Grading the same folder again reuses every result whose notebook, assignment, grader
version and language are unchanged (``force`` grades all again).

Each submission is one call, ``grade_submission`` (bytes in, an Outcome out); the batch
runs them here (``jobs`` at once, kernels from one source) or on a Dask cluster
(``BatchOptions.dask``, see ``grader.distributed``), and one collector writes what comes
back into OUT/ either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.assignment import Assignment
from grader.integrity import seal, verified_bytes
from grader.names import display_name, folder_name
from grader.notebook import read_submission, unreadable_key
from grader.result import Result, results_document, write_json_atomic
from grader.run.executor import Limits, expect_submissions
from grader.run.pool import KernelSource, kernel_source, start_or_plain
from grader.submission import (
    Outcome,
    SubmissionOptions,
    grade_submission_async,
    refused_outcome,
    with_hidden_folders,
    write_outcome,
)

SUBMISSION_SUFFIXES = (".ipynb",)
FLUSH_INTERVAL_S = 1.0  # results.json is rewritten at most this often while grading ...
FLUSH_SHARE = 20  # ... and at most 1/20 of the time goes to rewriting it


class DaskUnavailable(RuntimeError):
    """The Dask cluster cannot be reached or has no worker; ``str(exc)`` says why."""


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = os.cpu_count() or 1  # at once here; per worker with ``dask``
    limits: Limits = Limits()
    lang: str = "ko"
    force: bool = False
    pool: bool = True  # fork kernels from a warm parent (plain kernels otherwise)
    dask: str | None = None  # a scheduler's address (tcp://host:8786), or local:N

    def submission_options(self, *hidden: Path) -> SubmissionOptions:
        """What each submission is graded with; ``hidden``: folders no kernel may see."""
        return with_hidden_folders(SubmissionOptions(self.limits, self.lang), *hidden)


@dataclass(frozen=True)
class Done:
    """One finished submission, as the progress display sees it."""

    submission: str
    status: str
    score: float
    max_score: float
    reused: bool


def find_submissions(folder: Path) -> list[Path]:
    """The notebook files directly in ``folder`` (hidden files skipped).  A symbolic link
    with a notebook's name is listed too, to be refused with a reason, not skipped."""
    return sorted(
        p
        for p in folder.iterdir()
        if (p.is_symlink() or p.is_file())
        and p.suffix.lower() in SUBMISSION_SUFFIXES
        and not p.name.startswith(".")
    )


def submission_dir(out: Path, submission: str) -> Path:
    """The folder of one submission's files (a safe name for any file name)."""
    return out / "submissions" / folder_name(submission)


def reusable_result(path: Path, out: Path, assignment: Assignment, lang: str) -> Result | None:
    """The previous result of this very file, if nothing that decides it has changed."""
    previous_path = submission_dir(out, display_name(path.name)) / "result.json"
    content = verified_bytes(previous_path)  # a result edited on disk is graded again
    if content is None:
        return None
    try:
        previous = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    try:
        digest = hashlib.sha256(read_submission(path)).hexdigest()
        refused = None
    except OSError as error:  # refused again for the same reason: nothing changed
        digest, refused = "", unreadable_key(error)
    unchanged = (
        previous.get("sha256") == digest
        and previous.get("extras", {}).get("refused") == refused
        and previous.get("assignment_digest") == assignment.digest
        and previous.get("grader_version") == __version__
        and previous.get("lang") == lang
        and not previous.get("extras", {}).get("internal_error")
    )
    if not unchanged:
        return None
    try:
        return Result.from_json(previous)
    except (KeyError, TypeError, ValueError):
        return None


class Collector:
    """Takes each finished submission, from wherever it ran: writes its files into
    OUT/submissions/<folder>/, its sealed result.json, and results.json again
    (atomically), then tells the progress display."""

    def __init__(
        self,
        out: Path,
        assignment: Assignment,
        total: int,
        on_done: Callable[[Done, int, int], None] = lambda d, i, n: None,
    ):
        self.out = out
        self.assignment = assignment
        self.total = total
        self.on_done = on_done
        self.results: dict[str, Result] = {}
        self._lock = threading.RLock()  # graded() runs on writer threads
        self._flushed_at = 0.0
        self._flush_seconds = 0.0

    def reused(self, result: Result) -> None:
        self._add(result, reused=True)

    def graded(self, outcome: Outcome) -> None:
        result = outcome.result
        folder = submission_dir(self.out, result.submission)
        write_outcome(folder, outcome)
        own = folder / "result.json"
        write_json_atomic(own, result.to_json())
        seal(own)
        self._add(result, reused=False)

    def _add(self, result: Result, reused: bool) -> None:
        with self._lock:
            self.results[result.submission] = result
            self.flush(final=len(self.results) >= self.total)
            done = Done(result.submission, result.status, result.score, result.max_score, reused)
            self.on_done(done, len(self.results), self.total)

    def document(self) -> dict:
        """The content of results.json."""
        return results_document(self.assignment.name, [r.to_json() for r in self.results.values()])

    def flush(self, final: bool = True) -> None:
        """Rewrite results.json (atomically).  Unless ``final``, only when the last
        rewrite is long enough ago: a class of thousands makes a file of megabytes,
        and rewriting it after every submission would cost more than grading (the
        submission's own result.json is written at once either way)."""
        with self._lock:
            now = time.monotonic()
            wait = max(FLUSH_INTERVAL_S, FLUSH_SHARE * self._flush_seconds)
            if not final and now - self._flushed_at < wait:
                return
            write_json_atomic(self.out / "results.json", self.document())
            self._flushed_at = time.monotonic()
            self._flush_seconds = self._flushed_at - now


BATCH_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _BatchLoop(asyncio.SelectorEventLoop):
    """nbclient installs a SIGINT and SIGTERM handler for each notebook it runs (cleaning
    up that notebook's kernel only, the last one started) and removes it when the notebook
    is done, leaving Python's default behind: in a batch the signals belong to the batch."""

    batch_owns_signals = False

    def add_signal_handler(self, sig, callback, *args):
        if self.batch_owns_signals and sig in BATCH_SIGNALS:
            return
        super().add_signal_handler(sig, callback, *args)

    def remove_signal_handler(self, sig):
        if self.batch_owns_signals and sig in BATCH_SIGNALS:
            return False
        return super().remove_signal_handler(sig)


class _Interrupt:
    """Ctrl-C (SIGINT, or SIGTERM from a job scheduler) during a batch: no submission
    starts, every running one is cancelled, which kills its kernel (the executor's
    cleanup waits until the kernel's namespace is empty), and the batch ends with the
    results finished so far.  asyncio's own handling would cancel only the outer task, and
    nbclient turns a cancelled cell into a "dead kernel" that the batch would record."""

    def __init__(self):
        self.requested = False
        self.batch_task: asyncio.Task | None = None

    @contextmanager
    def installed(self):
        loop = asyncio.get_running_loop()
        self.batch_task = asyncio.current_task()
        try:
            for code in BATCH_SIGNALS:
                loop.add_signal_handler(code, self._stop)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            yield
            return
        loop.batch_owns_signals = True
        try:
            yield
        finally:
            loop.batch_owns_signals = False
            for code in BATCH_SIGNALS:
                loop.remove_signal_handler(code)

    def _stop(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.requested:
            self.requested = True
            print("grader: interrupted; stopping the running kernels", file=sys.stderr)
            # nbclient's helper tasks of a cancelled cell may fail after their kernel is
            # gone; the batch is ending, their errors are not the grader's to report
            loop.set_exception_handler(lambda loop, context: None)
        for task in asyncio.all_tasks(loop):
            if task is not self.batch_task:
                task.cancel()


async def _grade_here(
    paths: list[Path],
    assignment: Assignment,
    options: SubmissionOptions,
    jobs: int,
    source: KernelSource,
    collector: Collector,
) -> None:
    semaphore = asyncio.Semaphore(max(1, jobs))
    # the pool starts the first kernels now, and none for a submission that will not come
    expect_submissions(source, len(paths), options.limits)

    interrupt = _Interrupt()

    async def one(path: Path) -> None:
        async with semaphore:
            if interrupt.requested:
                return
            try:
                content = read_submission(path)
            except OSError as error:
                outcome = refused_outcome(path.name, error, assignment, options)
            else:
                outcome = await grade_submission_async(
                    path.name, content, assignment, options, source
                )
            if interrupt.requested:  # cut short by Ctrl-C: not a result
                return
        # outside the job's slot, on a thread: the files (each fsynced) are written while
        # the next submission already runs, and the loop keeps serving the other kernels
        await asyncio.to_thread(collector.graded, outcome)

    with interrupt.installed():
        outcomes = await asyncio.gather(*(one(p) for p in paths), return_exceptions=True)
    if interrupt.requested:
        raise KeyboardInterrupt  # every finished result is already in OUT/
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome  # the grader's own failure (say, OUT not writable): exit code 2


def grade_folder(
    folder: Path,
    out: Path,
    assignment: Assignment,
    options: BatchOptions,
    on_done: Callable[[Done, int, int], None] = lambda d, i, n: None,
    source: KernelSource | None = None,
) -> dict:
    """Grade every notebook in ``folder``; results land in ``out`` as they finish.
    Returns the results document (the content of results.json).  ``source``: kernels
    from there (the caller closes it), else from the source ``options`` ask for."""
    paths = find_submissions(folder)
    out.mkdir(parents=True, exist_ok=True)
    collector = Collector(out, assignment, len(paths), on_done)
    collector.flush()
    to_grade = []
    for path in paths:
        previous = None if options.force else reusable_result(path, out, assignment, options.lang)
        if previous is None:
            to_grade.append(path)
        else:
            collector.reused(previous)
    submission_options = options.submission_options(folder, out)
    try:
        _grade(to_grade, assignment, options, submission_options, collector, source)
    finally:  # an interrupted batch leaves results.json with everything finished
        collector.flush()
    return collector.document()


def _grade(
    to_grade: list[Path],
    assignment: Assignment,
    options: BatchOptions,
    submission_options: SubmissionOptions,
    collector: Collector,
    given: KernelSource | None = None,
) -> None:
    if options.dask and to_grade:
        from grader.distributed import grade_on_dask

        grade_on_dask(
            options.dask,
            options.pool,
            options.jobs,
            to_grade,
            assignment,
            submission_options,
            collector,
        )
    elif to_grade:
        with _started_source(options.pool, options.jobs, given) as source:
            with asyncio.Runner(loop_factory=_BatchLoop) as runner:
                runner.run(
                    _grade_here(
                        to_grade, assignment, submission_options, options.jobs, source, collector
                    )
                )


@contextmanager
def _started_source(pooled: bool, jobs: int, given: KernelSource | None = None):
    """``given`` (its owner closes it), or the warm pool when asked for and it starts
    (keeping as many kernels started ahead as there are jobs); plain kernels otherwise.
    The pool pays for itself from the first submission: its parent imports TensorFlow
    and ipykernel in one go, as a plain kernel would, and forks in milliseconds."""
    source = start_or_plain(given or kernel_source(pooled, ready_kernels=max(1, jobs)))
    try:
        yield source
    finally:
        if source is not given:
            source.close()
