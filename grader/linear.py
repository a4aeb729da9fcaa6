"""The mathematics of the homework: least squares, full-batch gradient descent and the
set of results the prescribed Keras training can produce.

Everything here is pure numpy and float64.  Keras trains in float32; the tolerances
below are derived from float32's unit roundoff, not chosen by hand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# Unit roundoff of float32 (half its machine epsilon): the relative error of one rounding.
U32 = float(np.finfo(np.float32).eps) / 2
# Roundings per gradient-descent step that reach the weights: the float32 copy of the
# data, the gradient's sum, the product with the learning rate and the subtraction.
ROUNDINGS_PER_STEP = 4


def ols(design: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``targets`` on the columns of ``design``."""
    coefficients, *_ = np.linalg.lstsq(design, targets.reshape(-1), rcond=None)
    return coefficients


def mse(design: np.ndarray, targets: np.ndarray, beta: np.ndarray) -> float:
    residual = targets.reshape(-1) - design @ np.asarray(beta, dtype=float).reshape(-1)
    return float(np.mean(residual**2))


def gd_matrix(design: np.ndarray, learning_rate: float) -> np.ndarray:
    """A = I - (2η/N)·XᵀX: one full-batch step of gradient descent on the MSE is
    β ← A·β + (2η/N)·Xᵀy."""
    n = design.shape[0]
    return np.eye(design.shape[1]) - (2 * learning_rate / n) * design.T @ design


def gd_replay(
    design: np.ndarray,
    targets: np.ndarray,
    beta_start: np.ndarray,
    learning_rate: float,
    steps: int,
) -> np.ndarray:
    """Full-batch gradient descent on the MSE, step by step, as Keras's SGD does it."""
    n = design.shape[0]
    beta = np.asarray(beta_start, dtype=float).reshape(-1).copy()
    y = targets.reshape(-1)
    for _ in range(steps):
        beta = beta - learning_rate * (2 / n) * design.T @ (design @ beta - y)
    return beta


def gd_closed_form(
    design: np.ndarray,
    targets: np.ndarray,
    beta_start: np.ndarray,
    learning_rate: float,
    steps: int,
) -> np.ndarray:
    """β_T = β* + A^T (β_0 − β*): the same result as ``gd_replay``, affine in the start."""
    beta_star = ols(design, targets)
    a_power = np.linalg.matrix_power(gd_matrix(design, learning_rate), steps)
    return beta_star + a_power @ (np.asarray(beta_start, dtype=float).reshape(-1) - beta_star)


def float32_tolerance(design: np.ndarray, learning_rate: float, steps: int, scale: float) -> float:
    """How far float32 training may land from the exact float64 recurrence.

    Each step adds at most ROUNDINGS_PER_STEP·u·scale of error (scale: the size of the
    weights).  A step multiplies earlier errors by A, whose spectral radius ρ < 1 when
    the training converges, so errors add up to at most min(T, 1/(1−ρ)) steps' worth;
    the same 1/(1−ρ) bounds where float32 stalls near the optimum.
    """
    rho = float(np.max(np.abs(np.linalg.eigvalsh(gd_matrix(design, learning_rate)))))
    horizon = float(steps) if rho >= 1 else min(float(steps), 1.0 / (1.0 - rho))
    return ROUNDINGS_PER_STEP * U32 * max(1.0, scale) * max(1.0, horizon)


@dataclass(frozen=True)
class AffineBox:
    """The image {offset + matrix·u : lower ≤ u ≤ upper} of a box under an affine map:
    the set of results of full-batch gradient descent from every start in the box."""

    offset: np.ndarray
    matrix: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def corners(self) -> np.ndarray:
        choices = itertools.product(*zip(self.lower, self.upper, strict=True))
        return np.array([self.offset + self.matrix @ np.array(c) for c in choices])

    def distance(self, point: np.ndarray) -> float:
        """Euclidean distance from ``point`` to the set (0 inside).

        Box-constrained least squares, solved exactly by trying every face of the box:
        each coordinate is free or held at a bound (3^d faces; d is 2 or 3 here).
        """
        target = np.asarray(point, dtype=float).reshape(-1) - self.offset
        d = len(self.lower)
        best = np.inf
        for pattern in itertools.product((None, 0, 1), repeat=d):
            u = np.zeros(d)
            free = [i for i, p in enumerate(pattern) if p is None]
            for i, p in enumerate(pattern):
                if p is not None:
                    u[i] = (self.lower, self.upper)[p][i]
            rest = target - self.matrix @ u
            if free:
                solution, *_ = np.linalg.lstsq(self.matrix[:, free], rest, rcond=None)
                if np.any(solution < self.lower[free] - 1e-12) or np.any(
                    solution > self.upper[free] + 1e-12
                ):
                    continue
                u[free] = solution
            best = min(best, float(np.linalg.norm(target - self.matrix @ u)))
        return best


def gd_reachable_set(
    design: np.ndarray,
    targets: np.ndarray,
    learning_rate: float,
    steps: int,
    start_lower: np.ndarray,
    start_upper: np.ndarray,
) -> AffineBox:
    """Every β that ``steps`` full-batch steps can reach from a start in the box."""
    beta_star = ols(design, targets)
    a_power = np.linalg.matrix_power(gd_matrix(design, learning_rate), steps)
    return AffineBox(
        beta_star - a_power @ beta_star,
        a_power,
        np.asarray(start_lower, dtype=float),
        np.asarray(start_upper, dtype=float),
    )


def glorot_uniform_limit(fan_in: int, fan_out: int) -> float:
    """Keras's Glorot-uniform initializer draws from U(−limit, limit)."""
    return float(np.sqrt(6.0 / (fan_in + fan_out)))
