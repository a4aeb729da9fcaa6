"""Judging: pure functions from a case (facts, run summary, assignment, reference) to
checks with points and messages.  One module per kind of check; a new check is one
function registered in CHECKS and one test file."""

from __future__ import annotations

from grader.judge.base import Case, CheckResult, Outcome, Phrase, RunSummary
from grader.judge.beta import check_beta
from grader.judge.keras import check_keras
from grader.judge.plot import check_plot_curve, check_plot_data
from grader.judge.ran import check_ran
from grader.judge.trained import check_trained

CHECKS = {
    "ran": check_ran,
    "keras": check_keras,
    "trained": check_trained,
    "beta": check_beta,
    "plot_data": check_plot_data,
    "plot_curve": check_plot_curve,
}


# Checks whose points wait for an instructor when a submission needs review.
WITHHELD_ON_REVIEW = ("keras", "trained", "beta")


def localise(assignment, value, lang: str):
    """Phrases in ``lang``; a list becomes its items (localised) joined by "; "; other
    values stay as they are."""
    if isinstance(value, Phrase):
        params = {k: localise(assignment, v, lang) for k, v in value.params.items()}
        return assignment.message(value.key, lang, **params)
    if isinstance(value, list):
        return "; ".join(str(localise(assignment, v, lang)) for v in value)
    return value


def _message(case: Case, outcome: Outcome, lang: str) -> str:
    params = {k: localise(case.assignment, v, lang) for k, v in outcome.params.items()}
    return case.assignment.message(outcome.key, lang, **params)


def judge(case: Case, lang: str = "ko") -> tuple[CheckResult, ...]:
    """Run every check the assignment lists, in its order, and score them.  With review
    reasons, the keras, trained and beta checks are withheld (no points, diagnosis
    "needs_review") whatever they found; their own message follows."""
    results = []
    reasons = [str(localise(case.assignment, r, lang)) for r in case.review_reasons]
    for name, max_points in case.assignment.check_points.items():
        if name not in CHECKS:
            raise KeyError(f"assignment {case.assignment.name} lists unknown check {name!r}")
        outcome = CHECKS[name](case)
        if reasons and name in WITHHELD_ON_REVIEW:
            found = _message(case, outcome, lang)
            outcome = Outcome(
                False,
                "review.withheld",
                {"reason": "; ".join(reasons)[:600], "found": found, "found_key": outcome.key},
                "needs_review",
            )
        results.append(
            CheckResult(
                name=name,
                passed=outcome.passed,
                points=max_points if outcome.passed else 0.0,
                max_points=max_points,
                message=_message(case, outcome, lang),
                key=outcome.key,
                diagnosis=outcome.diagnosis,
            )
        )
    return tuple(results)


def total_score(case: Case, checks: tuple[CheckResult, ...]) -> float:
    """The sum of points, capped when β fails (the answer is the point of the homework)."""
    score = sum(c.points for c in checks)
    if any(c.name == "beta" and not c.passed for c in checks):
        score = min(score, case.assignment.cap_when_beta_fails * case.assignment.max_score)
    return round(float(score), 6)


__all__ = [
    "CHECKS",
    "Case",
    "CheckResult",
    "Outcome",
    "Phrase",
    "RunSummary",
    "judge",
    "localise",
    "total_score",
]
