"""Replaying a Keras training step by step, in float64 numpy.

The probe records, for every optimizer step of a small model, the weights going into
the step, the weights coming out and (for mini-batches) the rows of the batch.  Here
each step is recomputed from the recorded weights going in: the MSE gradient of a
linear ``Dense(1)`` model on the batch, then the update rule of Keras's own SGD (with or
without momentum, Nesterov), Adam or RMSprop, exactly as ``tf_keras`` writes it, with
the optimizer's state carried from step to step.  A step whose recorded result is
farther from the recomputed one than float32 arithmetic explains did not come from that
optimizer; weights that changed between two steps were written by something else.

Tolerances are derived: the float32 error of the gradient (a dot product of p terms,
then a sum over the batch) and of the update's few operations, propagated through the
optimizer's state.  Nothing here is a guess about a particular run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader.linear import U32


def f32(value: float) -> float:
    """A hyperparameter as Keras holds it (a float32 variable or constant)."""
    return float(np.float32(value))


@dataclass(frozen=True)
class OptimizerSpec:
    """One of the update rules the grader replays, with its float32 hyperparameters."""

    kind: str  # "sgd" | "adam" | "rmsprop"
    learning_rate: float
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    adaptive_epsilon: bool = False
    rho: float = 0.9
    centered: bool = False
    start_iteration: int = 0  # the optimizer's step count when the fit began


@dataclass(frozen=True)
class StepReport:
    """How the recorded steps compare with their replay."""

    steps: int
    worst_ratio: float  # max over steps and weights of deviation / tolerance
    worst_step: int  # 0-based index of that step
    deviation: float  # the deviation at the worst ratio
    tolerance: float  # the tolerance there
    final: np.ndarray  # the replayed weights after the last step (teacher-forced)
    tolerances: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per step, largest

    @property
    def matches(self) -> bool:
        return self.worst_ratio <= 1.0


class _State:
    """The optimizer's slots (Keras's momentums, velocities, averages), in float64."""

    def __init__(self, size: int):
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.avg = np.zeros(size)
        self.error_m = np.zeros(size)  # bound on float32 error carried in m (and velocity)
        self.error_v = np.zeros(size)


def mse_gradient(design: np.ndarray, targets: np.ndarray, w: np.ndarray) -> np.ndarray:
    """∇ of mean((Dw − y)²) over the batch: (2/B)·Dᵀ(Dw − y)."""
    residual = design @ w - targets
    return (2.0 / design.shape[0]) * design.T @ residual


def gradient_error(design: np.ndarray, targets: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A bound on the float32 error of Keras's gradient on this batch: each prediction
    sums p products, each residual one more operation, the gradient sums B products."""
    batch, width = design.shape
    roundings = (width + batch + 4) * U32
    magnitude = np.abs(design) @ np.abs(w) + np.abs(targets)
    return roundings * (2.0 / batch) * (np.abs(design).T @ magnitude)


def apply(
    spec: OptimizerSpec, state: _State, w: np.ndarray, g: np.ndarray, e_g: np.ndarray, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """One update as tf_keras computes it: (new weights, float32 error bound of the new
    weights relative to the exact update from the same w)."""
    lr = spec.learning_rate
    if spec.kind == "sgd":
        mu = spec.momentum
        if mu > 0:
            state.m = -g * lr + state.m * mu
            state.error_m = lr * e_g + mu * state.error_m + 3 * U32 * np.abs(state.m)
            if spec.nesterov:
                step = -g * lr + state.m * mu
                error = lr * e_g + mu * state.error_m + 3 * U32 * np.abs(step)
            else:
                step, error = state.m, state.error_m
        else:
            step = -g * lr
            error = lr * e_g + U32 * np.abs(step)
        new = w + step
        return new, error + U32 * np.abs(new)
    if spec.kind == "adam":
        b1, b2 = spec.beta_1, spec.beta_2
        local = t + 1
        b1_power, b2_power = b1**local, b2**local
        alpha = lr * np.sqrt(1 - b2_power) / (1 - b1_power)
        eps = spec.epsilon * np.sqrt(1 - b2_power) if spec.adaptive_epsilon else spec.epsilon
        state.m = state.m + (g - state.m) * (1 - b1)
        state.v = state.v + (g * g - state.v) * (1 - b2)
        state.error_m = b1 * state.error_m + (1 - b1) * e_g + 3 * U32 * np.abs(state.m)
        state.error_v = (
            b2 * state.error_v + (1 - b2) * (2 * np.abs(g) * e_g + e_g**2) + 3 * U32 * state.v
        )
        root = np.sqrt(state.v)
        denominator = root + eps
        step = state.m * alpha / denominator
        # 1 − β^t in float32 cancels: β^t's own rounding (a pow: about (1 + t·|log β|)
        # roundings) is magnified by β^t / (1 − β^t), most in the first steps.
        alpha_error = 4 * U32 + sum(
            U32 * (2 + local * abs(np.log(b))) * power / (1 - power) * share
            for b, power, share in ((b1, b1_power, 1.0), (b2, b2_power, 0.5))
        )
        error_root = state.error_v / (2 * np.maximum(root, np.sqrt(state.error_v) + 1e-300))
        error = alpha * (
            state.error_m / denominator + np.abs(state.m) * error_root / denominator**2
        ) + (6 * U32 + alpha_error) * np.abs(step)
        new = w - step
        return new, error + U32 * np.abs(new)
    if spec.kind == "rmsprop":
        rho = spec.rho
        state.v = rho * state.v + (1 - rho) * g * g
        state.error_v = (
            rho * state.error_v + (1 - rho) * (2 * np.abs(g) * e_g + e_g**2) + 3 * U32 * state.v
        )
        if spec.centered:
            state.avg = rho * state.avg + (1 - rho) * g
            state.error_m = rho * state.error_m + (1 - rho) * e_g + 2 * U32 * np.abs(state.avg)
            denominator = state.v - state.avg**2 + spec.epsilon
            error_den = state.error_v + 2 * np.abs(state.avg) * state.error_m
        else:
            denominator = state.v + spec.epsilon
            error_den = state.error_v
        denominator = np.maximum(denominator, 1e-300)
        increment = lr * g / np.sqrt(denominator)
        error_inc = lr * (
            e_g / np.sqrt(denominator) + np.abs(g) * error_den / (2 * denominator**1.5)
        ) + 5 * U32 * np.abs(increment)
        if spec.momentum > 0:
            state.m = spec.momentum * state.m + increment
            state.error_m = spec.momentum * state.error_m + error_inc + U32 * np.abs(state.m)
            step, error = state.m, state.error_m
        else:
            step, error = increment, error_inc
        new = w - step
        return new, error + U32 * np.abs(new)
    raise ValueError(f"no replay for optimizer kind {spec.kind!r}")


def replay_steps(
    design: np.ndarray,
    targets: np.ndarray,
    spec: OptimizerSpec,
    before: np.ndarray,
    after: np.ndarray,
    batches: list[np.ndarray],
    state: _State | None = None,
) -> tuple[StepReport, _State]:
    """Recompute every recorded step from the weights recorded going into it.

    ``design``: the model's inputs with a column of ones appended when it has a bias
    (the weights' order: kernel rows, then the bias); ``batches[k]``: the row indices of
    step k.  Returns the report and the optimizer state after the last step (a later fit
    with the same optimizer continues from it)."""
    state = state or _State(before.shape[1])
    worst = (0.0, 0, 0.0, 0.0)
    predicted = before[0].copy() if len(before) else np.zeros(design.shape[1])
    tolerances = np.zeros(len(batches))
    for k, rows in enumerate(batches):
        w = before[k]
        d, y = design[rows], targets[rows]
        g = mse_gradient(d, y, w)
        e_g = gradient_error(d, y, w)
        predicted, error = apply(spec, state, w, g, e_g, spec.start_iteration + k)
        tolerance = error + 2 * U32 * (np.abs(w) + np.abs(after[k]))
        tolerances[k] = float(tolerance.max())
        deviation = np.abs(after[k] - predicted)
        ratios = deviation / np.maximum(tolerance, 1e-300)
        j = int(np.argmax(ratios))
        if not np.isfinite(ratios[j]) or ratios[j] > worst[0]:
            worst = (float(ratios[j]), k, float(deviation[j]), float(tolerance[j]))
            if not np.isfinite(ratios[j]):
                worst = (np.inf, k, float(deviation[j]), float(tolerance[j]))
    report = StepReport(len(batches), worst[0], worst[1], worst[2], worst[3], predicted, tolerances)
    return report, state


def run_steps(
    design: np.ndarray,
    targets: np.ndarray,
    spec: OptimizerSpec,
    start: np.ndarray,
    batches: list[np.ndarray],
    state: _State | None = None,
) -> tuple[np.ndarray, _State]:
    """The same update rule run freely from ``start`` over the same batches (each step
    from the previous step's result, not from a record): where this training would have
    ended from another start."""
    state = state or _State(start.size)
    w = np.asarray(start, dtype=float).copy()
    zero = np.zeros_like(w)
    for k, rows in enumerate(batches):
        g = mse_gradient(design[rows], targets[rows], w)
        w, _ = apply(spec, state, w, g, zero, spec.start_iteration + k)
    return w, state
