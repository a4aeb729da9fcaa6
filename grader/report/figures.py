"""Figures the grader draws for reports (matplotlib, Agg), as base64 PNG strings.
Labels stay English: no Hangul font is assumed on the grading machine."""

from __future__ import annotations

import base64
import io

import numpy as np

from grader.assignment import Assignment
from grader.expressions import evaluate
from grader.reference import reference_for


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    _pyplot().close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def fit_figure(beta: tuple[float, ...] | None, assignment: Assignment) -> str:
    """The data, the student's curve, the OLS curve and the band of the prescribed
    training's curves (a linear function's extremes over a polytope lie at corners)."""
    plt = _pyplot()
    reference = reference_for(assignment)
    x = reference.x
    features = np.stack([evaluate(f, x) for f in assignment.features], axis=1)
    corner_curves = features @ reference.reachable.corners().T
    figure, axes = plt.subplots(figsize=(6, 3.6))
    axes.fill_between(
        x,
        corner_curves.min(axis=1),
        corner_curves.max(axis=1),
        color="#f4c27a",
        alpha=0.6,
        label=f"{assignment.training.epochs}-epoch Keras results",
    )
    axes.plot(x, reference.y, "o", ms=3, color="#555", label="observed")
    axes.plot(x, features @ reference.beta_ols, "-", color="#1f77b4", label="OLS")
    if beta is not None:
        axes.plot(x, features @ np.array(beta), "--", color="#d62728", label="your fit")
    axes.legend(fontsize=8)
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    return _png(figure)


def loss_figure(loss_history: list[float]) -> str | None:
    if not loss_history:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(4, 2.4))
    axes.plot(range(1, len(loss_history) + 1), loss_history, "-o", ms=2)
    if min(loss_history) > 0:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    return _png(figure)


def histogram(scores: list[float], max_score: float) -> str | None:
    if not scores:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 2.4))
    axes.hist(scores, bins=np.linspace(0, max_score, 11), color="#4c72b0", edgecolor="white")
    axes.set_xlabel("score")
    axes.set_ylabel("submissions")
    return _png(figure)


def class_beta_figure(betas: list[list[float]], assignment: Assignment) -> str | None:
    """The class's β (first two coordinates) over the reachable set and OLS."""
    betas = [b for b in betas if b is not None and len(b) >= 2]
    if not betas:
        return None
    plt = _pyplot()
    reference = reference_for(assignment)
    corners = reference.reachable.corners()[:, :2]
    centre = corners.mean(axis=0)
    order = np.argsort(np.arctan2(corners[:, 1] - centre[1], corners[:, 0] - centre[0]))
    hull = corners[np.append(order, order[0])]
    figure, axes = plt.subplots(figsize=(5, 3.6))
    axes.fill(
        hull[:, 0],
        hull[:, 1],
        color="#f4c27a",
        alpha=0.6,
        lw=2,
        ec="#e09a2d",
        label=f"{assignment.training.epochs}-epoch Keras results",
    )
    points = np.array([b[:2] for b in betas])
    axes.plot(points[:, 0], points[:, 1], "o", ms=5, color="#4c72b0", alpha=0.8, label="class")
    axes.plot(*reference.beta_ols[:2], "*", ms=14, color="#d62728", label="OLS")
    axes.set_xlabel(assignment.beta_names[0])
    axes.set_ylabel(assignment.beta_names[1])
    axes.legend(fontsize=8)
    return _png(figure)
