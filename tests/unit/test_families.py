"""The families' mathematics: IRLS against a closed case, the logistic and Dense-stack
replays against real Keras runs (tests/fixtures/midterm)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.families import (
    Stack,
    bce,
    irls,
    logistic_replay,
    logistic_tolerance,
    stack_gradient,
    stack_predict,
    stack_replay_steps,
    stack_train,
)
from grader.replay import f32
from tests.midterm_fixtures import fit_payloads


def _flat(specs) -> np.ndarray:
    return np.concatenate([np.asarray(s["values"], dtype=float) for s in specs])


def test_irls_matches_the_closed_form_of_a_binary_covariate():
    # With x in {0, 1}: w0 = logit(mean y | x=0), w0 + w1 = logit(mean y | x=1).
    x = np.array([0.0] * 10 + [1.0] * 10)
    y = np.array([1] * 3 + [0] * 7 + [1] * 8 + [0] * 2, dtype=float)
    w = irls(np.column_stack([np.ones(20), x]), y)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert w == pytest.approx([logit(0.3), logit(0.8) - logit(0.3)], abs=1e-12)


def test_irls_refuses_separable_data():
    x = np.array([-1.0, -0.5, 0.5, 1.0])
    with pytest.raises(ValueError):
        irls(np.column_stack([np.ones(4), x]), np.array([0.0, 0.0, 1.0, 1.0]))


def test_bce_of_several_weights_at_once_equals_one_at_a_time():
    rng = np.random.default_rng(1)
    design = np.column_stack([rng.normal(size=50), np.ones(50)])
    y = (rng.random(50) < 0.5).astype(float)
    ws = rng.normal(size=(2, 3))
    assert bce(design, y, ws) == pytest.approx([bce(design, y, ws[:, k]) for k in range(3)])


def _logistic_run():
    fit = fit_payloads("01_solution")[1]
    x = np.asarray(fit["x"]["values"], dtype=float)
    y = np.asarray(fit["y"]["values"], dtype=float)
    design = np.column_stack([x, np.ones_like(x)])
    return design, y, _flat(fit["weights_before"]), _flat(fit["weights_after"])


def test_logistic_replay_lands_where_keras_did_within_the_derived_tolerance():
    design, y, start, keras_end = _logistic_run()
    lr = f32(0.01)
    end = logistic_replay(design, y, start[None], lr, 10000)[0]
    tolerance = logistic_tolerance(design, y, np.vstack([start, end]), lr, 10000)
    deviation = np.abs(end - keras_end).max()
    assert deviation <= tolerance
    # the tolerance is no blanket: another number of epochs lands outside it
    assert (
        np.abs(logistic_replay(design, y, start[None], lr, 9000)[0] - keras_end).max() > tolerance
    )
    # 10000 steps did not reach the maximum-likelihood fit: the answer is the training's
    assert np.abs(irls(design, y) - keras_end).max() > 0.1


def _stack_run(name: str = "01_solution"):
    fit = fit_payloads(name)[3]
    x = np.asarray(fit["x"]["values"], dtype=float).reshape(-1, 1)
    y = np.asarray(fit["y"]["values"], dtype=float)
    before = np.asarray(fit["steps"]["before"], dtype=float)
    after = np.asarray(fit["steps"]["after"], dtype=float)
    return x, y, before, after


STACK = Stack(((1, 2, True, "relu"), (2, 1, True, "linear")))


def test_dense_stack_replay_matches_every_keras_step():
    x, y, before, after = _stack_run()
    report = stack_replay_steps(STACK, x, y, f32(0.1), before, after)
    assert report.steps == 1000
    assert report.matches, report


def test_dense_stack_replay_rejects_another_learning_rate_and_written_weights():
    x, y, before, after = _stack_run()
    assert not stack_replay_steps(STACK, x, y, f32(0.11), before, after).matches
    forged = after.copy()
    forged[500, 6] += 1e-4
    report = stack_replay_steps(STACK, x, y, f32(0.1), before, forged)
    assert not report.matches and report.worst_step == 500


def test_dense_stack_gradient_equals_finite_differences():
    rng = np.random.default_rng(3)
    stack = Stack(((1, 3, True, "tanh"), (3, 2, True, "sigmoid"), (2, 1, False, "linear")))
    x, y = rng.normal(size=(20, 1)), rng.normal(size=20)
    w = rng.normal(size=stack.size)
    g, bound = stack_gradient(stack, w, x, y)

    def loss(v):
        return np.mean((stack_predict(stack, v, x) - y.reshape(-1, 1)) ** 2)

    numeric = [(loss(w + 1e-6 * e) - loss(w - 1e-6 * e)) / 2e-6 for e in np.eye(stack.size)]
    assert g == pytest.approx(numeric, abs=1e-7)
    assert np.all(bound > 0)


def test_training_many_stacks_at_once_equals_one_at_a_time():
    rng = np.random.default_rng(5)
    x = np.linspace(-1, 1, 30).reshape(-1, 1)
    y = np.abs(x.reshape(-1)) + 0.1 * rng.normal(size=30)
    starts = rng.uniform(-1, 1, size=(4, STACK.size))
    together = stack_train(STACK, x, y, starts, 0.1, 50)
    for start, loss in zip(starts, together, strict=True):
        w = start.copy()
        for _ in range(50):
            w -= 0.1 * stack_gradient(STACK, w, x, y)[0]
        assert loss == pytest.approx(np.mean((stack_predict(STACK, w, x) - y[:, None]) ** 2))


def test_stored_dense_stack_reference_is_this_questions():
    import json

    from grader.assignment import load_assignment
    from grader.reference import deterministic_part, reference_path, stack_reference_document

    question = load_assignment("midterm_2022").questions[3]
    stored = json.loads(reference_path(question).read_text("utf-8"))
    assert deterministic_part(stored, stack_reference_document(question, {}, compute=False))
    low, high = stored["mse_range"]
    assert low < 0.09 < high  # the course's answer (MSE about 0.085) is among the best starts
