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
    params: dict


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
        if self.model.model is None:
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


def fmt_beta(beta) -> str:
    return ", ".join(f"{b:.6g}" for b in beta)
