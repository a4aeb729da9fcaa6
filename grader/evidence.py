"""From facts to evidence: which model and which figure are the homework's, and the β
the chosen model holds.  Pure functions of the facts, the assignment and its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.assignment import Assignment
from grader.expressions import evaluate
from grader.facts import ArtistFact, Facts, FigureFact, FitFact, LayerFact, ModelFact
from grader.linear import U32
from grader.reference import Reference

# Roundings between the homework's float64 data and what a student's code hands over
# (a float32 copy, a reshape, an exp recomputed in float32).
DATA_ROUNDINGS = 4


def same_values(values: np.ndarray | None, expected: np.ndarray) -> bool:
    """Equal up to float32 rounding, ignoring shape ((N,), (N, 1) and (1, N) alike)."""
    if values is None:
        return False
    flat = np.asarray(values, dtype=float).reshape(-1)
    want = np.asarray(expected, dtype=float).reshape(-1)
    if flat.size != want.size or not np.all(np.isfinite(flat)):
        return False
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return float(np.abs(flat - want).max(initial=0.0)) <= DATA_ROUNDINGS * U32 * scale


def columns(x: np.ndarray | None, n: int) -> list[np.ndarray] | None:
    """The input columns of a training array with n rows ((N,) counts as one column)."""
    if x is None:
        return None
    if x.ndim == 1 and x.shape[0] == n:
        return [x]
    if x.ndim == 2 and x.shape[0] == n:
        return [x[:, j] for j in range(x.shape[1])]
    return None


def name_columns(
    x: np.ndarray | None, assignment: Assignment, reference: Reference
) -> list[str] | None:
    """Name each input column by the feature of x it equals ("1", "exp(-x)", "x", ...);
    "?" for a column that is none of them."""
    cols = columns(x, reference.x.size)
    if cols is None:
        return None
    candidates = list(assignment.features) + [
        f for f in assignment.confusable_features if f not in assignment.features
    ]
    values = {f: evaluate(f, reference.x) for f in candidates}
    names = []
    for col in cols:
        names.append(next((f for f in candidates if same_values(col, values[f])), "?"))
    return names


@dataclass(frozen=True)
class BetaReading:
    """β read from a model's weights, or why it could not be."""

    beta: tuple[float, ...] | None
    problem: str | None  # "wrong_features" | "unreadable" | None
    found: str  # what was found, for the message
    columns: tuple[str, ...] | None


def _single_dense(layers: tuple[LayerFact, ...]) -> LayerFact | None:
    dense = [layer for layer in layers if layer.cls != "InputLayer"]
    if len(dense) != 1 or dense[0].cls != "Dense" or dense[0].units != 1:
        return None
    if dense[0].activation not in (None, "linear"):
        return None
    return dense[0]


def read_beta(
    layers: tuple[LayerFact, ...],
    weights: tuple[np.ndarray, ...] | None,
    column_names: list[str] | None,
    assignment: Assignment,
) -> BetaReading:
    """Bring a single Dense(1) layer's weights to the assignment's β.

    Each input column is a feature; the bias is the intercept "1".  β_j is the sum of
    the kernel entries on the columns equal to feature j, plus the bias for "1":
    Dense(1, use_bias=False) on [1, exp(-x)] gives the kernel; Dense(1) on exp(-x) gives
    (bias, kernel); Dense(1) on [1, exp(-x)] gives (kernel₀ + bias, kernel₁).
    """
    found = " → ".join(layer.describe() for layer in layers) or "Sequential()"  # no layers
    layer = _single_dense(layers)
    if layer is None or not weights:
        return BetaReading(None, "unreadable", found, None)
    kernel = np.asarray(weights[0], dtype=float)
    bias = np.asarray(weights[1], dtype=float).reshape(-1) if len(weights) > 1 else None
    if kernel.ndim != 2 or kernel.shape[1] != 1 or (bias is not None and bias.size != 1):
        return BetaReading(None, "unreadable", found, None)
    rows = kernel.shape[0]
    features = list(assignment.features)
    if column_names is None:  # never fitted on data we saw: assume the prescribed layout
        if bias is None and rows == len(features):
            column_names = features
        elif bias is not None and "1" in features and rows == len(features) - 1:
            column_names = [f for f in features if f != "1"]
        else:
            return BetaReading(None, "unreadable", f"{found}, kernel {rows}×1", None)
    if len(column_names) != rows:
        return BetaReading(None, "unreadable", f"{found}, kernel {rows}×1", None)
    present = list(column_names) + (["1"] if bias is not None else [])
    if any(name not in features for name in present) or set(present) != set(features):
        return BetaReading(None, "wrong_features", ", ".join(present), tuple(column_names))
    beta = []
    for feature in features:
        value = sum(kernel[i, 0] for i, name in enumerate(column_names) if name == feature)
        if feature == "1" and bias is not None:
            value += bias[0]
        beta.append(float(value))
    return BetaReading(tuple(beta), None, found, tuple(column_names))


@dataclass(frozen=True)
class ModelChoice:
    model: int | None
    reason: str  # "homework_fit" | "unreadable_data" | "net" | "any" | "none"
    homework_fits: tuple[FitFact, ...]  # fits of the chosen model on the homework's data
    all_fits: tuple[FitFact, ...]  # every fit of the chosen model
    final: ModelFact | None

    @property
    def data_type(self) -> str | None:
        """The class of what the chosen model was trained on, where the probe could not
        read it as rows (reason "unreadable_data")."""
        return next((f.x_type for f in self.all_fits if f.data_unreadable), None)


def is_homework_fit(fit: FitFact, reference: Reference) -> bool:
    return same_values(fit.y, reference.y)


def choose_model(facts: Facts, reference: Reference) -> ModelChoice:
    """The model trained on the homework's data (the last such); else the final ``net``;
    else any Keras model.  The reason is "unreadable_data" when that model was trained on
    data the probe could not read as rows (a tf.data pipeline, a generator)."""
    homework = [f for f in facts.fits if is_homework_fit(f, reference)]
    if homework:
        serial, reason = homework[-1].model, "homework_fit"
    elif facts.net_model is not None:
        serial, reason = facts.net_model, "net"
    elif facts.fits or facts.models:
        serial = facts.fits[-1].model if facts.fits else facts.models[-1].model
        reason = "any"
    else:
        return ModelChoice(None, "none", (), (), None)
    if any(f.data_unreadable for f in facts.fits if f.model == serial):
        reason = "unreadable_data"  # it may well be the homework: an instructor looks
    return ModelChoice(
        serial,
        reason,
        tuple(f for f in homework if f.model == serial),
        tuple(f for f in facts.fits if f.model == serial),
        facts.model(serial),
    )


@dataclass(frozen=True)
class FigureChoice:
    figure: FigureFact | None
    data_artist: ArtistFact | None
    axes_index: int | None


def shows_points(artist: ArtistFact, x: np.ndarray, y: np.ndarray) -> bool:
    """The artist draws exactly the observed points, in any order."""
    if artist.n != x.size or artist.x.size != x.size:
        return False
    order = np.lexsort((artist.y, artist.x))
    want = np.lexsort((y, x))
    return same_values(artist.x[order], x[want]) and same_values(artist.y[order], y[want])


def figures_with_data(facts: Facts, reference: Reference) -> list[FigureChoice]:
    """Every figure with an Axes that shows the homework's observed (x, y), latest last."""
    found = []
    for figure in facts.figures:
        for index, axes in enumerate(figure.axes):
            artist = next(
                (a for a in axes.artists if shows_points(a, reference.x, reference.y)), None
            )
            if artist is not None:
                found.append(FigureChoice(figure, artist, index))
                break
    return found
