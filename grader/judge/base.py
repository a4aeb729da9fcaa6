"""What every check receives (a Case) and returns (an Outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from grader.assignment import Assignment
from grader.evidence import (
    BetaReading,
    FigureChoice,
    ModelChoice,
    choose_model,
    figures_with_data,
    name_columns,
    read_beta,
)
from grader.facts import Facts
from grader.reference import Reference

MAX_LISTED_EVIDENCE = 5  # evidence listed in a result (all of it is in facts.json)


@dataclass(frozen=True)
class RunSummary:
    """How the execution went, as the judge needs it."""

    status: str  # "completed" | "timeout" | "dead" | "failed"
    reason: str | None
    failed_cells: tuple[tuple[int, str, str], ...]  # (cell number, error name, message)
    notebook_timeout_s: float
    # The notebook's cell number (1-based, all cells) of each executed code cell, in the
    # order the probe counts them; empty when unknown (saved facts).
    cell_numbers: tuple[int, ...] = ()
    memory_limit_bytes: int = 0
    disk_limit_bytes: int = 0
    max_processes: int = 0
    truncated_cells: tuple[int, ...] = ()  # cell numbers whose output was cut
    caps: tuple[str, ...] = ()  # output caps hit: "output_per_cell", "output_per_notebook"
    cell_output_limit: int = 0  # bytes of output kept per cell (0: the default)
    cell_timeout_s: float = 0.0

    def cell_number(self, ordinal: int) -> int:
        """The notebook's cell number of the probe's ``ordinal``-th executed cell."""
        if 1 <= ordinal <= len(self.cell_numbers):
            return self.cell_numbers[ordinal - 1]
        return ordinal


@dataclass(frozen=True)
class Phrase:
    """A part of a message that is a message of its own (``key`` in the assignment's
    messages), put in the language of the message that holds it."""

    key: str
    params: dict = field(default_factory=dict)

    def __hash__(self) -> int:  # reasons are deduplicated
        return hash((self.key, repr(sorted(self.params.items()))))


@dataclass(frozen=True)
class Outcome:
    passed: bool
    key: str  # the message's key in the assignment file
    params: dict = field(default_factory=dict)
    diagnosis: str | None = None  # a short tag for class statistics: "wrong_features", ...


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    points: float
    max_points: float
    message: str
    key: str
    diagnosis: str | None


class Case:
    """One submission's evidence; derived parts are computed once, on first use."""

    def __init__(self, facts: Facts, run: RunSummary, assignment: Assignment, reference: Reference):
        self.facts = facts
        self.run = run
        self.assignment = assignment
        self.reference = reference

    @cached_property
    def model(self) -> ModelChoice:
        return choose_model(self.facts, self.reference)

    @cached_property
    def last_fit(self):
        return self.model.all_fits[-1] if self.model.all_fits else None

    @cached_property
    def final_weights(self):
        """The chosen model's weights at the end, or after its last fit if the end
        was never reached."""
        if self.model.final is not None and self.model.final.weights is not None:
            return self.model.final.weights
        return self.last_fit.weights_after if self.last_fit else None

    @cached_property
    def beta(self) -> BetaReading | None:
        """β of the model fitted on the homework's data (or on data the probe could not
        read, for the instructor who reviews it); None for any other model (its weights
        say nothing about the homework, even when it has the same shape)."""
        if self.model.model is None or self.model.reason not in ("homework_fit", "unreadable_data"):
            return None
        layers = (
            self.model.final.layers
            if self.model.final is not None
            else self.last_fit.layers
            if self.last_fit
            else ()
        )
        names = (
            name_columns(self.last_fit.x, self.assignment, self.reference)
            if self.last_fit is not None
            else None
        )
        return read_beta(layers, self.final_weights, names, self.assignment)

    @cached_property
    def figures(self) -> list[FigureChoice]:
        return figures_with_data(self.facts, self.reference)

    @cached_property
    def training(self) -> Outcome:
        from grader.judge.trained import assess_training

        return assess_training(self)

    @cached_property
    def review_reasons(self) -> tuple[str | Phrase, ...]:
        """Why an instructor must look at this submission before its keras, trained
        and beta points count: tampering evidence, records the probe did not write, a
        missing end record, or a training the grader cannot replay.  Evidence is
        described as the probe saw it (code); the rest are phrases of the messages."""
        reasons = list(run_review_reasons(self.facts, self.run))
        if self.training.diagnosis == "needs_review":
            why = {"reason": self.training.params.get("reason")}
            reasons.append(Phrase("review.not_replayable", why))
        return tuple(dict.fromkeys(reasons))


def run_review_reasons(facts: Facts, run: RunSummary) -> tuple[str | Phrase, ...]:
    """The reasons for review that concern the whole run, not one model."""
    reasons: list[str | Phrase] = [e.describe() for e in facts.evidence[:MAX_LISTED_EVIDENCE]]
    if len(facts.evidence) > MAX_LISTED_EVIDENCE:
        more = len(facts.evidence) - MAX_LISTED_EVIDENCE
        reasons.append(Phrase("review.more_events", {"count": more}))
    if facts.rejected_records:
        reasons.append(Phrase("review.rejected_records", {"count": facts.rejected_records}))
    if facts.missing_records and not facts.caps:
        reasons.append(Phrase("review.missing_records", {"count": facts.missing_records}))
    if facts.duplicate_records:
        reasons.append(Phrase("review.duplicate_records", {"count": facts.duplicate_records}))
    if run.status == "completed" and not facts.finished:
        reasons.append(Phrase("review.no_final_record"))
    return tuple(reasons)


def fmt_beta(beta) -> str:
    return ", ".join(f"{b:.6g}" for b in beta)
