"""One submission's result, and its JSON form: the output contract of results.json."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from grader import __version__
from grader.judge.base import CheckResult
from grader.names import clean_text, folder_name


class Status(StrEnum):
    """A submission's status; its value is what results.json says."""

    GRADED = "graded"
    INVALID = "invalid"
    TIMEOUT = "timeout"
    ERROR = "error"


STATUSES = tuple(s.value for s in Status)


@dataclass(frozen=True)
class FailedCell:
    cell: int  # 1-based position in the student's notebook
    ename: str
    evalue: str
    line: str | None


@dataclass(frozen=True)
class Result:
    submission: str  # the file name
    status: Status  # a plain string with a status's value is taken too
    score: float
    max_score: float
    beta: tuple[float, ...] | None
    checks: tuple[CheckResult, ...]
    messages: tuple[str, ...]
    sha256: str = ""
    assignment: str = ""
    assignment_digest: str = ""
    model: int | None = None  # the probe's serial of the graded model
    figure: int | None = None  # the probe's serial of the graded figure
    failed_cells: tuple[FailedCell, ...] = ()
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)  # e.g. the loss history, for reports
    lang: str = "ko"
    # Why an instructor must look before the keras, trained and beta points count
    # (tampering evidence, a training the grader cannot replay); empty: no review.
    review: tuple[str, ...] = ()
    caps: tuple[str, ...] = ()  # every limit of the grader or the probe this run hit
    # a multi-question assignment's score per question (QuestionResult.to_json() each)
    questions: tuple[dict, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        # results.json keeps milliseconds: a result read back equals the one written
        object.__setattr__(self, "seconds", round(float(self.seconds), 3))

    def to_json(self) -> dict:
        return {
            "submission": self.submission,
            "status": self.status.value,
            "score": self.score,
            "max_score": self.max_score,
            "folder": folder_name(self.submission),
            "beta": list(self.beta) if self.beta is not None else None,
            "needs_review": bool(self.review),
            "review": list(self.review),
            "caps": list(self.caps),
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "points": c.points,
                    "max_points": c.max_points,
                    "message": c.message,
                    "key": c.key,
                    "diagnosis": c.diagnosis,
                }
                for c in self.checks
            ],
            "messages": list(self.messages),
            "sha256": self.sha256,
            "assignment": self.assignment,
            "assignment_digest": self.assignment_digest,
            "model": self.model,
            "figure": self.figure,
            "failed_cells": [dict(c.__dict__) for c in self.failed_cells],
            "seconds": self.seconds,
            "grader_version": __version__,
            "lang": self.lang,
            "extras": self.extras,
            **({"questions": list(self.questions)} if self.questions else {}),
        }

    @classmethod
    def from_json(cls, entry: dict) -> Result:
        """The Result whose ``to_json`` gave ``entry`` (an entry of results.json or a
        result.json); fields an older grader did not write take their defaults, and what
        the semester's step added (adjustments) is not part of a Result.  Values are
        taken as written, so the Result writes back the very same JSON."""
        beta = entry.get("beta")
        return cls(
            submission=str(entry["submission"]),
            status=Status(entry["status"]),
            score=entry["score"],
            max_score=entry["max_score"],
            beta=tuple(beta) if beta is not None else None,
            checks=tuple(
                CheckResult(
                    name=c["name"],
                    passed=c["passed"],
                    points=c["points"],
                    max_points=c["max_points"],
                    message=c["message"],
                    key=c.get("key", ""),
                    diagnosis=c.get("diagnosis"),
                )
                for c in entry.get("checks", ())
            ),
            messages=tuple(entry.get("messages", ())),
            sha256=entry.get("sha256", ""),
            assignment=entry.get("assignment", ""),
            assignment_digest=entry.get("assignment_digest", ""),
            model=entry.get("model"),
            figure=entry.get("figure"),
            failed_cells=tuple(FailedCell(**c) for c in entry.get("failed_cells", ())),
            seconds=entry.get("seconds", 0.0),
            extras=dict(entry.get("extras") or {}),
            lang=entry.get("lang", "ko"),
            review=tuple(entry.get("review", ())),
            caps=tuple(entry.get("caps", ())),
            questions=tuple(entry.get("questions", ())),
        )


def results_document(assignment: str, results: list[dict]) -> dict:
    return {
        "assignment": assignment,
        "grader_version": __version__,
        "submissions": sorted(results, key=lambda r: r["submission"]),
    }


def write_text_atomic(path: Path, text: str) -> None:
    """Write then rename, so a reader never sees half a file and a crash loses nothing
    that was finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def strict(value):
    """A JSON-ready copy where every number is finite (NaN and ±Infinity become null)
    and every string is writable as UTF-8: what strict parsers (JavaScript's, Go's, LMS
    importers) accept."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return strict(value.item())
    return value


def write_json_atomic(path: Path, document: dict) -> None:
    text = json.dumps(strict(document), ensure_ascii=False, indent=1, allow_nan=False)
    write_text_atomic(path, text + "\n")
