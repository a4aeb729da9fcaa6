"""One submission, one call: its name and bytes in, an ``Outcome`` out.

``grade_submission`` knows no folder: the executor makes and removes its own work folder,
and everything the batch keeps of a submission comes back as data (the ``Result`` and the
text of its files), so the same call runs in this process, in a thread, or on a Dask
worker on another machine.  What to do with an Outcome (write it into OUT/, seal it) is
the caller's business: ``write_outcome``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.api import STATUS_OF_RUN, _run_summary, judge_facts, unscored_result
from grader.assignment import Assignment
from grader.facts import facts_text
from grader.names import display_name
from grader.notebook import (
    InvalidNotebook,
    notebook_from_bytes,
    unreadable_key,
    unreadable_params,
)
from grader.report.html import recorded_png, render_student_report
from grader.result import Result, strict, write_text_atomic
from grader.run.executor import Limits, execute_submission_async
from grader.run.pool import KernelSource, PlainSource
from grader.semester.run_record import (
    RUN_RECORD,
    RunRecord,
    run_record_document,
    seal_run_record,
)

FACTS = "facts.json"
EXECUTED = "executed.ipynb"
REPORT = "report.html"
ARTIFACTS = (FACTS, EXECUTED, RUN_RECORD, REPORT)  # in the order they are written


@dataclass(frozen=True)
class SubmissionOptions:
    limits: Limits = Limits()
    lang: str = "ko"
    report: bool = True  # render the student's page (report.html)


@dataclass(frozen=True)
class Outcome:
    """A graded submission: its Result and the text of the files kept beside it
    (``ARTIFACTS``: facts, executed notebook, run record, report), by file name.
    ``warnings``: what went wrong around the result without changing it (no report)."""

    result: Result
    artifacts: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "result": self.result.to_json(),
            "artifacts": dict(self.artifacts),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, document: dict) -> Outcome:
        artifacts = {k: v for k, v in document.get("artifacts", {}).items() if k in ARTIFACTS}
        return cls(
            Result.from_json(document["result"]),
            artifacts,
            tuple(document.get("warnings", ())),
        )


def _json_text(document: dict) -> str:
    return json.dumps(strict(document), ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def internal_error_result(
    name: str, assignment: Assignment, lang: str, error: BaseException
) -> Result:
    """A grader bug on one submission becomes that submission's status, not a crash."""
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return unscored_result(
        name,
        assignment,
        lang,
        "error",
        f"internal grader error: {last}",
        extras={"internal_error": True},
    )


async def _graded(
    name: str,
    content: bytes,
    assignment: Assignment,
    options: SubmissionOptions,
    source: KernelSource,
) -> tuple[Result, dict[str, str], list]:
    """The Result, the artifacts but the report, and the probe's records (for its figure)."""
    started = time.monotonic()
    lang = options.lang
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        loaded = notebook_from_bytes(content)
    except InvalidNotebook as exc:
        reason = assignment.message(exc.key, lang, **exc.params)
        return unscored_result(name, assignment, lang, "invalid", reason, sha256), {}, []
    for attempt in (1, 2):
        generation = source.generation
        executed = await execute_submission_async(name, content, loaded.nb, options.limits, source)
        # A kernel that died with the pool's parent runs again on a new parent: no
        # student pays for another's attack on the pool.
        lost = executed.status in ("dead", "failed") and source.lost_since(generation)
        if attempt == 2 or not lost:
            break
    run, failed = _run_summary(executed, options.limits)
    judge_started = time.monotonic()
    result = judge_facts(
        display_name(name),
        executed.facts,
        run,
        assignment,
        lang,
        STATUS_OF_RUN[executed.status],
        sha256,
        failed,
        time.monotonic() - started,
    )
    record = RunRecord(
        run,
        result.status.value,
        failed,
        sha256,
        result.seconds,
        executed.facts.rejected_records,
        executed.facts.caps,
        (*executed.phases.items(), ("judge", time.monotonic() - judge_started)),
    )
    artifacts = {FACTS: facts_text(executed.facts)}
    if executed.executed is not None:
        text = nbformat.writes(executed.executed)
        artifacts[EXECUTED] = text if text.endswith("\n") else text + "\n"  # as nbformat.write
    artifacts[RUN_RECORD] = _json_text(run_record_document(record))
    return result, artifacts, list(executed.facts.records)


async def grade_submission_async(
    name: str,
    content: bytes,
    assignment: Assignment,
    options: SubmissionOptions = SubmissionOptions(),
    source: KernelSource | None = None,
) -> Outcome:
    """Grade the notebook ``content`` submitted as the file ``name``.  Never raises for
    a submission: a grader bug on it becomes its status (``error``, internal)."""
    source = source or PlainSource()
    try:
        result, artifacts, records = await _graded(name, content, assignment, options, source)
    except Exception as error:  # noqa: BLE001 - one bad submission never stops a batch
        result, artifacts, records = (
            internal_error_result(name, assignment, options.lang, error),
            {},
            [],
        )
    return _with_report(result, artifacts, records, assignment, options)


def _with_report(result, artifacts, records, assignment, options) -> Outcome:
    warnings = []
    if options.report:
        try:
            page = render_student_report(
                result, assignment, options.lang, recorded_png(records, result.figure)
            )
            artifacts[REPORT] = page
        except Exception as error:  # noqa: BLE001 - a page never costs the result
            warnings.append(f"no report for {result.submission}: {error}")
    return Outcome(result, artifacts, tuple(warnings))


def refused_outcome(
    name: str, error: OSError, assignment: Assignment, options: SubmissionOptions
) -> Outcome:
    """A submitted file that could not be read (a symbolic link, not a regular file,
    unreadable): invalid, with its reason and its page; ``extras.refused`` lets a re-run
    with nothing changed reuse it."""
    key = unreadable_key(error)
    reason = assignment.message(key, options.lang, **unreadable_params(error))
    result = unscored_result(
        name, assignment, options.lang, "invalid", reason, extras={"refused": key}
    )
    return _with_report(result, {}, [], assignment, options)


def grade_submission(
    name: str,
    content: bytes,
    assignment: Assignment,
    options: SubmissionOptions = SubmissionOptions(),
    source: KernelSource | None = None,
) -> Outcome:
    """``grade_submission_async`` for callers without an event loop."""
    return asyncio.run(grade_submission_async(name, content, assignment, options, source))


def write_outcome(folder: Path, outcome: Outcome) -> None:
    """Write the Outcome's files into ``folder`` (each atomically) and seal what rejudge
    reads (run.json, facts.json).  result.json is the collector's."""
    for name in ARTIFACTS:
        if name in outcome.artifacts:
            write_text_atomic(folder / name, outcome.artifacts[name])
    if RUN_RECORD in outcome.artifacts:
        seal_run_record(folder)
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def with_hidden_folders(options: SubmissionOptions, *folders: Path) -> SubmissionOptions:
    """``options`` whose sandbox also hides ``folders`` from every kernel."""
    policy = options.limits.sandbox
    hidden = (*policy.hidden_folders, *(Path(f).resolve() for f in folders))
    limits = dataclasses.replace(
        options.limits,
        sandbox=dataclasses.replace(policy, hidden_folders=tuple(dict.fromkeys(hidden))),
    )
    return dataclasses.replace(options, limits=limits)
