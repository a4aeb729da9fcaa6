"""The stored reference files against computations they were not made by: the lecture's
own data and answer, plain gradient descent run from the corners of the start box, and
the stored Keras runs replayed from their own starts.  (That the builder refuses a Keras
run outside the set, and that it writes what it computes, is its own code: not tested
again here.)"""

import itertools
import json

import numpy as np
import pytest

from grader.reference import reference_for, reference_path

# the lecture's data cells (숙제 of 06wk: keras), run as the lecture runs them
LECTURE_DATA = {
    "exp_decay": lambda x, eps: 2.5 + 4 * np.exp(-x) + eps,
    "exp_cos": lambda x, eps: 2.5 + 4 * np.exp(-x) + 5 * np.cos(5 * x) + eps,
}
LECTURE_FEATURES = {
    "exp_decay": lambda x: np.stack([np.ones_like(x), np.exp(-x)], axis=1),
    "exp_cos": lambda x: np.stack([np.ones_like(x), np.exp(-x), np.cos(5 * x)], axis=1),
}


def stored(assignment) -> dict:
    return json.loads(reference_path(assignment).read_text("utf-8"))


def plain_descent(design, y, beta, steps, rate):
    """Full-batch gradient descent on the mean squared error, step by step."""
    for _ in range(steps):
        beta = beta - rate * 2 / len(y) * design.T @ (design @ beta - y)
    return beta


@pytest.fixture(params=["exp_decay", "exp_cos"])
def assignment(request, exp_decay, exp_cos):
    return {"exp_decay": exp_decay, "exp_cos": exp_cos}[request.param]


def lecture_data(name):
    np.random.seed(43052)
    x = np.linspace(-1, 1, 100)
    eps = np.random.randn(100) * 0.5
    return LECTURE_FEATURES[name](x), LECTURE_DATA[name](x, eps)


def test_stored_ols_is_least_squares_on_the_lectures_data(assignment):
    design, y = lecture_data(assignment.name)
    expected = np.linalg.solve(design.T @ design, design.T @ y)  # the normal equations
    assert np.allclose(stored(assignment)["beta_ols"], expected, atol=1e-9)
    mse = float(np.mean((design @ expected - y) ** 2))
    assert stored(assignment)["mse_ols"] == pytest.approx(mse, abs=1e-10)


def test_stored_corners_are_where_descent_takes_the_corners_of_the_start_box(assignment):
    design, y = lecture_data(assignment.name)
    limit = np.sqrt(6 / (design.shape[1] + 1))  # Glorot-uniform of Dense(1), no bias
    ends = [
        plain_descent(design, y, np.array(corner, dtype=float), 30, 0.1)
        for corner in itertools.product((-limit, limit), repeat=design.shape[1])
    ]
    corners = np.array(stored(assignment)["reachable_set_corners"])
    assert len(corners) == len(ends)
    for end in ends:  # the same points, in whatever order they were stored
        assert np.min(np.linalg.norm(corners - end, axis=1)) < 1e-9


def test_stored_keras_runs_end_where_their_starts_lead(assignment):
    """Each stored real Keras run, replayed in float64 from its own start: the end is
    within the tolerance and the stored deviation is the one recomputed here."""
    design, y = lecture_data(assignment.name)
    tolerance = reference_for(assignment).tolerance
    runs = stored(assignment)["keras_runs"]
    assert len(runs) == 30 and [r["seed"] for r in runs] == list(range(30))
    for run in runs:
        exact = plain_descent(design, y, np.array(run["beta_start"]), 30, 0.1)
        deviation = float(np.max(np.abs(np.array(run["beta_end"]) - exact)))
        assert deviation <= tolerance
        assert deviation == pytest.approx(run["replay_deviation"], rel=0.05, abs=1e-8)


def test_the_lectures_own_answer_lies_in_the_set(exp_decay):
    """The lecture prints (2.126046, 4.2351737) after its 30 epochs: the README says it
    lies 2.9e-8 from the set."""
    reference = reference_for(exp_decay)
    distance = reference.reachable.distance(np.array([2.126046, 4.2351737]))
    assert distance <= reference.tolerance
    assert distance == pytest.approx(2.9e-8, abs=1e-8)


@pytest.mark.parametrize("question", ["q3_1", "q4_1"])
def test_midterm_keras_runs_end_where_their_starts_lead(question):
    """The midterm's linear questions (a bias, its start zero): each stored Keras run,
    replayed by plain full-batch descent from its own start on the question's data."""
    from grader.assignment import load_assignment

    part = next(q for q in load_assignment("midterm_2022").questions if q.question == question)
    reference = reference_for(part)
    runs = stored(part)["keras_runs"]
    assert len(runs) >= 5 and len({r["seed"] for r in runs}) == len(runs)
    training = part.training
    assert training.full_batch
    for run in runs:
        exact = plain_descent(
            reference.design,
            reference.y.reshape(-1),
            np.array(run["beta_start"]),
            training.epochs,
            training.learning_rate,
        )
        deviation = float(np.max(np.abs(np.array(run["beta_end"]) - exact)))
        assert deviation <= reference.tolerance
        assert deviation == pytest.approx(run["replay_deviation"], rel=0.05, abs=1e-8)
