"""Checks of the ``logistic`` and ``dense_stack`` questions: keras (a model of the
prescribed architecture trained on the question's data), trained (its training replayed
in float64 from the recorded start) and the answer (``estimate``: as good as the
prescribed training gets on the student's own data; ``fit``: a loss in the range the
prescribed training reaches from Keras's starts)."""

from __future__ import annotations

import numpy as np

from grader.assignment import Assignment
from grader.evidence import columns
from grader.facts import Facts, FitFact
from grader.families import (
    Stack,
    bce,
    irls,
    logistic_replay,
    logistic_tolerance,
    stack_predict,
    stack_replay_steps,
)
from grader.judge import CheckResult, Outcome, Phrase, RunSummary, localise
from grader.judge.base import run_review_reasons
from grader.judge.start import check_start
from grader.judge.trained import _flat, optimizer_spec
from grader.reference import (
    deterministic_part,
    load_stored_reference,
    stack_final_losses,
    stack_reference_document,
)
from grader.replay import f32

# Starts of the kernel, evenly over Glorot-uniform's range, replayed on each student's own
# data for the logistic question's bound (the bias starts at zero).
LOGISTIC_STARTS = 5


def _message(question: Assignment, outcome: Outcome, lang: str) -> str:
    params = {k: localise(question, v, lang) for k, v in outcome.params.items()}
    return question.message(outcome.key, lang, **params)


def _fmt(values) -> str:
    return ", ".join(f"{v:.4g}" for v in np.ravel(values))


def _describe(fit: FitFact) -> str:
    return " → ".join(layer.describe() for layer in fit.layers if layer.cls != "InputLayer")


def _inputs(question: Assignment, fit: FitFact) -> tuple[np.ndarray, np.ndarray]:
    n = fit.y.reshape(-1).size
    return np.stack(columns(fit.x, n), axis=1), fit.y.reshape(-1)


def _plain_sgd(fit: FitFact) -> Outcome | None:
    """None when every step is Keras's own SGD without momentum on the full batch."""
    opt = fit.optimizer
    if opt is None or opt.builtin != "SGD" or opt.patched or opt.momentum:
        name = opt.cls if opt is not None else "?"
        return Outcome(False, "family.not_sgd", {"optimizer": name}, "foreign_optimizer")
    spec = optimizer_spec(fit)
    if isinstance(spec, Phrase):
        return Outcome(False, "trained.review", {"reason": spec}, "needs_review")
    if fit.train_step_builtin is False or fit.has_sample_weight or fit.validation_split:
        return Outcome(
            False, "trained.review", {"reason": Phrase("review.own_train_step")}, "needs_review"
        )
    n = fit.y.reshape(-1).size if fit.y is not None else 0
    if fit.batch_size is None or fit.batch_size < n:
        return Outcome(False, "family.not_full_batch", {"n": n}, "not_full_batch")
    return None


def _chain(fits: tuple[FitFact, ...], final) -> Outcome | None:
    """Each fit starts where the previous ended, the final weights are the last fit's,
    and the first start is a draw of the initializers."""
    for previous, fit in zip(fits, fits[1:], strict=False):
        if (
            fit.weights_before is None
            or previous.weights_after is None
            or not np.array_equal(_flat(fit.weights_before), _flat(previous.weights_after))
        ):
            return Outcome(False, "trained.set_between_fits", {}, "patched")
    last = fits[-1]
    if last.weights_after is None or fits[0].weights_before is None:
        return Outcome(False, "trained.did_not_learn", {}, "did_not_learn")
    if final is not None and final.weights is not None:
        a, b = _flat(final.weights), _flat(last.weights_after)
        if a.size != b.size or np.abs(a - b).max() > 0:
            return Outcome(False, "trained.patched", {"gap": float("inf")}, "patched")
    start = check_start(fits[0].layers, fits[0].weights_before)
    if start is not None:
        kind, params = start
        if kind == "set_by_hand":
            return Outcome(False, "trained.hand_set_start", params, "hand_set_start")
        return Outcome(
            False,
            "trained.review",
            {"reason": Phrase("review.unknown_initializer", params)},
            "needs_review",
        )
    return None


def _recorded(fit: FitFact) -> bool:
    """The probe kept what a replay needs: the inputs as a table, the targets and the
    weights before and after."""
    if fit.x is None or fit.y is None or fit.weights_before is None or fit.weights_after is None:
        return False
    return columns(fit.x, fit.y.reshape(-1).size) is not None


def _epochs_run(fit: FitFact) -> int:
    return len(fit.loss_history) if fit.loss_history is not None else fit.epochs


def _prescribed(question: Assignment, fits: tuple[FitFact, ...]) -> Outcome | None:
    training = question.training
    epochs = sum(_epochs_run(f) for f in fits)
    rates = {f32(f.optimizer.learning_rate) for f in fits if f.optimizer is not None}
    if epochs != training.epochs or rates != {f32(training.learning_rate)}:
        return Outcome(
            False,
            "family.not_prescribed",
            {
                "epochs": epochs,
                "learning_rate": ", ".join(f"{r:.6g}" for r in sorted(rates)) or "?",
                "want_epochs": training.epochs,
                "want_learning_rate": f"{training.learning_rate:g}",
            },
            "not_prescribed",
        )
    return None


# -- logistic ---------------------------------------------------------------------------
def _logistic_design(fit: FitFact) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in the weights' order (kernel row, then the bias) and the targets."""
    x, y = _inputs(None, fit)
    return np.column_stack([x, np.ones(len(y))]), y


def _logistic(question: Assignment, fits: tuple[FitFact, ...], final) -> dict[str, Outcome]:
    last = fits[-1]
    outcomes: dict[str, Outcome] = {}
    outcomes["keras"] = Outcome(True, "keras.ok", {"model": last.model, "layers": _describe(last)})
    design, y = _logistic_design(last)
    trained = _chain(fits, final)
    total_steps = 0
    if trained is None:
        for fit in fits:
            trained = _plain_sgd(fit)
            if trained is not None:
                break
            start, after = _flat(fit.weights_before), _flat(fit.weights_after)
            lr, steps = f32(fit.optimizer.learning_rate), _epochs_run(fit)
            end = logistic_replay(design, y, start[None], lr, steps)[0]
            tolerance = logistic_tolerance(design, y, np.vstack([start, end]), lr, steps)
            deviation = float(np.abs(end - after).max())
            total_steps += steps
            if not deviation <= tolerance:
                trained = Outcome(
                    False,
                    "family.replay_mismatch",
                    {"steps": steps, "deviation": deviation, "tolerance": tolerance},
                    "replay_mismatch",
                )
                break
        else:
            trained = Outcome(
                True,
                "family.replayed",
                {"steps": total_steps, "deviation": deviation, "tolerance": tolerance, "seed": ""},
            )
    outcomes["trained"] = trained
    w = _flat(last.weights_after)
    estimate = (float(w[1]), float(w[0]))  # (w0: the bias, w1: the kernel)
    params = {"estimate": _fmt(estimate), "truth": question.settings.get("truth", "?")}
    try:
        params["mle"] = _fmt(irls(design, y)[::-1])
    except (ValueError, np.linalg.LinAlgError):
        params["mle"] = "—"
    prescribed = _prescribed(question, fits)
    if not trained.passed:
        outcomes["estimate"] = Outcome(False, "family.answer_not_trained", params, "not_trained")
    elif prescribed is not None:
        outcomes["estimate"] = prescribed
    else:
        limit = np.sqrt(3.0)  # Glorot-uniform for a 1×1 kernel; the bias starts at zero
        kernels = np.linspace(-limit, limit, LOGISTIC_STARTS)
        starts = np.column_stack([kernels, np.zeros_like(kernels)])
        training = question.training
        ends = logistic_replay(design, y, starts, f32(training.learning_rate), training.epochs)
        losses = bce(design, y, ends.T)
        tolerance = logistic_tolerance(design, y, ends, training.learning_rate, training.epochs)
        slope = float(np.abs(design).mean(axis=0).max()) * 2
        bound = float(losses.max()) + slope * tolerance
        params.update(
            low=_fmt(ends.min(axis=0)[::-1]),
            high=_fmt(ends.max(axis=0)[::-1]),
            loss=float(bce(design, y, w)),
            bound=bound,
        )
        good = bce(design, y, w) <= bound
        outcomes["estimate"] = Outcome(
            bool(good),
            "family.estimate_ok" if good else "family.estimate_not_converged",
            params,
            None if good else "not_converged",
        )
    return outcomes


# -- dense stacks -----------------------------------------------------------------------
def _stack_of(fit: FitFact) -> Stack | None:
    from grader.questions import dense_layers

    found = dense_layers(fit.layers)
    if found is None:
        return None
    dense = [layer for layer in fit.layers if layer.cls == "Dense"]
    x, _ = _inputs(None, fit)
    layers, fan_in = [], x.shape[1]
    for (units, activation), layer in zip(found, dense, strict=True):
        layers.append((fan_in, int(units), layer.use_bias is not False, activation))
        fan_in = int(units)
    stack = Stack(tuple(layers))
    return stack if stack.size == _flat(fit.weights_before).size else None


_LOSSES: dict[tuple[str, str], np.ndarray] = {}


def _stack_losses(question: Assignment) -> np.ndarray:
    """Final MSEs of the prescribed training from Keras-like starts: the stored
    reference file's when it was made for this question as it is, else computed."""
    key = (question.name, question.digest)
    if key not in _LOSSES:
        stored = load_stored_reference(question)
        fresh = stack_reference_document(question, {}, compute=False)
        if stored is not None and deterministic_part(stored, fresh):
            _LOSSES[key] = np.array(stored["final_mse"])
        else:
            _LOSSES[key] = stack_final_losses(question)
    return _LOSSES[key]


def _dense_stack(question: Assignment, fits: tuple[FitFact, ...], final) -> dict[str, Outcome]:
    last = fits[-1]
    outcomes: dict[str, Outcome] = {}
    outcomes["keras"] = Outcome(True, "keras.ok", {"model": last.model, "layers": _describe(last)})
    trained = _chain(fits, final)
    total, worst = 0, None
    if trained is None:
        for fit in fits:
            trained = _plain_sgd(fit)
            if trained is not None:
                break
            stack = _stack_of(fit)
            if stack is None or fit.loss_is_mse is False:
                trained = Outcome(
                    False,
                    "trained.review",
                    {"reason": Phrase("review.inputs_mismatch")},
                    "needs_review",
                )
                break
            if fit.steps is None or fit.steps.overflow:
                why = {"why": fit.steps_missing_reason or "overflow"}
                trained = Outcome(
                    False,
                    "trained.review",
                    {"reason": Phrase("review.steps_unrecorded", why)},
                    "needs_review",
                )
                break
            x, y = _inputs(None, fit)
            steps = fit.steps
            chain = np.vstack([_flat(fit.weights_before), steps.after])
            ins = np.vstack([steps.before, _flat(fit.weights_after)])
            if len(steps.before) != _epochs_run(fit) or not np.array_equal(chain, ins):
                trained = Outcome(False, "trained.weights_written", {"step": 0}, "weights_written")
                break
            report = stack_replay_steps(
                stack, x, y, f32(fit.optimizer.learning_rate), steps.before, steps.after
            )
            total += report.steps
            if not report.matches:
                trained = Outcome(
                    False,
                    "family.replay_mismatch",
                    {
                        "steps": report.steps,
                        "deviation": report.deviation,
                        "tolerance": report.tolerance,
                    },
                    "replay_mismatch",
                )
                break
            if worst is None or report.worst_ratio > worst.worst_ratio:
                worst = report
        else:
            trained = Outcome(
                True,
                "family.replayed",
                {"steps": total, "deviation": worst.deviation, "tolerance": worst.tolerance},
            )
    seed_start = question.settings.get("seed_start")
    if trained.passed and seed_start is not None:
        same = np.allclose(_flat(fits[0].weights_before), seed_start, rtol=0, atol=1e-7)
        key = "family.seed_start_same" if same else "family.seed_start_other"
        trained = Outcome(
            True,
            trained.key,
            {
                **trained.params,
                "seed": Phrase(
                    key,
                    {
                        "seed": question.settings.get("seed", "?"),
                        "tensorflow": question.settings.get("seed_tensorflow", "?"),
                    },
                ),
            },
        )
    elif trained.passed:
        trained = Outcome(True, trained.key, {**trained.params, "seed": ""})
    outcomes["trained"] = trained
    prescribed = _prescribed(question, fits)
    stack = _stack_of(last)
    x, y = _inputs(None, last)
    loss = (
        float(np.mean((stack_predict(stack, _flat(last.weights_after), x) - y.reshape(-1, 1)) ** 2))
        if stack
        else float("nan")
    )
    params = {"loss": loss}
    if not trained.passed:
        outcomes["fit"] = Outcome(
            False,
            "family.answer_not_trained",
            {"estimate": f"MSE {loss:.4g}", "mle": "—", "truth": "—"},
            "not_trained",
        )
    elif prescribed is not None:
        outcomes["fit"] = prescribed
    else:
        losses = _stack_losses(question)
        bound = float(losses.max()) * (1 + 1e-4)
        params.update(
            low=float(losses.min()),
            high=float(losses.max()),
            bound=bound,
            starts=len(losses),
            share=float(np.mean(losses >= loss * (1 - 1e-6))),
        )
        good = loss <= bound
        outcomes["fit"] = Outcome(
            bool(good),
            "family.fit_ok" if good else "family.fit_not_converged",
            params,
            None if good else "not_converged",
        )
    return outcomes


def judge_family(question: Assignment, facts: Facts, run: RunSummary, lang: str):
    """(check results, review reasons, the chosen model) of a logistic or dense_stack
    question."""
    from grader.questions import choose_for_question, family_accepts

    choice = choose_for_question(facts, question)
    names = list(question.check_points)
    outcomes: dict[str, Outcome]
    if choice.model is None:
        data = question.data
        missing = Outcome(
            False,
            "family.no_fit",
            {"n": data.n, "layer": question.training.layer},
            "not_on_homework_data",
        )
        outcomes = {name: missing for name in names}
    elif not family_accepts(question, choice.all_fits[-1]):
        wrong = Outcome(
            False,
            "family.architecture",
            {"found": _describe(choice.all_fits[-1]), "layer": question.training.layer},
            "wrong_architecture",
        )
        outcomes = {name: wrong for name in names}
    elif not all(_recorded(fit) for fit in choice.all_fits):
        unrecorded = Outcome(
            False, "trained.review", {"reason": Phrase("review.arrays_unrecorded")}, "needs_review"
        )
        keras = Outcome(
            True, "keras.ok", {"model": choice.model, "layers": _describe(choice.all_fits[-1])}
        )
        outcomes = {name: keras if name == "keras" else unrecorded for name in names}
    else:
        run_fits = choice.all_fits
        family = _logistic if question.family == "logistic" else _dense_stack
        outcomes = family(question, run_fits, choice.final)
    reasons = [str(localise(question, r, lang)) for r in run_review_reasons(facts, run)]
    reasons += [
        str(localise(question, o.params.get("reason"), lang))
        for o in outcomes.values()
        if o.diagnosis == "needs_review"
    ]
    reasons = list(dict.fromkeys(reasons))
    results = []
    for name in names:
        outcome = outcomes[name]
        if reasons:  # as for a linear question: no points until an instructor decides
            outcome = Outcome(
                False,
                "review.withheld",
                {
                    "reason": "; ".join(reasons)[:600],
                    "found": _message(question, outcome, lang),
                    "found_key": outcome.key,
                },
                "needs_review",
            )
        results.append(
            CheckResult(
                name=name,
                passed=outcome.passed,
                points=question.check_points[name] if outcome.passed else 0.0,
                max_points=question.check_points[name],
                message=_message(question, outcome, lang),
                key=outcome.key,
                diagnosis=outcome.diagnosis,
            )
        )
    return tuple(results), tuple(reasons), choice.model
