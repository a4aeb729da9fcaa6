"""The mathematics of the model families beyond ``linear``: logistic regression and
stacks of Dense layers, in float64 numpy.

``logistic``: a sigmoid Dense(1) trained with binary cross-entropy.  Its reference is
the maximum-likelihood fit of the student's own data, by Newton's method (IRLS); its
replay is full-batch gradient descent from the recorded start.

``dense_stack``: Sequential Dense layers (linear, ReLU, sigmoid, tanh) trained with the
MSE.  Each recorded optimizer step is replayed from the weights recorded going into it.

Tolerances are derived from float32's unit roundoff as in grader/linear.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.linear import ROUNDINGS_PER_STEP, U32


# -- logistic ---------------------------------------------------------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def bce(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy of weights ``w`` (p,) or (p, K) on (design, y)."""
    z = design @ w
    y = y.reshape(-1, *([1] * (np.ndim(z) - 1)))
    # log(1 + e^z) − y·z, written without overflow
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=0)


def irls(design: np.ndarray, y: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton's method (iteratively
    reweighted least squares); raises ValueError when the data are separable."""
    w = np.zeros(design.shape[1])
    y = y.reshape(-1)
    for _ in range(iterations):
        p = sigmoid(design @ w)
        weights = p * (1 - p)
        hessian = design.T @ (design * weights[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - p))
        w = w + step
        if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e6:
            raise ValueError("the data are separable: no maximum-likelihood fit")
        if np.abs(step).max() <= 1e-13 * max(1.0, np.abs(w).max()):
            return w
    return w


def logistic_replay(
    design: np.ndarray, y: np.ndarray, starts: np.ndarray, learning_rate: float, steps: int
) -> np.ndarray:
    """Full-batch gradient descent on the mean BCE from each start (rows of ``starts``),
    all starts at once: w ← w − η·Xᵀ(σ(Xw) − y)/N, as Keras's SGD does it."""
    w = np.asarray(starts, dtype=float).T.copy()  # (p, K)
    y = y.reshape(-1, 1)
    n = design.shape[0]
    scaled = (learning_rate / n) * design.T
    for _ in range(steps):
        w -= scaled @ (sigmoid(design @ w) - y)
    return w.T


def logistic_tolerance(
    design: np.ndarray, y: np.ndarray, path: np.ndarray, learning_rate: float, steps: int
) -> float:
    """How far float32 training may land from the float64 replay: each step adds at
    most the float32 error of the gradient (a sum of N products of p terms) times η plus
    ROUNDINGS_PER_STEP roundings of the weights; earlier errors shrink by the step's
    contraction ρ = 1 − η·λmin(Hessian), smallest along the path (``path``: weights on
    it), so they add up over at most min(T, 1/(1 − ρ)) steps."""
    scale = max(1.0, float(np.abs(path).max()))
    n, p = design.shape
    magnitude = np.abs(design).T @ (1.0 + np.abs(y.reshape(-1))) / n
    gradient_error = (p + np.log2(n) + 4) * U32 * float(magnitude.max())
    per_step = learning_rate * gradient_error + ROUNDINGS_PER_STEP * U32 * scale
    contraction = np.inf
    for w in np.atleast_2d(path):
        q = sigmoid(design @ w)
        hessian = design.T @ (design * (q * (1 - q))[:, None]) / n
        contraction = min(contraction, float(np.linalg.eigvalsh(hessian)[0]))
    rho = 1.0 - learning_rate * contraction
    horizon = float(steps) if rho >= 1 else min(float(steps), 1.0 / (1.0 - rho))
    return per_step * max(1.0, horizon)


# -- dense stacks -----------------------------------------------------------------------
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


@dataclass(frozen=True)
class Stack:
    """Dense layers: (fan_in, units, bias, activation) each, in order."""

    layers: tuple[tuple[int, int, bool, str], ...]

    @property
    def size(self) -> int:
        return sum(i * o + (o if b else 0) for i, o, b, _ in self.layers)

    def unpack(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Keras's get_weights order: kernel (fan_in, units), then bias, per layer."""
        out, at = [], 0
        for fan_in, units, has_bias, _ in self.layers:
            kernel = flat[at : at + fan_in * units].reshape(fan_in, units)
            at += fan_in * units
            bias = None
            if has_bias:
                bias = flat[at : at + units]
                at += units
            out.append((kernel, bias))
        return out


def _act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    return z


def _act_derivative(name: str, z: np.ndarray, a: np.ndarray, slack: np.ndarray) -> np.ndarray:
    """The derivative, and for ReLU's kink: 1 where z is within its float32 error of 0
    (used for the error bound only)."""
    if name == "relu":
        return ((z > 0) | (np.abs(z) <= slack)).astype(float) if np.any(slack) else (z > 0) * 1.0
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    return np.ones_like(z)


def stack_predict(stack: Stack, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    a = x
    for (kernel, bias), (_, _, _, activation) in zip(stack.unpack(flat), stack.layers, strict=True):
        z = a @ kernel + (bias if bias is not None else 0.0)
        a = _act(activation, z)
    return a


def stack_gradient(
    stack: Stack, flat: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(∇ of the mean squared error, a bound on float32's error in it).

    The bound is the gradient computed again with every quantity replaced by its
    absolute value (the forward error of sums of products), times the roundings a
    value meets: the widest dot product per layer, the batch sum and a few more."""
    params = stack.unpack(flat)
    n = x.shape[0]
    widest = max(max(i, o) for i, o, _, _ in stack.layers)
    gamma = (len(stack.layers) * (widest + 3) + np.log2(max(2, n)) + 4) * U32
    activations, magnitudes, zs = [x], [np.abs(x)], []
    for (kernel, bias), (_, _, _, activation) in zip(params, stack.layers, strict=True):
        z = activations[-1] @ kernel + (bias if bias is not None else 0.0)
        zs.append(z)
        m = magnitudes[-1] @ np.abs(kernel) + (np.abs(bias) if bias is not None else 0.0)
        activations.append(_act(activation, z))
        magnitudes.append(np.abs(_act(activation, m)) if activation != "relu" else m)
    out = activations[-1]
    delta = (2.0 / (n * out.shape[1])) * (out - y.reshape(out.shape))
    delta_abs = (2.0 / (n * out.shape[1])) * (magnitudes[-1] + np.abs(y.reshape(out.shape)))
    grads: list[np.ndarray] = []
    bounds: list[np.ndarray] = []
    for index in range(len(params) - 1, -1, -1):
        kernel, bias = params[index]
        activation = stack.layers[index][3]
        z, a = zs[index], activations[index + 1]
        slack = gamma * magnitudes[index] @ np.abs(kernel) + gamma
        delta = delta * _act_derivative(activation, z, a, np.zeros_like(z))
        delta_abs = delta_abs * np.abs(_act_derivative(activation, z, a, slack))
        layer_grads = [activations[index].T @ delta]
        layer_bounds = [magnitudes[index].T @ delta_abs]
        if bias is not None:
            layer_grads.append(delta.sum(axis=0))
            layer_bounds.append(delta_abs.sum(axis=0))
        grads[:0] = [g.reshape(-1) for g in layer_grads]
        bounds[:0] = [b.reshape(-1) for b in layer_bounds]
        delta = delta @ kernel.T
        delta_abs = delta_abs @ np.abs(kernel).T
    return np.concatenate(grads), gamma * np.concatenate(bounds)


@dataclass(frozen=True)
class StackReport:
    steps: int
    worst_ratio: float
    worst_step: int
    deviation: float
    tolerance: float

    @property
    def matches(self) -> bool:
        return self.worst_ratio <= 1.0


def stack_replay_steps(
    stack: Stack,
    x: np.ndarray,
    y: np.ndarray,
    learning_rate: float,
    before: np.ndarray,
    after: np.ndarray,
) -> StackReport:
    """Every recorded full-batch SGD step recomputed from the weights going into it."""
    worst = (0.0, 0, 0.0, 0.0)
    for k in range(before.shape[0]):
        w = before[k]
        g, e_g = stack_gradient(stack, w, x, y)
        predicted = w - learning_rate * g
        tolerance = (
            learning_rate * e_g
            + U32 * np.abs(learning_rate * g)
            + 2 * U32 * (np.abs(w) + np.abs(after[k]))
        )
        deviation = np.abs(after[k] - predicted)
        ratios = deviation / np.maximum(tolerance, 1e-300)
        j = int(np.argmax(ratios))
        if not np.isfinite(ratios[j]):
            return StackReport(before.shape[0], np.inf, k, float(deviation[j]), float(tolerance[j]))
        if ratios[j] > worst[0]:
            worst = (float(ratios[j]), k, float(deviation[j]), float(tolerance[j]))
    return StackReport(before.shape[0], *worst)


def stack_train(
    stack: Stack, x: np.ndarray, y: np.ndarray, starts: np.ndarray, learning_rate: float, steps: int
) -> np.ndarray:
    """Full-batch SGD on the MSE from every start at once (rows of ``starts``): the
    final MSE of each."""
    w = np.atleast_2d(np.asarray(starts, dtype=float)).copy()  # (K, P)
    count, n = w.shape[0], x.shape[0]
    target = y.reshape(1, n, -1)
    for _ in range(steps):
        a, zs, activations, params = np.broadcast_to(x, (count, *x.shape)), [], [], []
        at = 0
        for fan_in, units, has_bias, activation in stack.layers:
            kernel = w[:, at : at + fan_in * units].reshape(count, fan_in, units)
            at += fan_in * units
            bias = None
            if has_bias:
                bias = w[:, at : at + units]
                at += units
            activations.append(a)
            z = a @ kernel + (bias[:, None, :] if bias is not None else 0.0)
            zs.append(z)
            params.append((kernel, bias))
            a = _act(activation, z)
        delta = (2.0 / (n * a.shape[2])) * (a - target)
        grads = []
        for index in range(len(params) - 1, -1, -1):
            kernel, bias = params[index]
            activation = stack.layers[index][3]
            delta = delta * _act_derivative(activation, zs[index], _act(activation, zs[index]), 0)
            layer = [(activations[index].transpose(0, 2, 1) @ delta).reshape(count, -1)]
            if bias is not None:
                layer.append(delta.sum(axis=1))
            grads[:0] = layer
            delta = delta @ kernel.transpose(0, 2, 1)
        w -= learning_rate * np.concatenate(grads, axis=1)
    return np.array(
        [float(np.mean((stack_predict(stack, v, x) - y.reshape(n, -1)) ** 2)) for v in w]
    )


def glorot_starts(stack: Stack, count: int, seed: int = 0) -> np.ndarray:
    """``count`` draws of Keras's default start (Glorot-uniform kernels, zero biases)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        parts = []
        for fan_in, units, has_bias, _ in stack.layers:
            limit = np.sqrt(6.0 / (fan_in + units))
            parts.append(rng.uniform(-limit, limit, fan_in * units))
            if has_bias:
                parts.append(np.zeros(units))
        rows.append(np.concatenate(parts))
    return np.array(rows)
