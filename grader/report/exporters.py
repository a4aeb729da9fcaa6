"""Exporters: each turns a batch's results document (the content of results.json) into
one output format.  A new format is one subclass and its ``name``; ``EXPORTERS`` finds
it by that name (the shape of papermill's engine registry)."""

from __future__ import annotations

import csv
import io
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from grader.assignment import Assignment
from grader.names import folder_name
from grader.report.html import render_class_report
from grader.result import write_json_atomic, write_text_atomic

# Canvas's bulk download names files "<name>_<user id>_<attachment id>_<original name>",
# with "late_" after the name for late submissions.
CANVAS_DEFAULT_PATTERN = r"^(?P<name>[^_]+)_(?:late_)?(?P<id>\d+)_"


@dataclass(frozen=True)
class ExportOptions:
    lang: str = "ko"
    canvas_id_pattern: str = CANVAS_DEFAULT_PATTERN
    # Canvas's gradebook header "Assignment Name (assignment id)"; None: the assignment
    # file's [canvas], else its title (which makes Canvas create a new column)
    canvas_column: str | None = None


def _adjustment_parts(submission: dict) -> tuple:
    """(automatic score, override's total change, late deduction, lines) of an entry."""
    adjustments = submission.get("adjustments") or {}
    automatic = submission.get("automatic_score", submission["score"])
    late = (adjustments.get("late") or {}).get("deduction") or 0.0
    before_late = adjustments.get("score_before_late", submission["score"] + late)
    return automatic, round(before_late - automatic, 6), late, adjustments.get("lines", [])


class Exporter(ABC):
    """One output format."""

    name: ClassVar[str]

    @abstractmethod
    def export(
        self, document: dict, out: Path, assignment: Assignment, options: ExportOptions
    ) -> list[Path]:
        """Write this format's files under ``out`` from ``document`` (the content of
        results.json, which must not be changed) and return the paths written.  Files are
        written atomically, so a reader never sees half of one."""


EXPORTERS: dict[str, type[Exporter]] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    EXPORTERS[cls.name] = cls
    return cls


def export_all(
    formats: list[str], document: dict, out: Path, assignment: Assignment, options: ExportOptions
) -> list[Path]:
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown:
        raise KeyError(f"unknown format(s) {unknown}; known: {sorted(EXPORTERS)}")
    written = []
    for name in formats:
        written += EXPORTERS[name]().export(document, out, assignment, options)
    return written


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


@register
class HtmlExporter(Exporter):
    """OUT/index.html: the class at a glance (student pages are written per submission)."""

    name = "html"

    def export(self, document, out, assignment, options):
        from grader.semester.similarity import load_report

        path = out / "index.html"
        page = render_class_report(document, assignment, options.lang, load_report(out))
        write_text_atomic(path, page)
        return [path]


@register
class CsvExporter(Exporter):
    """OUT/grades.csv: one row per submission; UTF-8 with a BOM so spreadsheet programs
    read Hangul correctly."""

    name = "csv"

    def export(self, document, out, assignment, options):
        checks = list(assignment.check_points)
        header = [
            "submission",
            "status",
            "score",
            "max_score",
            *assignment.beta_names,
            *checks,
            "messages",
            "automatic_score",
            "override",
            "late_penalty",
            "adjustments",
        ]
        rows = [header]
        for s in document["submissions"]:
            points = {c["name"]: c["points"] for c in s["checks"]}
            beta = s["beta"] or [""] * len(assignment.beta_names)
            automatic, override, late, lines = _adjustment_parts(s)
            rows.append(
                [
                    s["submission"],
                    s["status"],
                    s["score"],
                    s["max_score"],
                    *beta,
                    *[points.get(name, "") for name in checks],
                    " | ".join(s["messages"]),
                    automatic,
                    override,
                    -late,
                    " | ".join(lines),
                ]
            )
        path = out / "grades.csv"
        write_text_atomic(path, "\ufeff" + _csv_text(rows))
        return [path]


def gradescope_result(submission: dict, assignment: Assignment | None = None) -> dict:
    """One submission in Gradescope's autograder results format."""
    tests = [
        {
            "name": c["name"],
            "score": c["points"],
            "max_score": c["max_points"],
            "status": "passed" if c["passed"] else "failed",
            "output": c["message"],
            "visibility": "visible",
        }
        for c in submission["checks"]
    ]
    automatic, _, _, lines = _adjustment_parts(submission)
    if lines and assignment is not None:  # the automatic score stays visible
        lang = submission.get("lang", "ko")
        lines = [
            assignment.message("adjust.automatic_score", lang, score=f"{automatic:g}"),
            *lines,
            assignment.message("adjust.final_score", lang, score=f"{submission['score']:g}"),
        ]
    return {
        "score": submission["score"],
        "execution_time": submission.get("seconds", 0.0),
        "output": "\n".join(
            [f"{submission['submission']}: {submission['status']}", *submission["messages"], *lines]
        ),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


@register
class GradescopeExporter(Exporter):
    """OUT/gradescope/<submission>.json: what Gradescope reads from
    /autograder/results/results.json, one file per submission."""

    name = "gradescope"

    def export(self, document, out, assignment, options):
        written = []
        for submission in document["submissions"]:
            folder = submission.get("folder") or folder_name(submission["submission"])
            stem = folder[: -len(".ipynb")] if folder.endswith(".ipynb") else folder
            path = out / "gradescope" / f"{stem}.json"
            write_json_atomic(path, gradescope_result(submission, assignment))
            written.append(path)
        return written


CANVAS_COLUMN = re.compile(r"^.+ \((\d+)\)$")


def canvas_column(assignment: Assignment, options: ExportOptions) -> str:
    """The gradebook header: the option, else the assignment file's, else the title."""
    return (
        options.canvas_column
        or assignment.canvas_column
        or assignment.title.get("en", assignment.name)
    )


def canvas_column_has_id(column: str) -> bool:
    return CANVAS_COLUMN.match(column) is not None


def canvas_identity(file_name: str, pattern: str) -> tuple[str, str]:
    """(student name, Canvas user id) from a submission's file name; ("", "") when the
    pattern does not match."""
    match = re.search(pattern, file_name)
    if match is None:
        return "", ""
    found = match.groupdict()
    return found.get("name") or "", found.get("id") or ""


@register
class CanvasExporter(Exporter):
    """OUT/canvas.csv: a gradebook import for Canvas (Student, ID, SIS User ID,
    SIS Login ID, Section, then the assignment's column).  Canvas updates an existing
    column only when the header is "Assignment Name (assignment id)"; any other header
    makes it create a new assignment."""

    name = "canvas"

    def export(self, document, out, assignment, options):
        column = canvas_column(assignment, options)
        rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]]
        unmatched = []
        for s in document["submissions"]:
            name, user_id = canvas_identity(s["submission"], options.canvas_id_pattern)
            if not user_id:
                unmatched.append(s["submission"])
                continue
            rows.append([name, user_id, "", "", "", s["score"]])
        path = out / "canvas.csv"
        write_text_atomic(path, _csv_text(rows))
        written = [path]
        if unmatched:
            note = out / "canvas_unmatched.json"
            write_json_atomic(
                note, {"pattern": options.canvas_id_pattern, "submissions": unmatched}
            )
            written.append(note)
        return written


def load_document(out: Path) -> dict:
    return json.loads((out / "results.json").read_text("utf-8"))
