"""trained: the chosen model's final weights came out of its own training.

Full-batch SGD on the MSE is replayed exactly from the recorded starting weights and
compared with the recorded result, within the float32 tolerance; other trainings
(mini-batches, momentum, Adam, other losses) get a looser check: the loss fell and
the weights moved.  Weights set or changed by hand after the last fit fail.
"""

from __future__ import annotations

import math

import numpy as np

from grader.evidence import DATA_ROUNDINGS, _single_dense, columns
from grader.facts import FitFact
from grader.judge.base import Case, Outcome
from grader.linear import U32, float32_tolerance, gd_replay

MSE_NAMES = {"mse", "mean_squared_error", "MeanSquaredError", "MSE"}
KERAS_DEFAULT_BATCH = 32


def _flat(weights) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=float).reshape(-1) for w in weights])


def _replay_inputs(fit: FitFact) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(design, targets, rows used) when the fit is full-batch SGD on the MSE of one
    linear Dense(1) layer, the case the recurrence describes exactly; else None."""
    layer = _single_dense(fit.layers)
    opt = fit.optimizer
    if (
        layer is None
        or opt is None
        or opt.cls != "SGD"
        or opt.learning_rate is None
        or opt.momentum
        or opt.nesterov
        or opt.weight_decay
        or opt.clipped
        or fit.loss not in MSE_NAMES
        or fit.has_sample_weight
        or fit.y is None
        or fit.weights_before is None
        or fit.weights_after is None
    ):
        return None
    n_all = fit.y.reshape(-1).size
    cols = columns(fit.x, n_all)
    if cols is None:
        return None
    rows = int(math.floor(n_all * (1.0 - fit.validation_split)))
    batch = fit.batch_size if fit.batch_size is not None else KERAS_DEFAULT_BATCH
    if rows < 1 or batch < rows:
        return None
    design = np.stack(cols, axis=1)[:rows]
    if len(fit.weights_before) == 2:
        design = np.column_stack([design, np.ones(rows)])
    return design, fit.y.reshape(-1)[:rows], rows


def assess_training(case: Case) -> Outcome:
    fit = case.last_fit
    if case.model.model is None:
        return Outcome(False, "trained.no_model", {}, "no_keras")
    if fit is None:
        return Outcome(False, "trained.no_fit", {}, "set_by_hand")
    final, after = case.final_weights, fit.weights_after
    if final is None or after is None:
        return Outcome(False, "trained.did_not_learn", {}, "did_not_learn")
    final_flat, after_flat = _flat(final), _flat(after)
    scale = max(1.0, float(np.abs(after_flat).max(initial=0.0)))
    gap = (
        float(np.abs(final_flat - after_flat).max())
        if final_flat.size == after_flat.size
        else math.inf
    )
    if gap > DATA_ROUNDINGS * U32 * scale:
        return Outcome(False, "trained.patched", {"gap": gap}, "patched")
    replay_inputs = _replay_inputs(fit)
    opt = fit.optimizer
    if replay_inputs is not None:
        design, targets, _ = replay_inputs
        start = _flat(fit.weights_before)
        replay = gd_replay(design, targets, start, opt.learning_rate, fit.epochs)
        deviation = float(np.abs(replay - after_flat).max())
        tolerance = float32_tolerance(
            design, opt.learning_rate, fit.epochs, max(scale, float(np.abs(start).max(initial=0.0)))
        )
        params = {
            "steps": fit.epochs,
            "deviation": deviation,
            "tolerance": tolerance,
            "optimizer": opt.cls,
            "learning_rate": f"{opt.learning_rate:.6g}",
        }
        if deviation <= tolerance:
            return Outcome(True, "trained.replayed", params)
        return Outcome(False, "trained.replay_mismatch", params, "replay_mismatch")
    history = [v for v in (fit.loss_history or ()) if np.isfinite(v)]
    moved = fit.weights_before is None or not np.array_equal(_flat(fit.weights_before), after_flat)
    if len(history) >= 1 and moved and (len(history) == 1 or history[-1] < history[0]):
        return Outcome(
            True,
            "trained.loosely",
            {
                "optimizer": opt.cls if opt else "?",
                "batch_size": fit.batch_size
                if fit.batch_size is not None
                else 32,  # Keras's default
                "first": history[0],
                "last": history[-1],
            },
        )
    return Outcome(False, "trained.did_not_learn", {}, "did_not_learn")


def check_trained(case: Case) -> Outcome:
    return case.training
