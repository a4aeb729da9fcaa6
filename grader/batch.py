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
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.api import grade_notebook_async, unscored_result
from grader.assignment import Assignment
from grader.integrity import seal, verified_bytes
from grader.names import display_name, folder_name
from grader.report.html import write_student_report
from grader.result import Result, results_document, write_json_atomic
from grader.run.executor import Limits
from grader.run.pool import KernelSource, PlainSource, PoolUnavailable, kernel_source

SUBMISSION_SUFFIXES = (".ipynb",)


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = os.cpu_count() or 1
    limits: Limits = Limits()
    lang: str = "ko"
    force: bool = False
    pool: bool = True  # fork kernels from a warm parent (plain kernels otherwise)


@dataclass(frozen=True)
class Done:
    """One finished submission, as the progress display sees it."""

    submission: str
    status: str
    score: float
    max_score: float
    reused: bool


def find_submissions(folder: Path) -> list[Path]:
    """The notebook files directly in ``folder`` (hidden files skipped)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SUBMISSION_SUFFIXES and not p.name.startswith(".")
    )


def submission_dir(out: Path, submission: str) -> Path:
    """The folder of one submission's files (a safe name for any file name)."""
    return out / "submissions" / folder_name(submission)


def internal_error_result(
    path: Path, assignment: Assignment, lang: str, error: BaseException
) -> Result:
    """A grader bug on one submission becomes that submission's status, not a crash."""
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return unscored_result(
        path,
        assignment,
        lang,
        "error",
        f"internal grader error: {last}",
        extras={"internal_error": True},
    )


def reusable_result(path: Path, out: Path, assignment: Assignment, lang: str) -> dict | None:
    """The previous result of this very file, if nothing that decides it has changed."""
    previous_path = submission_dir(out, display_name(path.name)) / "result.json"
    content = verified_bytes(previous_path)  # a result edited on disk is graded again
    if content is None:
        return None
    try:
        previous = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    unchanged = (
        previous.get("sha256") == hashlib.sha256(path.read_bytes()).hexdigest()
        and previous.get("assignment_digest") == assignment.digest
        and previous.get("grader_version") == __version__
        and previous.get("lang") == lang
        and not previous.get("extras", {}).get("internal_error")
    )
    return previous if unchanged else None


class _Collector:
    """Keeps results.json current: after every submission it is rewritten atomically."""

    def __init__(self, out: Path, assignment: Assignment):
        self.out = out
        self.assignment = assignment
        self.results: dict[str, dict] = {}

    def add(self, document: dict, write_own: bool) -> None:
        self.results[document["submission"]] = document
        if write_own:
            own = submission_dir(self.out, document["submission"]) / "result.json"
            write_json_atomic(own, document)
            seal(own)
        self.flush()

    def flush(self) -> None:
        write_json_atomic(
            self.out / "results.json",
            results_document(self.assignment.name, list(self.results.values())),
        )


async def _grade_all(
    paths: list[Path],
    out: Path,
    assignment: Assignment,
    options: BatchOptions,
    on_done: Callable[[Done, int, int], None],
    source: KernelSource,
) -> dict:
    collector = _Collector(out, assignment)
    collector.flush()
    semaphore = asyncio.Semaphore(max(1, options.jobs))
    finished = 0

    def done(document: dict, reused: bool) -> None:
        nonlocal finished
        finished += 1
        on_done(
            Done(
                document["submission"],
                document["status"],
                document["score"],
                document["max_score"],
                reused,
            ),
            finished,
            len(paths),
        )

    async def one(path: Path) -> None:
        async with semaphore:
            folder = submission_dir(out, display_name(path.name))
            try:
                result = await grade_notebook_async(
                    path, assignment, options.limits, options.lang, folder, source
                )
            except Exception as error:  # noqa: BLE001 - one bad submission never stops a batch
                result = internal_error_result(path, assignment, options.lang, error)
            try:
                write_student_report(
                    result, assignment, folder / "report.html", options.lang, folder / "facts.json"
                )
            except Exception as error:  # noqa: BLE001
                print(f"warning: no report for {result.submission}: {error}", file=sys.stderr)
            collector.add(result.to_json(), write_own=True)
            done(collector.results[result.submission], reused=False)

    to_grade = []
    for path in paths:
        previous = None if options.force else reusable_result(path, out, assignment, options.lang)
        if previous is None:
            to_grade.append(path)
        else:
            collector.add(previous, write_own=False)
            done(previous, reused=True)
    if hasattr(source, "expected"):
        source.expected = len(to_grade)
    await asyncio.gather(*(one(p) for p in to_grade))
    return results_document(assignment.name, list(collector.results.values()))


def grade_folder(
    folder: Path,
    out: Path,
    assignment: Assignment,
    options: BatchOptions,
    on_done: Callable[[Done, int, int], None] = lambda d, i, n: None,
) -> dict:
    """Grade every notebook in ``folder``; results land in ``out`` as they finish.
    Returns the results document (the content of results.json)."""
    paths = find_submissions(folder)
    out.mkdir(parents=True, exist_ok=True)
    with _started_source(options.pool and len(paths) > 1, options.jobs) as source:
        return asyncio.run(_grade_all(paths, out, assignment, options, on_done, source))


@contextmanager
def _started_source(pooled: bool, jobs: int):
    """The warm pool when asked for and it starts (keeping as many kernels started ahead
    as there are jobs); plain kernels otherwise."""
    source = kernel_source(pooled, ready_kernels=max(1, jobs))
    try:
        source.start()
    except PoolUnavailable as error:
        print(f"warning: {error}; using plain kernels", file=sys.stderr)
        source = PlainSource()
    try:
        yield source
    finally:
        source.close()
