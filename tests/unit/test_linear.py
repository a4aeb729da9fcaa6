"""The least-squares and gradient-descent mathematics, against the lecture's numbers."""

import json

import numpy as np
import pytest

from grader.linear import (
    AffineBox,
    float32_tolerance,
    gd_closed_form,
    gd_reachable_set,
    gd_replay,
    glorot_uniform_limit,
    ols,
)
from grader.reference import reference_for, reference_path

LECTURE_KERAS_ANSWER = np.array([2.126046, 4.2351737])  # the seed's own 30-epoch result


def test_ols_matches_the_lecture(reference):
    assert reference.beta_ols == pytest.approx([2.46307644, 3.99681332], abs=1e-6)


def test_ols_of_example3_matches_the_lecture(exp_cos):
    beta = reference_for(exp_cos).beta_ols
    assert beta == pytest.approx([2.46597526, 4.00095138, 5.04161877], abs=1e-6)


def test_replay_equals_the_closed_form(reference):
    start = np.array([1.0, -1.0])
    stepwise = gd_replay(reference.design, reference.y, start, 0.1, 30)
    closed = gd_closed_form(reference.design, reference.y, start, 0.1, 30)
    assert stepwise == pytest.approx(closed, abs=1e-12)


def test_replay_reproduces_the_lectures_numpy_iterations(reference):
    # 예제2 runs 29 numpy steps at η=0.05 from (-3, -2) and prints (1.96156382, 4.35027923)
    beta = gd_replay(reference.design, reference.y, np.array([-3.0, -2.0]), 0.05, 29)
    assert beta == pytest.approx([1.96156382, 4.35027923], abs=1e-7)


def test_lecture_answer_is_in_the_reachable_set(reference):
    assert reference.reachable.distance(LECTURE_KERAS_ANSWER) <= reference.tolerance


def test_points_off_the_set_are_measured(reference):
    assert reference.reachable.distance(np.array([2.0, 3.0])) > 0.5
    assert reference.reachable.distance(reference.beta_ols + [0.0, 0.01]) > reference.tolerance


def test_mse_over_the_set_is_1_to_1_46_times_ols(reference):
    assert reference.mse_ratio_min == pytest.approx(1.0, abs=1e-6)
    assert reference.mse_ratio_max == pytest.approx(1.4641, abs=1e-4)


def test_box_distance_on_a_known_square():
    square = AffineBox(np.zeros(2), np.eye(2), np.array([0.0, 0.0]), np.array([1.0, 1.0]))
    assert square.distance(np.array([0.5, 0.5])) == 0.0
    assert square.distance(np.array([2.0, 0.5])) == pytest.approx(1.0)
    assert square.distance(np.array([4.0, 5.0])) == pytest.approx(5.0)


def test_reachable_set_holds_every_start_in_the_box(reference):
    rng = np.random.default_rng(0)
    limit = glorot_uniform_limit(2, 1)
    box = gd_reachable_set(reference.design, reference.y, 0.1, 30, [-limit] * 2, [limit] * 2)
    for start in rng.uniform(-limit, limit, size=(50, 2)):
        end = gd_replay(reference.design, reference.y, start, 0.1, 30)
        assert box.distance(end) <= 1e-9


def test_starts_outside_the_box_land_outside_the_set(reference):
    far = gd_replay(reference.design, reference.y, np.array([-5.0, 10.0]), 0.1, 30)
    assert reference.reachable.distance(far) > 100 * reference.tolerance


def test_glorot_limit_of_the_homework_kernel():
    assert glorot_uniform_limit(2, 1) == pytest.approx(np.sqrt(2))


@pytest.mark.parametrize("name", ["exp_decay", "exp_cos"])
def test_float32_tolerance_covers_real_keras_runs(name, exp_decay, exp_cos):
    """The derived bound against the stored real Keras runs: every run's distance from
    the exact replay is inside it, and it is as tight as the derivation says.  The bound
    adds every rounding in the same direction over min(T, 1/(1-ρ)) steps; real runs
    (errors of both signs, partly cancelling) come 47 (exp_decay) and 57 (exp_cos) times
    inside it.  A bound 100 times the worst real deviation would be one the derivation
    does not explain (a factor lost or doubled in float32_tolerance)."""
    assignment = {"exp_decay": exp_decay, "exp_cos": exp_cos}[name]
    stored = json.loads(reference_path(assignment).read_text("utf-8"))
    tolerance = reference_for(assignment).tolerance
    deviations = [run["replay_deviation"] for run in stored["keras_runs"]]
    assert max(deviations) <= tolerance
    assert 10 * max(deviations) < tolerance < 100 * max(deviations)


def test_tolerance_grows_with_steps_only_until_convergence(reference):
    short = float32_tolerance(reference.design, 0.1, 30, 4.0)
    long = float32_tolerance(reference.design, 0.1, 2000, 4.0)
    assert short < long <= float32_tolerance(reference.design, 0.1, 100000, 4.0)
    assert long < 2000 / 30 * short  # bounded by 1/(1-ρ), not by the step count


def test_ols_of_a_noiseless_line():
    x = np.linspace(0, 1, 10)
    design = np.stack([np.ones(10), x], axis=1)
    assert ols(design, 3 + 2 * x) == pytest.approx([3, 2])
