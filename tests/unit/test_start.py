import numpy as np

from grader.facts import InitializerFact, LayerFact
from grader.judge.start import check_start, initializer_range
from grader.linear import glorot_uniform_limit


def dense(kernel=None, bias=None, use_bias=False, fan_in=2):
    shapes = ((fan_in, 1), (1,)) if use_bias else ((fan_in, 1),)
    return LayerFact("Dense", 1, "linear", use_bias, shapes, kernel, bias)


def test_default_dense_kernel_is_bounded_by_glorot_uniform():
    low, high = initializer_range(None, 2, 1, "glorot_uniform")
    assert high == -low == glorot_uniform_limit(2, 1) == np.sqrt(2)


def test_a_glorot_draw_passes_and_ols_fails():
    layer = (dense(),)
    assert check_start(layer, (np.array([[1.41], [-1.2]]),)) is None
    kind, params = check_start(layer, (np.array([[2.46307644], [3.99681332]]),))
    assert kind == "set_by_hand" and params["value"] == "2.46308"


def test_bias_must_start_at_zero():
    layer = (dense(use_bias=True, fan_in=1),)
    assert check_start(layer, (np.array([[0.3]]), np.array([0.0]))) is None
    assert check_start(layer, (np.array([[0.3]]), np.array([2.5])))[0] == "set_by_hand"


def test_other_initializers_have_their_own_ranges():
    uniform = InitializerFact("RandomUniform", {"minval": -3.0, "maxval": 3.0})
    assert check_start((dense(uniform),), (np.array([[2.9], [-2.9]]),)) is None
    zeros = InitializerFact("Zeros", {})
    assert check_start((dense(zeros),), (np.array([[0.0], [0.0]]),)) is None
    assert check_start((dense(zeros),), (np.array([[0.1], [0.0]]),))[0] == "set_by_hand"


def test_a_constant_initializer_is_a_start_set_by_hand():
    constant = InitializerFact("Constant", {"value": 2.46})
    assert check_start((dense(constant),), (np.array([[2.46], [2.46]]),))[0] == "set_by_hand"


def test_an_unknown_initializer_is_for_an_instructor():
    custom = InitializerFact("MyInit", {})
    assert check_start((dense(custom),), (np.array([[0.1], [0.1]]),))[0] == "unknown"
