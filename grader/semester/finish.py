"""The last step of every grade, rejudge and export: apply the overrides and the late
policy to results.json, rebuild the similarity report, rewrite the student pages whose
adjustments changed.  Files in OUT:

  overrides.toml          the instructor's decisions (read, never written)
  submission_times.json   submission times gathered from the LMS (merged, kept)
  similarity.json/.csv    the pairs that look copied, with their evidence
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import Assignment
from grader.names import display_name
from grader.result import Result, results_document, write_json_atomic
from grader.semester import similarity
from grader.semester.adjust import adjust, automatic
from grader.semester.fingerprint import FINGERPRINT, fingerprint_file
from grader.semester.late import SubmissionTime, canvas_late_mark, read_times_csv
from grader.semester.overrides import OVERRIDES_FILE, OverrideError, load_overrides, validate

TIMES_FILE = "submission_times.json"


@dataclass(frozen=True)
class SemesterOptions:
    overrides: Path | None = None  # default: OUT/overrides.toml
    submitted_at: Path | None = None  # a CSV of submission times to merge in


@dataclass(frozen=True)
class Finished:
    document: dict
    pairs: int
    without_time: list[str]  # a late policy applies but the time is not known
    pages: int  # student pages rewritten


def submission_folder(out: Path, name: str) -> Path:
    from grader.batch import submission_dir  # one place decides the folder's name

    return submission_dir(out, name)


def write_fingerprints(paths: list[Path], out: Path) -> None:
    """Fingerprint each submitted file whose fingerprint is missing or stale."""
    for path in paths:
        target = submission_folder(out, display_name(path.name)) / FINGERPRINT
        if path.is_symlink() or not path.is_file() or not target.parent.is_dir():
            continue
        if target.is_file():
            try:
                stored = json.loads(target.read_text("utf-8")).get("sha256")
            except ValueError:
                stored = None
            if stored == hashlib.sha256(path.read_bytes()).hexdigest():
                continue
        fingerprint = fingerprint_file(path)
        if fingerprint is None:
            target.unlink(missing_ok=True)
            continue
        write_json_atomic(target, fingerprint)


def check_inputs(out: Path, options: SemesterOptions, names: list[str]) -> None:
    """Before any kernel runs: the overrides file and the times CSV can be read, and
    every submission the overrides name is in the folder (checks are known later)."""
    path = options.overrides or out / OVERRIDES_FILE
    missing = sorted(set(load_overrides(path)) - {display_name(n) for n in names})
    if missing:
        raise OverrideError(
            f"{path}: not in the submissions folder: {', '.join(repr(m) for m in missing)}"
        )
    if options.submitted_at is not None:
        read_times_csv(options.submitted_at)


def _submission_times(out: Path, csv_path: Path | None, names: set[str]) -> dict:
    path = out / TIMES_FILE
    stored = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    if csv_path is not None:
        given = read_times_csv(csv_path)
        unknown = sorted(set(given) - names)
        if unknown:
            print(
                f"warning: {csv_path} names {len(unknown)} file(s) not in this batch: "
                f"{', '.join(unknown[:5])}",
                file=sys.stderr,
            )
        stored.update({k: v.to_json() for k, v in given.items() if k in names})
        write_json_atomic(path, stored)
    return {k: SubmissionTime.from_json(v) for k, v in stored.items()}


def _similarity(out: Path, names: list[str]) -> int:
    submissions, missing = [], []
    for name in names:
        folder = submission_folder(out, name)
        fingerprint_path = folder / FINGERPRINT
        if not fingerprint_path.is_file():
            missing.append(name)
            continue
        fingerprint = json.loads(fingerprint_path.read_text("utf-8"))
        starts: tuple[str, ...] = ()
        if (folder / "facts.json").is_file():
            starts = similarity.starts_in_facts(folder / "facts.json")
        submissions.append(similarity.Submission(name, fingerprint, starts))
    pairs, limit = similarity.find_pairs(submissions)
    similarity.write_report(out, pairs, limit, len(submissions), missing)
    return len(pairs)


def finish(
    out: Path,
    document: dict,
    assignment: Assignment,
    options: SemesterOptions = SemesterOptions(),
    previous: dict | None = None,
    rerender_all: bool = False,
) -> Finished:
    """Apply the semester's adjustments to ``document`` (results.json's content), write
    results.json, the similarity report and the student pages that changed.  Raises
    OverrideError or LateError (with a one-line reason) when an input is wrong."""
    entries = {e["submission"]: automatic(e) for e in document["submissions"]}
    overrides_path = options.overrides or out / OVERRIDES_FILE
    overrides = load_overrides(overrides_path)
    validate(overrides, entries, assignment.max_score, overrides_path)
    times = _submission_times(out, options.submitted_at, set(entries))
    adjusted, without_time = [], []
    for name, entry in entries.items():
        time = times.get(name)
        if time is None and canvas_late_mark(name):
            time = SubmissionTime(None, "Canvas")
        if time is None and assignment.late is not None:
            without_time.append(name)
        adjusted.append(adjust(entry, assignment, overrides.get(name), time))
    final = results_document(document.get("assignment", assignment.name), adjusted)
    for key, value in document.items():
        final.setdefault(key, value)
    write_json_atomic(out / "results.json", final)
    pairs = _similarity(out, sorted(entries))
    before = {e["submission"]: e for e in (previous or {}).get("submissions", ())}
    pages = 0
    for entry in final["submissions"]:
        name = entry["submission"]
        if rerender_all or _page_is_stale(entry, before.get(name)):
            pages += _write_page(out, entry, assignment)
    return Finished(final, pairs, without_time, pages)


def _page_is_stale(entry: dict, previous: dict | None) -> bool:
    """A page shows its adjustments: rewrite it when they changed, or when the batch
    just wrote it anew (its automatic result changed) and it has some."""
    had = (previous or {}).get("adjustments")
    if entry.get("adjustments") != had:
        return True
    if not had:
        return False
    return previous is None or automatic(previous) != automatic(entry)


def _write_page(out: Path, entry: dict, assignment: Assignment) -> int:
    from grader.report.html import write_student_report

    folder = submission_folder(out, entry["submission"])
    try:
        write_student_report(
            Result.from_json(automatic(entry)),
            assignment,
            folder / "report.html",
            entry.get("lang", "ko"),
            folder / "facts.json",
            adjustments=_page_adjustments(entry),
        )
    except Exception as error:  # noqa: BLE001 - one page never stops the others
        print(f"warning: no report for {entry['submission']}: {error}", file=sys.stderr)
        return 0
    return 1


def _page_adjustments(entry: dict) -> dict | None:
    if "adjustments" not in entry:
        return None
    return {
        **entry["adjustments"],
        "automatic_score": entry["automatic_score"],
        "score": entry["score"],
    }
