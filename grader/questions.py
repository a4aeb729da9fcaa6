"""Assignments of several questions (``[[questions]]``): each recorded fit is matched to
a question by its data, each question is judged by its model family, and each has its
own score.  The checks of question ``q`` are named ``q.<check>`` in results."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from grader.assignment import Assignment
from grader.evidence import ModelChoice, columns, same_values
from grader.facts import Facts, FitFact, LayerFact
from grader.judge import Case, CheckResult, Outcome, Phrase, RunSummary, judge, localise
from grader.judge.base import run_review_reasons
from grader.reference import reference_for

# The check whose failure caps a question's score (the answer is the point).
ANSWER_CHECK = {"linear": "beta", "logistic": "estimate", "dense_stack": "fit"}


def dense_layers(layers: tuple[LayerFact, ...]) -> list[tuple[int | None, str]] | None:
    """(units, activation) of each Dense layer, an Activation layer folded into the
    Dense before it; None for any other layer."""
    found: list[tuple[int | None, str]] = []
    for layer in layers:
        if layer.cls == "InputLayer":
            continue
        if layer.cls == "Dense":
            found.append((layer.units, layer.activation or "linear"))
        elif layer.cls == "Activation" and found and found[-1][1] == "linear":
            found[-1] = (found[-1][0], layer.activation or "linear")
        else:
            return None
    return found


def family_accepts(question: Assignment, fit: FitFact) -> bool:
    """The fit's model has the architecture the question prescribes."""
    stack = dense_layers(fit.layers)
    if stack is None:
        return False
    if question.family == "linear":
        return stack == [(1, "linear")]
    if question.family == "logistic":
        return stack == [(1, "sigmoid")]
    want = [(int(u), str(a)) for u, a in question.settings.get("layers", [])]
    return stack == want


def on_question_data(question: Assignment, fit: FitFact) -> bool:
    """The fit trained on the question's data: the targets it generates (``linear``,
    ``dense_stack``), or for ``logistic`` (whose targets are random draws) the inputs it
    prescribes and targets of 0 and 1."""
    if question.family != "logistic":
        return same_values(fit.y, reference_for(question).y)
    x = np.linspace(question.data.x_start, question.data.x_stop, question.data.n)
    if fit.y is None or fit.y.size != x.size:
        return False
    cols = columns(fit.x, x.size)
    if cols is None or len(cols) != 1 or not same_values(cols[0], x):
        return False
    return bool(np.all((fit.y == 0) | (fit.y == 1)))


def choose_for_question(facts: Facts, question: Assignment) -> ModelChoice:
    """The last model trained on the question's data with the prescribed architecture;
    else the last model trained on its data (judged, and failed, as it is)."""
    on_data = [f for f in facts.fits if on_question_data(question, f)]
    if not on_data:
        return ModelChoice(None, "none", (), (), None)
    fitting = [f for f in on_data if family_accepts(question, f)] or on_data
    serial = fitting[-1].model
    return ModelChoice(
        serial,
        "homework_fit",
        tuple(f for f in on_data if f.model == serial),
        tuple(f for f in facts.fits if f.model == serial),
        facts.model(serial),
    )


class QuestionCase(Case):
    """A linear question judged by today's checks, with its own choice of model."""

    @cached_property
    def model(self) -> ModelChoice:
        return choose_for_question(self.facts, self.assignment)


@dataclass(frozen=True)
class QuestionResult:
    question: str
    title: str
    family: str
    score: float
    max_score: float
    answered: bool  # a model was trained on the question's data

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "title": self.title,
            "family": self.family,
            "score": self.score,
            "max_score": self.max_score,
            "answered": self.answered,
        }


def _family_checks(question: Assignment, facts: Facts, run: RunSummary, lang: str):
    """(check results named as the question's own checks, review reasons, the model)."""
    if question.family == "linear":
        case = QuestionCase(facts, run, question, reference_for(question))
        reasons = tuple(str(localise(question, r, lang)) for r in case.review_reasons)
        return judge(case, lang), reasons, case.model.model
    from grader.judge.families import judge_family

    return judge_family(question, facts, run, lang)


def judge_questions(
    assignment: Assignment, facts: Facts, run: RunSummary, lang: str
) -> tuple[tuple[CheckResult, ...], tuple[QuestionResult, ...], tuple[str, ...]]:
    """Every question's checks (named ``<id>.<check>``, messages led by the question's
    title), every question's score and the review reasons of all of them."""
    checks: list[CheckResult] = []
    rows: list[QuestionResult] = []
    reasons: list[str] = [
        str(localise(assignment, r, lang)) for r in run_review_reasons(facts, run)
    ]
    for question in assignment.questions:
        own, own_reasons, model = _family_checks(question, facts, run, lang)
        label = question.label(lang)
        reasons.extend(f"{label}: {r}" for r in own_reasons if r not in reasons)
        score = sum(c.points for c in own)
        answer = ANSWER_CHECK[question.family]
        if any(c.name == answer and not c.passed for c in own):
            score = min(score, question.cap_when_beta_fails * question.max_score)
        rows.append(
            QuestionResult(
                question.question,
                label,
                question.family,
                round(float(score), 6),
                question.max_score,
                model is not None,
            )
        )
        for c in own:
            checks.append(
                CheckResult(
                    name=f"{question.question}.{c.name}",
                    passed=c.passed,
                    points=c.points,
                    max_points=c.max_points,
                    message=f"{label}: {c.message}",
                    key=c.key,
                    diagnosis=c.diagnosis,
                )
            )
    return tuple(checks), tuple(rows), tuple(dict.fromkeys(reasons))


__all__ = ["Outcome", "Phrase", "QuestionResult", "judge_questions"]
