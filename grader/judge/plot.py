"""plot_data and plot_curve: a figure shows the observed (x, y), and a curve on it is
Σ β_j·feature_j(x) at its own x, with the student's β, whatever call drew it."""

from __future__ import annotations

import math

import numpy as np

from grader.evidence import DATA_ROUNDINGS, FigureChoice
from grader.expressions import evaluate
from grader.judge.base import Case, Outcome, fmt_beta
from grader.linear import U32


def curve_gap(case: Case, xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    """(largest |drawn − fitted|, the float32 tolerance for it) for one drawn curve."""
    fitted = np.zeros_like(xs)
    scale = 0.0
    for coefficient, feature in zip(case.beta.beta, case.assignment.features, strict=True):
        values = evaluate(feature, xs)
        fitted += coefficient * values
        scale += abs(coefficient) * float(np.abs(values).max(initial=0.0))
    return float(np.abs(ys - fitted).max()), DATA_ROUNDINGS * U32 * max(1.0, scale)


def best_curve(case: Case) -> tuple[FigureChoice | None, float, bool]:
    """The candidate curve closest to the fit: (its figure, its gap, within tolerance)."""
    best: tuple[FigureChoice | None, float, bool] = (None, math.inf, False)
    for choice in reversed(case.figures):
        axes = choice.figure.axes[choice.axes_index]
        for artist in axes.artists:
            if artist is choice.data_artist or artist.x.size < 2:  # a capped line: its head
                continue
            if not (np.all(np.isfinite(artist.x)) and np.all(np.isfinite(artist.y))):
                continue
            gap, tolerance = curve_gap(case, artist.x, artist.y)
            if gap <= tolerance:
                return choice, gap, True
            if gap < best[1]:
                best = (choice, gap, False)
    return best


def check_plot_data(case: Case) -> Outcome:
    if not case.figures:
        return Outcome(False, "plot_data.missing", {}, "no_plot")
    choice = case.figures[-1]
    return Outcome(
        True, "plot_data.ok", {"figure": choice.figure.figure, "n": choice.data_artist.n}
    )


def check_plot_curve(case: Case) -> Outcome:
    if not case.figures:
        return Outcome(False, "plot_curve.no_figure", {}, "no_plot")
    if case.beta is None or case.beta.beta is None:
        return Outcome(False, "plot_curve.no_beta", {}, "no_beta")
    choice, gap, matches = best_curve(case)
    if matches:
        return Outcome(True, "plot_curve.ok", {"figure": choice.figure.figure, "gap": gap})
    if choice is None:
        return Outcome(False, "plot_curve.missing", {}, "no_curve")
    return Outcome(
        False,
        "plot_curve.mismatch",
        {"gap": gap, "beta": fmt_beta(case.beta.beta)},
        "curve_mismatch",
    )
