"""Adjusting a judged entry of results.json: the instructor's override, then the late
penalty.  Pure: an entry in, an entry out.  The judge's own numbers stay beside the
adjusted ones (``automatic_score``, each check's ``automatic_points``) and ``automatic``
recovers them, so applying the adjustments again never compounds them."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from grader.assignment import Assignment
from grader.semester.late import Assessment, LatePolicy, SubmissionTime, assess
from grader.semester.overrides import Override


def automatic(entry: dict) -> dict:
    """The entry as the judge left it, without any earlier adjustment."""
    entry = copy.deepcopy(entry)
    if "automatic_score" in entry:
        entry["score"] = entry.pop("automatic_score")
    entry.pop("adjustments", None)
    for check in entry.get("checks", ()):
        if "automatic_points" in check:
            check["points"] = check.pop("automatic_points")
    return entry


def _capped_sum(checks: list[dict], assignment: Assignment, decided: set[str]) -> float:
    """The judge's rule (β failing caps the total) unless the instructor decided β; for
    several questions, each question's answer caps that question's score."""
    if assignment.questions:
        from grader.questions import ANSWER_CHECK

        total = 0.0
        for question in assignment.questions:
            prefix = f"{question.question}."
            own = [c for c in checks if c["name"].startswith(prefix)]
            answer = prefix + ANSWER_CHECK[question.family]
            part = sum(c["points"] for c in own)
            if any(c["name"] == answer and not c["passed"] for c in own) and answer not in decided:
                part = min(part, question.cap_when_beta_fails * question.max_score)
            total += part
        return round(float(total), 6)
    score = sum(c["points"] for c in checks)
    beta_failed = any(c["name"] == "beta" and not c["passed"] for c in checks)
    if beta_failed and "beta" not in decided:
        score = min(score, assignment.cap_when_beta_fails * assignment.max_score)
    return round(float(score), 6)


def _duration(span: timedelta, assignment: Assignment, lang: str) -> str:
    minutes = int(abs(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        assignment.message(f"unit.{unit}", lang, n=n)
        for unit, n in (("day", days), ("hour", hours), ("minute", minutes))
        if n
    ]
    return " ".join(parts) or assignment.message("unit.minute", lang, n=0)


def _moment(moment: datetime, policy: LatePolicy) -> str:
    return f"{moment.astimezone(policy.zone):%Y-%m-%d %H:%M} ({policy.time_zone})"


def _late_line(a: Assessment, policy: LatePolicy, assignment: Assignment, lang: str) -> str:
    if not a.known:
        return assignment.message("adjust.late_unknown", lang, source=a.source)
    params = {
        "submitted": _moment(a.submitted_at, policy),
        "due": _moment(a.due, policy),
        "late_by": _duration(a.late_by, assignment, lang),
        "source": a.source,
    }
    if a.late_by <= timedelta(0):
        return assignment.message("adjust.on_time", lang, **params)
    if a.periods == 0:
        grace = _duration(policy.grace, assignment, lang)
        return assignment.message("adjust.late_grace", lang, grace=grace, **params)
    key = "adjust.late_floored" if a.floored else "adjust.late"
    return assignment.message(
        key,
        lang,
        deduction=f"{a.deduction:g}",
        periods=assignment.message(f"unit.{policy.per}", lang, n=a.periods),
        percent=f"{policy.deduction_percent:g}",
        floor=f"{policy.floor_percent:g}",
        **params,
    )


def adjust(
    entry: dict,
    assignment: Assignment,
    override: Override | None = None,
    time: SubmissionTime | None = None,
) -> dict:
    """The entry with the override and the late policy applied (its score is the final
    one, as every export carries it).  Without either it is the automatic entry."""
    entry = automatic(entry)
    lang = entry.get("lang", "ko")
    automatic_score = entry["score"]
    score = automatic_score
    lines: list[str] = []
    adjustments: dict = {}
    if override is not None:
        for check in entry["checks"]:
            if check["name"] in override.checks:
                new = override.checks[check["name"]]
                lines.append(
                    assignment.message(
                        "adjust.override_check",
                        lang,
                        # the check as a reader says it ("β 값", not "beta")
                        check=assignment.messages.get(lang, {}).get(
                            f"check.{check['name']}", check["name"]
                        ),
                        old=f"{check['points']:g}",
                        new=f"{new:g}",
                        max=f"{check['max_points']:g}",
                    )
                )
                check["automatic_points"], check["points"] = check["points"], new
        if override.checks:
            score = _capped_sum(entry["checks"], assignment, set(override.checks))
        if override.total is not None:
            lines.append(
                assignment.message(
                    "adjust.override_total", lang, old=f"{score:g}", new=f"{override.total:g}"
                )
            )
            score = override.total
        if override.note:
            lines.append(assignment.message("adjust.note", lang, note=override.note))
        adjustments["override"] = {
            "checks": dict(override.checks),
            "total": override.total,
            "note": override.note,
            "by": override.by,
            "at": override.at,
        }
    policy = assignment.late
    if policy is not None:
        extension = override.extension if override is not None else None
        assessment = assess(policy, time, score, assignment.max_score, extension)
        if assessment is not None:
            adjustments["late"] = assessment.to_json()
            adjustments["score_before_late"] = score
            if assessment.extended:
                lines.append(
                    assignment.message(
                        "adjust.extension", lang, due=_moment(assessment.due, policy)
                    )
                )
            lines.append(_late_line(assessment, policy, assignment, lang))
            score = round(score - assessment.deduction, 6)
    if not adjustments:
        return entry
    adjustments["lines"] = lines
    entry["automatic_score"] = automatic_score
    entry["score"] = score
    entry["adjustments"] = adjustments
    return entry
