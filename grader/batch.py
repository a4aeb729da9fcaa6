"""Grade a folder of submissions, several at a time, writing each result as it finishes.

Layout of the output folder:
  OUT/results.json                       every submission (rewritten after each one)
  OUT/submissions/<file name>/result.json
  OUT/submissions/<file name>/facts.json  the validated facts (for re-judging, fixtures)
  OUT/submissions/<file name>/report.html
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.api import grade_notebook_async
from grader.assignment import Assignment
from grader.result import Result, results_document, write_json_atomic
from grader.run.executor import Limits

SUBMISSION_SUFFIXES = (".ipynb",)


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = os.cpu_count() or 1
    limits: Limits = Limits()
    lang: str = "ko"
    reports: bool = True


def find_submissions(folder: Path) -> list[Path]:
    """The notebook files directly in ``folder`` (hidden files and checkpoints skipped)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SUBMISSION_SUFFIXES and not p.name.startswith(".")
    )


def submission_dir(out: Path, submission: str) -> Path:
    return out / "submissions" / submission


def internal_error_result(
    path: Path, assignment: Assignment, lang: str, error: BaseException
) -> Result:
    """A grader bug on one submission becomes that submission's status, not a crash."""
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return Result(
        submission=path.name,
        status="error",
        score=0.0,
        max_score=assignment.max_score,
        beta=None,
        checks=(),
        messages=(
            assignment.message("status.error", lang, reason=f"internal grader error: {last}"),
        ),
        assignment=assignment.name,
        assignment_digest=assignment.digest,
        extras={"internal_error": True},
    )


class _Collector:
    """Keeps results.json current: after every submission it is rewritten atomically."""

    def __init__(self, out: Path, assignment: Assignment):
        self.out = out
        self.assignment = assignment
        self.results: dict[str, dict] = {}

    def add(self, result: Result) -> None:
        self.results[result.submission] = result.to_json()
        write_json_atomic(
            submission_dir(self.out, result.submission) / "result.json",
            self.results[result.submission],
        )
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
    on_done: Callable[[Result, int, int], None],
) -> list[Result]:
    collector = _Collector(out, assignment)
    collector.flush()
    semaphore = asyncio.Semaphore(max(1, options.jobs))
    finished: list[Result] = []

    async def one(path: Path) -> None:
        async with semaphore:
            try:
                result = await grade_notebook_async(
                    path,
                    assignment,
                    options.limits,
                    options.lang,
                    facts_dir=submission_dir(out, path.name),
                )
            except Exception as error:  # noqa: BLE001 - one bad submission never stops a batch
                result = internal_error_result(path, assignment, options.lang, error)
            if options.reports:
                from grader.report import write_student_report

                try:
                    write_student_report(result, assignment, out, options.lang)
                except Exception as error:  # noqa: BLE001
                    print(f"warning: no report for {path.name}: {error}", file=sys.stderr)
            collector.add(result)
            finished.append(result)
            on_done(result, len(finished), len(paths))

    await asyncio.gather(*(one(p) for p in paths))
    return finished


def grade_folder(
    folder: Path,
    out: Path,
    assignment: Assignment,
    options: BatchOptions,
    on_done: Callable[[Result, int, int], None] = lambda r, i, n: None,
) -> list[Result]:
    """Grade every notebook in ``folder``; results land in ``out`` as they finish."""
    paths = find_submissions(folder)
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_grade_all(paths, out, assignment, options, on_done))


def load_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text("utf-8"))
