"""Is a fit's starting point a draw of its layers' initializers?

Keras draws a Dense kernel from its initializer (Glorot-uniform by default: within
±√(6/(fan_in + fan_out))) and sets the bias to zeros.  Weights outside the range their
initializer can produce were set by hand (``set_weights``), not drawn.
"""

from __future__ import annotations

import math

import numpy as np

from grader.facts import InitializerFact, LayerFact
from grader.linear import U32

# Keras's truncated normals (glorot_normal, he_normal, lecun_normal, truncated_normal)
# cut at two standard deviations; the variance-scaling ones divide the standard
# deviation by the truncated distribution's own (0.87962566103423978).
TRUNCATED_STD = 0.87962566103423978
RANDOM_NORMAL_SIGMAS = 6.0  # a plain normal draw beyond 6σ: one in 500 million


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def initializer_range(
    init: InitializerFact | None, fan_in: int, fan_out: int, default: str
) -> tuple[float, float] | None:
    """(low, high) of what ``init`` can draw for a weight of these fans; None when the
    grader does not know the initializer."""
    name = _key(init.cls) if init is not None else _key(default)
    config = init.config if init is not None else {}
    fan_avg = (fan_in + fan_out) / 2
    uniform = {
        "glorotuniform": math.sqrt(3.0 / fan_avg),
        "heuniform": math.sqrt(6.0 / fan_in),
        "lecununiform": math.sqrt(3.0 / fan_in),
    }
    truncated = {
        "glorotnormal": math.sqrt(1.0 / fan_avg) / TRUNCATED_STD,
        "henormal": math.sqrt(2.0 / fan_in) / TRUNCATED_STD,
        "lecunnormal": math.sqrt(1.0 / fan_in) / TRUNCATED_STD,
    }
    if name in uniform:
        return -uniform[name], uniform[name]
    if name in truncated:
        return -2 * truncated[name], 2 * truncated[name]
    if name == "zeros":
        return 0.0, 0.0
    if name == "ones":
        return 1.0, 1.0
    if name == "randomuniform":
        return float(config.get("minval", -0.05)), float(config.get("maxval", 0.05))
    if name in ("randomnormal", "truncatednormal"):
        mean, std = float(config.get("mean", 0.0)), float(config.get("stddev", 0.05))
        sigmas = 2.0 if name == "truncatednormal" else RANDOM_NORMAL_SIGMAS
        return mean - sigmas * std, mean + sigmas * std
    return None


def check_start(
    layers: tuple[LayerFact, ...], weights: tuple[np.ndarray, ...]
) -> tuple[str, dict] | None:
    """None when every weight lies where its initializer can put it; else
    ("set_by_hand", params) for a weight outside its range, or ("unknown", params)
    when an initializer is one the grader cannot bound (a Constant is set by hand)."""
    arrays = iter(weights)
    for layer in layers:
        for position in range(len(layer.weight_shapes)):
            array = next(arrays, None)
            if array is None:
                return None
            if layer.cls != "Dense":
                return ("unknown", {"layer": layer.cls, "initializer": "?"})
            is_kernel = position == 0
            init = layer.kernel_initializer if is_kernel else layer.bias_initializer
            if init is not None and _key(init.cls) == "constant":
                return (
                    "set_by_hand",
                    {"layer": layer.describe(), "initializer": "Constant", "value": "?"},
                )
            kernel_shape = layer.weight_shapes[0] or (1, 1)
            fan_in = int(kernel_shape[0]) if len(kernel_shape) > 1 else 1
            fan_out = int(kernel_shape[-1])
            low_high = initializer_range(
                init, fan_in, fan_out, "glorot_uniform" if is_kernel else "zeros"
            )
            if low_high is None:
                return ("unknown", {"layer": layer.describe(), "initializer": init.cls})
            low, high = low_high
            slack = 4 * U32 * max(1.0, abs(low), abs(high))
            values = np.asarray(array, dtype=float).reshape(-1)
            outside = values[(values < low - slack) | (values > high + slack)]
            if outside.size or not np.all(np.isfinite(values)):
                return (
                    "set_by_hand",
                    {
                        "layer": layer.describe(),
                        "initializer": init.cls
                        if init is not None
                        else "GlorotUniform"
                        if is_kernel
                        else "Zeros",
                        "value": f"{float(outside[0]) if outside.size else float('nan'):.6g}",
                        "low": f"{low:.4g}",
                        "high": f"{high:.4g}",
                    },
                )
    return None
