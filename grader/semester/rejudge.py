"""Judge every submission of an output folder again from its stored facts, with the
current assignment file (points, tolerances, messages, language): no kernel, a few
milliseconds each.  Each submission's result.json is rewritten; the caller applies the
semester's adjustments and rewrites results.json, the pages and the exports."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from grader.api import judge_facts
from grader.assignment import Assignment
from grader.facts import facts_from_records, with_journal_findings
from grader.integrity import seal
from grader.result import results_document, write_json_atomic
from grader.semester import RejudgeError
from grader.semester.adjust import automatic
from grader.semester.finish import submission_folder
from grader.semester.run_record import (
    EditedOnDisk,
    is_sealed,
    load_run_record,
    record_from_result,
    verified_text,
)


def load_sealed_facts(path: Path):
    """Facts saved by ``save_facts``: checked against the schema again unless their seal
    holds (then this grader validated them itself; checking 2,000 again would take most
    of a rejudge).  A seal that does not hold raises EditedOnDisk."""
    sealed = is_sealed(path)
    document = json.loads(verified_text(path))
    facts = facts_from_records(document["records"], secret=None, validated=sealed)
    return with_journal_findings(facts, document)


@dataclass(frozen=True)
class CheckChange:
    name: str
    old_points: float | None
    new_points: float | None
    old_key: str | None
    new_key: str | None

    def describe(self) -> str:
        def side(points, key):
            return "—" if points is None else f"{points:g} ({key})"

        old, new = side(self.old_points, self.old_key), side(self.new_points, self.new_key)
        return f"{self.name} {old} → {new}"


@dataclass(frozen=True)
class Change:
    submission: str
    old_score: float
    new_score: float
    checks: tuple[CheckChange, ...]

    def describe(self) -> str:
        why = "; ".join(c.describe() for c in self.checks) or "the cap or max score changed"
        return f"{self.submission}: {self.old_score:g} → {self.new_score:g}  ({why})"


@dataclass(frozen=True)
class Rejudged:
    document: dict  # results.json's content, automatic scores
    changes: tuple[Change, ...]  # automatic score changes, per submission
    rejudged: int  # submissions judged again from their facts
    carried: tuple[str, ...]  # without facts (invalid, internal errors): kept as they were
    approximate: tuple[str, ...]  # without run.json: run summary rebuilt from result.json
    seconds: float
    # kept as they were: facts or run record changed on disk, or the judge failed on them
    edited: tuple[str, ...] = ()


def _changes(old: dict, new: dict) -> Change | None:
    before = {c["name"]: c for c in old.get("checks", ())}
    after = {c["name"]: c for c in new.get("checks", ())}
    checks = []
    for name in dict.fromkeys([*before, *after]):
        a, b = before.get(name), after.get(name)
        if a is not None and b is not None and a["points"] == b["points"] and a["key"] == b["key"]:
            continue
        checks.append(
            CheckChange(
                name,
                a["points"] if a else None,
                b["points"] if b else None,
                a["key"] if a else None,
                b["key"] if b else None,
            )
        )
    if not checks and old["score"] == new["score"]:
        return None
    return Change(new["submission"], old["score"], new["score"], tuple(checks))


def rejudge_folder(out: Path, assignment: Assignment, lang: str | None = None) -> Rejudged:
    """Judge again every submission listed in OUT/results.json; ``lang`` None keeps each
    submission's own language."""
    path = out / "results.json"
    if not path.is_file():
        raise RejudgeError(f"no results.json in {out}: grade the folder first")
    try:
        previous = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise RejudgeError(f"{path}: cannot be read ({error})") from None
    started = time.perf_counter()
    results, changes, carried, approximate, edited = [], [], [], [], []
    for old in (automatic(e) for e in previous["submissions"]):
        name = old["submission"]
        folder = submission_folder(out, name)
        facts_path = folder / "facts.json"
        if not facts_path.is_file() or old.get("extras", {}).get("internal_error"):
            carried.append(name)
            new = {**old, "max_score": assignment.max_score, "assignment_digest": assignment.digest}
            results.append(new)
            continue
        try:
            record = load_run_record(folder)
            facts = load_sealed_facts(facts_path)
        except EditedOnDisk as error:
            edited.append(f"{name} ({error})")
            results.append(old)
            continue
        if record is None:
            approximate.append(name)
            record = record_from_result(old)
        facts = dataclasses.replace(
            facts,
            # facts.json and run.json both keep the journal's rejected lines: one count
            rejected_records=max(facts.rejected_records, record.rejected_records),
            caps=tuple(dict.fromkeys([*record.facts_caps, *facts.caps])),
        )
        try:
            result = judge_facts(
                name,
                facts,
                record.run,
                assignment,
                lang or old.get("lang", "ko"),
                record.status,
                record.sha256 or old.get("sha256", ""),
                record.failed_cells,
                record.seconds,
            )
        except Exception as error:  # noqa: BLE001 - one submission never stops the others
            edited.append(f"{name} (internal grader error: {type(error).__name__}: {error})")
            results.append(old)
            continue
        new = result.to_json()
        write_json_atomic(folder / "result.json", new)
        seal(folder / "result.json")
        results.append(new)
        change = _changes(old, new)
        if change is not None:
            changes.append(change)
    document = results_document(assignment.name, results)
    return Rejudged(
        document,
        tuple(changes),
        len(results) - len(carried),
        tuple(carried),
        tuple(approximate),
        time.perf_counter() - started,
        tuple(edited),
    )
