"""Reference results of an assignment: OLS, and the set of β the prescribed Keras
training can produce, with the float32 tolerance that goes with it.

``reference_for`` is pure numpy and takes milliseconds; ``build_reference`` also runs
real Keras over many seeds to confirm the set, and writes
``reference/<assignment>/reference.json`` with the versions that made it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.assignment import Assignment
from grader.linear import (
    AffineBox,
    float32_tolerance,
    gd_reachable_set,
    gd_replay,
    glorot_uniform_limit,
    mse,
    ols,
)


@dataclass(frozen=True, eq=False)
class Reference:
    x: np.ndarray
    y: np.ndarray
    design: np.ndarray
    beta_ols: np.ndarray
    mse_ols: float
    start_limit: float  # Glorot-uniform: each starting weight in [-limit, limit]
    reachable: AffineBox  # every β the prescribed training can end at
    tolerance: float  # float32 distance allowed from the exact recurrence
    mse_ratio_min: float
    mse_ratio_max: float
    mse_bound: float  # the largest MSE the prescribed training can end at, plus tolerance

    def mse(self, beta: np.ndarray) -> float:
        return mse(self.design, self.y, beta)


def _min_mse_over(
    reachable: AffineBox, design: np.ndarray, beta_star: np.ndarray, mse_star: float
) -> float:
    """MSE(β) = MSE(β*) + (β−β*)ᵀ(XᵀX/N)(β−β*): its minimum over the set is a distance
    in the metric XᵀX/N."""
    gram = design.T @ design / design.shape[0]
    root = np.linalg.cholesky(gram).T  # root.T @ root = gram
    shifted = AffineBox(
        root @ (reachable.offset - beta_star),
        root @ reachable.matrix,
        reachable.lower,
        reachable.upper,
    )
    return mse_star + shifted.distance(np.zeros(len(beta_star))) ** 2


def _compute_reference(assignment: Assignment) -> Reference:
    x, y = assignment.data.generate()
    design = assignment.design(x)
    beta_star = ols(design, y)
    mse_star = mse(design, y, beta_star)
    training = assignment.training
    lower, upper, limit = start_box(assignment)
    reachable = gd_reachable_set(design, y, training.learning_rate, training.epochs, lower, upper)
    corners = reachable.corners()
    scale = float(max(np.abs(corners).max(), limit, np.abs(beta_star).max()))
    tolerance = float32_tolerance(design, training.learning_rate, training.epochs, scale)
    corner_mse = [mse(design, y, c) for c in corners]
    worst = corners[int(np.argmax(corner_mse))]
    gradient = 2 * design.T @ (design @ worst - y) / design.shape[0]
    return Reference(
        x=x,
        y=y,
        design=design,
        beta_ols=beta_star,
        mse_ols=mse_star,
        start_limit=limit,
        reachable=reachable,
        tolerance=tolerance,
        mse_ratio_min=_min_mse_over(reachable, design, beta_star, mse_star) / mse_star,
        mse_ratio_max=max(corner_mse) / mse_star,
        mse_bound=max(corner_mse) + float(np.linalg.norm(gradient)) * tolerance,
    )


def start_box(assignment: Assignment) -> tuple[np.ndarray, np.ndarray, float]:
    """(lower, upper, limit): where Keras's defaults start each β.  The kernel is
    Glorot-uniform over its rows (fan_in = its rows, fan_out = 1); with ``bias`` the
    intercept is the layer's bias, which starts at zero."""
    d = len(assignment.features)
    rows = d - 1 if assignment.bias and "1" in assignment.features else d
    limit = glorot_uniform_limit(rows, 1)
    lower, upper = np.full(d, -limit), np.full(d, limit)
    if rows < d:
        one = assignment.features.index("1")
        lower[one] = upper[one] = 0.0
    return lower, upper, limit


def beta_of_weights(
    assignment: Assignment, kernel: np.ndarray, bias: np.ndarray | None
) -> np.ndarray:
    """β in the assignment's order from the prescribed layer's kernel (and bias)."""
    values = list(np.asarray(kernel, dtype=float).reshape(-1))
    beta = []
    for feature in assignment.features:
        if feature == "1" and bias is not None:
            beta.append(float(np.asarray(bias).reshape(-1)[0]))
        else:
            beta.append(float(values.pop(0)))
    return np.array(beta)


_computed: dict[tuple[str, str], Reference] = {}


def reference_for(assignment: Assignment) -> Reference:
    """The assignment's reference, computed from its own data (cached per assignment)."""
    key = (assignment.name, assignment.digest)
    if key not in _computed:
        _computed[key] = _compute_reference(assignment)
    return _computed[key]


# -- the stored file --------------------------------------------------------------------
def _rounded(values) -> list:
    return [float(f"{v:.12g}") for v in np.asarray(values, dtype=float).reshape(-1)]


def reference_document(assignment: Assignment, keras_runs: list[dict], provenance: dict) -> dict:
    """The content of reference.json: the computed reference plus the Keras runs."""
    ref = reference_for(assignment)
    return {
        "assignment": assignment.name,
        "assignment_version": assignment.version,
        "beta_names": list(assignment.beta_names),
        "beta_ols": _rounded(ref.beta_ols),
        "mse_ols": float(f"{ref.mse_ols:.12g}"),
        "prescribed_training": {
            "learning_rate": assignment.training.learning_rate,
            "epochs": assignment.training.epochs,
            "full_batch": assignment.training.full_batch,
            "start": f"glorot_uniform: U(-{ref.start_limit:.12g}, {ref.start_limit:.12g})",
        },
        "reachable_set_corners": [_rounded(c) for c in ref.reachable.corners()],
        "tolerance": float(f"{ref.tolerance:.6g}"),
        "mse_ratio_range": [float(f"{ref.mse_ratio_min:.9g}"), float(f"{ref.mse_ratio_max:.9g}")],
        "keras_runs": keras_runs,
        "provenance": provenance,
    }


def deterministic_part(document: dict, other: dict | None = None):
    """What a fresh build must reproduce exactly, whatever TensorFlow is installed; with
    ``other``: whether the two documents agree on what describes the question (the
    computed results aside)."""
    kept = {k: v for k, v in document.items() if k not in ("keras_runs", "provenance")}
    if other is None:
        return kept
    described = ("assignment", "family", "layers", "data", "prescribed_training", "starts")
    return all(document.get(k) == other.get(k) for k in described)


# -- dense stacks: the range of losses from Keras's starts -------------------------------
STACK_REFERENCE_STARTS = 64  # Glorot-uniform starts replayed (numpy's seeded generator)


def _prescribed_stack(question: Assignment):
    from grader.families import Stack

    layers, fan_in = [], 1
    for units, activation in question.settings["layers"]:
        layers.append((fan_in, int(units), True, str(activation)))
        fan_in = int(units)
    return Stack(tuple(layers))


def stack_final_losses(question: Assignment) -> np.ndarray:
    """The final MSE of the prescribed training from STACK_REFERENCE_STARTS draws of
    Keras's default start, replayed in float64 numpy."""
    from grader.families import glorot_starts, stack_train
    from grader.replay import f32

    x, y = question.data.generate()
    stack = _prescribed_stack(question)
    starts = glorot_starts(stack, STACK_REFERENCE_STARTS)
    training = question.training
    return stack_train(
        stack, x.reshape(-1, 1), y, starts, f32(training.learning_rate), training.epochs
    )


def stack_reference_document(question: Assignment, provenance: dict, compute: bool = True) -> dict:
    """reference.json of a dense_stack question; without ``compute`` only the part that
    describes the question (to see whether a stored file is still its own)."""
    data, training = question.data, question.training
    document = {
        "assignment": question.name,
        "family": question.family,
        "layers": [[int(u), str(a)] for u, a in question.settings["layers"]],
        "data": {
            "seed": data.seed,
            "n": data.n,
            "x_start": data.x_start,
            "x_stop": data.x_stop,
            "truth": data.truth,
            "noise_sd": data.noise_sd,
        },
        "prescribed_training": {
            "learning_rate": training.learning_rate,
            "epochs": training.epochs,
            "full_batch": training.full_batch,
            "start": "glorot_uniform kernels, zero biases",
        },
        "starts": STACK_REFERENCE_STARTS,
    }
    if compute:
        losses = stack_final_losses(question)
        document["final_mse"] = _rounded(np.sort(losses))
        document["mse_range"] = [float(f"{losses.min():.12g}"), float(f"{losses.max():.12g}")]
        document["provenance"] = provenance
    return document


def build_stack_reference(question: Assignment) -> dict:
    document = stack_reference_document(
        question,
        {
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    )
    path = reference_path(question)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return document


def reference_path(assignment: Assignment) -> Path:
    return assignment.reference_dir / "reference.json"


def load_stored_reference(assignment: Assignment) -> dict | None:
    path = reference_path(assignment)
    if not path.is_file():
        return None
    return json.loads(path.read_text("utf-8"))


def run_keras_seeds(assignment: Assignment, seeds: list[int]) -> list[dict]:
    """Train the prescribed model with real Keras once per seed; report start, end, the
    distance of the end from the reachable set and from the exact replay."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    ref = reference_for(assignment)
    training = assignment.training
    n = ref.design.shape[0]
    runs = []
    for seed in seeds:
        tf.keras.utils.set_random_seed(seed)
        bias = assignment.bias and "1" in assignment.features
        keep = [j for j, f in enumerate(assignment.features) if not (bias and f == "1")]
        inputs = ref.design[:, keep]
        layer = tf.keras.layers.Dense(1, use_bias=bias, input_dim=len(keep))
        net = tf.keras.Sequential([layer])

        def beta(net=net, bias=bias):
            weights = net.get_weights()
            return beta_of_weights(assignment, weights[0], weights[1] if bias else None)

        start = beta()
        net.compile(tf.keras.optimizers.SGD(training.learning_rate), loss=training.loss)
        net.fit(inputs, ref.y.reshape(n, 1), epochs=training.epochs, batch_size=n, verbose=0)
        end = beta()
        replay = gd_replay(ref.design, ref.y, start, training.learning_rate, training.epochs)
        runs.append(
            {
                "seed": seed,
                "beta_start": _rounded(start),
                "beta_end": _rounded(end),
                "distance_to_set": float(f"{ref.reachable.distance(end):.3g}"),
                "replay_deviation": float(f"{np.abs(end - replay).max():.3g}"),
            }
        )
    return runs


def keras_provenance() -> dict:
    import tensorflow as tf

    try:
        import tf_keras

        keras_version = f"tf_keras {tf_keras.__version__}"
    except ImportError:
        keras_version = f"keras {tf.keras.__version__}"
    return {
        "tensorflow": tf.__version__,
        "keras": keras_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "platform": sys.platform,
    }


def build_reference(assignment: Assignment, seeds: int | None = None) -> dict:
    """Run the Keras seeds, check them against the set, write reference.json."""
    seed_list = list(range(seeds if seeds is not None else assignment.reference_seeds))
    runs = run_keras_seeds(assignment, seed_list)
    document = reference_document(assignment, runs, keras_provenance())
    tolerance = reference_for(assignment).tolerance
    outside = [r["seed"] for r in runs if r["distance_to_set"] > tolerance]
    if outside:
        raise RuntimeError(f"Keras runs outside the reference set for seeds {outside}")
    path = reference_path(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return document
