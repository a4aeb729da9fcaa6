"""Figures the grader draws for reports, as small SVG documents (data URIs for <img>).

Drawn by hand rather than with matplotlib: a report's figures then cost microseconds
instead of a quarter of a second each (reports are written while kernels run), text is
set by the reader's browser (Hangul included), and they stay sharp at any zoom.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from html import escape

import numpy as np

from grader.assignment import Assignment
from grader.expressions import evaluate
from grader.reference import reference_for

WIDTH, HEIGHT = 480, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 14, 12, 40
COLOURS = {
    "band": "#f4c27a",
    "data": "#555555",
    "ols": "#1f77b4",
    "yours": "#d62728",
    "bars": "#4c72b0",
    "class": "#4c72b0",
}


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step) + 1)]


@dataclass
class Chart:
    """A plot area with linear axes; add shapes in data coordinates, then ``svg()``."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_label: str = ""
    y_label: str = ""
    log_y: bool = False
    shapes: list[str] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)  # (label, colour, kind)
    legend_at_bottom: bool = False

    def _y(self, value: float) -> float:
        low, high = self.y_range
        if self.log_y:
            value, low, high = (math.log10(max(v, 1e-300)) for v in (value, low, high))
        span = (high - low) or 1.0
        return MARGIN_TOP + (1 - (value - low) / span) * (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM)

    def _x(self, value: float) -> float:
        low, high = self.x_range
        span = (high - low) or 1.0
        return MARGIN_LEFT + (value - low) / span * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)

    def _points(self, xs, ys) -> str:
        return " ".join(
            f"{self._x(x):.1f},{self._y(y):.1f}"
            for x, y in zip(xs, ys, strict=True)
            if math.isfinite(x) and math.isfinite(y)
        )

    def line(
        self, xs, ys, colour: str, label: str = "", dashed: bool = False, width: float = 2
    ) -> None:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.shapes.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="{width}"'
            f'{dash} points="{self._points(xs, ys)}"/>'
        )
        if label:
            self.legend.append((label, colour, "dash" if dashed else "line"))

    def dots(self, xs, ys, colour: str, label: str = "", radius: float = 2.5) -> None:
        self.shapes += [
            f'<circle cx="{self._x(x):.1f}" cy="{self._y(y):.1f}" r="{radius}" '
            f'fill="{colour}" fill-opacity="0.85"/>'
            for x, y in zip(xs, ys, strict=True)
            if math.isfinite(x + y)
        ]
        if label:
            self.legend.append((label, colour, "dot"))

    def area(self, xs, lows, highs, colour: str, label: str = "") -> None:
        outline = list(zip(xs, highs, strict=True)) + list(zip(xs, lows, strict=True))[::-1]
        points = self._points([p[0] for p in outline], [p[1] for p in outline])
        self.shapes.append(
            f'<polygon fill="{colour}" fill-opacity="0.6" stroke="{colour}" points="{points}"/>'
        )
        if label:
            self.legend.append((label, colour, "area"))

    def bar(self, left: float, right: float, height: float, colour: str) -> None:
        x0, x1, y0, y1 = self._x(left), self._x(right), self._y(height), self._y(0)
        self.shapes.append(
            f'<rect x="{x0 + 1:.1f}" y="{y0:.1f}" width="{max(x1 - x0 - 2, 1):.1f}"'
            f' height="{max(y1 - y0, 0):.1f}" fill="{colour}"/>'
        )

    def _axes(self) -> list[str]:
        parts = [
            f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" '
            f'width="{WIDTH - MARGIN_LEFT - MARGIN_RIGHT}" '
            f'height="{HEIGHT - MARGIN_TOP - MARGIN_BOTTOM}" fill="none" stroke="#333"/>'
        ]
        bottom = HEIGHT - MARGIN_BOTTOM
        for tick in nice_ticks(*self.x_range):
            x = self._x(tick)
            parts.append(
                f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" '
                f'stroke="#333"/><text x="{x:.1f}" y="{bottom + 16}" '
                f'text-anchor="middle">{tick:g}</text>'
            )
        if self.log_y:
            low, high = (math.floor(math.log10(v)) for v in self.y_range)
            y_ticks = [
                10.0**e
                for e in range(low, high + 2)
                if self.y_range[0] <= 10.0**e <= self.y_range[1]
            ]
        else:
            y_ticks = nice_ticks(*self.y_range)
        for tick in y_ticks:
            y = self._y(tick)
            parts.append(
                f'<line x1="{MARGIN_LEFT - 4}" y1="{y:.1f}" x2="{MARGIN_LEFT}" '
                f'y2="{y:.1f}" stroke="#333"/><text x="{MARGIN_LEFT - 6}" '
                f'y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
            )
        parts.append(
            f'<text x="{(MARGIN_LEFT + WIDTH - MARGIN_RIGHT) / 2}" y="{HEIGHT - 6}" '
            f'text-anchor="middle">{escape(self.x_label)}</text>'
        )
        parts.append(
            f'<text transform="translate(13 {(MARGIN_TOP + bottom) / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(self.y_label)}</text>'
        )
        return parts

    def _legend(self) -> list[str]:
        parts = []
        x, y = WIDTH - MARGIN_RIGHT - 190, MARGIN_TOP + 8
        if self.legend_at_bottom:
            y = HEIGHT - MARGIN_BOTTOM - 16 * len(self.legend) - 8
        for i, (label, colour, kind) in enumerate(self.legend):
            top = y + 16 * i
            if kind == "dot":
                mark = f'<circle cx="{x + 10}" cy="{top + 5}" r="3" fill="{colour}"/>'
            elif kind == "area":
                mark = f'<rect x="{x}" y="{top}" width="20" height="10" fill="{colour}"/>'
            else:
                dash = ' stroke-dasharray="6 4"' if kind == "dash" else ""
                mark = (
                    f'<line x1="{x}" y1="{top + 5}" x2="{x + 20}" y2="{top + 5}" '
                    f'stroke="{colour}" stroke-width="2"{dash}/>'
                )
            parts.append(f'{mark}<text x="{x + 26}" y="{top + 9}">{escape(label)}</text>')
        if parts:
            parts.insert(
                0,
                f'<rect x="{x - 6}" y="{y - 4}" width="190" '
                f'height="{16 * len(self.legend) + 6}" fill="white" '
                f'fill-opacity="0.85" stroke="#ccc"/>',
            )
        return parts

    def svg(self) -> str:
        body = f'<g clip-path="url(#plot)">{"".join(self.shapes)}</g>' + "".join(
            [*self._axes(), *self._legend()]
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>'
            f'<clipPath id="plot"><rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" '
            f'width="{WIDTH - MARGIN_LEFT - MARGIN_RIGHT}" '
            f'height="{HEIGHT - MARGIN_TOP - MARGIN_BOTTOM}"/></clipPath>{body}</svg>'
        )

    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg().encode()).decode()


def _padded(values, fraction: float = 0.05) -> tuple[float, float]:
    finite = [float(v) for v in np.ravel(values) if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = (high - low) * fraction or 1.0
    return low - pad, high + pad


def fit_figure(beta: tuple[float, ...] | None, assignment: Assignment, text: dict[str, str]) -> str:
    """The data, the student's curve, the OLS curve and the band of the prescribed
    training's curves (a linear function's extremes over a polytope lie at corners)."""
    reference = reference_for(assignment)
    x = reference.x
    features = np.stack([evaluate(f, x) for f in assignment.features], axis=1)
    corner_curves = features @ reference.reachable.corners().T
    curves = [reference.y, corner_curves]
    yours = features @ np.array(beta) if beta is not None else None
    if yours is not None:
        curves.append(yours)
    chart = Chart(
        _padded(x, 0.02), _padded(np.concatenate([np.ravel(c) for c in curves])), "x", "y"
    )
    chart.area(
        x,
        corner_curves.min(axis=1),
        corner_curves.max(axis=1),
        COLOURS["band"],
        text["band"].format(epochs=assignment.training.epochs),
    )
    chart.dots(x, reference.y, COLOURS["data"], text["observed"])
    chart.line(x, features @ reference.beta_ols, COLOURS["ols"], text["ols_curve"])
    if yours is not None:
        chart.line(x, yours, COLOURS["yours"], text["your_fit"], dashed=True)
    return chart.data_uri()


def loss_figure(loss_history: list[float], text: dict[str, str]) -> str | None:
    values = [v for v in loss_history if math.isfinite(v)]
    if not values:
        return None
    epochs = list(range(1, len(values) + 1))
    log = min(values) > 0 and max(values) / min(values) > 20
    low, high = (min(values) / 1.5, max(values) * 1.5) if log else _padded(values)
    chart = Chart(
        (0.5, len(values) + 0.5), (low, high), text["epoch"], text["loss_axis"], log_y=log
    )
    chart.line(epochs, values, COLOURS["ols"])
    chart.dots(epochs, values, COLOURS["ols"], radius=1.8)
    return chart.data_uri()


def histogram(scores: list[float], max_score: float, text: dict[str, str]) -> str | None:
    if not scores:
        return None
    edges = np.linspace(0, max_score, 11)
    counts, _ = np.histogram(scores, bins=edges)
    chart = Chart(
        (0, max_score),
        (0, max(counts.max(), 1) * 1.1),
        text["score_axis"],
        text["submissions_axis"],
    )
    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True):
        if count:
            chart.bar(left, right, count, COLOURS["bars"])
    return chart.data_uri()


def class_beta_figure(
    betas: list[list[float]], assignment: Assignment, text: dict[str, str]
) -> str | None:
    """The class's β (first two coordinates) over the reachable set and OLS."""
    points = np.array([b[:2] for b in betas if b is not None and len(b) >= 2])
    if points.size == 0:
        return None
    reference = reference_for(assignment)
    corners = reference.reachable.corners()[:, :2]
    centre = corners.mean(axis=0)
    order = np.argsort(np.arctan2(corners[:, 1] - centre[1], corners[:, 0] - centre[0]))
    hull = corners[np.append(order, order[0])]
    everything = np.vstack([points, corners, reference.beta_ols[None, :2]])
    chart = Chart(
        _padded(everything[:, 0]),
        _padded(everything[:, 1]),
        assignment.beta_names[0],
        assignment.beta_names[1],
        legend_at_bottom=True,
    )
    chart.line(
        hull[:, 0],
        hull[:, 1],
        "#e09a2d",
        text["band"].format(epochs=assignment.training.epochs),
        width=4,
    )
    chart.dots(points[:, 0], points[:, 1], COLOURS["class"], text["class_points"], radius=4)
    chart.dots(
        [reference.beta_ols[0]],
        [reference.beta_ols[1]],
        COLOURS["yours"],
        text["ols_curve"],
        radius=6,
    )
    return chart.data_uri()
