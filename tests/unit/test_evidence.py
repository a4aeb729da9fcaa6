"""Reading β from weights, naming input columns, matching data up to float32."""

import numpy as np
import pytest

from grader.evidence import name_columns, read_beta, same_values
from grader.facts import LayerFact


def dense(units=1, use_bias=False, activation="linear"):
    return LayerFact("Dense", units, activation, use_bias, ())


def test_no_bias_on_the_design_matrix_gives_the_kernel(exp_decay):
    reading = read_beta((dense(),), (np.array([[2.1], [4.2]]),), ["1", "exp(-x)"], exp_decay)
    assert reading.beta == pytest.approx((2.1, 4.2))


def test_bias_on_exp_alone_gives_bias_then_kernel(exp_decay):
    reading = read_beta(
        (dense(use_bias=True),), (np.array([[4.2]]), np.array([2.1])), ["exp(-x)"], exp_decay
    )
    assert reading.beta == pytest.approx((2.1, 4.2))


def test_bias_on_the_design_matrix_adds_to_the_intercept(exp_decay):
    reading = read_beta(
        (dense(use_bias=True),),
        (np.array([[1.0], [4.2]]), np.array([1.1])),
        ["1", "exp(-x)"],
        exp_decay,
    )
    assert reading.beta == pytest.approx((2.1, 4.2))


def test_columns_in_another_order(exp_decay):
    reading = read_beta((dense(),), (np.array([[4.2], [2.1]]),), ["exp(-x)", "1"], exp_decay)
    assert reading.beta == pytest.approx((2.1, 4.2))


def test_wrong_features_are_named(exp_decay):
    reading = read_beta((dense(),), (np.array([[7.0], [-4.0]]),), ["1", "x"], exp_decay)
    assert reading.problem == "wrong_features"
    assert "x" in reading.found


@pytest.mark.parametrize(
    "layers",
    [
        (dense(units=8), dense()),
        (dense(activation="relu"),),
        (LayerFact("Conv1D", 1, "linear", True, ()),),
    ],
)
def test_other_architectures_are_unreadable(exp_decay, layers):
    reading = read_beta(layers, (np.zeros((2, 1)),), ["1", "exp(-x)"], exp_decay)
    assert reading.problem == "unreadable"
    assert reading.beta is None


def test_columns_are_named_from_the_homework_x(exp_decay, reference):
    x = reference.x
    design = np.stack([np.ones_like(x), np.exp(-x), x], axis=1).astype(np.float32)
    assert name_columns(design, exp_decay, reference) == ["1", "exp(-x)", "x"]
    assert name_columns(np.stack([x**3], axis=1), exp_decay, reference) == ["?"]


def test_float32_copies_match_but_other_data_does_not(reference):
    assert same_values(reference.y.astype(np.float32).reshape(-1, 1), reference.y)
    assert not same_values(reference.y + 1e-3, reference.y)
    assert not same_values(reference.y[:-1], reference.y)
