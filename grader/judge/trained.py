"""trained: the chosen model's final weights came out of Keras training, and nothing else.

The chosen model must have been fitted on the homework's data.  Its fits are checked in
order: the first starts from a draw of the layer's initializers (not from weights set by
hand); each later one starts where the previous ended; every optimizer step recorded by
the probe is replayed (grader/replay.py) with the optimizer's own update rule, and the
weights must not change between steps; the optimizer must be exactly one of Keras's own
classes; the final weights must be the last fit's result.  A training the grader cannot
replay (a large model, an optimizer setting it does not model, a custom train_step) is
not passed: it goes to an instructor ("needs review").
"""

from __future__ import annotations

import math

import numpy as np

from grader.evidence import DATA_ROUNDINGS, _single_dense, columns
from grader.facts import FitFact
from grader.judge.base import Case, Outcome, Phrase
from grader.judge.start import check_start
from grader.linear import U32
from grader.replay import OptimizerSpec, StepReport, _State, f32, replay_steps, run_steps

KERAS_DEFAULT_BATCH = 32
REPLAYABLE = {"SGD": "sgd", "Adam": "adam", "RMSprop": "rmsprop"}


def _flat(weights) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=float).reshape(-1) for w in weights])


def review(reason: Phrase, **params) -> Outcome:
    return Outcome(False, "trained.review", {"reason": reason, **params}, "needs_review")


def optimizer_spec(fit: FitFact) -> OptimizerSpec | Phrase:
    """The update rule to replay, or why there is none."""
    opt = fit.optimizer
    if opt is None or opt.learning_rate is None:
        return Phrase("review.no_optimizer")
    if opt.schedule or opt.clipped or opt.use_ema or opt.weight_decay or opt.decay:
        return Phrase("review.optimizer_extras", {"optimizer": opt.cls})
    if opt.amsgrad:
        return Phrase("review.amsgrad")
    if opt.legacy and opt.builtin != "SGD":
        return Phrase("review.legacy_optimizer", {"optimizer": opt.cls})
    steps = len(fit.steps.before) if fit.steps is not None else 0
    start = (opt.iterations - steps) if opt.iterations is not None else 0
    kind = REPLAYABLE[opt.builtin]
    return OptimizerSpec(
        kind=kind,
        learning_rate=f32(opt.learning_rate),
        momentum=f32(opt.momentum or 0.0),
        nesterov=opt.nesterov,
        beta_1=f32(opt.beta_1 if opt.beta_1 is not None else 0.9),
        beta_2=f32(opt.beta_2 if opt.beta_2 is not None else 0.999),
        epsilon=f32(opt.epsilon if opt.epsilon is not None else 1e-7),
        adaptive_epsilon=opt.adaptive_epsilon,
        rho=f32(opt.rho if opt.rho is not None else 0.9),
        centered=opt.centered,
        start_iteration=max(0, start),
    )


def _design(fit: FitFact) -> tuple[np.ndarray, np.ndarray, int] | Phrase:
    """(inputs with a ones column for the bias, targets, training rows), or why not."""
    layer = _single_dense(fit.layers)
    if layer is None:
        return Phrase("review.not_single_dense")
    if layer.constrained:
        return Phrase("review.constrained_layer")
    if fit.loss_is_mse is False or (fit.loss_is_mse is None and fit.loss not in ("mse",)):
        return Phrase("review.other_loss", {"loss": fit.loss})
    if fit.has_sample_weight:
        return Phrase("review.sample_weights")
    if fit.y is None or fit.x is None or fit.weights_before is None:
        return Phrase("review.arrays_unrecorded")
    n_all = fit.y.reshape(-1).size
    cols = columns(fit.x, n_all)
    if cols is None:
        return Phrase("review.inputs_not_table")
    rows = int(math.floor(n_all * (1.0 - fit.validation_split)))
    design = np.stack(cols, axis=1)
    if len(fit.weights_before) == 2:
        design = np.column_stack([design, np.ones(n_all)])
    if design.shape[1] != _flat(fit.weights_before).size:
        return Phrase("review.inputs_mismatch")
    return design, fit.y.reshape(-1), rows


def _batches(fit: FitFact, rows: int) -> list[np.ndarray] | Outcome:
    """The rows of every step; a failing Outcome when the steps are not an honest
    pass over the training rows."""
    steps = fit.steps
    batch = fit.batch_size if fit.batch_size is not None else KERAS_DEFAULT_BATCH
    per_epoch = max(1, -(-rows // max(1, batch)))
    epochs_run = len(fit.loss_history) if fit.loss_history is not None else fit.epochs
    if len(steps.before) != epochs_run * per_epoch or epochs_run > fit.epochs:
        return Outcome(
            False,
            "trained.steps_missing",
            {"found": len(steps.before), "expected": epochs_run * per_epoch},
            "steps_missing",
        )
    if steps.rows is None:
        if batch < rows:
            return review(Phrase("review.batches_unrecorded"))
        return [np.arange(rows)] * len(steps.before)
    everything = np.arange(rows)
    for epoch in range(epochs_run):
        chunk = steps.rows[epoch * per_epoch : (epoch + 1) * per_epoch]
        seen = np.sort(np.concatenate(chunk)) if chunk else np.array([], dtype=int)
        if seen.size != rows or not np.array_equal(seen, everything):
            return Outcome(False, "trained.batches_not_data", {"epoch": epoch + 1}, "not_data")
    return list(steps.rows)


def assess_fit(fit: FitFact, state: _State | None) -> tuple[Outcome | None, StepReport, _State]:
    """Replay one fit; (a failing or review Outcome or None, the report, the state)."""
    opt = fit.optimizer
    if opt is None or opt.builtin not in REPLAYABLE or opt.patched:
        name = opt.cls if opt is not None else "?"
        params = {"optimizer": name, "patched": ", ".join(opt.patched) if opt else ""}
        return Outcome(False, "trained.foreign_optimizer", params, "foreign_optimizer"), None, state
    if fit.train_step_builtin is False:
        return review(Phrase("review.own_train_step")), None, state
    if fit.steps is None:
        why = {"why": fit.steps_missing_reason}
        return review(Phrase("review.steps_unrecorded", why)), None, state
    if fit.steps.overflow:
        return review(Phrase("review.too_many_steps")), None, state
    spec = optimizer_spec(fit)
    if isinstance(spec, Phrase):
        return review(spec), None, state
    design = _design(fit)
    if isinstance(design, Phrase):
        return review(design), None, state
    inputs, targets, rows = design
    batches = _batches(fit, rows)
    if isinstance(batches, Outcome):
        return batches, None, state
    steps = fit.steps
    start, after = _flat(fit.weights_before), _flat(fit.weights_after)
    if not len(steps.before):
        missing = {"found": 0, "expected": 1}
        return Outcome(False, "trained.steps_missing", missing, "steps_missing"), None, state
    if not (np.all(np.isfinite(steps.before)) and np.all(np.isfinite(steps.after))):
        return Outcome(False, "trained.diverged", {}, "diverged"), None, state
    chain = np.vstack([start, steps.after])
    ins = np.vstack([steps.before, after])
    if np.any(np.isnan(steps.after)) or not np.array_equal(chain, ins):
        changed = int(np.argmax(np.any(chain != ins, axis=1)))
        return (
            Outcome(False, "trained.weights_written", {"step": changed + 1}, "weights_written"),
            None,
            state,
        )
    carried = state if spec.start_iteration > 0 else None
    if spec.start_iteration > 0 and carried is None and (spec.kind != "sgd" or spec.momentum):
        return review(Phrase("review.optimizer_pretrained")), None, state
    report, state = replay_steps(inputs, targets, spec, steps.before, steps.after, batches, carried)
    if not report.matches:
        return (
            Outcome(
                False,
                "trained.replay_mismatch",
                {
                    "optimizer": opt.cls,
                    "learning_rate": f"{opt.learning_rate:.6g}",
                    "steps": report.steps,
                    "step": report.worst_step + 1,
                    "deviation": report.deviation,
                    "tolerance": report.tolerance,
                },
                "replay_mismatch",
            ),
            report,
            state,
        )
    return None, report, state


def assess_training(case: Case) -> Outcome:
    choice = case.model
    if choice.model is None:
        return Outcome(False, "trained.no_model", {}, "no_keras")
    if not choice.all_fits:
        return Outcome(False, "trained.no_fit", {}, "set_by_hand")
    if choice.reason == "unreadable_data":
        return review(Phrase("review.data_unreadable", {"type": choice.data_type}))
    if choice.reason != "homework_fit":
        return Outcome(False, "trained.not_on_homework_data", {}, "not_on_homework_data")
    fits = choice.all_fits
    last = fits[-1]
    final, after = case.final_weights, last.weights_after
    if final is None or after is None or fits[0].weights_before is None:
        return Outcome(False, "trained.did_not_learn", {}, "did_not_learn")
    final_flat, after_flat = _flat(final), _flat(after)
    if not (np.all(np.isfinite(final_flat)) and np.all(np.isfinite(after_flat))):
        return Outcome(False, "trained.diverged", {}, "diverged")
    scale = max(1.0, float(np.abs(after_flat).max(initial=0.0)))
    gap = (
        float(np.abs(final_flat - after_flat).max())
        if final_flat.size == after_flat.size
        else math.inf
    )
    if not gap <= DATA_ROUNDINGS * U32 * scale:
        return Outcome(False, "trained.patched", {"gap": gap}, "patched")
    start = check_start(fits[0].layers, fits[0].weights_before)
    if start is not None:
        kind, params = start
        if kind == "set_by_hand":
            return Outcome(False, "trained.hand_set_start", params, "hand_set_start")
        return review(Phrase("review.unknown_initializer", params))
    state, total, worst = None, 0, None
    previous = None
    for fit in fits:
        if previous is not None and (
            fit.weights_before is None
            or previous.weights_after is None
            or not np.array_equal(_flat(fit.weights_before), _flat(previous.weights_after))
        ):
            return Outcome(False, "trained.set_between_fits", {}, "patched")
        outcome, report, state = assess_fit(fit, state)
        if outcome is not None:
            return outcome
        total += report.steps
        if worst is None or report.worst_ratio > worst.worst_ratio:
            worst = report
        previous = fit
    return Outcome(
        True,
        "trained.replayed",
        {
            "steps": total,
            "optimizer": last.optimizer.cls,
            "learning_rate": f"{last.optimizer.learning_rate:.6g}",
            "deviation": worst.deviation,
            "tolerance": worst.tolerance,
        },
    )


def start_influence(case: Case) -> float | None:
    """How much of its start a replayed SGD training (full or mini-batch, with or without
    momentum) still shows at its end, as the MSE that start adds to the predictions.

    With its batches fixed, such a training is affine in its start: it ends at
    A·w₀ + c.  Run again from least squares over the same batches (the grader's replay,
    run freely) it ends at A·w_ols + c, so A·(w₀ − w_ols) is what the start left behind;
    whatever else separates the result from least squares is the noise of the student's
    own mini-batches, not a lack of training.  None when the training was not replayed
    or is not SGD (Adam and RMSprop are not affine in their start)."""
    if case.training.key != "trained.replayed":
        return None
    fits = case.model.all_fits
    recipes = []
    for fit in fits:
        spec = optimizer_spec(fit)
        design = _design(fit)
        if isinstance(spec, Phrase) or isinstance(design, Phrase) or spec.kind != "sgd":
            return None
        inputs, targets, rows = design
        batches = _batches(fit, rows)
        if isinstance(batches, Outcome):
            return None
        recipes.append((inputs, targets, rows, spec, batches))
    if not recipes or fits[-1].weights_after is None:
        return None
    inputs, targets, rows = recipes[0][:3]
    try:
        w_ols = np.linalg.lstsq(inputs[:rows], targets[:rows], rcond=None)[0]
        w, state = w_ols, None
        for inputs_k, targets_k, _, spec, batches in recipes:
            carried = state if spec.start_iteration > 0 else None
            w, state = run_steps(inputs_k, targets_k, spec, w, batches, carried)
    except (ValueError, IndexError, np.linalg.LinAlgError):
        return None  # fits whose inputs do not chain (another width): no such route
    end = _flat(fits[-1].weights_after)
    if end.size != w.size or not np.all(np.isfinite(w)):
        return None
    last_inputs = recipes[-1][0]
    return float(np.mean((last_inputs @ (end - w)) ** 2))


def check_trained(case: Case) -> Outcome:
    return case.training
