"""The pure entry point: a notebook file in, a Result out.  No folder layout, no database.

from grader.api import grade_notebook
result = grade_notebook("hw.ipynb", assignment="exp_decay")
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from grader.assignment import Assignment, load_assignment
from grader.facts import Facts
from grader.judge import Case, RunSummary, judge, localise, total_score
from grader.names import display_name
from grader.notebook import read_submission, unreadable_key, unreadable_params
from grader.reference import reference_for
from grader.result import FailedCell, Result
from grader.run.executor import (
    Execution,
    Limits,
)
from grader.run.output_cap import MAX_OUTPUT_BYTES_PER_CELL, caps_hit
from grader.run.pool import KernelSource

STATUS_OF_RUN = {"completed": "graded", "timeout": "timeout", "dead": "error", "failed": "error"}


def _as_assignment(assignment: Assignment | str | Path) -> Assignment:
    return assignment if isinstance(assignment, Assignment) else load_assignment(assignment)


def unscored_result(
    path: Path | str,
    assignment: Assignment,
    lang: str,
    status: str,
    reason: str,
    sha256: str = "",
    extras: dict | None = None,
) -> Result:
    """A submission that could not be judged: its status and a one-line reason."""
    key = "status.invalid" if status == "invalid" else "status.error"
    return Result(
        submission=display_name(path.name if isinstance(path, Path) else path),
        status=status,
        score=0.0,
        max_score=assignment.max_score,
        beta=None,
        checks=(),
        messages=(assignment.message(key, lang, reason=reason),),
        sha256=sha256,
        assignment=assignment.name,
        assignment_digest=assignment.digest,
        extras=extras or {},
        lang=lang,
    )


def _cell_list(cells: tuple[int, ...], shown: int = 10) -> str:
    listed = ", ".join(map(str, cells[:shown]))
    return listed if len(cells) <= shown else f"{listed}, … ({len(cells)})"


def judge_facts(
    submission: str,
    facts: Facts,
    run: RunSummary,
    assignment: Assignment,
    lang: str = "ko",
    status: str = "graded",
    sha256: str = "",
    failed_cells: tuple[FailedCell, ...] = (),
    seconds: float = 0.0,
) -> Result:
    """Judge saved or fresh facts: pure, no kernel, milliseconds."""
    if assignment.questions:
        return _judge_questions(
            submission, facts, run, assignment, lang, status, sha256, failed_cells, seconds
        )
    case = Case(facts, run, assignment, reference_for(assignment))
    checks = judge(case, lang)
    messages = []
    if run.truncated_cells:
        messages.append(
            assignment.message(
                "output.truncated",
                lang,
                cells=_cell_list(run.truncated_cells),
                limit=run.cell_output_limit or MAX_OUTPUT_BYTES_PER_CELL,
            )
        )
    if status == "timeout":
        messages.append(
            assignment.message("status.timeout", lang, limit=f"{run.notebook_timeout_s:g}")
        )
    elif status == "error":
        messages.append(assignment.message("status.error", lang, reason=run.reason or "?"))
    choice = case.model
    if choice.model is not None:
        names = ", ".join(choice.final.names) if choice.final and choice.final.names else "-"
        messages.append(
            assignment.message(
                f"choice.model.{choice.reason}", lang, model=choice.model, names=names
            )
        )
    figure = None
    if case.figures:
        from grader.judge.plot import best_curve

        chosen = case.figures[-1]
        if case.beta is not None and case.beta.beta is not None:
            curve_choice, _, matches = best_curve(case)
            if matches:
                chosen = curve_choice
        figure = chosen.figure.figure
        messages.append(
            assignment.message(
                "choice.figure", lang, figure=figure, cell=run.cell_number(chosen.figure.cell)
            )
        )
    beta = case.beta.beta if case.beta is not None else None
    if beta is not None and not all(math.isfinite(b) for b in beta):
        beta = None  # the beta check's message says why
    caps = tuple(
        dict.fromkeys([*run.caps, *facts.caps, *(c for f in facts.figures for c in f.capped)])
    )
    if caps:
        messages.append(assignment.message("caps.hit", lang, caps=", ".join(caps)))
    review = tuple(str(localise(assignment, r, lang)) for r in case.review_reasons)
    if review:
        messages.insert(0, assignment.message("review.flagged", lang, reasons="; ".join(review)))
    extras = {}
    if case.last_fit is not None and case.last_fit.loss_history is not None:
        extras["loss_history"] = [float(v) for v in case.last_fit.loss_history]
    return Result(
        submission=submission,
        status=status,
        score=total_score(case, checks),
        max_score=assignment.max_score,
        beta=beta,
        checks=checks,
        messages=tuple(messages),
        sha256=sha256,
        assignment=assignment.name,
        assignment_digest=assignment.digest,
        model=choice.model,
        figure=figure,
        failed_cells=failed_cells,
        seconds=seconds,
        extras=extras,
        lang=lang,
        review=review,
        caps=caps,
    )


def _judge_questions(
    submission: str,
    facts: Facts,
    run: RunSummary,
    assignment: Assignment,
    lang: str,
    status: str,
    sha256: str,
    failed_cells: tuple[FailedCell, ...],
    seconds: float,
) -> Result:
    """A notebook of several questions: a score per question and their sum."""
    from grader.questions import judge_questions

    checks, questions, review = judge_questions(assignment, facts, run, lang)
    messages = []
    if status == "timeout":
        messages.append(
            assignment.message("status.timeout", lang, limit=f"{run.notebook_timeout_s:g}")
        )
    elif status == "error":
        messages.append(assignment.message("status.error", lang, reason=run.reason or "?"))
    scores = ", ".join(f"{q.title} {q.score:g}/{q.max_score:g}" for q in questions)
    messages.append(assignment.message("question.total", lang, scores=scores))
    caps = tuple(
        dict.fromkeys([*run.caps, *facts.caps, *(c for f in facts.figures for c in f.capped)])
    )
    if caps:
        messages.append(assignment.message("caps.hit", lang, caps=", ".join(caps)))
    if review:
        messages.insert(0, assignment.message("review.flagged", lang, reasons="; ".join(review)))
    return Result(
        submission=submission,
        status=status,
        score=round(float(sum(q.score for q in questions)), 6),
        max_score=assignment.max_score,
        beta=None,
        checks=checks,
        messages=tuple(messages),
        sha256=sha256,
        assignment=assignment.name,
        assignment_digest=assignment.digest,
        failed_cells=failed_cells,
        seconds=seconds,
        lang=lang,
        review=review,
        caps=caps,
        questions=tuple(q.to_json() for q in questions),
    )


def _run_summary(execution: Execution, limits: Limits) -> tuple[RunSummary, tuple]:
    failed = tuple(
        FailedCell(
            c.index + 1,
            c.ename or "?",
            c.evalue
            or (f"timed out after {limits.cell_timeout_s:g} s" if c.status == "timeout" else ""),
            c.error_line,
        )
        for c in execution.cells
        if c.status in ("error", "timeout")
    )
    truncated = tuple(c.index + 1 for c in execution.cells if c.truncated)
    caps = caps_hit(execution.executed)
    summary = RunSummary(
        execution.status,
        execution.reason,
        tuple((f.cell, f.ename, f.evalue) for f in failed),
        limits.notebook_timeout_s,
        tuple(c.index + 1 for c in execution.cells),
        limits.sandbox.memory_bytes,
        limits.sandbox.disk_bytes,
        limits.sandbox.max_processes,
        truncated,
        tuple(caps),
        limits.output.per_cell_bytes,
        cell_timeout_s=limits.cell_timeout_s,
    )
    return summary, failed


async def grade_notebook_async(
    path: Path,
    assignment: Assignment,
    limits: Limits,
    lang: str = "ko",
    facts_dir: Path | None = None,
    source: KernelSource | None = None,
) -> Result:
    """Grade the notebook file at ``path``; with ``facts_dir``, keep its facts, executed
    notebook and run record there (what ``grader rejudge`` needs)."""
    from grader.submission import (
        SubmissionOptions,
        grade_submission_async,
        with_hidden_folders,
        write_outcome,
    )

    path = Path(path)
    try:
        content = read_submission(path)
    except OSError as exc:
        reason = assignment.message(unreadable_key(exc), lang, **unreadable_params(exc))
        return unscored_result(path, assignment, lang, "invalid", reason)
    options = with_hidden_folders(SubmissionOptions(limits, lang, report=False), path.parent)
    outcome = await grade_submission_async(path.name, content, assignment, options, source)
    if facts_dir is not None:
        write_outcome(facts_dir, outcome)
    return outcome.result


def grade_notebook(
    path: str | Path,
    assignment: Assignment | str | Path = "exp_decay",
    *,
    limits: Limits | None = None,
    lang: str = "ko",
    facts_dir: Path | None = None,
    source: KernelSource | None = None,
) -> Result:
    """Execute one notebook in a fresh kernel and judge it."""
    return asyncio.run(
        grade_notebook_async(
            Path(path), _as_assignment(assignment), limits or Limits(), lang, facts_dir, source
        )
    )
