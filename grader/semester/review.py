"""The review queue: every submission that needs a person, with why and where to look.

A submission is queued when
- its result needs review: the judge's ``review`` reasons (``needs_review`` true: a
  training it cannot replay, signs of tampering; the keras, trained and beta points are
  withheld until an instructor decides, e.g. with an override), or a flag in
  ``extras["needs_review"]`` (``True``, a reason, a list, or ``{"reasons": [...]}``);
- it is one of a similarity pair;
- its status is not ``graded``;
- an override changed its score without a note;
- Canvas marks it late but its time is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from grader.names import folder_name


@dataclass(frozen=True)
class Reason:
    kind: str  # needs_review | similar | status | override_without_note | late_unknown
    detail: str
    link: str  # where the evidence is, relative to OUT/index.html


@dataclass(frozen=True)
class Entry:
    submission: str
    reasons: tuple[Reason, ...]
    report: str  # the student's page


def needs_review_reasons(entry: dict) -> list[str]:
    """The reasons an entry of results.json gives for a person to look at it."""
    reasons = [str(r) for r in entry.get("review") or ()]
    if entry.get("needs_review") and not reasons:
        reasons = ["needs review"]
    return reasons + [r for r in _extras_reasons(entry.get("extras", {})) if r not in reasons]


def _extras_reasons(extras: dict) -> list[str]:
    flag = extras.get("needs_review")
    if not flag:
        return []
    if isinstance(flag, str):
        return [flag]
    if isinstance(flag, dict):
        flag = flag.get("reasons") or [flag.get("reason") or "needs review"]
    if isinstance(flag, list | tuple):
        return [str(r) for r in flag] or ["needs review"]
    return ["needs review"]


def report_link(submission: str) -> str:
    return f"submissions/{quote(folder_name(submission))}/report.html"


def review_queue(document: dict, similarity: dict | None) -> list[Entry]:
    """The queue, in the class table's order (by submission)."""
    found: dict[str, list[Reason]] = {}

    def add(name: str, reason: Reason) -> None:
        found.setdefault(name, []).append(reason)

    for entry in document["submissions"]:
        name, page = entry["submission"], report_link(entry["submission"])
        for reason in needs_review_reasons(entry):
            add(name, Reason("needs_review", reason, page))
        if entry["status"] != "graded":
            detail = entry["messages"][0] if entry.get("messages") else ""
            add(name, Reason("status", f"{entry['status']}: {detail}", page))
        adjustments = entry.get("adjustments") or {}
        override = adjustments.get("override")
        if (
            override
            and (override["checks"] or override["total"] is not None)
            and not override["note"]
        ):
            add(name, Reason("override_without_note", "", page))
        late = adjustments.get("late")
        if late and not late["time_known"]:
            add(name, Reason("late_unknown", late["source"], page))
    for number, pair in enumerate((similarity or {}).get("pairs", ()), start=1):
        detail = ", ".join(pair["reasons"])
        add(pair["a"], Reason("similar", f"{pair['b']} ({detail})", f"#pair-{number}"))
        add(pair["b"], Reason("similar", f"{pair['a']} ({detail})", f"#pair-{number}"))
    return [Entry(name, tuple(found[name]), report_link(name)) for name in sorted(found)]
